"""The dashboards' live panel, ``/ws/dashboard/live/`` (``?state=XX`` for one state).

A state administrator may watch their own state, the national administrator the country (no
``state``) or any state. On connect the socket sends a ``live`` frame (``dashboards.live``) and
sends another whenever a queue in its scope changes, at most one a second however many bookings
arrive, and every ``REFRESH_SECONDS`` in any case (a lost message is repaired by then).

Client frames: ``{"type": "ping"}`` (answered by ``pong``), ``{"type": "refresh"}``.

Close codes (as for every socket, see core/sockets.py and docs/dashboard-pages.md): 4401 not
signed in; 4403 signed in but not allowed (patients, doctors, another state's administrator);
4404 no such state; 4400 and 4429 for unreadable or too many frames.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied

from accounts.models import User
from core.errors import ServiceError
from core.sockets import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED, JsonSocket
from dashboards.events import groups_for
from dashboards.live import live_now, live_payload
from dashboards.selectors import Scope, scope_for

logger = logging.getLogger(__name__)

MIN_INTERVAL_SECONDS = 1.0
REFRESH_SECONDS = 15.0


@database_sync_to_async
def _scope_for(user: User, state_code: str | None) -> Scope:
    return scope_for(user, state_code)


@database_sync_to_async
def _snapshot(scope: Scope) -> dict[str, Any]:
    return live_payload(live_now(scope))


def _state_asked(query_string: bytes) -> str | None:
    values = parse_qs(query_string.decode("latin-1")).get("state", [""])
    return values[0].strip().upper() or None


class LiveDashboardConsumer(JsonSocket):
    handlers = frozenset({"ping", "refresh"})
    area: Scope | None = None

    async def connect(self) -> None:
        self.groups_joined: list[str] = []
        self.last_sent = 0.0
        self.scheduled: asyncio.TimerHandle | None = None
        self.reading = False
        self.again = False
        self.refresher: asyncio.Task[None] | None = None
        user = self.scope.get("user")
        if not isinstance(user, User) or not user.is_active:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        if not user.is_administrator:
            await self.refuse(CLOSE_FORBIDDEN)
            return
        try:
            area = await _scope_for(user, _state_asked(self.scope.get("query_string", b"")))
        except PermissionDenied:
            await self.refuse(CLOSE_FORBIDDEN)
            return
        except ServiceError as refusal:
            await self.refuse(CLOSE_NOT_FOUND if refusal.status == 404 else CLOSE_FORBIDDEN)
            return
        await self.accept()
        self.area = area
        # Join before the first snapshot, so that no change falls between the two.
        for group in groups_for(area):
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self._send_snapshot()
        self.refresher = asyncio.ensure_future(self._refresh_forever())

    async def disconnect(self, code: int) -> None:
        self.area = None
        if self.scheduled is not None:
            self.scheduled.cancel()
        if self.refresher is not None:
            self.refresher.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self.send(text_data='{"type":"pong"}')

    async def on_refresh(self, message: dict[str, Any]) -> None:
        self._schedule()

    # Group events ------------------------------------------------------------------------

    async def dashboard_changed(self, event: dict[str, Any]) -> None:
        self._schedule()

    # Coalescing --------------------------------------------------------------------------

    def _schedule(self) -> None:
        """One snapshot a second after the last one ended, however many changes come. A change
        heard while a snapshot is being read may have missed that read: one more follows."""
        if self.area is None:
            return
        if self.reading:
            self.again = True
            return
        if self.scheduled is not None:  # the coming read will see this change too
            return
        delay = max(0.0, MIN_INTERVAL_SECONDS - (time.monotonic() - self.last_sent))
        self.scheduled = asyncio.get_running_loop().call_later(
            delay, lambda: asyncio.ensure_future(self._deferred_snapshot())
        )

    async def _deferred_snapshot(self) -> None:
        self.scheduled = None
        if self.area is None:
            return
        self.reading = True
        try:
            await self._send_snapshot()
        except Exception:  # the socket closed meanwhile, or the database is away: next time
            logger.debug("live dashboard snapshot not sent", exc_info=True)
        finally:
            self.reading = False
        if self.again:
            self.again = False
            self._schedule()

    async def _send_snapshot(self) -> None:
        assert self.area is not None
        try:
            await self.send_json(await _snapshot(self.area))
        finally:
            self.last_sent = time.monotonic()

    async def _refresh_forever(self) -> None:
        while self.area is not None:
            await asyncio.sleep(REFRESH_SECONDS)
            self._schedule()
