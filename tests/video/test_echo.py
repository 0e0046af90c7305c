"""The pre-call test's echo peer (``POST /api/precall/offer/``) through a running Daphne.

The peer must live in a running event loop for as long as the test's connection lasts, so it is
served by a real Daphne (``WEBRTC_LOOPBACK_ONLY=1``), and the test is an aiortc client on
127.0.0.1 as the pre-call page would be. The limits (per process, per client address) and the
peer's lifetime are checked in this process, on ``EchoPeers`` and ``EchoPeer`` directly; the
client address limit through Daphne too.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import aioice.ice
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from core.errors import TooManyRequests
from tests.factories import PatientFactory
from tests.sessions import session_cookie
from tests.video.bots import (
    LiveServer,
    SmallVideoTrack,
    live_daphne,
    shared_database_url,
)
from video.echo import EchoPeer, EchoPeers, loopback_host_addresses

PATH = "/api/precall/offer/"
SECONDS = 10.0
in_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module")
def server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with django_db_blocker.unblock():
        database_url = shared_database_url()
    with live_daphne(tmp_path_factory.mktemp("echo"), database_url) as live:
        yield live


@pytest.fixture(autouse=True)
def _loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", loopback_host_addresses)


class Reply:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status = status
        self.json: dict[str, Any] = json.loads(body) if body else {}
        self.headers = headers

    @property
    def code(self) -> str:
        return str(self.json["error"]["code"])


def _post(
    base_url: str, body: bytes, cookie: str, *, csrf: bool, extra: dict[str, str] | None = None
) -> Reply:
    headers = {"Content-Type": "application/json", "Origin": base_url, **(extra or {})}
    token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    if csrf:  # as the page does: the csrftoken cookie, echoed in X-CSRFToken
        cookie = f"{cookie}; csrftoken={token}" if cookie else f"csrftoken={token}"
        headers["X-CSRFToken"] = token
    if cookie:
        headers["Cookie"] = cookie
    request = urllib.request.Request(  # noqa: S310 - our loopback server
        base_url + PATH, data=body, method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=SECONDS) as response:  # noqa: S310
            return Reply(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as refused:
        return Reply(refused.code, refused.read(), dict(refused.headers))


async def post(
    server: LiveServer,
    body: Any,
    cookie: str = "",
    *,
    csrf: bool = True,
    headers: dict[str, str] | None = None,
) -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await asyncio.to_thread(_post, server.url, raw, cookie, csrf=csrf, extra=headers)


class EchoClient:
    """The pre-call page: an ``echo`` data channel and a camera, then round trips."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = self.pc.createDataChannel("echo")
        self.pc.addTrack(SmallVideoTrack())
        self.opened = asyncio.Event()
        self.replies: asyncio.Queue[str | bytes] = asyncio.Queue()
        self.frames_back = 0
        self._readers: list[asyncio.Task[None]] = []
        self.channel.on("open", self.opened.set)
        self.channel.on("message", self.replies.put_nowait)
        self.pc.on("track", self._count)

    async def offer(self) -> dict[str, str]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"sdp": self.pc.localDescription.sdp, "type": "offer"}

    async def accept(self, answer: dict[str, Any]) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(**answer))
        await asyncio.wait_for(self.opened.wait(), SECONDS)

    async def round_trip(self, message: str) -> str | bytes:
        self.channel.send(message)
        return await asyncio.wait_for(self.replies.get(), SECONDS)

    def _count(self, track: MediaStreamTrack) -> None:
        async def read() -> None:
            while True:
                try:
                    await track.recv()
                except MediaStreamError:
                    return
                self.frames_back += 1

        self._readers.append(asyncio.create_task(read()))

    async def close(self) -> None:
        await self.pc.close()
        for reader in self._readers:
            reader.cancel()


@in_db
def test_the_peer_echoes_data_channel_messages_and_sends_the_video_back(
    server: LiveServer,
) -> None:
    cookie = session_cookie(PatientFactory().account)

    async def scenario() -> None:
        client = EchoClient()
        try:
            reply = await post(server, await client.offer(), cookie)
            assert reply.status == 200, (reply.json, server.log())
            assert reply.json["type"] == "answer"
            assert "a=candidate:" in reply.json["sdp"]
            assert " 127.0.0.1 " in reply.json["sdp"]
            await client.accept(reply.json)
            for n in range(5):
                assert await client.round_trip(f"ping {n}") == f"ping {n}"
            deadline = time.monotonic() + SECONDS
            while client.frames_back < 5:
                assert time.monotonic() < deadline, "no video came back"
                await asyncio.sleep(0.05)
        finally:
            await client.close()

    asyncio.run(scenario())


@in_db
def test_it_is_for_signed_in_users(server: LiveServer) -> None:
    async def scenario() -> None:
        client = EchoClient()
        try:
            reply = await post(server, await client.offer())
        finally:
            await client.close()
        assert reply.status == 401
        assert reply.code == "not_authenticated"
        assert reply.json["error"]["message"]

    asyncio.run(scenario())


@in_db
def test_it_needs_the_csrf_token_like_every_post(server: LiveServer) -> None:
    cookie = session_cookie(PatientFactory().account)

    async def scenario() -> None:
        client = EchoClient()
        try:
            reply = await post(server, await client.offer(), cookie, csrf=False)
        finally:
            await client.close()
        assert reply.status == 403
        assert reply.code == "csrf_failed"

    asyncio.run(scenario())


