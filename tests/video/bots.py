"""aiortc "bots" that make real video calls through the call socket (docs/signalling.md).

A bot is one side of a consultation as a page would be: it joins ``/ws/call/<room>/`` with a
signed-in session, follows the protocol (the doctor offers on ``room`` with ``peer: true`` and on
every ``peer joined``, the patient answers), sends heartbeats, reports its connection state and
counts the video frames it receives. aiortc puts its candidates in its SDP; a bot made with
``trickle=True`` sends them as ``candidate`` messages instead (then end-of-candidates), as a
browser would, so the other bot applies trickled candidates. Everything stays on 127.0.0.1
(``stay_on_loopback``) and uses no STUN or TURN server.

Each RTCPeerConnection is a ``Leg`` with its timestamps (``time.perf_counter``): started,
ICE connected, connected (ICE and DTLS: media can flow) and first video frame received. A bot
that gets a new offer, or hears that the other side (re)joined or left, starts a new leg, as a
page does after the other side reloads.

Also here: a ticket whose room is open (``called_ticket``), sessions for bots
(``session_cookie``) and a Daphne for them (``live_daphne``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aioice.ice
import av
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from aiortc.mediastreams import VideoStreamTrack as _VideoStreamTrack
from aiortc.sdp import candidate_from_sdp
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from queues.models import DoctorPresence, Ticket
from queues.services import duty, visits
from queues.services.booking import book
from video.echo import loopback_host_addresses

Frame = dict[str, Any]
CANDIDATE_PREFIX = "candidate:"


def stay_on_loopback() -> None:
    """aioice offers 127.0.0.1 only (it leaves loopback out otherwise)."""
    aioice.ice.get_host_addresses = loopback_host_addresses


def called_ticket(opd_code: str = "VB") -> Ticket:
    """Booked, offered to a doctor on duty and accepted: the call room is open (``called``)."""
    # Test data helpers, imported here so that the bench can use the bots without pytest.
    from tests.factories import DoctorFactory, PatientFactory  # noqa: PLC0415
    from tests.queues.conftest import make_opd  # noqa: PLC0415

    opd = make_opd(opd_code)
    patient = PatientFactory()
    with transaction.atomic():
        ticket = book(account=patient.account, patient=patient, opd=opd, complaint="Cough")
    doctor = DoctorFactory()
    DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
    duty.go_on_duty(doctor, [opd.pk])  # offers the ticket (dispatch runs on commit)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OFFERED, ticket.status
    visits.accept_offer(doctor, ticket)
    return Ticket.objects.select_related("doctor__user", "patient__account").get(pk=ticket.pk)


class SmallVideoTrack(_VideoStreamTrack):
    """A 160x120 grey picture at 30 frames a second: cheap to encode, enough to count."""

    def __init__(self, width: int = 160, height: int = 120) -> None:
        super().__init__()
        self.width, self.height = width, height

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=self.width, height=self.height, format="yuv420p")
        for plane in frame.planes:
            plane.update(b"\x80" * plane.buffer_size)
        frame.pts = pts
        frame.time_base = fractions.Fraction(time_base)
        return frame


@dataclass
class Leg:
    """One RTCPeerConnection of a bot, from its start to its close."""

    pc: RTCPeerConnection
    started: float
    ice_connected: float | None = None
    connected: float | None = None
    first_frame: float | None = None
    frames: int = 0
    offer: str | None = None  # the offer answered, for the answerer
    states: list[str] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    def remote_candidates(self) -> list[str]:
        """``"ip port"`` of the other side's candidates known to our (bundled) transport."""
        transport = self.pc.getTransceivers()[0].receiver.transport.transport
        return [f"{c.ip} {c.port}" for c in transport.getRemoteCandidates()]


def _ice_servers(servers: list[Frame]) -> list[RTCIceServer]:
    """The ``room`` frame's RTCIceServer dictionaries, for aiortc."""
    return [
        RTCIceServer(
            urls=server["urls"],
            username=server.get("username"),
            credential=server.get("credential"),
        )
        for server in servers
    ]


