"""One socket per side, and only the one that holds it: a tab that lost its side is closed and
relays nothing; an eviction does not rest on one broadcast arriving. Through the real ASGI stack.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from queues.models import Ticket
from tests.queues.test_sockets import closed_with, receive, run, socket
from tests.video.test_signalling import OFFER, called_ticket, cookies, room
from video import consumers, presence
from video.models import CallEvent, ChatMessage

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

OTHER_OFFER = OFFER.replace("o=- 1 2", "o=- 3 4")


async def joined(path: str, cookie) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    comm = socket(path, cookie)
    connected, _ = await comm.connect()
    assert connected
    return comm, await receive(comm, "room")


async def drain(comm: WebsocketCommunicator) -> None:
    while not await comm.receive_nothing(timeout=0.3):
        await comm.receive_from()


def test_a_tab_that_lost_its_side_is_closed_and_relays_nothing(monkeypatch) -> None:
    monkeypatch.setattr(presence, "TTL_SECONDS", 1)  # a holder silent for 1 s may be replaced
    ticket = called_ticket(answered=True)
    patient_cookie, doctor_cookie = cookies(ticket)

    async def scenario() -> None:
        doctor, _ = await joined(room(ticket), doctor_cookie)
        old_tab, old = await joined(room(ticket), patient_cookie)
        assert (await receive(doctor, "peer"))["join"] == old["join"]
        await asyncio.sleep(1.5)  # the old tab is silent: its hold lapses
        await drain(old_tab)  # (the doctor's own joining, had it crossed the old tab's)
        new_tab, new = await joined(room(ticket), patient_cookie)
        assert (await receive(doctor, "peer"))["join"] == new["join"]

        # The doctor's offer, and the new tab's, reach only whom they are for.
        await doctor.send_to(text_data=json.dumps({"type": "offer", "sdp": OFFER}))
        assert (await receive(new_tab, "offer"))["sdp"] == OFFER
        await new_tab.send_to(text_data=json.dumps({"type": "offer", "sdp": OTHER_OFFER}))
        assert (await receive(doctor, "offer"))["sdp"] == OTHER_OFFER
        assert await old_tab.receive_nothing(timeout=0.5)

        # The old tab's next frame closes it, unrelayed, and unrecorded in the chat.
        await old_tab.send_to(text_data=json.dumps({"type": "chat", "text": "still here?"}))
        assert await closed_with(old_tab) == 4410
        await old_tab.disconnect(code=4410)
        # Its closing is not the patient leaving: the new tab is in the room.
        assert await doctor.receive_nothing(timeout=0.5)
        await new_tab.send_to(text_data='{"type": "state", "muted": true}')
        assert (await receive(doctor, "state"))["muted"] is True
        for comm in (new_tab, doctor):
            await comm.disconnect()

    run(scenario)
    assert not ChatMessage.objects.filter(ticket=ticket).exists()
    assert CallEvent.objects.filter(ticket=ticket, side="patient", kind="left").count() == 1


def test_a_silent_tab_that_lost_its_side_is_closed_on_its_heartbeat(monkeypatch) -> None:
    monkeypatch.setattr(presence, "TTL_SECONDS", 1)
    monkeypatch.setattr(consumers, "PRESENCE_REFRESH_SECONDS", 0.0)
    ticket = called_ticket(answered=True)
    patient_cookie, _ = cookies(ticket)

    async def scenario() -> None:
        old_tab, _ = await joined(room(ticket), patient_cookie)
        await asyncio.sleep(1.5)
        new_tab, _ = await joined(room(ticket), patient_cookie)
        await old_tab.send_to(text_data='{"type": "ping"}')
        await receive(old_tab, "pong")
        assert await closed_with(old_tab) == 4410
        await new_tab.disconnect()

    run(scenario)


def test_a_quiet_holder_keeps_its_side_when_nobody_took_it(monkeypatch) -> None:
    monkeypatch.setattr(presence, "TTL_SECONDS", 1)
    ticket = called_ticket(answered=True)
    patient_cookie, doctor_cookie = cookies(ticket)

    async def scenario() -> None:
        doctor, _ = await joined(room(ticket), doctor_cookie)
        patient, _ = await joined(room(ticket), patient_cookie)
        await asyncio.sleep(1.5)  # lapsed, but no other tab came
        await patient.send_to(text_data=json.dumps({"type": "offer", "sdp": OFFER}))
        assert (await receive(doctor, "offer"))["sdp"] == OFFER
        for comm in (patient, doctor):
            await comm.disconnect()

    run(scenario)


def test_a_reload_whose_replaced_message_was_lost_still_closes_the_old_socket() -> None:
    ticket = called_ticket(answered=True)
    patient_cookie, doctor_cookie = cookies(ticket)
    tab = str(uuid.uuid4())

    async def scenario() -> None:
        doctor, _ = await joined(room(ticket), doctor_cookie)
        old_socket, _ = await joined(room(ticket, tab), patient_cookie)
        await receive(doctor, "peer")
        # The same page's new socket took the side over; the old one never heard of it.
        await sync_to_async(presence.take_side)(
            ticket.pk, "patient", channel="elsewhere", client=tab, join="later"
        )
        await old_socket.send_to(text_data=json.dumps({"type": "offer", "sdp": OFFER}))
        assert await closed_with(old_socket) == 4000
        assert await doctor.receive_nothing(timeout=0.5)
        await doctor.disconnect()

    run(scenario)


def test_a_room_closed_without_its_broadcast_still_closes_on_the_next_frame() -> None:
    ticket = called_ticket(answered=True)
    patient_cookie, doctor_cookie = cookies(ticket)

    async def scenario() -> None:
        doctor, _ = await joined(room(ticket), doctor_cookie)
        patient, _ = await joined(room(ticket), patient_cookie)
        await receive(doctor, "peer")
        # Completed, and the "call.closed" message lost on the way.
        await sync_to_async(Ticket.objects.filter(pk=ticket.pk).update)(
            status=Ticket.Status.COMPLETED
        )
        await asyncio.sleep(1.0)  # the room's status is read again at most once a second
        await patient.send_to(text_data='{"type": "state", "muted": true}')
        assert (await receive(patient, "ended"))["status"] == "completed"
        assert await closed_with(patient) == 4409
        assert await doctor.receive_nothing(timeout=0.5)
        await doctor.disconnect()

    run(scenario)
