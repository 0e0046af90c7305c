"""Waiting-room and doctor-console sockets; the protocol is documented in docs/waiting-room.md.

Close codes: 4400 too many unreadable frames, 4401 not signed in, 4403 not allowed (not a
doctor), 4404 no such token for this account, 4409 token no longer active, 4429 too many
messages. Any other problem is an ``{"type": "error", "code": …}`` frame; the socket stays open.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import Invalid, ServiceError
from core.sockets import (
    CLOSE_FORBIDDEN,
    CLOSE_INACTIVE,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    JsonSocket,
)
from providers.models import Doctor
from providers.selectors import doctor_of
from queues import broadcast, selectors
from queues.hub import hub
from queues.models import DutyShift, Ticket
from queues.services import console, duty, visits

HEARTBEAT_WRITE_SECONDS = 5.0
RESYNC_EVERY_SECONDS = 2.0


# --- Patients ------------------------------------------------------------------------------


@database_sync_to_async
def _patient_ticket(user: User, ticket_id: str) -> Ticket | None:
    try:
        return selectors.ticket_for_account(user, ticket_id)
    except ServiceError:
        return None


@database_sync_to_async
def _snapshot(ticket_id: int) -> dict[str, Any]:
    ticket = Ticket.objects.select_related("opd").prefetch_related("opd__hours").get(pk=ticket_id)
    return selectors.snapshot(ticket)


@database_sync_to_async
def _present(ticket: Ticket, lease: str) -> None:
    visits.hold_presence(ticket, lease)


@database_sync_to_async
def _away(ticket: Ticket, lease: str) -> None:
    visits.release_presence(ticket, lease)


def _lease_renewal_seconds() -> float:
    """Renew a page's presence lease once a third of it has passed: two heartbeats may be
    lost (or throttled in a hidden tab) before it lapses."""
    return float(settings.QUEUE_PATIENT_LEASE_SECONDS) / 3


@database_sync_to_async
def _answer(user: User, ticket_id: int) -> None:
    visits.answer_call(user, Ticket.objects.select_related("opd").get(pk=ticket_id))


class WaitingRoomConsumer(JsonSocket):
    """A patient's waiting room, ``/ws/waiting/<ticket>/``. Queue changes reach it from the
    process's hub (``queues.hub``), not from a group of its own."""

    handlers = frozenset({"ping", "resync", "answer"})
    ticket: Ticket | None = None
    opd_id: int
    ticket_id: int
    finished = False

    async def connect(self) -> None:
        self.last_resync = 0.0
        self.last_presence = time.monotonic()
        self.lease = uuid.uuid4().hex
        user = self.scope.get("user")
        if not isinstance(user, User) or not user.is_active:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        ticket = await _patient_ticket(user, self.scope["url_route"]["kwargs"]["ticket"])
        if ticket is None:
            await self.refuse(CLOSE_NOT_FOUND)
            return
        await self.accept()
        if ticket.status not in Ticket.ACTIVE:
            await self.send_json(await _snapshot(ticket.pk))
            await self.close(code=CLOSE_INACTIVE)
            return
        self.ticket, self.opd_id, self.ticket_id = ticket, ticket.opd_id, ticket.pk
        # Join the hub before reading the snapshot, so no change falls between the two.
        await hub().add(self)
        snapshot = await _snapshot(ticket.pk)
        if self.finished:  # the token ended meanwhile: its final frame went out instead
            return
        await self.send_json(snapshot)
        if snapshot["status"] not in Ticket.ACTIVE:  # it ended between the two reads
            self.finished = True
            await self.close(code=CLOSE_INACTIVE)
            return
        await _present(ticket, self.lease)

    async def finish(self, text: str) -> None:
        """From the hub: the token is over. The final ``ticket`` frame, then 4409, as a socket
        opened now would get (nothing more will happen to this token)."""
        if self.finished:
            return
        self.finished = True
        await self.send(text_data=text)
        await self.close(code=CLOSE_INACTIVE)

    async def disconnect(self, code: int) -> None:
        if self.ticket is not None:
            await hub().remove(self)
            await _away(self.ticket, self.lease)

    async def on_ping(self, message: dict[str, Any]) -> None:
        """The page's heartbeat, which also renews its presence lease (see PresenceLease): a
        socket whose process dies stops renewing, and the patient is away once it lapses."""
        await self.send(text_data='{"type":"pong"}')
        if (
            self.ticket
            and not self.finished
            and time.monotonic() - self.last_presence > _lease_renewal_seconds()
        ):
            self.last_presence = time.monotonic()
            await _present(self.ticket, self.lease)

    async def on_resync(self, message: dict[str, Any]) -> None:
        if self.ticket is None or self.finished:
            return
        wait = self.last_resync + RESYNC_EVERY_SECONDS - time.monotonic()
        if wait > 0:
            await self.send_error(
                "rate_limited",
                _("Ask for a fresh snapshot at most once every 2 seconds."),
                retry_after=math.ceil(wait),
            )
            return
        self.last_resync = time.monotonic()
        await self.send_json(await _snapshot(self.ticket.pk))

    async def on_answer(self, message: dict[str, Any]) -> None:
        if self.ticket is None or self.finished:
            return
        await _answer(self.scope["user"], self.ticket.pk)
        await self.send_json(await _snapshot(self.ticket.pk))


