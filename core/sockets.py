"""JSON WebSocket plumbing shared by every socket: limits, error frames, documented closes.

Close codes used across the project (see docs/waiting-room.md and docs/signalling.md):
4400 too many unreadable frames, 4401 not signed in (or the session that opened the socket
ended: ``core.socket_sessions``), 4403 not allowed, 4404 not found for this account, 4409 no
longer active, 4429 too many messages. Which pages may open a socket: ``core.socket_origin``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from core import socket_sessions
from core.errors import ServiceError

MAX_FRAME = 4096
MAX_BAD_FRAMES = 5
RATE_WINDOW_SECONDS = 10.0
RATE_LIMIT = 30

CLOSE_MALFORMED = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_INACTIVE = 4409
CLOSE_RATE_LIMITED = 4429

# What a server raises on a frame sent to a socket that is closing: Daphne (through autobahn)
# ``Disconnected``; servers following ASGI 2.4 an ``OSError``.
SOCKET_GONE = (Disconnected, OSError)

logger = logging.getLogger(__name__)


def parse_frame(
    text_data: str | None, max_frame: int = MAX_FRAME
) -> tuple[str | None, dict[str, Any]]:
    """``(error code, message)``: the code is None when the frame is a usable JSON object."""
    if text_data is None:
        return "text_only", {}
    if len(text_data) > max_frame:
        return "too_large", {}
    try:
        message = json.loads(text_data)
    except ValueError:
        return "malformed", {}
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "malformed", {}
    return None, message


class JsonSocket(AsyncWebsocketConsumer):
    """JSON frames with limits: size, malformed frames, message rate; ``on_<type>`` handlers."""

    handlers: frozenset[str] = frozenset()
    max_frame = MAX_FRAME
    rate_limit = RATE_LIMIT

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.bad_frames = 0
        self.closing = False
        self.window_start = time.monotonic()
        self.window_count = 0
        await super().websocket_connect(message)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels closes stale database connections before every event, in a worker thread;
        handlers here reach the database only through ``database_sync_to_async`` helpers that
        do that themselves, so the hop (most of a relayed message's cost) is skipped."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        """A frame to a socket that is closing is lost, as on any network: not an error. (Both
        sides of a call hanging up at once tell each other so while their sockets close.)"""
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except SOCKET_GONE:
            logger.debug("frame not sent: the socket is closing")

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content))

    async def send_error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        """Accept, and close again when the session that opened the socket ends (4401)."""
        await super().accept(subprotocol, headers)
        await socket_sessions.registry().add(self)

    async def refuse(self, code: int, *, last_frame: dict[str, Any] | None = None) -> None:
        """Accept, then close with a documented code (a refusal before accept loses the code),
        after ``last_frame`` if the page should learn more than the code."""
        await super().accept()
        if last_frame is not None:
            await self.send_json(last_frame)
        await self.close(code=code)

    async def end_session(self) -> None:
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        socket_sessions.registry().discard(self)
        await super().websocket_disconnect(message)

    def _over_rate(self) -> bool:
        now = time.monotonic()
        if now - self.window_start > RATE_WINDOW_SECONDS:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        return self.window_count > self.rate_limit

    async def admit(self, kind: str) -> bool:
        """Whether a well-formed frame of a known ``kind`` may be handled now; a consumer that
        says no has answered or closed the socket itself."""
        return True

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        self.closing = True
        await super().close(code=code, reason=reason)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:  # frames that crossed our close on the wire
            return
        if self._over_rate():
            await self.send_error("rate_limited", "Too many messages; slow down.")
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        problem, message = parse_frame(text_data, self.max_frame)
        if problem is not None:
            self.bad_frames += 1
            await self.send_error(problem, "That message could not be read.")
            if self.bad_frames >= MAX_BAD_FRAMES:
                await self.close(code=CLOSE_MALFORMED)
            return
        kind = message["type"]
        if kind not in self.handlers:
            # Not an unreadable frame: a newer page may send types this server does not know
            # yet (during a deploy). Only the rate limit counts them.
            await self.send_error("unknown_type", f"Unknown message type {kind[:40]!r}.")
            return
        if not await self.admit(kind):
            return
        try:
            await getattr(self, f"on_{kind}")(message)
        except ServiceError as error:
            await self.send_error(error.code, error.message, **error.extra)
