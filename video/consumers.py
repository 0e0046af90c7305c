"""Call signalling: ``/ws/call/<room>/?client=<id>``. Protocol: docs/signalling.md.

A thin relay between the two sides of a consultation: offers, answers and trickled ICE
candidates, mute/camera/connection state, chat and hang-up. Close codes as in core.sockets,
plus 4000 (this socket was replaced by the same page after a reload or reconnect) and 4410
(this side of the call is open in another tab or device: refused on joining, or taken over
after this socket was silent).

Every relayed frame goes to the socket that holds the other side now (its ``join``), not to
the room at large, and a socket's frames are checked (at most once a second, and on every
heartbeat): a socket that no longer holds its side, or whose room has closed, is closed instead
of being relayed. So an eviction does not rest on one broadcast (``call.replaced``,
``call.closed``) arriving.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.models import User
from core.errors import ServiceError
from core.sockets import (
    CLOSE_INACTIVE,
    CLOSE_MALFORMED,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    JsonSocket,
)
from queues.broadcast import call_group
from queues.models import Ticket
from queues.services import duty
from video import presence, services
from video.frames import MAX_FRAME, BadClientId, chat_text, clean_signal, client_id
from video.ice import ice_servers
from video.models import CallEvent
from video.selectors import OPEN_STATUSES, CallAccess, call_access

CLOSE_REPLACED = 4000
CLOSE_SIDE_TAKEN = 4410
PRESENCE_REFRESH_SECONDS = 5.0
# A socket's hold on its side and its room's status are checked on its first frame after this
# long without a check (and on every heartbeat): often enough that a socket silent long enough
# to lose its side is always checked, rarely enough to keep a burst of candidates cheap.
ROOM_CHECK_SECONDS = 1.0


def other_side(side: str) -> str:
    return "doctor" if side == "patient" else "patient"


@dataclass(frozen=True)
class Seat:
    """This socket's hold on its side, as one check found it."""

    lost_to: presence.Holder | None  # who holds the side now, when not this socket
    peer_join: str | None  # the other side's current joining, if it is in the room
    status: str | None  # the ticket's status, when it was read


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
def _seat(access: CallAccess, channel: str, client: str, join: str, *, heartbeat: bool) -> Seat:
    """Whether this socket still holds its side (a heartbeat also keeps it held), who is on
    the other side (one round trip to the cache), and the room's status."""
    ticket_id, side = access.ticket.pk, access.side
    held = presence.holders(ticket_id)
    mine = held.get(side)
    if heartbeat or mine is None:  # a lapsed hold nobody took is taken again
        lost_to = presence.keep_side(ticket_id, side, channel=channel, client=client, join=join)
    else:
        lost_to = mine if mine.get("channel") != channel else None
    if heartbeat and lost_to is None and side == "doctor" and access.ticket.doctor is not None:
        # A doctor in a call is at work: keep their duty alive as the console would.
        duty.heartbeat(access.ticket.doctor)
    peer = held.get(other_side(side))
    status = Ticket.objects.filter(pk=ticket_id).values_list("status", flat=True).first()
    return Seat(lost_to, str(peer.get("join") or "") or None if peer else None, status)


@database_sync_to_async
def _release(access: CallAccess, channel: str) -> bool:
    return presence.release(access.ticket.pk, access.side, channel=channel)


@database_sync_to_async
def _peer_join(access: CallAccess) -> str | None:
    """The other side's current join, if it is in the room."""
    holder = presence.holder(access.ticket.pk, other_side(access.side))
    return str(holder.get("join", "")) or None if holder else None


