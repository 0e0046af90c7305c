"""The waiting-room and console sockets through the real ASGI stack (origin check, session
auth, routing, consumers) with the Redis channel layer."""

from __future__ import annotations

import json

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from queues.models import DoctorPresence, Ticket
from queues.services import duty, visits
from tests.factories import DoctorFactory, PatientFactory
from tests.queues.conftest import make_opd
from tests.queues.sockets import (
    HOST,
    ORIGIN,
    booked,
    closed_with,
    receive,
    run,
    session_cookie,
    socket,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Other apps' socket tests import these helpers from here (they live in tests/queues/sockets.py).
__all__ = ["HOST", "ORIGIN", "booked", "closed_with", "receive", "run", "session_cookie", "socket"]


def test_a_patient_gets_their_position_on_connect():
    opd = make_opd("SK")
    booked(opd)
    ticket = booked(opd)

    cookie = session_cookie(ticket.patient.account)

    async def scenario():
        comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        connected, _ = await comm.connect()
        assert connected
        snapshot = await receive(comm, "snapshot")
        assert snapshot["token"] == "SK-002"
        assert snapshot["position"] == 2
        assert snapshot["status"] == "waiting"
        await comm.send_to(text_data='{"type": "ping"}')
        assert (await receive(comm, "pong"))["type"] == "pong"
        await comm.disconnect()

    run(scenario)


def test_an_anonymous_socket_is_closed_with_4401():
    ticket = booked(make_opd("SK"))

    async def scenario():
        comm = socket(f"/ws/waiting/{ticket.public_id}/")
        await comm.connect()
        assert await closed_with(comm) == 4401

    run(scenario)


def test_another_family_cannot_open_our_waiting_room():
    ticket = booked(make_opd("SK"))
    outsider = session_cookie(PatientFactory().account)
    doctor = session_cookie(DoctorFactory().user)

    async def scenario():
        for cookie, path in (
            (outsider, f"/ws/waiting/{ticket.public_id}/"),
            (outsider, "/ws/waiting/not-a-uuid/"),
            (doctor, f"/ws/waiting/{ticket.public_id}/"),
        ):
            comm = socket(path, cookie)
            await comm.connect()
            assert await closed_with(comm) == 4404

    run(scenario)


def test_a_foreign_origin_is_refused():
    ticket = booked(make_opd("SK"))

    cookie = session_cookie(ticket.patient.account)

    async def scenario():
        comm = socket(
            f"/ws/waiting/{ticket.public_id}/",
            cookie,
            origin=(b"origin", b"https://evil.example.com"),
        )
        connected, _ = await comm.connect()
        assert not connected

    run(scenario)


def test_bad_frames_get_error_frames_and_then_4400():
    ticket = booked(make_opd("SK"))

    cookie = session_cookie(ticket.patient.account)

    async def scenario():
        comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        await comm.connect()
        await receive(comm, "snapshot")
        await comm.send_to(text_data='{"type": "dance"}')
        assert (await receive(comm, "error"))["code"] == "unknown_type"
        await comm.send_to(text_data="x" * 5000)
        assert (await receive(comm, "error"))["code"] == "too_large"
        await comm.send_to(bytes_data=b"\x00\x01")
        assert (await receive(comm, "error"))["code"] == "text_only"
        for _ in range(3):
            await comm.send_to(text_data="{not json")
            assert (await receive(comm, "error"))["code"] == "malformed"
        assert await closed_with(comm) == 4400

    run(scenario)


def test_a_flood_is_cut_off_with_4429():
    ticket = booked(make_opd("SK"))

    cookie = session_cookie(ticket.patient.account)

    async def scenario():
        comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        await comm.connect()
        await receive(comm, "snapshot")
        for _ in range(40):
            await comm.send_to(text_data='{"type": "ping"}')
        assert await closed_with(comm) == 4429

    run(scenario)


def test_queue_changes_arrive_as_keys_each_page_applies_itself():
    opd = make_opd("SK")
    first = booked(opd)
    account = first.patient.account
    ticket = booked(opd)
    cookie = session_cookie(ticket.patient.account)

    async def scenario():
        comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        await comm.connect()
        revision = (await receive(comm, "snapshot"))["revision"]
        await sync_to_async(visits.cancel_ticket)(account, first)
        frame = await receive(comm, "queue")
        assert frame["changes"] == [["-", first.priority, first.seq, revision + 1]]
        await comm.disconnect()

    run(scenario)


def test_the_doctor_accepting_shows_call_now_on_the_patient_socket():
    opd = make_opd("SK")
    ticket = booked(opd)
    doctor = DoctorFactory()

    cookie = session_cookie(ticket.patient.account)

    async def scenario():
        comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        await comm.connect()
        await receive(comm, "snapshot")
        await sync_to_async(DoctorPresence.objects.create)(
            doctor=doctor, console_seen_at=timezone.now()
        )
        await sync_to_async(duty.go_on_duty)(doctor, [opd.pk])
        offered = await receive(comm, "ticket")
        assert offered["status"] == "offered"
        fresh = await sync_to_async(Ticket.objects.select_related("opd").get)(pk=ticket.pk)
        await sync_to_async(visits.accept_offer)(doctor, fresh)
        called = await receive(comm, "ticket")
        assert called["status"] == "called"
        assert called["call_seconds_left"] == 120
        await comm.send_to(text_data='{"type": "answer"}')
        snapshot = await receive(comm, "snapshot")
        assert snapshot["status"] == "in_consultation"
        await comm.disconnect()

    run(scenario)


def test_a_process_joins_each_opd_group_once_however_many_sockets():
    opd = make_opd("SK")
    tickets = [booked(opd) for _ in range(3)]
    cookies = [session_cookie(t.patient.account) for t in tickets]
    client = redis.Redis.from_url(settings.REDIS_URL)

    async def scenario():
        comms = []
        for ticket, cookie in zip(tickets, cookies, strict=True):
            comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
            await comm.connect()
            await receive(comm, "snapshot")
            comms.append(comm)
        group = f"{settings.CHANNEL_LAYER_PREFIX}__group__opd.{opd.pk}"
        counts: list[tuple[bytes, int]] = client.pubsub_numsub(group)  # type: ignore[assignment]
        subscribers = dict(counts)[group.encode()]
        assert subscribers == 1
        for comm in comms:
            await comm.disconnect()

    run(scenario)


def test_closing_the_page_marks_the_patient_away_and_returning_clears_it():
    ticket = booked(make_opd("SK"))

    cookie = session_cookie(ticket.patient.account)

    async def scenario():
        comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        await comm.connect()
        await receive(comm, "snapshot")
        await comm.disconnect()
        away = await sync_to_async(Ticket.objects.get)(pk=ticket.pk)
        assert away.patient_away_since is not None
        comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        await comm.connect()
        await receive(comm, "snapshot")
        back = await sync_to_async(Ticket.objects.get)(pk=ticket.pk)
        assert back.patient_away_since is None
        await comm.disconnect()

    run(scenario)


def test_a_finished_token_gets_its_final_state_and_4409():
    ticket = booked(make_opd("SK"))
    visits.cancel_ticket(ticket.patient.account, ticket)

    cookie = session_cookie(ticket.patient.account)

    async def scenario():
        comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        await comm.connect()
        assert (await receive(comm, "snapshot"))["status"] == "cancelled"
        assert await closed_with(comm) == 4409

    run(scenario)


# --- The doctor's console -------------------------------------------------------------------


def test_only_doctors_may_open_the_console():
    patient = session_cookie(PatientFactory().account)

    async def scenario():
        comm = socket("/ws/console/", patient)
        await comm.connect()
        assert await closed_with(comm) == 4403
        comm = socket("/ws/console/")
        await comm.connect()
        assert await closed_with(comm) == 4401

    run(scenario)


def test_a_doctor_works_the_queue_from_the_console_socket():
    opd = make_opd("SK")
    ticket = booked(opd)
    doctor = DoctorFactory()
    doctor_cookie = session_cookie(doctor.user)

    async def scenario():
        comm = socket("/ws/console/", doctor_cookie)
        await comm.connect()
        summary = await receive(comm, "console")
        assert [o["code"] for o in summary["opds"] if o["id"] == str(opd.public_id)] == ["SK"]
        await comm.send_to(text_data=json.dumps({"type": "duty", "opds": [str(opd.public_id)]}))
        event = await receive(comm, "event")
        assert event == {"type": "event", "event": "offer", "ticket": str(ticket.public_id)}
        summary = await receive(comm, "console")
        assert summary["current"]["token"] == "SK-001"
        assert summary["current"]["status"] == "offered"
        await comm.send_to(
            text_data=json.dumps({"type": "accept", "ticket": str(ticket.public_id)})
        )
        summary = await receive(comm, "console")
        while summary["current"]["status"] != "called":
            summary = await receive(comm, "console")
        await comm.send_to(
            text_data=json.dumps({"type": "skip", "ticket": str(ticket.public_id), "reason": "x"})
        )
        assert (await receive(comm, "error"))["code"] in {"invalid", "ticket_state_changed"}
        await comm.disconnect()

    run(scenario)


def test_a_doctor_cannot_act_on_another_doctors_patient():
    opd = make_opd("SK")
    ticket = booked(opd)
    holder = DoctorFactory()
    DoctorPresence.objects.create(doctor=holder, console_seen_at=timezone.now())
    duty.go_on_duty(holder, [opd.pk])
    other = session_cookie(DoctorFactory().user)

    async def scenario():
        comm = socket("/ws/console/", other)
        await comm.connect()
        await receive(comm, "console")
        for action in ("accept", "end"):
            await comm.send_to(
                text_data=json.dumps({"type": action, "ticket": str(ticket.public_id)})
            )
            assert (await receive(comm, "error"))["code"] == "not_found"
        await comm.disconnect()

    run(scenario)
    ticket.refresh_from_db()
    assert ticket.doctor == holder
    assert ticket.status == Ticket.Status.OFFERED


def test_waiting_pages_hear_when_doctors_come_on_duty():
    opd = make_opd("SK")
    ticket = booked(opd)
    doctor = DoctorFactory()
    DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
    DoctorPresence.objects.filter(doctor=doctor).update(paused=True)  # not offered anyone
    cookie = session_cookie(ticket.patient.account)

    async def scenario():
        comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        await comm.connect()
        assert (await receive(comm, "snapshot"))["doctors_on_duty"] == 0
        await sync_to_async(duty.go_on_duty)(doctor, [opd.pk])
        assert (await receive(comm, "stats"))["doctors_on_duty"] == 1
        await comm.disconnect()

    run(scenario)


def test_two_tabs_keep_the_patient_present_until_the_last_closes():
    ticket = booked(make_opd("SK"))
    cookie = session_cookie(ticket.patient.account)

    async def scenario():
        first = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        second = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
        for comm in (first, second):
            await comm.connect()
            await receive(comm, "snapshot")
        await first.disconnect()
        still = await sync_to_async(Ticket.objects.get)(pk=ticket.pk)
        assert still.patient_away_since is None
        await second.disconnect()
        gone = await sync_to_async(Ticket.objects.get)(pk=ticket.pk)
        assert gone.patient_away_since is not None

    run(scenario)
