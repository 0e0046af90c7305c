"""Call set-up through the real signalling, and the same two peers with no signalling at all.

Each signalled call starts from a ticket offered to its own doctor (seeded, untimed):

``t0``  just before ``visits.accept_offer`` (the doctor accepts: the room opens);
then both bots (tests/video/bots.py) open their call sockets at once, the doctor offers, the
patient answers (aiortc: candidates inside the SDP), both connect on 127.0.0.1.

- ``setup``: t0 → the later of the two peers' ``connectionState == "connected"`` (ICE and DTLS
  up: media can flow). ``setup_ice``: t0 → the later of the two ICE connections completed
  (``iceConnectionState``), a few milliseconds earlier.
- ``first_frame``: t0 → the later of the two peers' first decoded video frame from the other.
- parts of ``setup``: ``accept`` (the service call), ``join`` (accept done → both bots have
  their ``room`` frame: WebSocket handshake, session, access check, presence, event row) and
  ``negotiate`` (both joined → both connected: offer and answer relayed, ICE, DTLS).

A direct call is the same pair of bot classes with their messages handed straight to each other
in this process: ``direct_setup`` runs from creating them to both connected. Signalled and
direct calls alternate, so both see the same machine load.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async

from accounts.models import User
from bench.stats import percentile
from providers.models import Doctor
from queues.models import Ticket
from queues.services import visits
from queues.services.dispatch import claim_next_ticket
from tests.sessions import session_cookie
from tests.video.bots import CallBot, Frame

logger = logging.getLogger("bench")

CALL_SECONDS = 15.0
RELAYED = frozenset({"offer", "answer", "candidate"})


@dataclass
class PlannedCall:
    doctor: Doctor
    ticket: Ticket
    patient_cookie: str
    doctor_cookie: str


def plan_calls(doctor_ids: list[int]) -> list[PlannedCall]:
    """Offer each doctor a waiting patient (untimed) and sign both in."""
    calls = []
    for doctor in Doctor.objects.filter(pk__in=doctor_ids).select_related("user"):
        ticket = claim_next_ticket(doctor)
        if ticket is None:
            raise RuntimeError(f"no patient for doctor {doctor.pk}")
        ticket = Ticket.objects.select_related("opd", "patient").get(pk=ticket.pk)
        account = User.objects.get(pk=ticket.patient.account_id)
        calls.append(
            PlannedCall(doctor, ticket, session_cookie(account), session_cookie(doctor.user))
        )
    return calls


class DirectBot(CallBot):
    """The same peer with no signalling: what it would send goes straight to the other bot."""

    def __init__(self, name: str) -> None:
        super().__init__("http://direct", "direct", "", name=name)
        self.partner: DirectBot | None = None
        self.inbox: asyncio.Queue[Frame] = asyncio.Queue()

    async def send(self, message: Frame) -> None:
        if message["type"] in RELAYED and self.partner is not None:
            self.partner.inbox.put_nowait({**message, "side": self.side})

    async def start(self, side: str, *, peer: bool) -> None:
        self._tasks.append(asyncio.create_task(self._take_inbox()))
        self.inbox.put_nowait(
            {
                "type": "room",
                "side": side,
                "polite": side == "patient",
                "peer": peer,
                "status": "called",
                "ice_servers": [],
                "chat": [],
            }
        )

    async def _take_inbox(self) -> None:
        while True:
            await self.receive(await self.inbox.get())


@dataclass
class Timings:
    setup: list[float] = field(default_factory=list)
    setup_ice: list[float] = field(default_factory=list)
    first_frame: list[float] = field(default_factory=list)
    accept: list[float] = field(default_factory=list)
    join: list[float] = field(default_factory=list)
    negotiate: list[float] = field(default_factory=list)
    direct_setup: list[float] = field(default_factory=list)
    direct_first_frame: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def _connected(*bots: CallBot) -> None:
    await asyncio.gather(*(bot.receiving_video(1, CALL_SECONDS) for bot in bots))


async def signalled_call(base_url: str, call: PlannedCall, timings: Timings | None) -> None:
    room = str(call.ticket.public_id)
    patient = CallBot(base_url, room, call.patient_cookie, name=f"patient {room[:8]}")
    doctor = CallBot(base_url, room, call.doctor_cookie, name=f"doctor {room[:8]}")
    try:
        t0 = time.perf_counter()
        await sync_to_async(visits.accept_offer)(call.doctor, call.ticket)
        accepted = time.perf_counter()
        await asyncio.gather(patient.join(CALL_SECONDS), doctor.join(CALL_SECONDS))
        await _connected(patient, doctor)
    finally:
        await asyncio.gather(patient.close(), doctor.close())
    if timings is None:
        return
    legs = [bot.legs[-1] for bot in (patient, doctor)]
    connected = max(leg.connected or 0.0 for leg in legs)
    joined = max(bot.joined or 0.0 for bot in (patient, doctor))
    timings.setup.append(connected - t0)
    timings.setup_ice.append(max(leg.ice_connected or 0.0 for leg in legs) - t0)
    timings.first_frame.append(max(leg.first_frame or 0.0 for leg in legs) - t0)
    timings.accept.append(accepted - t0)
    timings.join.append(joined - accepted)
    timings.negotiate.append(connected - joined)


async def direct_call(timings: Timings | None) -> None:
    patient, doctor = DirectBot("direct patient"), DirectBot("direct doctor")
    patient.partner, doctor.partner = doctor, patient
    try:
        t0 = time.perf_counter()
        await patient.start("patient", peer=False)
        await doctor.start("doctor", peer=True)
        await _connected(patient, doctor)
    finally:
        await asyncio.gather(patient.close(), doctor.close())
    if timings is None:
        return
    legs = [bot.legs[-1] for bot in (patient, doctor)]
    timings.direct_setup.append(max(leg.connected or 0.0 for leg in legs) - t0)
    timings.direct_first_frame.append(max(leg.first_frame or 0.0 for leg in legs) - t0)


async def run(
    base_url: str, calls: list[PlannedCall], *, warmup: int, pause: float
) -> dict[str, Any]:
    timings = Timings()
    for index, call in enumerate(calls):
        measured = timings if index >= warmup else None
        for attempt in (signalled_call(base_url, call, measured), direct_call(measured)):
            try:
                await attempt
            except AssertionError as failure:  # a bot timed out: counted, the run goes on
                timings.failures.append(str(failure).splitlines()[0])
                logger.warning("call %s failed: %s", index, timings.failures[-1])
            await asyncio.sleep(pause)  # disconnects written before the next call starts
    return summary(timings)


def _ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 1)


def summary(timings: Timings) -> dict[str, Any]:
    setup_p50 = _ms(timings.setup, 50)
    direct_p50 = _ms(timings.direct_setup, 50)
    return {
        "calls": len(timings.setup),
        "direct_calls": len(timings.direct_setup),
        "failed_calls": len(timings.failures),
        "setup_p50_ms": setup_p50,
        "setup_p95_ms": _ms(timings.setup, 95),
        "setup_max_ms": _ms(timings.setup, 100),
        "setup_ice_p50_ms": _ms(timings.setup_ice, 50),
        "setup_ice_p95_ms": _ms(timings.setup_ice, 95),
        "first_frame_p50_ms": _ms(timings.first_frame, 50),
        "first_frame_p95_ms": _ms(timings.first_frame, 95),
        "accept_p50_ms": _ms(timings.accept, 50),
        "join_p50_ms": _ms(timings.join, 50),
        "join_p95_ms": _ms(timings.join, 95),
        "negotiate_p50_ms": _ms(timings.negotiate, 50),
        "negotiate_p95_ms": _ms(timings.negotiate, 95),
        "direct_setup_p50_ms": direct_p50,
        "direct_setup_p95_ms": _ms(timings.direct_setup, 95),
        "direct_first_frame_p50_ms": _ms(timings.direct_first_frame, 50),
        "signalling_overhead_ms": round(setup_p50 - direct_p50, 1),
        "failures": timings.failures[:5],
    }
