"""Every `ticket` frame a waiting page can get, exactly as docs/waiting-room.md shows it, and
the close that follows the final ones. Through the real ASGI stack and the Redis layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from providers.models import Doctor
from queues.models import DoctorPresence, Opd, Ticket
from queues.services import duty, visits
from queues.services.timers import close_finished_days, sweep
from tests.factories import DoctorFactory
from tests.queues.conftest import make_opd
from tests.queues.sockets import booked, closed_with, receive, run, session_cookie, socket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

Frame = dict[str, Any]


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("opd").get(pk=ticket.pk)


def later(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)


def on_duty(opd: Opd) -> Doctor:
    doctor = DoctorFactory()
    DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
    duty.go_on_duty(doctor, [opd.pk])
    return doctor


def watch(ticket: Ticket, story: Callable[[WebsocketCommunicator], Awaitable[None]]) -> None:
    """Open the ticket's waiting room, read the snapshot, then play ``story``."""
    cookie = session_cookie(ticket.patient.account)

    async def scenario() -> None:
        comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        connected, _ = await comm.connect()
        assert connected
        await receive(comm, "snapshot")
        await story(comm)
        await comm.disconnect()

    run(scenario)


async def ticket_frame(comm: WebsocketCommunicator) -> Frame:
    return await receive(comm, "ticket")


# --- While the token is active: the socket stays open ------------------------------------


def test_offered_then_called_then_in_consultation():
    opd = make_opd("TF")
    ticket = booked(opd)

    async def story(comm: WebsocketCommunicator) -> None:
        doctor = await sync_to_async(on_duty)(opd)
        assert await ticket_frame(comm) == {"type": "ticket", "status": "offered"}
        await sync_to_async(visits.accept_offer)(doctor, await sync_to_async(fresh)(ticket))
        called = await ticket_frame(comm)
        assert set(called) == {"type", "status", "call_expires_at", "call_seconds_left"}
        assert called["status"] == "called"
        assert called["call_seconds_left"] == opd.call_window_seconds
        await comm.send_json_to({"type": "answer"})
        assert await ticket_frame(comm) == {"type": "ticket", "status": "in_consultation"}

    watch(ticket, story)


def test_waiting_without_a_reason_when_the_doctor_passes():
    opd = make_opd("TF")
    ticket = booked(opd)

    async def story(comm: WebsocketCommunicator) -> None:
        doctor = await sync_to_async(on_duty)(opd)
        await ticket_frame(comm)  # offered
        await sync_to_async(visits.skip_offer)(
            doctor, await sync_to_async(fresh)(ticket), reason="language"
        )
        assert await ticket_frame(comm) == {"type": "ticket", "status": "waiting"}

    watch(ticket, story)


def test_waiting_without_a_reason_when_the_offer_expires():
    opd = make_opd("TF")
    ticket = booked(opd)

    async def story(comm: WebsocketCommunicator) -> None:
        await sync_to_async(on_duty)(opd)
        await ticket_frame(comm)  # offered
        moment = later(61)
        await sync_to_async(DoctorPresence.objects.update)(console_seen_at=moment)
        await sync_to_async(sweep)(now=moment)
        assert await ticket_frame(comm) == {"type": "ticket", "status": "waiting"}

    watch(ticket, story)


def test_waiting_doctor_lost_when_the_doctor_goes_away():
    opd = make_opd("TF")
    ticket = booked(opd)

    async def story(comm: WebsocketCommunicator) -> None:
        doctor = await sync_to_async(on_duty)(opd)
        await ticket_frame(comm)  # offered
        await sync_to_async(duty.go_off_duty)(doctor)
        assert await ticket_frame(comm) == {
            "type": "ticket",
            "status": "waiting",
            "reason": "doctor_lost",
        }

    watch(ticket, story)


def test_waiting_call_missed_with_the_new_key():
    opd = make_opd("TF")
    booked(opd)
    ticket = booked(opd)

    async def story(comm: WebsocketCommunicator) -> None:
        doctor = await sync_to_async(on_duty)(opd)
        first = await sync_to_async(Ticket.objects.get)(doctor=doctor)
        await sync_to_async(visits.skip_offer)(doctor, first, reason="language")
        await ticket_frame(comm)  # offered: the first patient was skipped
        await sync_to_async(visits.accept_offer)(doctor, await sync_to_async(fresh)(ticket))
        await ticket_frame(comm)  # called
        await sync_to_async(DoctorPresence.objects.update)(paused=True)
        await sync_to_async(sweep)(now=later(121))
        missed = await ticket_frame(comm)
        head = await sync_to_async(fresh)(ticket)
        assert missed == {
            "type": "ticket",
            "status": "waiting",
            "reason": "call_missed",
            "key": [head.priority, head.seq],
        }
        assert head.seq < first.seq  # back at the head of the queue

    watch(ticket, story)


