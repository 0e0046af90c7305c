"""ABDM's admission rules for every call a HIP makes (after ProjectEKA/gateway's validators).

Each rule refuses with the status ABDM answers and an error body shaped as ABDM's:
`{"error": {"code": "ABDM-1xxx", "message": "..."}}`. The codes are this gateway's own; clients
should branch on the HTTP status. A refused call changes nothing: its REQUEST-ID is remembered
only once every other rule passed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from aiohttp import web

from abdm_gateway.config import Client, Config
from abdm_gateway.keys import Keys
from abdm_gateway.store import Store

PAST_WINDOW = timedelta(minutes=1)
FUTURE_WINDOW = timedelta(minutes=9)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        return web.json_response(
            {"error": {"code": self.code, "message": self.message}}, status=self.status
        )


@dataclass(frozen=True)
class Admitted:
    client: Client
    request_id: str
    hip_id: str | None
    reply_to: str | None
    headers: Mapping[str, str] = field(default_factory=dict)


def parse_timestamp(value: str | None) -> datetime:
    if not value:
        raise Refused(400, "ABDM-1002", "TIMESTAMP header is required")
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(400, "ABDM-1002", "TIMESTAMP is not an ISO 8601 time") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    now = datetime.now(UTC)
    if not now - PAST_WINDOW <= stamp <= now + FUTURE_WINDOW:
        raise Refused(400, "ABDM-1002", "TIMESTAMP is outside the accepted window")
    return stamp


def check_headers(request: web.Request, config: Config) -> str:
    """REQUEST-ID a UUID, TIMESTAMP in the window, X-CM-ID this gateway's; the REQUEST-ID."""
    request_id = request.headers.get("REQUEST-ID", "")
    try:
        uuid.UUID(request_id)
    except ValueError:
        raise Refused(400, "ABDM-1001", "REQUEST-ID must be a UUID") from None
    parse_timestamp(request.headers.get("TIMESTAMP"))
    if request.headers.get("X-CM-ID") != config.cm_id:
        raise Refused(400, "ABDM-1003", "X-CM-ID is not this consent manager's id")
    return request_id


def authenticate(request: web.Request, keys: Keys, config: Config) -> Client:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Refused(401, "ABDM-1008", "A Bearer token is required")
    try:
        claims = keys.verify(header.removeprefix("Bearer ").strip())
    except jwt.ExpiredSignatureError:
        raise Refused(401, "ABDM-1008", "The access token has expired") from None
    except jwt.InvalidTokenError:
        raise Refused(401, "ABDM-1008", "The access token is not valid") from None
    client = config.clients.get(str(claims.get("clientId")))
    if client is None:
        raise Refused(401, "ABDM-1008", "The access token names no registered client")
    return client


def reply_to(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("response"), dict):
        value = body["response"].get("requestId")
        return str(value) if value is not None else ""
    return None


def admit(
    request: web.Request,
    body: Any,
    *,
    config: Config,
    keys: Keys,
    store: Store,
    hip_required: bool,
    required_headers: tuple[str, ...] = (),
) -> Admitted:
    """Every rule, in the order ABDM applies them; remembers the REQUEST-ID last."""
    client = authenticate(request, keys, config)
    request_id = check_headers(request, config)
    hip_id = request.headers.get("X-HIP-ID")
    if hip_id is None and hip_required:
        raise Refused(400, "ABDM-1004", "X-HIP-ID header is required")
    if hip_id is not None and hip_id not in client.hip_ids:
        owner = config.client_for_hip(hip_id)
        if owner is None:
            raise Refused(400, "ABDM-1004", "X-HIP-ID is not a registered HIP")
        raise Refused(403, "ABDM-1005", "X-HIP-ID does not belong to this client")
    for name in required_headers:
        if not request.headers.get(name):
            raise Refused(400, "ABDM-1009", f"{name} header is required")
    answering = reply_to(body)
    if answering is not None:
        state = store.sent_request_state(answering, client.client_id)
        if state == "unknown":
            raise Refused(400, "ABDM-1006", "response.requestId matches no request we sent")
        if state == "answered":
            raise Refused(409, "ABDM-1007", "response.requestId was answered already")
    if not store.remember_request(request_id, client.client_id, request.path):
        raise Refused(429, "ABDM-1017", "REQUEST-ID was used before")
    if answering is not None:
        store.mark_answered(answering)
    return Admitted(client, request_id, hip_id, answering, request.headers)
