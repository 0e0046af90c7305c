"""ICE servers for a call: coturn REST credentials, and who gets them (participants only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from tests.factories import DoctorFactory, PatientFactory
from tests.queues.test_sockets import receive, run, session_cookie, socket
from tests.video.bots import called_ticket
from video.ice import ice_servers, turn_credentials

SECRET = "coturn-static-auth-secret"
STUN = ["stun:turn.example.in:3478"]
TURN = [
    "turn:turn.example.in:3478?transport=udp",
    "turn:turn.example.in:3478?transport=tcp",
    "turns:turn.example.in:443?transport=tcp",
]
configured = override_settings(
    STUN_URLS=STUN, TURN_URLS=TURN, TURN_SECRET=SECRET, TURN_CREDENTIAL_TTL_SECONDS=600
)


def expected_password(username: str, secret: str = SECRET) -> str:
    """coturn's ``use-auth-secret``: base64(HMAC-SHA1(secret, username)), computed here."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@configured
def test_turn_credentials_are_in_coturn_rest_form() -> None:
    username, password, expires_at = turn_credentials("room-1:patient", now=1_700_000_000.7)
    assert expires_at == 1_700_000_600
    assert username == "1700000600:room-1:patient"
    assert password == expected_password(username)
    assert len(base64.b64decode(password)) == 20  # an SHA-1 digest


@configured
def test_turn_credentials_expire_the_configured_time_from_now() -> None:
    before = time.time()
    username, _password, expires_at = turn_credentials("room-1:doctor")
    after = time.time()
    assert int(before) + 600 <= expires_at <= int(after) + 600
    assert username.split(":", 1) == [str(expires_at), "room-1:doctor"]


@configured
def test_another_secret_gives_another_password() -> None:
    username, password, _expires = turn_credentials("room-1:patient", now=1_700_000_000)
    assert password != expected_password(username, "another-secret")


@override_settings(STUN_URLS=[], TURN_URLS=[], TURN_SECRET="")
def test_no_servers_configured_means_host_candidates_only() -> None:
    assert ice_servers("room-1:patient") == []


@override_settings(STUN_URLS=STUN, TURN_URLS=[], TURN_SECRET="")
def test_stun_alone_has_no_credentials() -> None:
    assert ice_servers("room-1:patient") == [{"urls": STUN}]


@override_settings(STUN_URLS=[], TURN_URLS=TURN, TURN_SECRET="")
def test_turn_without_a_secret_hands_out_nothing() -> None:
    assert ice_servers("room-1:patient") == []


@configured
def test_stun_and_turn_including_turns_on_443() -> None:
    stun, turn = ice_servers("room-1:patient", now=1_700_000_000)
    assert stun == {"urls": STUN}
    assert turn == {
        "urls": TURN,
        "username": "1700000600:room-1:patient",
        "credential": expected_password("1700000600:room-1:patient"),
    }
    assert "turns:turn.example.in:443?transport=tcp" in turn["urls"]


# Who gets them: the room frame, through the real ASGI stack -------------------------------


async def first_output(comm: WebsocketCommunicator) -> dict[str, Any]:
    """What the server sends first after accepting: a frame or the close."""
    output: dict[str, Any] = await comm.receive_output(timeout=3)
    return output


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@configured
def test_participants_get_the_servers_with_their_own_credentials_in_the_room_frame() -> None:
    ticket = called_ticket("VI")
    assert ticket.doctor is not None
    room = f"/ws/call/{ticket.public_id}/?client={uuid.uuid4()}"
    cookies = {
        "patient": session_cookie(ticket.patient.account),
        "doctor": session_cookie(ticket.doctor.user),
    }
    frames: dict[str, dict[str, Any]] = {}

    async def scenario() -> None:
        for side, cookie in cookies.items():
            comm = socket(room, cookie)
            connected, _ = await comm.connect()
            assert connected
            frames[side] = await receive(comm, "room")
            await comm.disconnect()

    started = time.time()
    run(scenario)
    for side, frame in frames.items():
        assert frame["side"] == side
        stun, turn = frame["ice_servers"]
        assert stun == {"urls": STUN}
        assert turn["urls"] == TURN
        expiry, owner = turn["username"].split(":", 1)
        assert owner == f"{ticket.public_id}:{side}"  # a public id, never a name or a pk
        assert int(started) + 600 <= int(expiry) <= int(time.time()) + 600
        assert turn["credential"] == expected_password(turn["username"])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@configured
def test_outsiders_get_no_frame_at_all() -> None:
    ticket = called_ticket("VO")
    room = f"/ws/call/{ticket.public_id}/?client={uuid.uuid4()}"
    outsiders = [
        (session_cookie(PatientFactory().account), room, 4404),  # another family
        (session_cookie(DoctorFactory().user), room, 4404),  # a doctor not on this visit
        (session_cookie(ticket.patient.account), f"/ws/call/{uuid.uuid4()}/", 4404),
        (None, room, 4401),  # not signed in
    ]

    async def scenario() -> None:
        for cookie, path, code in outsiders:
            comm = socket(path, cookie)
            await comm.connect()
            output = await first_output(comm)
            assert output["type"] == "websocket.close", output  # no room frame, no ice servers
            assert output["code"] == code

    run(scenario)
