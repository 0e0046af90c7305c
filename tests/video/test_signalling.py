"""The call socket through the real ASGI stack: relay, refusals, rejoin, chat, hang-up."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from queues.models import DoctorPresence, Ticket
from queues.services import duty, visits
from queues.services.booking import book
from tests.factories import DoctorFactory, PatientFactory
from tests.queues.conftest import make_opd
from tests.queues.test_sockets import closed_with, receive, run, session_cookie, socket
from video import consumers
from video.models import CallEvent, ChatMessage

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def called_ticket(*, answered: bool = False) -> Ticket:
    """A ticket whose doctor accepted (room open), optionally with the patient answered."""
    opd = make_opd("VC")
    patient = PatientFactory()
    with transaction.atomic():
        ticket = book(account=patient.account, patient=patient, opd=opd, complaint="Rash")
    doctor = DoctorFactory()
    DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
    duty.go_on_duty(doctor, [opd.pk])
    ticket.refresh_from_db()
    visits.accept_offer(doctor, ticket)
    if answered:
        visits.answer_call(patient.account, Ticket.objects.get(pk=ticket.pk))
    called = Ticket.objects.select_related("doctor__user", "patient__account").get(pk=ticket.pk)
    assert called.doctor is not None
    return called


def room(ticket: Ticket, client: str | None = None) -> str:
    return f"/ws/call/{ticket.public_id}/?client={client or uuid.uuid4()}"


def cookies(ticket: Ticket):
    assert ticket.doctor is not None
    return session_cookie(ticket.patient.account), session_cookie(ticket.doctor.user)


def test_offer_answer_and_candidates_are_relayed_between_the_two_sides():
    ticket = called_ticket(answered=True)
    patient_cookie, doctor_cookie = cookies(ticket)

    async def scenario():
        doctor = socket(room(ticket), doctor_cookie)
        await doctor.connect()
        hello = await receive(doctor, "room")
        assert hello["side"] == "doctor"
        assert hello["polite"] is False
        assert hello["peer"] is False
        patient = socket(room(ticket), patient_cookie)
        await patient.connect()
        hello = await receive(patient, "room")
        assert (hello["side"], hello["polite"], hello["peer"]) == ("patient", True, True)
        joined = await receive(doctor, "peer")
        assert (joined["event"], joined["side"], joined["join"]) == (
            "joined",
            "patient",
            hello["join"],
        )
        await doctor.send_to(text_data=json.dumps({"type": "offer", "sdp": OFFER}))
        assert await receive(patient, "offer") == {"type": "offer", "sdp": OFFER, "side": "doctor"}
        await patient.send_to(text_data=json.dumps({"type": "answer", "sdp": OFFER}))
        assert (await receive(doctor, "answer"))["side"] == "patient"
        candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0",
                     "sdpMLineIndex": 0}  # fmt: skip
        await patient.send_to(text_data=json.dumps({"type": "candidate", "candidate": candidate}))
        assert (await receive(doctor, "candidate"))["candidate"] == candidate
        await patient.send_to(text_data=json.dumps({"type": "state", "connection": "connected"}))
        assert (await receive(doctor, "state"))["connection"] == "connected"
        await patient.disconnect()
        assert (await receive(doctor, "peer"))["event"] == "left"
        await doctor.disconnect()

    run(scenario)
    kinds = set(CallEvent.objects.filter(ticket=ticket).values_list("side", "kind"))
    assert {("doctor", "joined"), ("patient", "joined"), ("patient", "connected")} <= kinds
    assert ("patient", "left") in kinds


def test_outsiders_are_refused():
    ticket = called_ticket()
    stranger = session_cookie(PatientFactory().account)
    other_doctor = session_cookie(DoctorFactory().user)

    async def scenario():
        for cookie, code in ((None, 4401), (stranger, 4404), (other_doctor, 4404)):
            comm = socket(room(ticket), cookie)
            await comm.connect()
            assert await closed_with(comm) == code
        comm = socket("/ws/call/not-a-room/", stranger)
        await comm.connect()
        assert await closed_with(comm) == 4404

    run(scenario)


def test_a_room_is_closed_before_the_doctor_accepts_and_after_the_end():
    ticket = called_ticket(answered=True)
    patient_cookie, _doctor_cookie = cookies(ticket)
    assert ticket.doctor is not None
    visits.end_consultation(ticket.doctor, ticket)

    async def scenario():
        comm = socket(room(ticket), patient_cookie)
        await comm.connect()
        assert await closed_with(comm) == 4409

    run(scenario)


def test_a_page_that_joins_after_the_end_learns_the_consultation_was_completed():
    """A patient's page that connects just after the doctor hung up is told how the visit
    ended, so it can lead to the prescription instead of a bare "call ended"."""
    ticket = called_ticket(answered=True)
    patient_cookie, _doctor_cookie = cookies(ticket)
    assert ticket.doctor is not None
    visits.end_consultation(ticket.doctor, ticket)

    async def scenario():
        comm = socket(room(ticket), patient_cookie)
        await comm.connect()
        assert await receive(comm, "ended") == {"type": "ended", "status": "completed"}
        assert await closed_with(comm) == 4409

    run(scenario)


def test_a_third_connection_is_refused_but_a_reload_takes_over():
    ticket = called_ticket()
    patient_cookie, _ = cookies(ticket)
    tab = str(uuid.uuid4())

    async def scenario():
        first = socket(room(ticket, tab), patient_cookie)
        await first.connect()
        await receive(first, "room")
        other_device = socket(room(ticket), patient_cookie)
        await other_device.connect()
        assert await closed_with(other_device) == 4410
        reloaded = socket(room(ticket, tab), patient_cookie)
        await reloaded.connect()
        assert (await receive(reloaded, "room"))["side"] == "patient"
        assert await closed_with(first) == 4000
        await reloaded.disconnect()

    run(scenario)


def test_malformed_oversized_and_unknown_messages_get_error_frames():
    ticket = called_ticket()
    patient_cookie, _ = cookies(ticket)

    async def scenario():
        comm = socket(room(ticket), patient_cookie)
        await comm.connect()
        await receive(comm, "room")
        for frame, code in (
            ('{"type": "offer"}', "invalid"),
            ('{"type": "offer", "sdp": 5}', "invalid"),
            ('{"type": "candidate", "candidate": {"candidate": 1}}', "invalid"),
            ('{"type": "state", "muted": "yes"}', "invalid"),
            ('{"type": "state", "connection": "exploded"}', "invalid"),
            ('{"type": "chat", "text": ""}', "invalid"),
            ('{"type": "teleport"}', "unknown_type"),
            ('"just a string"', "malformed"),
            ("x" * 70_000, "too_large"),
        ):
            await comm.send_to(text_data=frame)
            assert (await receive(comm, "error"))["code"] == code
        await comm.disconnect()

    run(scenario)


def test_a_flood_is_cut_off(settings):
    settings.CALL_MESSAGES_PER_10_SECONDS = 20
    ticket = called_ticket()
    patient_cookie, _ = cookies(ticket)

    async def scenario():
        comm = socket(room(ticket), patient_cookie)
        await comm.connect()
        await receive(comm, "room")
        for _ in range(25):
            await comm.send_to(text_data='{"type": "state", "muted": true}')
        assert await closed_with(comm) == 4429

    run(scenario)


def test_chat_reaches_both_sides_and_is_kept():
    ticket = called_ticket(answered=True)
    patient_cookie, doctor_cookie = cookies(ticket)

    async def scenario():
        doctor = socket(room(ticket), doctor_cookie)
        await doctor.connect()
        await receive(doctor, "room")
        patient = socket(room(ticket), patient_cookie)
        await patient.connect()
        await receive(patient, "room")
        await patient.send_to(text_data=json.dumps({"type": "chat", "text": "  मुझे बुखार है  "}))
        for comm in (doctor, patient):
            message = await receive(comm, "chat")
            assert (message["side"], message["text"]) == ("patient", "मुझे बुखार है")
        await patient.disconnect()
        await doctor.disconnect()
        rejoined = socket(room(ticket), patient_cookie)
        await rejoined.connect()
        assert [m["text"] for m in (await receive(rejoined, "room"))["chat"]] == ["मुझे बुखार है"]
        await rejoined.disconnect()

    run(scenario)
    assert ChatMessage.objects.get(ticket=ticket).author == ticket.patient.account


def test_the_doctors_hang_up_ends_the_consultation_for_both():
    ticket = called_ticket(answered=True)
    patient_cookie, doctor_cookie = cookies(ticket)

    async def scenario():
        doctor = socket(room(ticket), doctor_cookie)
        await doctor.connect()
        await receive(doctor, "room")
        patient = socket(room(ticket), patient_cookie)
        await patient.connect()
        await receive(patient, "room")
        await doctor.send_to(text_data='{"type": "hangup"}')
        for comm in (patient, doctor):
            assert (await receive(comm, "ended"))["status"] == "completed"
            assert await closed_with(comm) == 4409

    run(scenario)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.COMPLETED
    ended = CallEvent.objects.get(ticket=ticket, kind=CallEvent.Kind.ENDED)
    assert ended.side == "doctor"
    assert "duration_s" in ended.detail


def test_the_patients_hang_up_only_leaves():
    ticket = called_ticket(answered=True)
    patient_cookie, doctor_cookie = cookies(ticket)

    async def scenario():
        doctor = socket(room(ticket), doctor_cookie)
        await doctor.connect()
        await receive(doctor, "room")
        patient = socket(room(ticket), patient_cookie)
        await patient.connect()
        await receive(patient, "room")
        assert (await receive(doctor, "peer"))["event"] == "joined"
        await patient.send_to(text_data='{"type": "hangup"}')
        assert await closed_with(patient) == 1000
        assert (await receive(doctor, "peer"))["event"] == "left"
        await doctor.disconnect()

    run(scenario)
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.IN_CONSULTATION


def test_ending_from_the_console_closes_the_room():
    ticket = called_ticket(answered=True)
    patient_cookie, _ = cookies(ticket)

    async def scenario():
        patient = socket(room(ticket), patient_cookie)
        await patient.connect()
        await receive(patient, "room")
        fresh = await sync_to_async(Ticket.objects.select_related("doctor").get)(pk=ticket.pk)
        assert fresh.doctor is not None
        await sync_to_async(visits.end_consultation)(fresh.doctor, fresh)
        assert (await receive(patient, "ended"))["status"] == "completed"
        assert await closed_with(patient) == 4409

    run(scenario)


def test_a_doctor_in_a_call_stays_on_duty_without_the_console(monkeypatch):
    ticket = called_ticket()
    _patient_cookie, doctor_cookie = cookies(ticket)
    assert ticket.doctor is not None
    DoctorPresence.objects.filter(doctor=ticket.doctor).update(
        console_seen_at=timezone.now() - timedelta(seconds=40)
    )

    async def scenario():
        doctor = socket(room(ticket), doctor_cookie)
        await doctor.connect()
        await receive(doctor, "room")
        await doctor.send_to(text_data='{"type": "ping"}')
        await receive(doctor, "pong")
        await doctor.disconnect()

    monkeypatch.setattr(consumers, "PRESENCE_REFRESH_SECONDS", 0.0)
    run(scenario)
    seen = DoctorPresence.objects.get(doctor=ticket.doctor).console_seen_at
    assert seen is not None
    assert (timezone.now() - seen).total_seconds() < 5
