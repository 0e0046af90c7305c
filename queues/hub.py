"""The per-process waiting-room hub: one channel-layer member per process, not per socket.

Each web process keeps one hub. The hub joins the ``opd.<id>`` group once for every OPD that has
a waiting-room socket in this process, and writes each change to all of that OPD's local
sockets itself, with one pre-encoded frame. Queue changes are coalesced to one frame per OPD per
``QUEUE_BROADCAST_SECONDS`` (in revision order: see ``OpdRevision``); messages for one ticket
go straight to that ticket's sockets, and one saying the token is over closes them (4409).

This avoids the usual pattern (every consumer joins the group and encodes its own frame), whose
cost grows with sockets times changes and falls behind at a few thousand sockets per process.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from typing import Any, Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from queues.broadcast import opd_group
from queues.models import Ticket

logger = logging.getLogger(__name__)

YIELD_EVERY = 250


class WaitingSocket(Protocol):
    opd_id: int
    ticket_id: int

    async def base_send(self, message: dict[str, Any]) -> None: ...

    async def finish(self, text: str) -> None:
        """Send this last frame and close (the token is over)."""


class WaitingRoomHub:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        self.sockets: dict[int, set[WaitingSocket]] = defaultdict(set)
        self.by_ticket: dict[int, set[WaitingSocket]] = defaultdict(set)
        self.pending: dict[int, list[list[Any]]] = defaultdict(list)
        self.stats: dict[int, dict[str, Any]] = {}
        self.channel_name: str | None = None
        self._joined: set[int] = set()
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self.frames_sent = 0

    async def start(self) -> None:
        if self.layer is None or self.channel_name is not None:
            return
        self.channel_name = await self.layer.new_channel("hub.")
        self._tasks = [
            self.loop.create_task(self._receive_forever()),
            self.loop.create_task(self._flush_forever()),
        ]

    async def add(self, socket: WaitingSocket) -> None:
        await self.start()
        self.sockets[socket.opd_id].add(socket)
        self.by_ticket[socket.ticket_id].add(socket)
        if socket.opd_id not in self._joined and self.layer is not None and self.channel_name:
            async with self._lock:
                if socket.opd_id not in self._joined:
                    await self.layer.group_add(opd_group(socket.opd_id), self.channel_name)
                    self._joined.add(socket.opd_id)

    async def remove(self, socket: WaitingSocket) -> None:
        self.sockets[socket.opd_id].discard(socket)
        sockets = self.by_ticket.get(socket.ticket_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.by_ticket[socket.ticket_id]
        if not self.sockets[socket.opd_id] and self.layer is not None and self.channel_name:
            async with self._lock:
                if not self.sockets[socket.opd_id] and socket.opd_id in self._joined:
                    self._joined.discard(socket.opd_id)
                    await self.layer.group_discard(opd_group(socket.opd_id), self.channel_name)

    async def _receive_forever(self) -> None:
        assert self.layer is not None and self.channel_name is not None
        while True:
            try:
                message = await self.layer.receive(self.channel_name)
                await self._handle(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("waiting-room hub could not handle a message")
                await asyncio.sleep(0.5)

    async def _handle(self, message: dict[str, Any]) -> None:
        opd_id = message.get("opd")
        kind = message.get("type")
        if kind == "queue.delta" and isinstance(opd_id, int):
            self.pending[opd_id].extend(message.get("changes", []))
        elif kind == "opd.stats" and isinstance(opd_id, int):
            self.stats[opd_id] = {k: v for k, v in message.items() if k not in ("type", "opd")}
        elif kind == "ticket.update":
            await self._ticket_update(message.get("ticket", -1), message.get("payload", {}))

    async def _ticket_update(self, ticket_id: int, payload: dict[str, Any]) -> None:
        """One ticket's news to its own sockets. A token that is over (completed, cancelled,
        no-show, left) has nothing more to say: its sockets are closed with 4409 after the
        frame, as a socket opened for it now would be."""
        finished = payload.get("status") not in Ticket.ACTIVE
        sockets = list(
            self.by_ticket.pop(ticket_id, ()) if finished else self.by_ticket.get(ticket_id, ())
        )
        text = json.dumps({"type": "ticket", **payload})
        frame = {"type": "websocket.send", "text": text}
        for socket in sockets:
            if finished:
                await self._finish(socket, text)
            else:
                await self._write(socket, frame)

    async def _flush_forever(self) -> None:
        """Flush on a fixed clock: a slow flush must not stretch the period between frames."""
        interval = float(settings.QUEUE_BROADCAST_SECONDS)
        next_tick = self.loop.time() + interval
        while True:
            await asyncio.sleep(max(0.0, next_tick - self.loop.time()))
            next_tick = max(next_tick + interval, self.loop.time())
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("waiting-room hub could not flush")

    async def flush(self) -> None:
        batches, self.pending = self.pending, defaultdict(list)
        stats, self.stats = self.stats, {}
        for opd_id, figures in stats.items():
            frame = {"type": "websocket.send", "text": json.dumps({"type": "stats", **figures})}
            await self._write_all(list(self.sockets.get(opd_id, ())), frame)
        for opd_id, changes in batches.items():
            sockets = list(self.sockets.get(opd_id, ()))
            if not sockets or not changes:
                continue
            # Processes publish in the order their transactions end, not always in revision
            # order: a frame lists its changes by revision (pages accept any order anyway).
            changes.sort(key=lambda change: change[3] if len(change) > 3 else 0)
            frame = {
                "type": "websocket.send",
                "text": json.dumps({"type": "queue", "changes": changes}),
            }
            await self._write_all(sockets, frame)

    async def _write_all(self, sockets: list[WaitingSocket], frame: dict[str, Any]) -> None:
        """One frame to many sockets, letting the loop send bytes and read Redis every few
        hundred writes instead of only when all of them are queued."""
        for index, socket in enumerate(sockets, start=1):
            await self._write(socket, frame)
            if index % YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def _write(self, socket: WaitingSocket, frame: dict[str, Any]) -> None:
        try:
            await socket.base_send(frame)
            self.frames_sent += 1
        except Exception:  # a socket closing under us: its disconnect removes it
            logger.debug("write to a closing waiting-room socket failed", exc_info=True)

    async def _finish(self, socket: WaitingSocket, text: str) -> None:
        try:
            await socket.finish(text)
            self.frames_sent += 1
        except Exception:
            logger.debug("could not finish a closing waiting-room socket", exc_info=True)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []


_hub: WaitingRoomHub | None = None


def hub() -> WaitingRoomHub:
    """This process's hub, bound to the running event loop (a new loop gets a new hub)."""
    global _hub  # noqa: PLW0603
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop:
        _hub = WaitingRoomHub()
    return _hub
