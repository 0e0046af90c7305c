"""Call signalling: ``/ws/call/<room>/?client=<id>``. Protocol: docs/signalling.md.

A thin relay between the two sides of a consultation: offers, answers and trickled ICE
candidates, mute/camera/connection state, chat and hang-up. Close codes as in core.sockets,
plus 4410 (this side of the call is already open in another tab or device) and 4000 (this
socket was replaced by the same page after a reload or reconnect).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.models import User
from core.errors import Invalid, ServiceError
from core.ids import parse_uuid
from core.sockets import (
    CLOSE_INACTIVE,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    JsonSocket,
)
from queues.broadcast import call_group
from queues.services import duty
from video import presence, services
from video.ice import ice_servers
from video.models import CallEvent
from video.selectors import CallAccess, call_access

CLOSE_REPLACED = 4000
CLOSE_SIDE_TAKEN = 4410
MAX_SDP = 60_000
MAX_CANDIDATE = 1_000
MAX_CHAT = 1_000
PRESENCE_REFRESH_SECONDS = 5.0
CONNECTION_STATES = frozenset(
    {"new", "connecting", "connected", "disconnected", "failed", "closed"}
)


def _client_id(scope: dict[str, Any]) -> str | None:
    query = scope.get("query_string", b"").decode(errors="replace")
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "client":
            parsed = parse_uuid(value)
            return str(parsed) if parsed else None
    return None


def clean_signal(message: dict[str, Any]) -> dict[str, Any]:
    """The relayed part of a signalling message, checked field by field."""
    kind = message["type"]
    if kind in ("offer", "answer"):
        sdp = message.get("sdp")
        if not isinstance(sdp, str) or not sdp or len(sdp) > MAX_SDP:
            raise Invalid("An offer or answer needs its SDP (at most 60,000 characters).")
        return {"type": kind, "sdp": sdp}
    if kind == "candidate":
        candidate = message.get("candidate")
        if candidate is None:  # end of candidates
            return {"type": "candidate", "candidate": None}
        if not isinstance(candidate, dict):
            raise Invalid("A candidate is an object with candidate, sdpMid and sdpMLineIndex.")
        text = candidate.get("candidate")
        mid = candidate.get("sdpMid")
        index = candidate.get("sdpMLineIndex")
        if (
            not isinstance(text, str)
            or len(text) > MAX_CANDIDATE
            or not (mid is None or (isinstance(mid, str) and len(mid) <= 32))
            or not (index is None or (isinstance(index, int) and 0 <= index < 64))
        ):
            raise Invalid("That ICE candidate is not valid.")
        return {
            "type": "candidate",
            "candidate": {"candidate": text, "sdpMid": mid, "sdpMLineIndex": index},
        }
    if kind == "state":
        state: dict[str, Any] = {"type": "state"}
        for flag in ("muted", "camera", "audio_only", "low_bandwidth"):
            if flag in message:
                if not isinstance(message[flag], bool):
                    raise Invalid(f"{flag} must be true or false.")
                state[flag] = message[flag]
        if "connection" in message:
            if message["connection"] not in CONNECTION_STATES:
                raise Invalid("Unknown connection state.")
            state["connection"] = message["connection"]
        return state
    raise Invalid("Unknown signalling message.")


@database_sync_to_async
def _access(user: User, room: str) -> CallAccess | None:
    try:
        return call_access(user, room)
    except ServiceError:
        return None


@database_sync_to_async
def _joined(access: CallAccess) -> dict[str, Any]:
    services.record(access.ticket, CallEvent.Kind.JOINED, access.side)
    return {
        "chat": services.chat_history(access),
        "ice_servers": ice_servers(str(access.ticket.public_id) + ":" + access.side),
    }


@database_sync_to_async
def _record(access: CallAccess, kind: str) -> None:
    services.record(access.ticket, kind, access.side)


@database_sync_to_async
def _connected(access: CallAccess) -> None:
    services.media_connected(access)


@database_sync_to_async
def _chat(access: CallAccess, user: User, text: str) -> dict[str, str]:
    return services.chat_frame(services.post_chat(access, user, text))


@database_sync_to_async
def _hang_up(access: CallAccess, user: User) -> bool:
    return services.hang_up(access, user)


@database_sync_to_async
def _take_side(access: CallAccess, channel: str, client: str, join: str) -> tuple[bool, str | None]:
    return presence.take_side(
        access.ticket.pk, access.side, channel=channel, client=client, join=join
    )


@database_sync_to_async
def _refresh(access: CallAccess, channel: str) -> None:
    presence.refresh(access.ticket.pk, access.side, channel=channel)
    if access.side == "doctor" and access.ticket.doctor is not None:
        # A doctor in a call is at work: keep their duty alive as the console would.
        duty.heartbeat(access.ticket.doctor)


@database_sync_to_async
def _release(access: CallAccess, channel: str) -> None:
    presence.release(access.ticket.pk, access.side, channel=channel)


@database_sync_to_async
def _peer_join(access: CallAccess) -> str | None:
    """The other side's current join, if it is in the room."""
    other = "doctor" if access.side == "patient" else "patient"
    holder = presence.holder(access.ticket.pk, other)
    return str(holder.get("join", "")) or None if holder else None