@in_db
def test_it_refuses_offers_it_cannot_use(server: LiveServer) -> None:
    cookie = session_cookie(PatientFactory().account)

    async def scenario() -> None:
        client = EchoClient()
        try:
            good = await client.offer()
        finally:
            await client.close()
        no_ice = "\r\n".join(
            line for line in good["sdp"].split("\r\n") if not line.startswith("a=ice-")
        )
        for body in (
            b"not json",
            b"[]",
            {"sdp": good["sdp"]},
            {"sdp": good["sdp"], "type": "answer"},
            {"sdp": 42, "type": "offer"},
            {"sdp": "hello", "type": "offer"},
            {"sdp": "v=0\r\n", "type": "offer"},
            {"sdp": good["sdp"] + "a=x\r\n" * 12_000, "type": "offer"},
            {"sdp": no_ice, "type": "offer"},
            {"sdp": good["sdp"].replace("m=application ", "m=application x"), "type": "offer"},
        ):
            reply = await post(server, body, cookie)
            assert (reply.status, reply.code) == (400, "invalid_offer"), body

    asyncio.run(scenario())


@in_db
def test_a_user_runs_one_test_at_a_time(server: LiveServer) -> None:
    cookie = session_cookie(PatientFactory().account)
    other = session_cookie(PatientFactory().account)

    async def scenario() -> None:
        first, second, third = EchoClient(), EchoClient(), EchoClient()
        try:
            reply = await post(server, await first.offer(), cookie)
            assert reply.status == 200
            await first.accept(reply.json)

            refused = await post(server, await second.offer(), cookie)
            assert (refused.status, refused.code) == (429, "precall_running")
            assert 0 < refused.json["error"]["retry_after"] <= 60
            assert refused.headers["Retry-After"] == str(refused.json["error"]["retry_after"])
            assert (await post(server, await third.offer(), other)).status == 200

            # The first test ends: its peer closes with the connection and frees the user.
            await first.close()
            deadline = time.monotonic() + SECONDS
            while (reply := await post(server, await second.offer(), cookie)).status != 200:
                assert reply.status == 429
                assert time.monotonic() < deadline, "the finished test still blocks the user"
                await asyncio.sleep(0.1)
            await second.accept(reply.json)
            assert await second.round_trip("again") == "again"
        finally:
            for client in (first, second, third):
                await client.close()

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def one_per_client(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with django_db_blocker.unblock():
        database_url = shared_database_url()
    with live_daphne(
        tmp_path_factory.mktemp("echo-client"), database_url, PRECALL_PEERS_PER_CLIENT="1"
    ) as live:
        yield live


@in_db
def test_other_accounts_on_the_same_address_wait_for_its_share(
    one_per_client: LiveServer,
) -> None:
    cookies = [session_cookie(PatientFactory().account) for _ in range(3)]

    async def scenario() -> None:
        clients = [EchoClient() for _ in cookies]
        try:
            reply = await post(one_per_client, await clients[0].offer(), cookies[0])
            assert reply.status == 200, (reply.json, one_per_client.log())
            await clients[0].accept(reply.json)
            for cookie, client, forwarded in zip(
                cookies[1:], clients[1:], ({}, {"X-Forwarded-For": "203.0.113.9"}), strict=True
            ):
                # Another account, and a made-up forwarded address (no proxy is trusted).
                offer = await client.offer()
                refused = await post(one_per_client, offer, cookie, headers=forwarded)
                assert (refused.status, refused.code) == (429, "precall_client_busy")
                assert 0 < refused.json["error"]["retry_after"] <= 60
                assert refused.headers["Retry-After"] == str(refused.json["error"]["retry_after"])
        finally:
            for client in clients:
                await client.close()

    asyncio.run(scenario())


# In this process: the limits and the lifetime ------------------------------------------------


def test_a_process_holds_a_limited_number_of_peers() -> None:
    async def scenario() -> None:
        peers = EchoPeers(limit=2, per_client=5)
        first = peers.open(1, "10.0.0.1")
        peers.open(2, "10.0.0.2")
        with pytest.raises(TooManyRequests) as full:
            peers.open(3, "10.0.0.3")
        assert full.value.code == "precall_busy"
        assert full.value.retry_after == 60
        with pytest.raises(TooManyRequests) as running:
            peers.open(1, "10.0.0.1")
        assert running.value.code == "precall_running"
        await first.close()
        assert len(peers) == 1
        peers.open(3, "10.0.0.3")
        assert len(peers) == 2

    asyncio.run(scenario())


def test_throwaway_accounts_on_one_address_cannot_take_every_peer() -> None:
    async def scenario() -> None:
        peers = EchoPeers(limit=20, per_client=2)
        first = peers.open(1, "10.0.0.1", lifetime=30)
        peers.open(2, "10.0.0.1")
        for account in range(3, 20):
            with pytest.raises(TooManyRequests) as here:
                peers.open(account, "10.0.0.1")
            assert here.value.code == "precall_client_busy"
            assert here.value.retry_after == 30  # when this address's first test ends
        peers.open(3, "10.0.0.2")  # everyone else still gets theirs
        await first.close()
        peers.open(4, "10.0.0.1")
        assert len(peers) == 3

    asyncio.run(scenario())


def test_a_peer_closes_itself_when_its_time_is_up() -> None:
    async def scenario() -> None:
        peers = EchoPeers(limit=1, per_client=1)
        peer = peers.open(1, "10.0.0.1", lifetime=0.2)
        assert isinstance(peer, EchoPeer)
        client = EchoClient()
        try:
            answer = await peer.answer((await client.offer())["sdp"])
            await client.accept({"sdp": answer, "type": "answer"})
            assert await client.round_trip("still there?") == "still there?"
            await asyncio.sleep(0.5)
            assert peer.closed
            assert peer.pc.connectionState == "closed"
            assert len(peers) == 0
        finally:
            await client.close()

    asyncio.run(scenario())