# --- Doctors -------------------------------------------------------------------------------


@database_sync_to_async
def _doctor_of(user: User) -> Doctor | None:
    return doctor_of(user)


@database_sync_to_async
def _summary(doctor_id: int) -> dict[str, Any]:
    doctor = Doctor.objects.select_related("presence").get(pk=doctor_id)
    return selectors.console_summary(doctor)


@database_sync_to_async
def _duty_opd_ids(doctor_id: int) -> set[int]:
    return set(
        DutyShift.objects.filter(doctor_id=doctor_id, ended_at=None).values_list(
            "opd_id", flat=True
        )
    )


@database_sync_to_async
def _heartbeat(doctor: Doctor) -> None:
    duty.heartbeat(doctor)


@database_sync_to_async
def _console_action(doctor: Doctor, action: str, message: dict[str, Any]) -> None:
    ids = message.get("opds")
    if action == console.Action.DUTY and (not isinstance(ids, list) or not ids or len(ids) > 50):
        raise Invalid("Send the OPDs as a list of ids.", code="invalid")
    console.perform(
        doctor,
        action,
        opd_ids=[str(public_id) for public_id in ids] if isinstance(ids, list) else (),
        ticket_id=str(message.get("ticket", "")),
        reason=str(message.get("reason", "")),
        note=str(message.get("note", "")),
    )


class DoctorConsoleConsumer(JsonSocket):
    """A doctor's console, ``/ws/console/``: duty, offers, live counts, next patients."""

    handlers = frozenset({"ping", "duty", "off_duty", "resume", "accept", "skip", "end", "refresh"})
    doctor: Doctor | None = None

    async def connect(self) -> None:
        self.groups_joined: set[str] = set()
        self.last_heartbeat = 0.0
        self.last_summary = 0.0
        self.refresh_scheduled = False
        user = self.scope.get("user")
        if not isinstance(user, User) or not user.is_active:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        doctor = await _doctor_of(user)
        if doctor is None:
            await self.refuse(CLOSE_FORBIDDEN)
            return
        self.doctor = doctor
        await self.accept()
        await self._join(broadcast.console_doctor_group(doctor.pk))
        await self._heartbeat(force=True)
        await self._sync_groups_and_summary()

    async def disconnect(self, code: int) -> None:
        for group in list(self.groups_joined):
            await self.channel_layer.group_discard(group, self.channel_name)
        # Duty continues through a short drop; the sweeper ends it after the grace period.

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    async def _heartbeat(self, *, force: bool = False) -> None:
        if self.doctor and (
            force or time.monotonic() - self.last_heartbeat > HEARTBEAT_WRITE_SECONDS
        ):
            self.last_heartbeat = time.monotonic()
            await _heartbeat(self.doctor)

    async def _sync_groups_and_summary(self) -> None:
        assert self.doctor is not None
        wanted = {broadcast.console_opd_group(i) for i in await _duty_opd_ids(self.doctor.pk)}
        wanted.add(broadcast.console_doctor_group(self.doctor.pk))
        for group in self.groups_joined - wanted:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.discard(group)
        for group in wanted:
            await self._join(group)
        self.last_summary = time.monotonic()
        await self.send_json(await _summary(self.doctor.pk))

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self._heartbeat()
        await self.send(text_data='{"type":"pong"}')

    async def on_refresh(self, message: dict[str, Any]) -> None:
        await self._sync_groups_and_summary()

    async def _action(self, action: str, message: dict[str, Any]) -> None:
        assert self.doctor is not None
        await _console_action(self.doctor, action, message)
        await self._heartbeat(force=True)
        await self._sync_groups_and_summary()

    async def on_duty(self, message: dict[str, Any]) -> None:
        await self._action("duty", message)

    async def on_off_duty(self, message: dict[str, Any]) -> None:
        await self._action("off_duty", message)

    async def on_resume(self, message: dict[str, Any]) -> None:
        await self._action("resume", message)

    async def on_accept(self, message: dict[str, Any]) -> None:
        await self._action("accept", message)

    async def on_skip(self, message: dict[str, Any]) -> None:
        await self._action("skip", message)

    async def on_end(self, message: dict[str, Any]) -> None:
        await self._action("end", message)

    # Group events ------------------------------------------------------------------------

    async def queue_changed(self, event: dict[str, Any]) -> None:
        """Counts and the next patients: at most one refresh a second per console, and never
        a change left unshown."""
        if self.refresh_scheduled or self.doctor is None:
            return
        self.refresh_scheduled = True
        delay = max(0.0, 1.0 - (time.monotonic() - self.last_summary))
        asyncio.get_running_loop().call_later(
            delay, lambda: asyncio.ensure_future(self._deferred_summary())
        )

    async def _deferred_summary(self) -> None:
        self.refresh_scheduled = False
        if self.doctor is None:
            return
        self.last_summary = time.monotonic()
        try:
            await self.send_json(await _summary(self.doctor.pk))
        except Exception:  # the socket closed meanwhile
            return

    async def doctor_event(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "event", **event["payload"]})
        await self._sync_groups_and_summary()
