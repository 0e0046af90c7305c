"""The offline ABDM gateway: a test double of ABDM's national gateway (docs/abdm.md).

A separate aiohttp process that imports nothing from the project's apps (import-linter keeps
both directions apart). It issues RS256 sessions, serves its JWKS, applies ABDM's admission
rules to every call a HIP makes, answers 202 and delivers callbacks to the HIP's bridge from a
persistent outbox with retries and injectable faults.
"""
