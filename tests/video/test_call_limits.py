"""The call socket's documented limits (docs/signalling.md): frame and SDP size, the client id,
unknown types, and how much chat is stored. Through the real ASGI stack."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.queues.test_sockets import closed_with, receive, run, socket
from tests.video.test_signalling import OFFER, called_ticket, cookies, room
from video import services
from video.models import ChatMessage

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_an_sdp_over_60000_characters_is_too_large_even_in_a_frame_that_fits() -> None:
    ticket = called_ticket()
    patient_cookie, _ = cookies(ticket)
    long_sdp = OFFER + "a=x-padding:" + "x" * 60_000 + "\r\n"

    async def scenario() -> None:
        comm = socket(room(ticket), patient_cookie)
        await comm.connect()
        await receive(comm, "room")
        for frame in (
            json.dumps({"type": "offer", "sdp": long_sdp}),  # under the 64,000 of a frame
            json.dumps({"type": "answer", "sdp": long_sdp + "x" * 4_000}),  # over it
        ):
            await comm.send_to(text_data=frame)
            assert (await receive(comm, "error"))["code"] == "too_large"
        await comm.disconnect()

    assert 60_000 < len(json.dumps({"type": "offer", "sdp": long_sdp})) <= 64_000
    run(scenario)


def test_a_socket_without_a_client_id_is_a_device_of_its_own() -> None:
    ticket = called_ticket()
    patient_cookie, _ = cookies(ticket)
    bare = f"/ws/call/{ticket.public_id}/"

    async def scenario() -> None:
        first = socket(bare, patient_cookie)
        await first.connect()
        assert (await receive(first, "room"))["side"] == "patient"
        second = socket(bare, patient_cookie)  # no id to take the side over with
        await second.connect()
        assert await closed_with(second) == 4410
        await first.disconnect()
        again = socket(bare, patient_cookie)  # once the side is free, it joins
        await again.connect()
        assert (await receive(again, "room"))["side"] == "patient"
        await again.disconnect()

    run(scenario)


def test_a_client_id_that_is_not_a_uuid_is_refused() -> None:
    ticket = called_ticket()
    patient_cookie, _ = cookies(ticket)

    async def scenario() -> None:
        for client in ("tab-1", "1234", str(uuid.uuid4()) + "x"):
            comm = socket(f"/ws/call/{ticket.public_id}/?client={client}", patient_cookie)
            await comm.connect()
            assert await closed_with(comm) == 4400

    run(scenario)


def test_unknown_types_are_answered_but_do_not_close_the_socket() -> None:
    ticket = called_ticket()
    patient_cookie, _ = cookies(ticket)

    async def scenario() -> None:
        comm = socket(room(ticket), patient_cookie)
        await comm.connect()
        await receive(comm, "room")
        for _ in range(8):  # more than the five unreadable frames that close a socket
            await comm.send_to(text_data='{"type": "screen_share"}')
            assert (await receive(comm, "error"))["code"] == "unknown_type"
        await comm.send_to(text_data='{"type": "ping"}')
        await receive(comm, "pong")
        await comm.disconnect()

    run(scenario)


def test_chat_beyond_what_a_person_types_is_refused_and_not_stored() -> None:
    ticket = called_ticket(answered=True)
    patient_cookie, doctor_cookie = cookies(ticket)
    limit = services.CHAT_PER_MINUTE

    async def scenario() -> None:
        doctor = socket(room(ticket), doctor_cookie)
        await doctor.connect()
        await receive(doctor, "room")
        patient = socket(room(ticket), patient_cookie)
        await patient.connect()
        await receive(patient, "room")
        for number in range(limit + 3):
            await patient.send_to(text_data=json.dumps({"type": "chat", "text": f"m{number}"}))
        for number in range(limit):
            assert (await receive(doctor, "chat"))["text"] == f"m{number}"
        refused = await receive(patient, "error")
        assert refused["code"] == "chat_rate_limited"
        assert 1 <= refused["retry_after"] <= 60
        assert await doctor.receive_nothing(timeout=0.5)
        for comm in (patient, doctor):
            await comm.disconnect()

    run(scenario)
    assert ChatMessage.objects.filter(ticket=ticket).count() == limit


def test_a_consultations_chat_has_an_end(monkeypatch) -> None:
    monkeypatch.setattr(services, "CHAT_PER_CONSULTATION", 3)
    ticket = called_ticket(answered=True)
    patient_cookie, _ = cookies(ticket)

    async def scenario() -> None:
        patient = socket(room(ticket), patient_cookie)
        await patient.connect()
        await receive(patient, "room")
        for number in range(4):
            await patient.send_to(text_data=json.dumps({"type": "chat", "text": f"m{number}"}))
        assert (await receive(patient, "error"))["code"] == "chat_full"
        await patient.disconnect()

    run(scenario)
    assert ChatMessage.objects.filter(ticket=ticket).count() == 3
