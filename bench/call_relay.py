"""How fast the call socket relays, and how late: two plain WebSocket clients, one per side.

- Throughput: the sender writes ``state`` messages as fast as the relay takes them, keeping at
  most ``window`` of them unanswered (sent but not yet received on the other side), so the
  server's queues stay short and the rate is what the relay sustains, not what a socket buffer
  swallows. Rate = messages received / time from the first send to the last receipt.
- Latency: ``candidate`` messages at a fixed rate; each carries its sequence number and the
  send time (``perf_counter_ns``, one clock: both clients are in this process) inside its
  candidate string, which the relay checks only for type and length:
  ``candidate:1 1 udp 1 127.0.0.1 9 typ host ufrag <seq>-<sent ns>``.

The same procedures run against the raw ``websockets`` relay (bench/call_raw_relay.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from bench.stats import percentile

STATE = json.dumps({"type": "state", "muted": True, "camera": True})
PROBE = "candidate:1 1 udp 1 127.0.0.1 9 typ host ufrag "
DRAIN_SECONDS = 10.0


async def open_socket(url: str, origin: str, cookie: str = "") -> ClientConnection:
    return await connect(
        url,
        origin=Origin(origin),
        additional_headers={"Cookie": cookie} if cookie else None,
        proxy=None,
        compression=None,
        max_queue=None,
        ping_interval=None,
    )


@dataclass
class Throughput:
    sent: int
    received: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.received / self.seconds if self.seconds else 0.0


@dataclass
class Latency:
    sent: int
    received: int
    delays_ms: list[float]

    def p(self, q: float) -> float:
        return round(percentile(self.delays_ms, q), 2)


async def throughput(
    sender: ClientConnection, receiver: ClientConnection, *, seconds: float, window: int
) -> Throughput:
    sent = received = 0
    finished = False
    room = asyncio.Event()
    room.set()
    drained = asyncio.Event()
    last = 0.0

    async def count() -> None:
        nonlocal received, last
        async for raw in receiver:
            if isinstance(raw, str) and '"state"' in raw:
                received += 1
                last = time.perf_counter()
                if sent - received < window:
                    room.set()
                if finished and received >= sent:
                    drained.set()
                    return

    counter = asyncio.create_task(count())
    started = time.perf_counter()
    deadline = started + seconds
    try:
        while time.perf_counter() < deadline:
            if sent - received >= window:
                room.clear()
                await room.wait()
            await sender.send(STATE)
            sent += 1
        finished = True
        if received >= sent:
            drained.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drained.wait(), DRAIN_SECONDS)
    finally:
        counter.cancel()
        await asyncio.gather(counter, return_exceptions=True)
    return Throughput(sent, received, (last or time.perf_counter()) - started)


async def latency(
    sender: ClientConnection, receiver: ClientConnection, *, rate: float, seconds: float
) -> Latency:
    count = int(rate * seconds)
    delays: list[float] = []
    seen: set[int] = set()
    done = asyncio.Event()

    async def collect() -> None:
        async for raw in receiver:
            at = time.perf_counter_ns()
            if not isinstance(raw, str):
                continue
            start = raw.find(PROBE)
            if start < 0:
                continue
            tail = raw[start + len(PROBE) :]
            seq_text, _, sent_text = tail.partition("-")
            sent_ns = int(sent_text.split('"', 1)[0])
            seen.add(int(seq_text))
            delays.append((at - sent_ns) / 1e6)
            if len(seen) >= count:
                done.set()
                return

    collector = asyncio.create_task(collect())
    started = time.perf_counter()
    try:
        for seq in range(count):
            wait = started + seq / rate - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            candidate = f"{PROBE}{seq}-{time.perf_counter_ns()}"
            await sender.send(
                json.dumps(
                    {
                        "type": "candidate",
                        "candidate": {"candidate": candidate, "sdpMid": "0", "sdpMLineIndex": 0},
                    }
                )
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), DRAIN_SECONDS)
    finally:
        collector.cancel()
        await asyncio.gather(collector, return_exceptions=True)
    return Latency(count, len(seen), delays)


async def measure(
    sender: ClientConnection,
    receiver: ClientConnection,
    *,
    seconds: float,
    window: int,
    rate: float,
    latency_seconds: float,
) -> dict[str, float | int]:
    """Throughput first, then latency at ``rate`` on the same pair of sockets."""
    flow = await throughput(sender, receiver, seconds=seconds, window=window)
    await asyncio.sleep(0.5)  # let anything left over arrive before timing single messages
    delay = await latency(sender, receiver, rate=rate, seconds=latency_seconds)
    return {
        "msgs_per_s": round(flow.per_second),
        "sent": flow.sent,
        "lost": flow.sent - flow.received,
        "p50_ms": delay.p(50),
        "p99_ms": delay.p(99),
        "max_ms": delay.p(100),
        "latency_sent": delay.sent,
        "latency_lost": delay.sent - delay.received,
    }


async def close_quietly(*sockets: ClientConnection) -> None:
    for socket in sockets:
        with contextlib.suppress(ConnectionClosed):
            await socket.close()
