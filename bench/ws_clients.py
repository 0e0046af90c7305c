"""WebSocket client processes: many sockets each, timestamping every "queue" frame.

One asyncio loop per process. Each socket is a plain ``asyncio.Protocol`` driving the
``websockets`` package's Sans-I/O ``ClientProtocol`` (handshake, frame parsing, answering
pings): the package's asyncio client costs ~140 µs of CPU per received frame here (a reader
task, a queue and an assembler per socket), which on a two-core machine would make the clients,
not the server, the thing measured.

Each socket remembers which change keys it has seen; the process reports, per key, how many of
its sockets saw it and the first and last receipt time, so the parent can work out fan-out
latency and losses without shipping every (socket, key) pair back.
"""

from __future__ import annotations

import asyncio
import json
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Origin
from websockets.uri import parse_uri

from bench.environment import die_with_parent, raise_open_files_limit

CONNECT_ATTEMPTS = 4


@dataclass
class ClientSpec:
    index: int
    url: str  # ws://127.0.0.1:port
    origin: str
    paths: list[str]
    cookies: list[str]  # "" for none
    concurrency: int
    raw: bool  # raw server frames carry "key" and "sent"; app frames carry change keys


@dataclass
class KeyStats:
    sockets: int = 0
    first: float = float("inf")
    last: float = 0.0

    def saw(self, at: float) -> None:
        self.sockets += 1
        self.first = min(self.first, at)
        self.last = max(self.last, at)


@dataclass
class ClientReport:
    index: int
    connected: int = 0
    failed: int = 0
    connect_s: float = 0.0
    closed_early: int = 0
    close_codes: dict[str, int] = field(default_factory=dict)
    keys: dict[int, tuple[int, float, float]] = field(default_factory=dict)
    frames: dict[int, tuple[int, float, float]] = field(default_factory=dict)
    sent: dict[int, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class Recorder:
    def __init__(self, raw: bool) -> None:
        self.raw = raw
        self.keys: dict[int, KeyStats] = {}
        self.frames: dict[int, KeyStats] = {}
        self.sent: dict[int, float] = {}
        self.closed_early = 0
        self.close_codes: Counter[str] = Counter()
        self.stopping = False

    def frame(self, text: bytes | bytearray | memoryview, seen: set[int]) -> None:
        at = time.time()
        message: dict[str, Any] = json.loads(bytes(text) if isinstance(text, memoryview) else text)
        if message.get("type") != "queue":
            return  # the snapshot on connect, or a message for one ticket
        if self.raw:
            keys = [int(message["key"])]
            self.sent.setdefault(keys[0], float(message["sent"]))
        else:
            keys = [int(change[2]) for change in message["changes"]]
        if not keys:
            return
        frame_id = min(keys)
        self.frames.setdefault(frame_id, KeyStats()).saw(at)
        for key in keys:
            if key not in seen:
                seen.add(key)
                self.keys.setdefault(key, KeyStats()).saw(at)

    def closed(self, code: int | None) -> None:
        if not self.stopping:
            self.closed_early += 1
            self.close_codes[str(code)] += 1


class Socket(asyncio.Protocol):
    """One waiting-room page: handshake, then record every frame; pings are answered."""

    def __init__(self, recorder: Recorder, url: str, origin: str, cookie: str) -> None:
        self.recorder = recorder
        self.cookie = cookie
        self.ws = ClientProtocol(parse_uri(url), origin=Origin(origin), max_size=None)
        self.opened: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.seen: set[int] = set()
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request = self.ws.connect()
        if self.cookie:
            request.headers["Cookie"] = f"sessionid={self.cookie}"
        self.ws.send_request(request)
        self._send_pending()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self.recorder.frame(event.data, self.seen)
                elif event.opcode is Opcode.CLOSE and self.ws.close_rcvd is not None:
                    self.close_code = self.ws.close_rcvd.code
            elif isinstance(event, Response) and not self.opened.done():
                if self.ws.state is State.OPEN:
                    self.opened.set_result(True)
                else:
                    self.opened.set_exception(ConnectionError(f"handshake: {event.status_code}"))
        self._send_pending()

    def _send_pending(self) -> None:
        if self.transport is None:
            return
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)
            else:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        else:
            self.recorder.closed(self.close_code)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def _connect(
    spec: ClientSpec, i: int, gate: asyncio.Semaphore, recorder: Recorder
) -> Socket | None:
    loop = asyncio.get_running_loop()
    url = spec.url + spec.paths[i]
    uri = parse_uri(url)
    for attempt in range(CONNECT_ATTEMPTS):
        async with gate:
            socket = Socket(recorder, url, spec.origin, spec.cookies[i])
            try:
                await loop.create_connection(lambda s=socket: s, uri.host, uri.port)  # type: ignore[misc]
                await asyncio.wait_for(asyncio.shield(socket.opened), timeout=60)
                return socket
            except (OSError, TimeoutError, ConnectionError):
                socket.abort()
                if attempt == CONNECT_ATTEMPTS - 1:
                    return None
        await asyncio.sleep(0.5 * (attempt + 1))
    return None


async def _run(spec: ClientSpec, ready: Any, stop: Any) -> ClientReport:
    report = ClientReport(spec.index)
    recorder = Recorder(spec.raw)
    gate = asyncio.Semaphore(spec.concurrency)
    started = time.monotonic()
    sockets = await asyncio.gather(
        *(_connect(spec, i, gate, recorder) for i in range(len(spec.paths)))
    )
    report.connect_s = time.monotonic() - started
    live = [s for s in sockets if s is not None]
    report.connected = len(live)
    report.failed = len(sockets) - len(live)
    ready.put((spec.index, report.connected, report.failed, report.connect_s))
    while not stop.is_set():
        await asyncio.sleep(0.05)
    recorder.stopping = True
    report.closed_early = recorder.closed_early
    report.close_codes = dict(recorder.close_codes)
    report.keys = {k: (s.sockets, s.first, s.last) for k, s in recorder.keys.items()}
    report.frames = {k: (s.sockets, s.first, s.last) for k, s in recorder.frames.items()}
    report.sent = recorder.sent
    for socket in live:  # no closing handshakes: the bench is done with them
        socket.abort()
    return report


def client_process(spec: ClientSpec, ready: Any, stop: Any, reports: Any) -> None:
    """Entry point of one client process (started with ``spawn``)."""
    raise_open_files_limit()
    die_with_parent()
    try:
        report = asyncio.run(_run(spec, ready, stop))
    except BaseException:
        report = ClientReport(spec.index, errors=[traceback.format_exc()])
        ready.put((spec.index, 0, len(spec.paths), 0.0))
    reports.put(report)
