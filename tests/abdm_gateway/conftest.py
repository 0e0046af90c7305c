"""Fixtures other ABDM tests reuse: the offline gateway as a real process and a real bridge.

`abdm_gateway` is one gateway process per test session (its faults are reset before each test);
`fresh_abdm_gateway` starts one of a test's own (for tests that change its keys or settings);
`abdm_bridge` is a HIP bridge registered with the session gateway for the test's client.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.abdm_gateway.harness import Bridge, Gateway

NO_FAULTS = {
    "delay_ms": 0,
    "duplicate": False,
    "reorder": 0,
    "fail_deliveries_next": 0,
    "fail_5xx_next": 0,
}


@pytest.fixture(scope="session")
def _abdm_gateway_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("abdm_gateway")).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def abdm_gateway(_abdm_gateway_process: Gateway) -> Gateway:
    _abdm_gateway_process.admin("faults", NO_FAULTS)
    return _abdm_gateway_process


@pytest.fixture
def fresh_abdm_gateway(tmp_path: Path) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path / "gateway").start()
    yield gateway
    gateway.stop()


@pytest.fixture
def abdm_bridge(abdm_gateway: Gateway) -> Iterator[Bridge]:
    bridge = Bridge().start()
    abdm_gateway.admin("deliveries/drop", {})  # earlier tests' callbacks are not this bridge's
    abdm_gateway.register_bridge(abdm_gateway.token(), bridge.url)
    yield bridge
    bridge.stop()
