"""What-if patches for the waiting-room hub, loaded into Daphne in place of ``esanjeevani.asgi``.

``daphne bench.daphne_what_if:application`` with ``BENCH_HUB_WHAT_IF`` set to a comma list:

- ``ticks``: flush on a fixed 0.5 s clock; the hub now sleeps 0.5 s *after* each flush, so a
  flush that takes 0.3 s makes the period 0.8 s (1.25 frames/s instead of 2).
- ``yield``: give the event loop a turn every ``YIELD_EVERY`` sockets while flushing; the hub's
  loop never yields (``base_send`` completes without suspending), so Redis messages and the
  reactor's socket writes wait until the last of 5,000 sockets is queued.
- ``prepared``: frame the payload once per flush (autobahn's ``prepareMessage``) and hand the
  same bytes to every socket's protocol, instead of Daphne + autobahn encoding and framing
  the text again for each socket.
- ``gc``: ``gc.freeze()`` what start-up allocated and raise the young-generation threshold, so
  full collections (which walk every socket's objects) run less often.

Measurement only: the application's code is not changed.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
from collections import defaultdict
from typing import Any

from esanjeevani.asgi import application
from queues.hub import WaitingRoomHub, WaitingSocket

YIELD_EVERY = 250
WHAT_IF = {name for name in os.environ.get("BENCH_HUB_WHAT_IF", "").split(",") if name}

__all__ = ["application"]


async def _flush_on_a_clock(self: WaitingRoomHub) -> None:
    from django.conf import settings  # noqa: PLC0415

    interval = float(settings.QUEUE_BROADCAST_SECONDS)
    next_at = self.loop.time() + interval
    while True:
        await asyncio.sleep(max(0.0, next_at - self.loop.time()))
        next_at = max(next_at + interval, self.loop.time())
        await self.flush()


def _protocol_of(socket: WaitingSocket) -> Any:
    # Daphne hands each application ``partial(server.handle_reply, protocol)`` as ``send``.
    return getattr(socket.base_send, "args", (None,))[0]


async def _send_all(self: WaitingRoomHub, sockets: list[WaitingSocket], text: str) -> None:
    prepared = None
    if "prepared" in WHAT_IF and sockets:
        protocol = _protocol_of(sockets[0])
        factory = getattr(protocol, "factory", None)
        if factory is not None:
            prepared = factory.prepareMessage(text.encode("utf8"))
    frame = {"type": "websocket.send", "text": text}
    for i, socket in enumerate(sockets):
        protocol = _protocol_of(socket) if prepared is not None else None
        if protocol is not None and protocol.state == protocol.STATE_OPEN:
            protocol.sendPreparedMessage(prepared)
            self.frames_sent += 1
        else:
            await self._write(socket, frame)
        if "yield" in WHAT_IF and i % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)


async def _flush(self: WaitingRoomHub) -> None:
    batches, self.pending = self.pending, defaultdict(list)
    stats, self.stats = self.stats, {}
    for opd_id, figures in stats.items():
        text = json.dumps({"type": "stats", **figures})
        await _send_all(self, list(self.sockets.get(opd_id, ())), text)
    for opd_id, changes in batches.items():
        sockets = list(self.sockets.get(opd_id, ()))
        if sockets and changes:
            await _send_all(self, sockets, json.dumps({"type": "queue", "changes": changes}))


if "ticks" in WHAT_IF:
    WaitingRoomHub._flush_forever = _flush_on_a_clock  # type: ignore[method-assign]
if WHAT_IF & {"yield", "prepared"}:
    WaitingRoomHub.flush = _flush  # type: ignore[method-assign]
if "gc" in WHAT_IF:
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
