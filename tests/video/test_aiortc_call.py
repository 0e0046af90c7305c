"""A real video call: two aiortc bots (patient and doctor) through a running Daphne.

The doctor has accepted the patient (the ticket is ``called``: the room is open). Both bots
join, negotiate through the call socket (the patient trickles its candidates, the doctor's are in
its SDP), connect on 127.0.0.1 and receive each other's video. Then the doctor's page reloads:
a new socket with the same client id takes the doctor's side over (the old one is closed with
4000, the patient hears ``peer joined`` without ``left``), the doctor offers afresh and the call
is back. The call events are what the dashboards read.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import aioice.ice
import pytest

from tests.sessions import session_cookie
from tests.video.bots import (
    CallBot,
    LiveServer,
    called_ticket,
    live_daphne,
    shared_database_url,
)
from video.echo import loopback_host_addresses
from video.models import CallEvent

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Loopback calls connect in well under a second; the margin is for a loaded machine.
CONNECT_SECONDS = 10.0
FRAMES = 5


@pytest.fixture(scope="module")
def server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with django_db_blocker.unblock():
        database_url = shared_database_url()
    with live_daphne(tmp_path_factory.mktemp("call"), database_url) as live:
        yield live


@pytest.fixture(autouse=True)
def _loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", loopback_host_addresses)


def test_two_bots_call_each_other_and_the_call_survives_a_reload_of_the_doctor_page(
    server: LiveServer,
) -> None:
    ticket = called_ticket()
    assert ticket.doctor is not None
    room = str(ticket.public_id)
    cookies = {
        "patient": session_cookie(ticket.patient.account),
        "doctor": session_cookie(ticket.doctor.user),
    }

    async def scenario() -> None:
        patient = CallBot(server.url, room, cookies["patient"], name="patient", trickle=True)
        doctor = CallBot(server.url, room, cookies["doctor"], name="doctor")
        reloaded = CallBot(
            server.url, room, cookies["doctor"], name="reloaded doctor", client=doctor.client
        )
        try:
            hello = await patient.join()
            assert (hello["side"], hello["polite"], hello["peer"]) == ("patient", True, False)
            hello = await doctor.join()
            assert (hello["side"], hello["polite"], hello["peer"]) == ("doctor", False, True)
            assert hello["ice_servers"] == []

            for bot in (patient, doctor):
                leg = await bot.receiving_video(FRAMES, CONNECT_SECONDS)
                assert leg.ice_connected is not None
                assert leg.connected is not None
                assert leg.first_frame is not None
                assert leg.started <= leg.ice_connected <= leg.first_frame
            # The patient's candidates reached the doctor only as trickled 'candidate' messages.
            answer = next(f for f in doctor.received if f["type"] == "answer")
            assert "a=candidate" not in answer["sdp"]
            assert any(f["type"] == "candidate" for f in doctor.received)
            assert doctor.legs[0].remote_candidates()
            # Each side's 'connected' is recorded before it is relayed to the other side.
            await patient.wait_for(type="state", side="doctor", connection="connected")
            await doctor.wait_for(type="state", side="patient", connection="connected")

            # The doctor's page reloads before its old socket is known to be gone.
            hello = await reloaded.join()
            assert (hello["side"], hello["peer"]) == ("doctor", True)
            assert await doctor.closed(CONNECT_SECONDS) == 4000
            await doctor.close()  # the old page and its peer connection are gone
            await patient.wait_for(type="peer", event="joined", side="doctor")

            for bot in (patient, reloaded):
                leg = await bot.receiving_video(FRAMES, CONNECT_SECONDS)
                assert leg is bot.legs[-1]
            await patient.wait_for(type="state", side="doctor", connection="connected")
            await reloaded.wait_for(type="state", side="patient", connection="connected")
            assert not (patient.errors or doctor.errors or reloaded.errors)
            assert not any(f["type"] == "peer" and f["event"] == "left" for f in patient.received)
        finally:
            for bot in (patient, doctor, reloaded):
                await bot.close()

    asyncio.run(scenario())

    def events() -> list[tuple[str, str]]:
        return list(CallEvent.objects.filter(ticket=ticket).values_list("side", "kind"))

    # Both pages closed at the end: each side's 'left' is written as its socket closes.
    deadline = time.monotonic() + CONNECT_SECONDS
    while not {("patient", "left"), ("doctor", "left")} <= set(events()):
        assert time.monotonic() < deadline, f"no 'left' for both sides: {events()}"
        time.sleep(0.05)
    recorded = events()
    assert recorded[:2] == [("patient", "joined"), ("doctor", "joined")]
    assert Counter(recorded) == {
        ("patient", "joined"): 1,
        ("doctor", "joined"): 2,  # and the reload
        ("patient", "connected"): 1,
        ("doctor", "connected"): 1,
        ("patient", "reconnected"): 1,
        ("doctor", "reconnected"): 1,
        ("patient", "left"): 1,
        ("doctor", "left"): 1,  # the page closed at the end, not the replaced socket
    }
