"""Who may call our bridge endpoints: the gateway, with a Bearer JWT it signed (RS256, keys from
its JWKS at ``{GW}/gateway/v3/certs``), a TIMESTAMP inside the gateway's own window and a UUID
REQUEST-ID.

The JWKS is fetched by PyJWT's ``PyJWKClient`` and cached; a token whose ``kid`` is not in the
cached set makes it fetch the set once more (the gateway rotated its keys) before refusing 401, at
most once per ``JWKS_REFETCH_COOLDOWN_SECONDS``; inside that cooldown such a call is answered
503, so the gateway delivers it again once the new key can be fetched (it drops a 4xx).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from django.conf import settings

from abdm.gateway import CERTS_PATH

# The reference gateway's window (ProjectEKA gateway, common/Validator.java).
TIMESTAMP_PAST = timedelta(minutes=1)
TIMESTAMP_FUTURE = timedelta(minutes=9)
JWKS_LIFESPAN_SECONDS = 300
# An unknown kid refetches the set at most this often: a flood of forged kids cannot make us
# hammer the gateway, and a rotated key is picked up within this time.
JWKS_REFETCH_COOLDOWN_SECONDS = 30.0


class CallRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@lru_cache(maxsize=4)
def _jwks_client(certs_url: str, cooldown: float) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(
        certs_url,
        cache_jwk_set=True,
        lifespan=JWKS_LIFESPAN_SECONDS,
        cooldown_duration=cooldown,
        timeout=5,
    )


def jwks_client() -> jwt.PyJWKClient:
    certs_url = settings.ABDM_GATEWAY_URL.rstrip("/") + CERTS_PATH
    return _jwks_client(certs_url, JWKS_REFETCH_COOLDOWN_SECONDS)


def _last_fetch(client: jwt.PyJWKClient) -> float | None:
    """When the client last fetched the JWKS (PyJWT keeps it for its own cooldown)."""
    value = getattr(client, "_last_successful_fetch", None)
    return float(value) if value is not None else None


def verify_token(authorization: str) -> dict[str, Any]:
    scheme, _space, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise CallRefused(401, "ABDM-1002", "A Bearer token is required.")
    client = jwks_client()
    fetched_before = _last_fetch(client)
    try:
        key = client.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            options={"require": ["exp"], "verify_aud": False},
        )
    except jwt.PyJWKClientConnectionError as exc:
        raise CallRefused(503, "ABDM-1099", "The gateway's keys cannot be fetched.") from exc
    except jwt.PyJWKClientError as exc:
        cooling_down = fetched_before is not None and _last_fetch(client) == fetched_before
        if cooling_down and jwt.get_unverified_header(token).get("kid"):
            # An unknown kid while the refetch cools down: perhaps a key the gateway has just
            # rotated in. 503 makes the gateway deliver again later (a 4xx it never retries).
            raise CallRefused(503, "ABDM-1099", "The token's key is not known yet.") from exc
        raise CallRefused(401, "ABDM-1002", "The token is not valid.") from exc
    except jwt.PyJWTError as exc:
        raise CallRefused(401, "ABDM-1002", "The token is not valid.") from exc
    return claims


def parse_timestamp(value: str, *, now: datetime | None = None) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise CallRefused(400, "ABDM-1017", "TIMESTAMP is not an ISO 8601 time.") from exc
    if moment.tzinfo is None:  # ABDM's times are UTC, sometimes written without the Z
        moment = moment.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    if not now - TIMESTAMP_PAST <= moment <= now + TIMESTAMP_FUTURE:
        raise CallRefused(400, "ABDM-1017", "TIMESTAMP is outside the accepted window.")
    return moment


def parse_request_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError as exc:
        raise CallRefused(400, "ABDM-1017", "REQUEST-ID must be a UUID.") from exc
