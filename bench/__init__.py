"""Benchmarks that print JSON; never part of the test suite (see bench/README.md)."""
