"""HTTP to ABDM's gateway: the session token and the headers every call carries.

The same code talks to ABDM's sandbox and to the offline gateway (settings ``ABDM_*``). The
session token is kept in the Django cache for ``expiresIn`` minus a margin, shared by every
process; a 401 drops it and the call is repeated once with a fresh one.

HTTP client: ``httpx`` (maintained, typed, explicit connect/read timeouts, the same API sync and
async). Nothing here logs a body: gateway bodies may hold personal data.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

SESSION_PATH = "/gateway/v3/sessions"
CERTS_PATH = "/gateway/v3/certs"
SESSION_CACHE_KEY = "abdm:gateway-session"
# Dropped this long before the gateway says it expires, so a call never carries a token that
# runs out on the way.
SESSION_MARGIN_SECONDS = 60
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class GatewayUnreachable(Exception):
    """Connection refused or reset, a timeout, or a 5xx: worth trying again later."""


class GatewayRefused(Exception):
    """The gateway answered with an error that repeating the call will not change."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


@dataclass(frozen=True)
class Answer:
    status: int


def timestamp(now: datetime | None = None) -> str:
    """ABDM's TIMESTAMP: UTC, ISO 8601 with milliseconds and ``Z`` (2024-08-19T10:00:00.000Z)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def base_headers(request_id: uuid.UUID) -> dict[str, str]:
    return {
        "REQUEST-ID": str(request_id),
        "TIMESTAMP": timestamp(),
        "X-CM-ID": settings.ABDM_CM_ID,
        "Content-Type": "application/json",
    }


def url(path: str) -> str:
    return settings.ABDM_GATEWAY_URL.rstrip("/") + path


def _post(path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    try:
        with httpx.Client(timeout=TIMEOUT) as client:
            response = client.post(url(path), json=body, headers=headers)
    except httpx.TransportError as exc:  # connect errors, timeouts, resets
        raise GatewayUnreachable(type(exc).__name__) from exc
    if response.status_code >= 500:
        raise GatewayUnreachable(f"HTTP {response.status_code}")
    return response


def session_token(*, fresh: bool = False) -> str:
    """The gateway session's access token, from the cache unless ``fresh``."""
    if not fresh:
        cached = cache.get(SESSION_CACHE_KEY)
        if isinstance(cached, str):
            return cached
    body = {
        "clientId": settings.ABDM_CLIENT_ID,
        "clientSecret": settings.ABDM_CLIENT_SECRET,
        "grantType": "client_credentials",
    }
    response = _post(SESSION_PATH, body, base_headers(uuid.uuid4()))
    if response.status_code not in {200, 201}:
        raise GatewayRefused(response.status_code)
    answer = response.json()
    token = str(answer["accessToken"])
    lifetime = int(answer.get("expiresIn") or 0)
    keep_for = lifetime - SESSION_MARGIN_SECONDS if lifetime > 2 * SESSION_MARGIN_SECONDS else 0
    if keep_for > 0:
        cache.set(SESSION_CACHE_KEY, token, timeout=keep_for)
    else:
        cache.delete(SESSION_CACHE_KEY)
    return token


def forget_session() -> None:
    cache.delete(SESSION_CACHE_KEY)


def post(
    path: str,
    body: Any,
    *,
    request_id: uuid.UUID,
    hip_id: str = "",
    extra_headers: dict[str, str] | None = None,
) -> Answer:
    """POST one call with the session token and ABDM's headers; a 401 fetches a new token and
    tries once more. Raises ``GatewayUnreachable`` (try later) or ``GatewayRefused`` (4xx other
    than 429); a 429 means the gateway has already seen this request id and is returned."""
    fresh = False
    while True:
        headers = base_headers(request_id)
        headers["Authorization"] = f"Bearer {session_token(fresh=fresh)}"
        if hip_id:
            headers["X-HIP-ID"] = hip_id
        headers.update(extra_headers or {})
        response = _post(path, body, headers)
        if response.status_code == 401 and not fresh:
            logger.info("ABDM gateway refused the session token; fetching a new one")
            forget_session()
            fresh = True
            continue
        if response.status_code < 300 or response.status_code == 429:
            return Answer(status=response.status_code)
        raise GatewayRefused(response.status_code)


def register_bridge_url(bridge: str) -> int:
    """Tell the gateway where our bridge listens (``PATCH /gateway/v3/bridge/url``), as ABDM's
    sandbox asks once per client; callbacks then go to ``{bridge}/api/v3/...``. Returns the
    gateway's status (202). Raises ``GatewayUnreachable`` or ``GatewayRefused``."""
    fresh = False
    while True:
        headers = base_headers(uuid.uuid4())
        headers["Authorization"] = f"Bearer {session_token(fresh=fresh)}"
        try:
            with httpx.Client(timeout=TIMEOUT) as client:
                response = client.patch(
                    url("/gateway/v3/bridge/url"), json={"url": bridge}, headers=headers
                )
        except httpx.TransportError as exc:
            raise GatewayUnreachable(type(exc).__name__) from exc
        if response.status_code >= 500:
            raise GatewayUnreachable(f"HTTP {response.status_code}")
        if response.status_code == 401 and not fresh:
            forget_session()
            fresh = True
            continue
        if response.status_code >= 300:
            raise GatewayRefused(response.status_code)
        return response.status_code