# --- Final frames: the socket is closed with 4409 after them --------------------------------


def test_completed_then_closed_with_4409():
    opd = make_opd("TF")
    ticket = booked(opd)

    async def story(comm: WebsocketCommunicator) -> None:
        doctor = await sync_to_async(on_duty)(opd)
        await sync_to_async(visits.accept_offer)(doctor, await sync_to_async(fresh)(ticket))
        await comm.send_json_to({"type": "answer"})
        await receive(comm, "snapshot")
        await sync_to_async(visits.end_consultation)(doctor, await sync_to_async(fresh)(ticket))
        assert await ticket_frame(comm) == {"type": "ticket", "status": "completed"}
        assert await closed_with(comm) == 4409

    watch(ticket, story)


def test_cancelled_elsewhere_then_closed_with_4409():
    """The family cancelled from another phone or tab: this page hears it and is closed."""
    opd = make_opd("TF")
    ticket = booked(opd)

    async def story(comm: WebsocketCommunicator) -> None:
        await sync_to_async(visits.cancel_ticket)(
            ticket.patient.account, await sync_to_async(fresh)(ticket)
        )
        assert await ticket_frame(comm) == {"type": "ticket", "status": "cancelled"}
        assert await closed_with(comm) == 4409

    watch(ticket, story)


def test_cancelled_closed_when_the_opd_closes_for_the_day_then_4409():
    opd = make_opd("TF")
    ticket = booked(opd)

    async def story(comm: WebsocketCommunicator) -> None:
        await sync_to_async(opd.hours.all().delete)()
        await sync_to_async(close_finished_days)(timezone.now())
        assert await ticket_frame(comm) == {
            "type": "ticket",
            "status": "cancelled",
            "reason": "closed",
        }
        assert await closed_with(comm) == 4409

    watch(ticket, story)


def test_no_show_then_closed_with_4409(settings):
    # The sweeps' clock runs four minutes ahead: the open page's presence lease must not lapse.
    settings.QUEUE_PATIENT_LEASE_SECONDS = 3600
    opd = make_opd("TF")
    ticket = booked(opd)

    async def story(comm: WebsocketCommunicator) -> None:
        doctor = await sync_to_async(on_duty)(opd)
        moment = timezone.now()
        for _round in range(2):
            await sync_to_async(visits.accept_offer)(
                doctor, await sync_to_async(fresh)(ticket), now=moment
            )
            moment += timedelta(seconds=121)
            await sync_to_async(DoctorPresence.objects.update)(console_seen_at=moment)
            await sync_to_async(sweep)(now=moment)
        frame = await ticket_frame(comm)
        while frame["status"] != "no_show":
            frame = await ticket_frame(comm)
        assert frame == {"type": "ticket", "status": "no_show"}
        assert await closed_with(comm) == 4409

    watch(ticket, story)


def test_left_then_closed_with_4409():
    """The patient's other tab closed long ago and this page has been silent since."""
    opd = make_opd("TF")
    ticket = booked(opd)

    async def story(comm: WebsocketCommunicator) -> None:
        await sync_to_async(visits.patient_away)(ticket)
        await sync_to_async(sweep)(now=later(601))
        assert await ticket_frame(comm) == {"type": "ticket", "status": "left"}
        assert await closed_with(comm) == 4409

    watch(ticket, story)


# --- Resync ------------------------------------------------------------------------------


def test_a_resync_within_two_seconds_is_refused_with_rate_limited():
    ticket = booked(make_opd("TF"))

    async def story(comm: WebsocketCommunicator) -> None:
        await comm.send_json_to({"type": "resync"})
        assert (await receive(comm, "snapshot"))["status"] == "waiting"
        await comm.send_json_to({"type": "resync"})
        refused = await receive(comm, "error")
        assert refused["code"] == "rate_limited"
        assert refused["retry_after"] in (1, 2)
        assert refused["message"]

    watch(ticket, story)