def split_candidates(sdp: str) -> tuple[str, list[Frame]]:
    """``(sdp without candidates, candidate messages)``: what a trickling browser sends."""
    lines = sdp.split("\r\n")
    kept: list[str] = []
    candidates: list[Frame] = []
    mid: str | None = None
    index = -1
    for line in lines:
        if line.startswith("m="):
            index += 1
            mid = None
        elif line.startswith("a=mid:"):
            mid = line.removeprefix("a=mid:")
        if line.startswith("a=candidate:"):
            text = line.removeprefix("a=")
            candidates.append({"candidate": text, "sdpMid": mid, "sdpMLineIndex": index})
            continue
        if line == "a=end-of-candidates":
            continue
        kept.append(line)
    return "\r\n".join(kept), candidates


class CallBot:
    """One side of a call: a socket to the signalling and a peer connection per leg."""

    def __init__(
        self,
        base_url: str,
        room: str,
        cookie: str,
        *,
        name: str,
        client: str | None = None,
        trickle: bool = False,
        heartbeat_seconds: float = 5.0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.name = name
        self.client = client or str(uuid.uuid4())
        self.url = base_url.replace("http://", "ws://", 1) + (
            f"/ws/call/{room}/?client={self.client}"
        )
        self.origin = base_url
        self.cookie = cookie
        self.trickle = trickle
        self.heartbeat_seconds = heartbeat_seconds
        self.clock = clock
        self.started = clock()
        self.joined: float | None = None
        self.side: str | None = None
        self.ice_servers: list[RTCIceServer] = []
        self.received: list[Frame] = []
        self.legs: list[Leg] = []
        self.close_code: int | None = None
        self.errors: list[BaseException] = []
        self._read = 0
        self._socket: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._negotiation = asyncio.Lock()

    # Life cycle ---------------------------------------------------------------------------

    async def join(self, timeout: float = 10.0) -> Frame:
        """Open the socket; the ``room`` frame."""
        self.started = self.clock()
        self._socket = await connect(
            self.url,
            origin=Origin(self.origin),
            additional_headers={"Cookie": self.cookie},
            proxy=None,
            open_timeout=timeout,
            max_size=2**20,
        )
        self._tasks.append(asyncio.create_task(self._read_frames()))
        self._tasks.append(asyncio.create_task(self._heartbeat()))
        await self._until(
            lambda: self.joined is not None or self.close_code is not None, timeout, "room frame"
        )
        if self.joined is None:
            raise AssertionError(f"{self.name}: closed with {self.close_code} instead of joining")
        return next(f for f in self.received if f["type"] == "room")

    async def leave(self) -> None:
        """Close the socket (code 1000), as a page that is closed does."""
        if self._socket is not None:
            await self._socket.close()

    async def close(self) -> None:
        """Close the socket and every peer connection; stop every task."""
        await self.leave()
        for leg in self.legs:
            await self._end(leg)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def leg(self) -> Leg | None:
        return self.legs[-1] if self.legs else None

    # Waiting -----------------------------------------------------------------------------

    def _changed(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def _until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(
                    f"{self.name}: no {what} within {timeout}s (closed with {self.close_code}, "
                    f"errors {self.errors!r}).\nFrames: {json.dumps(self.received)[-3000:]}"
                )
            waiter = loop.create_future()
            self._waiters.append(waiter)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, left)

    async def wait_for(self, timeout: float = 10.0, **expected: Any) -> Frame:
        """The next unread frame whose fields have the expected values."""
        found: list[Frame] = []

        def seen() -> bool:
            while self._read < len(self.received):
                frame = self.received[self._read]
                self._read += 1
                if all(frame.get(k) == v for k, v in expected.items()):
                    found.append(frame)
                    return True
            return False

        await self._until(seen, timeout, f"frame like {expected}")
        return found[0]

    async def connected(self, timeout: float = 10.0, *, leg: int | None = None) -> Leg:
        """The current (or ``leg``-th) leg once ICE and DTLS are up."""

        def up() -> bool:
            found = self._leg(leg)
            return found is not None and found.connected is not None

        await self._until(up, timeout, "connection")
        found = self._leg(leg)
        assert found is not None
        return found

    async def receiving_video(self, frames: int = 1, timeout: float = 10.0) -> Leg:
        """The current leg once it has received ``frames`` video frames."""
        await self._until(
            lambda: self.leg is not None and self.leg.frames >= frames, timeout, "video frames"
        )
        assert self.leg is not None
        return self.leg

    async def closed(self, timeout: float = 10.0) -> int:
        await self._until(lambda: self.close_code is not None, timeout, "close")
        assert self.close_code is not None
        return self.close_code

    def _leg(self, number: int | None) -> Leg | None:
        if number is None:
            return self.leg
        return self.legs[number] if number < len(self.legs) else None

    # Socket ------------------------------------------------------------------------------

    async def send(self, message: Frame) -> None:
        assert self._socket is not None
        await self._socket.send(json.dumps(message))

    async def _heartbeat(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.heartbeat_seconds)
                await self.send({"type": "ping"})

    async def _read_frames(self) -> None:
        assert self._socket is not None
        try:
            async for raw in self._socket:
                await self.receive(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self._socket.close_code or 1006
            self._changed()

    async def receive(self, frame: Frame) -> None:
        """One frame from the server, handled in order."""
        self.received.append(frame)
        try:
            await self._handle(frame)
        except Exception as error:  # kept for the failure message
            self.errors.append(error)
        self._changed()

    async def _handle(self, frame: Frame) -> None:
        async with self._negotiation:
            await self._negotiate(frame)

    async def _negotiate(self, frame: Frame) -> None:
        kind = frame["type"]
        if kind == "room":
            self.side = frame["side"]
            self.ice_servers = _ice_servers(frame["ice_servers"])
            self.joined = self.clock()
            if self.side == "doctor" and frame["peer"]:
                await self._offer()
        elif kind == "peer":
            if self.side == "doctor" and frame["event"] == "joined":
                await self._offer()
            elif self.leg is not None:  # the other page is gone or new: so is our leg
                await self._end(self.leg)
        elif kind == "offer":
            await self._answer(frame["sdp"])
        elif kind == "answer":
            if self.leg is not None and self.leg.pc.signalingState == "have-local-offer":
                await self.leg.pc.setRemoteDescription(
                    RTCSessionDescription(sdp=frame["sdp"], type="answer")
                )
        elif kind == "candidate":
            await self._add_candidate(frame["candidate"])

    async def _restart(self, leg: Leg) -> None:
        """The doctor's answer to a failed connection: a fresh offer (aiortc cannot restart
        ICE on a connection, so a new leg)."""
        async with self._negotiation:
            if leg is self.leg and self.close_code is None:
                await self._offer()

    # Negotiation -------------------------------------------------------------------------

    def _new_leg(self) -> Leg:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self.ice_servers)))
        leg = Leg(pc=pc, started=self.clock())
        self.legs.append(leg)

        @pc.on("iceconnectionstatechange")
        def ice_state() -> None:
            if pc.iceConnectionState in ("completed", "connected") and leg.ice_connected is None:
                leg.ice_connected = self.clock()

        @pc.on("connectionstatechange")
        async def state() -> None:
            current = pc.connectionState
            leg.states.append(current)
            if current == "connected" and leg.connected is None:
                leg.connected = self.clock()
            self._changed()
            if leg is self.leg and self.close_code is None:
                with contextlib.suppress(ConnectionClosed):
                    await self.send({"type": "state", "connection": current})
                if current == "failed" and self.side == "doctor":
                    await self._restart(leg)

        @pc.on("track")
        def track(received: MediaStreamTrack) -> None:
            if received.kind == "video":
                leg.readers.append(asyncio.create_task(self._count_frames(leg, received)))

        return leg

    async def _count_frames(self, leg: Leg, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                leg.frames += 1
                if leg.first_frame is None:
                    leg.first_frame = self.clock()
                    self._changed()
                elif leg.frames % 10 == 0:
                    self._changed()

    async def _end(self, leg: Leg) -> None:
        await leg.pc.close()
        for reader in leg.readers:
            reader.cancel()

    def _add_media(self, leg: Leg) -> None:
        leg.pc.addTrack(AudioStreamTrack())
        leg.pc.addTrack(SmallVideoTrack())

    async def _offer(self) -> None:
        current = self.leg
        if current is not None and current.pc.signalingState == "have-local-offer":
            # Not answered yet: the same offer again (a 'peer joined' may arrive just after a
            # 'room' frame that already said the peer was there).
            await self._describe("offer", current.pc.localDescription.sdp)
            return
        if current is not None:
            await self._end(current)
        leg = self._new_leg()
        self._add_media(leg)
        await leg.pc.setLocalDescription(await leg.pc.createOffer())
        await self._describe("offer", leg.pc.localDescription.sdp)

    async def _answer(self, sdp: str) -> None:
        current = self.leg
        if current is not None and current.offer == sdp:  # the same offer again: same answer
            await self._describe("answer", current.pc.localDescription.sdp)
            return
        if current is not None:
            await self._end(current)
        leg = self._new_leg()
        leg.offer = sdp
        await leg.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self._add_media(leg)
        await leg.pc.setLocalDescription(await leg.pc.createAnswer())
        await self._describe("answer", leg.pc.localDescription.sdp)

    async def _describe(self, kind: str, sdp: str) -> None:
        if not self.trickle:
            await self.send({"type": kind, "sdp": sdp})
            return
        bare, candidates = split_candidates(sdp)
        await self.send({"type": kind, "sdp": bare})
        for candidate in candidates:
            await self.send({"type": "candidate", "candidate": candidate})
        await self.send({"type": "candidate", "candidate": None})

    async def _add_candidate(self, candidate: Frame | None) -> None:
        leg = self.leg
        if leg is None or leg.pc.remoteDescription is None:
            return
        if candidate is None or not candidate.get("candidate"):
            await leg.pc.addIceCandidate(None)
            return
        parsed = candidate_from_sdp(candidate["candidate"].removeprefix(CANDIDATE_PREFIX))
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        await leg.pc.addIceCandidate(parsed)


# A Daphne for the bots ---------------------------------------------------------------------


def shared_database_url() -> str:
    """The test database, as a URL for another process (call inside ``django_db_blocker``)."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("A live Daphne shares the database: set DATABASE_URL to postgres://.")
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


@dataclass
class LiveServer:
    url: str
    log: Callable[[], str]


@contextlib.contextmanager
def live_daphne(work: Path, database_url: str, **overrides: str) -> Iterator[LiveServer]:
    """A Daphne on a free port, on the test database and the test run's Redis (and cache
    prefix and secret key, so the sessions the test writes sign it in)."""
    from tests.e2e.processes import (  # noqa: PLC0415 - pytest-only helpers
        ManagedProcess,
        answers_http,
        free_port,
    )

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "SMS_", "OTP_", "PYTEST_", "QUEUE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="esanjeevani.settings_test",
        DATABASE_URL=database_url,
        REDIS_URL=settings.REDIS_URL,
        CACHE_KEY_PREFIX=str(settings.CACHES["default"].get("KEY_PREFIX", "")),
        SECRET_KEY=settings.SECRET_KEY,
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        QUEUE_SWEEPER_IN_WEB="0",
        CELERY_TASK_ALWAYS_EAGER="1",
        SMS_BACKEND="notifications.sms.InMemorySmsBackend",
        WEBRTC_LOOPBACK_ONLY="1",
        VAR_DIR=str(work / "var"),
        PYTHONUNBUFFERED="1",
        **overrides,
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    daphne = ManagedProcess(
        "daphne",
        [
            str(Path(sys.executable).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "esanjeevani.asgi:application",
        ],
        work / "daphne.log",
        env,
    )
    try:
        daphne.start()
        daphne.wait_until(lambda: answers_http(url + "/"), f"serving {url}/")
        yield LiveServer(url, daphne.log_tail)
    finally:
        daphne.stop()