class CallConsumer(JsonSocket):
    handlers = frozenset({"ping", "offer", "answer", "candidate", "state", "chat", "hangup"})
    max_frame = MAX_SDP + 4_000
    access: CallAccess | None = None

    @property
    def rate_limit(self) -> int:  # type: ignore[override]
        return int(settings.CALL_MESSAGES_PER_10_SECONDS)

    async def connect(self) -> None:
        self.last_refresh = time.monotonic()
        self.connection_state = "new"
        self.group = ""
        self.left = False
        user = self.scope.get("user")
        if not isinstance(user, User) or not user.is_active:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        access = await _access(user, self.scope["url_route"]["kwargs"]["room"])
        if access is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        if not access.is_open:
            await self.refuse(CLOSE_INACTIVE)
            return
        client = _client_id(self.scope) or self.channel_name
        self.join = uuid.uuid4().hex
        taken, replaced = await _take_side(access, self.channel_name, client, self.join)
        if not taken:
            await self.refuse(CLOSE_SIDE_TAKEN)
            return
        if replaced:
            await self.channel_layer.send(replaced, {"type": "call.replaced"})
        self.access = access
        self.group = call_group(access.ticket.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        joined = await _joined(access)
        peer_join = await _peer_join(access)
        await self.send_json(
            {
                "type": "room",
                "side": access.side,
                "polite": access.side == "patient",
                "peer": peer_join is not None,
                "peer_join": peer_join,
                "join": self.join,
                "status": access.ticket.status,
                "ice_servers": joined["ice_servers"],
                "chat": joined["chat"],
            }
        )
        await self._to_peer(
            {"type": "peer", "event": "joined", "side": access.side, "join": self.join}
        )

    async def disconnect(self, code: int) -> None:
        if self.access is None:
            return
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await _release(self.access, self.channel_name)
        if code != CLOSE_REPLACED:
            await self._leave()

    async def _leave(self) -> None:
        """Tell the other side and record it, once per socket."""
        if self.access is None or self.left:
            return
        self.left = True
        await self._to_peer(
            {"type": "peer", "event": "left", "side": self.access.side, "join": self.join}
        )
        await _record(self.access, CallEvent.Kind.LEFT)

    async def _to_peer(self, payload: dict[str, Any]) -> None:
        await self.channel_layer.group_send(
            self.group, {"type": "call.relay", "from": self.channel_name, "payload": payload}
        )

    # Client messages -----------------------------------------------------------------------

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self.send(text_data='{"type":"pong"}')
        if self.access and time.monotonic() - self.last_refresh > PRESENCE_REFRESH_SECONDS:
            self.last_refresh = time.monotonic()
            await _refresh(self.access, self.channel_name)

    async def _relay(self, message: dict[str, Any]) -> None:
        assert self.access is not None
        payload = clean_signal(message)
        payload["side"] = self.access.side
        await self._to_peer(payload)

    on_offer = on_answer = on_candidate = _relay

    async def on_state(self, message: dict[str, Any]) -> None:
        assert self.access is not None
        payload = clean_signal(message)
        connection = payload.get("connection")
        if connection and connection != self.connection_state:
            self.connection_state = connection
            if connection == "connected":
                await _connected(self.access)
            elif connection == "failed":
                await _record(self.access, CallEvent.Kind.FAILED)
        payload["side"] = self.access.side
        await self._to_peer(payload)

    async def on_chat(self, message: dict[str, Any]) -> None:
        assert self.access is not None
        text = message.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHAT:
            raise Invalid("A chat message has 1 to 1,000 characters.")
        frame = await _chat(self.access, self.scope["user"], text.strip())
        await self.channel_layer.group_send(
            self.group, {"type": "call.relay", "from": "", "payload": {"type": "chat", **frame}}
        )

    async def on_hangup(self, message: dict[str, Any]) -> None:
        assert self.access is not None
        ended = await _hang_up(self.access, self.scope["user"])
        if not ended:  # the patient leaves; the consultation goes on and they may rejoin
            await self._leave()
            await self.close(code=1000)

    # Group events --------------------------------------------------------------------------

    async def call_relay(self, event: dict[str, Any]) -> None:
        if event["from"] != self.channel_name:
            await self.send_json(event["payload"])

    async def call_replaced(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_REPLACED)

    async def call_closed(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "ended", "status": event["status"]})
        await self.close(code=CLOSE_INACTIVE)
