"""The pre-call network test's echo peer: ``POST /api/precall/offer/``.

The pre-call page posts a WebRTC offer and gets the answer of an aiortc peer living in this
process. The peer sends back every message of the page's ``echo`` data channel (round-trip time)
and loops received audio and video back (media flows both ways), so the page can tell a patient
whether their network will carry a call before the doctor calls.

The exchange is one request: the offer must already hold the page's ICE candidates (the page
waits for gathering to complete) and the answer holds the peer's (aiortc gathers them in
``setLocalDescription``). The peer uses no STUN or TURN server. It ends after ``ECHO_SECONDS``
or as soon as its connection fails or closes.

Each peer decodes and re-encodes video in this process, so the peers a process serves are
limited, and shared out so that nobody can take them from everyone: an account runs one test
at a time, a client address at most ``PRECALL_PEERS_PER_CLIENT`` (throwaway accounts on one
machine get no more), and the process at most ``PRECALL_PEERS_PER_PROCESS``. The limits are
per process because the work is: whoever holds their share of one process holds the same share
of every other.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable

import aioice.ice
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.api.errors import envelope
from core.errors import Invalid, ServiceError, TooManyRequests
from core.http import client_address
from video.frames import MAX_SDP

logger = logging.getLogger(__name__)

ECHO_SECONDS = 60.0
ECHO_CHANNEL = "echo"
MEDIA_KINDS = frozenset({"audio", "video", "application"})
# What aiortc raises on SDP it cannot use: it parses leniently and fails later, variously.
UNUSABLE_SDP = (ValueError, AssertionError, AttributeError, IndexError, KeyError, TypeError)


def loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """aioice's host addresses when everything runs on one machine: 127.0.0.1 only (aioice
    itself leaves loopback out)."""
    return ["127.0.0.1"] if use_ipv4 else []


if settings.WEBRTC_LOOPBACK_ONLY:
    aioice.ice.get_host_addresses = loopback_host_addresses


def _unreadable() -> Invalid:
    return Invalid(_("The request could not be read."), code="invalid_offer")


def read_offer(body: bytes) -> str:
    """The offer's SDP from ``{"sdp": "…", "type": "offer"}``, checked as far as aiortc needs:
    every media section with its ICE credentials and DTLS fingerprint."""
    try:
        message = json.loads(body)
    except ValueError:
        raise _unreadable() from None
    if not isinstance(message, dict) or message.get("type") != "offer":
        raise _unreadable()
    sdp = message.get("sdp")
    if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > MAX_SDP:
        raise _unreadable()
    try:
        parsed = SessionDescription.parse(sdp)
    except UNUSABLE_SDP:
        raise _unreadable() from None
    usable = parsed.media and all(
        media.kind in MEDIA_KINDS
        and media.ice is not None
        and media.ice.usernameFragment
        and media.ice.password
        and media.dtls is not None
        and media.dtls.fingerprints
        for media in parsed.media
    )
    if not usable:
        raise _unreadable()
    return sdp


class EchoPeer:
    """One pre-call test's server side; closes itself, then tells its owner."""

    def __init__(self, *, lifetime: float, on_closed: Callable[[EchoPeer], None]) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.lifetime = lifetime
        self.expires_at = time.monotonic() + lifetime
        self.closed = False
        self._on_closed = on_closed
        self._expiry: asyncio.TimerHandle | None = None
        self._closing: asyncio.Task[None] | None = None
        self.pc.on("datachannel", self._echo_messages)
        self.pc.on("track", self._loop_back)
        self.pc.on("connectionstatechange", self._check_connection)

    def seconds_left(self) -> int:
        return max(1, math.ceil(self.expires_at - time.monotonic()))

    async def answer(self, offer: str) -> str:
        self._expiry = asyncio.get_running_loop().call_later(self.lifetime, self.close_soon)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except UNUSABLE_SDP:
            await self.close()
            raise _unreadable() from None
        return self.pc.localDescription.sdp

    def _echo_messages(self, channel: RTCDataChannel) -> None:
        if channel.label != ECHO_CHANNEL:
            return

        @channel.on("message")
        def echo(message: str | bytes) -> None:
            channel.send(message)

    def _loop_back(self, track: MediaStreamTrack) -> None:
        # The sender reads the frames the receiver decodes: whatever arrives goes back.
        self.pc.addTrack(track)

    async def _check_connection(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            await self.close()

    def close_soon(self) -> None:
        if self._closing is None:
            self._closing = asyncio.ensure_future(self.close())

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._expiry is not None:
            self._expiry.cancel()
        self._on_closed(self)
        await self.pc.close()


class EchoPeers:
    """This process's echo peers: one per user, ``per_client`` per client address and
    ``limit`` in all."""

    def __init__(self, limit: int, per_client: int) -> None:
        self.limit = limit
        self.per_client = per_client
        self._by_user: dict[int, EchoPeer] = {}
        self._by_client: dict[str, set[EchoPeer]] = {}

    def __len__(self) -> int:
        return len(self._by_user)

    def open(self, user_id: int, client: str, *, lifetime: float = ECHO_SECONDS) -> EchoPeer:
        """A new peer for ``user_id`` at ``client``; the checks and the claim happen without an
        ``await`` between them, so two requests cannot both pass."""
        current = self._by_user.get(user_id)
        if current is not None:
            raise _busy("precall_running", current.seconds_left())
        here = self._by_client.get(client, set())
        if len(here) >= self.per_client:
            raise _busy("precall_client_busy", min(peer.seconds_left() for peer in here))
        if len(self._by_user) >= self.limit:
            raise _busy("precall_busy", math.ceil(lifetime))
        peer = EchoPeer(
            lifetime=lifetime, on_closed=lambda closed: self._forget(user_id, client, closed)
        )
        self._by_user[user_id] = peer
        self._by_client.setdefault(client, set()).add(peer)
        return peer

    def _forget(self, user_id: int, client: str, peer: EchoPeer) -> None:
        if self._by_user.get(user_id) is peer:
            del self._by_user[user_id]
        here = self._by_client.get(client)
        if here is not None:
            here.discard(peer)
            if not here:
                del self._by_client[client]


def _busy(code: str, retry_after: int) -> TooManyRequests:
    return TooManyRequests(
        _("Nothing you entered was lost. Please try again in a minute."),
        retry_after=retry_after,
        code=code,
    )


peers = EchoPeers(settings.PRECALL_PEERS_PER_PROCESS, settings.PRECALL_PEERS_PER_CLIENT)


def _refused(error: ServiceError) -> JsonResponse:
    response = JsonResponse(
        envelope(error.code, error.message, error.fields or None, **error.extra),
        status=error.status,
    )
    if "retry_after" in error.extra:
        response["Retry-After"] = str(error.extra["retry_after"])
    return response


@require_POST
async def precall_offer(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse(
            envelope(
                "not_authenticated", _("Your session expired. Reload the page and try again.")
            ),
            status=401,
        )
    try:
        offer = read_offer(request.body)
        answer = await peers.open(user.pk, client_address(request)).answer(offer)
    except ServiceError as refused:
        return _refused(refused)
    return JsonResponse({"sdp": answer, "type": "answer"})