class CallConsumer(JsonSocket):
    handlers = frozenset({"ping", "offer", "answer", "candidate", "state", "chat", "hangup"})
    max_frame = MAX_FRAME
    access: CallAccess | None = None

    @property
    def rate_limit(self) -> int:  # type: ignore[override]
        return int(settings.CALL_MESSAGES_PER_10_SECONDS)

    async def connect(self) -> None:
        self.last_refresh = time.monotonic()
        self.last_check = 0.0  # the first frame is checked
        self.connection_state = "new"
        self.group = ""
        self.left = False
        self.peer_join: str | None = None
        user = self.scope.get("user")
        if not isinstance(user, User) or not user.is_active:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        access = await _access(user, self.scope["url_route"]["kwargs"]["room"])
        if access is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        if not access.is_open:
            # Joining after the consultation ended (a patient whose page opened late, a reload):
            # the page learns how it ended, as a page open at the time did, and leads on to the
            # prescription. A room not open yet closes with the code alone.
            ended = access.ticket.status == Ticket.Status.COMPLETED
            await self.refuse(
                CLOSE_INACTIVE,
                last_frame={"type": "ended", "status": access.ticket.status} if ended else None,
            )
            return
        try:
            # Without a client id this socket is a device of its own: nothing can take over.
            self.client = client_id(self.scope.get("query_string", b"")) or self.channel_name
        except BadClientId:
            await self.refuse(CLOSE_MALFORMED)
            return
        self.join = uuid.uuid4().hex
        self.group = call_group(access.ticket.pk)
        # In the group before holding the side: the other side addresses this joining as soon
        # as it can read it, and nothing addressed to it may be lost.
        await self.channel_layer.group_add(self.group, self.channel_name)
        taken, replaced = await _take_side(access, self.channel_name, self.client, self.join)
        if not taken:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.refuse(CLOSE_SIDE_TAKEN)
            return
        if replaced:
            await self.channel_layer.send(replaced, {"type": "call.replaced"})
        self.access = access
        await self.accept()
        joined = await _joined(access)
        self.peer_join = await _peer_join(access)
        await self.send_json(
            {
                "type": "room",
                "side": access.side,
                "polite": access.side == "patient",
                "peer": self.peer_join is not None,
                "peer_join": self.peer_join,
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
        # Only the holder's leaving is news: a socket that lost its side (to a reload or
        # another tab) must not tell the other side that the person left.
        if await _release(self.access, self.channel_name):
            await self._leave()

    async def _leave(self) -> None:
        """Tell the other side and record it, once per socket."""
        if self.access is None or self.left:
            return
        self.left = True
        self.peer_join = await _peer_join(self.access)
        await self._to_peer(
            {"type": "peer", "event": "left", "side": self.access.side, "join": self.join}
        )
        await _record(self.access, CallEvent.Kind.LEFT)

    async def _to_peer(self, payload: dict[str, Any]) -> None:
        assert self.access is not None
        await self._send_to([(other_side(self.access.side), self.peer_join)], payload)

    async def _send_to(self, to: list[tuple[str, str | None]], payload: dict[str, Any]) -> None:
        """To the socket of each ``(side, join)``: the one holding that side. A side whose hold
        lapsed (its page was silent, nobody took it over) has no join: its sockets all get it."""
        await self.channel_layer.group_send(
            self.group, {"type": "call.relay", "to": to, "payload": payload}
        )

    # Is this socket still in the room? ------------------------------------------------------

    async def admit(self, kind: str) -> bool:
        """A frame is handled only while this socket holds its side of an open room: checked
        at most every ``ROOM_CHECK_SECONDS`` (heartbeats check it themselves)."""
        if kind == "ping" or time.monotonic() - self.last_check < ROOM_CHECK_SECONDS:
            return True
        return await self._check_seat(heartbeat=False)

    async def _check_seat(self, *, heartbeat: bool) -> bool:
        if self.access is None:
            return False
        self.last_check = time.monotonic()
        seat = await _seat(
            self.access, self.channel_name, self.client, self.join, heartbeat=heartbeat
        )
        if seat.status is not None and seat.status not in OPEN_STATUSES:
            await self.call_closed({"status": seat.status})
            return False
        if seat.lost_to is not None:
            same_page = seat.lost_to.get("client") == self.client
            await self.close(code=CLOSE_REPLACED if same_page else CLOSE_SIDE_TAKEN)
            return False
        self.peer_join = seat.peer_join
        return True

    # Client messages -----------------------------------------------------------------------

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self.send(text_data='{"type":"pong"}')
        if self.access and time.monotonic() - self.last_refresh > PRESENCE_REFRESH_SECONDS:
            self.last_refresh = time.monotonic()
            await self._check_seat(heartbeat=True)

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
        frame = await _chat(self.access, self.scope["user"], chat_text(message))
        side = self.access.side
        await self._send_to(
            [(side, self.join), (other_side(side), self.peer_join)], {"type": "chat", **frame}
        )

    async def on_hangup(self, message: dict[str, Any]) -> None:
        assert self.access is not None
        ended = await _hang_up(self.access, self.scope["user"])
        if not ended:  # the patient leaves; the consultation goes on and they may rejoin
            await self._leave()
            await self.close(code=1000)

    # Group events --------------------------------------------------------------------------

    async def call_relay(self, event: dict[str, Any]) -> None:
        if self.access is None:
            return
        if any(
            side == self.access.side and join in (None, self.join) for side, join in event["to"]
        ):
            payload = event["payload"]
            if payload["type"] == "peer":  # whom this socket's frames are for, from now on
                self.peer_join = payload["join"] if payload["event"] == "joined" else None
            await self.send_json(payload)

    async def call_replaced(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_REPLACED)

    async def call_closed(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "ended", "status": event["status"]})
        await self.close(code=CLOSE_INACTIVE)
