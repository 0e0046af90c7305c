"""HTTP to ABDM's services beside the gateway (the ABHA service, the HPR and HFR registries).

They take the gateway session (``Authorization: Bearer``, from ``abdm.gateway``) with a UUID
``REQUEST-ID``, a ``TIMESTAMP`` and ``X-CM-ID``. A 401 fetches a new session and repeats the call
once, so a 401 that stays is about the user's own token (``TokenExpired``). Nothing here logs a
body, a token or an identifier: they name people.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx

from abdm import gateway

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class ServiceUnavailable(Exception):
    """Connection refused or reset, a timeout, a 5xx or an unreadable answer: try later."""


class ServiceRefused(Exception):
    """The service refused the call (4xx). ``code`` is ABDM's (``ABDM-1114``…); ``detail``, its
    English message, may quote the input: kept for the caller's decisions, never shown or logged."""

    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(f"HTTP {status} {code}")
        self.status, self.code, self.detail = status, code, detail


class TokenExpired(ServiceRefused):
    """A 401 that a fresh gateway session did not cure: the user's X- or T-token is missing,
    expired or of the wrong kind."""


def _refusal(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    error = body.get("error")
    source = error if isinstance(error, dict) else body
    return str(source.get("code") or ""), str(source.get("message") or "")


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One call with the gateway session and ABDM's headers; a 2xx or 3xx answer is returned."""
    fresh = False
    while True:
        sent = gateway.base_headers(uuid.uuid4())
        try:
            sent["Authorization"] = f"Bearer {gateway.session_token(fresh=fresh)}"
        except gateway.GatewayUnreachable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        except gateway.GatewayRefused as exc:
            # Our own client id or secret is refused: nothing the user can change.
            raise ServiceUnavailable(f"gateway session refused: {exc}") from exc
        sent.update(headers or {})
        try:
            with httpx.Client(timeout=TIMEOUT) as client:
                response = client.request(
                    method, base_url.rstrip("/") + path, json=body, headers=sent
                )
        except httpx.TransportError as exc:
            raise ServiceUnavailable(type(exc).__name__) from exc
        status = response.status_code
        if status >= 500:
            raise ServiceUnavailable(f"HTTP {status}")
        if status == 401 and not fresh:
            gateway.forget_session()
            fresh = True
            continue
        if status >= 400:
            code, detail = _refusal(response)
            logger.info("ABDM service refused %s %s: HTTP %s %s", method, path, status, code)
            raise (TokenExpired if status == 401 else ServiceRefused)(status, code, detail)
        return response


def json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ServiceUnavailable("the answer is not JSON") from exc
    if not isinstance(body, dict):
        raise ServiceUnavailable("the answer is not a JSON object")
    return body
