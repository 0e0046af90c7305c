"""From offer to the end of the visit: accept or skip, CALL NOW, end, cancel."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.errors import Conflict
from providers.models import Doctor
from queues import broadcast, signals
from queues.models import PresenceLease, Ticket, TicketEvent
from queues.services.dispatch import dispatch_after_commit

SKIP_NOTE_MAX_LENGTH = 200  # what a doctor may add to a skip; longer notes are cut here

SKIP_REASONS = {
    "other_speciality": gettext_lazy("Needs another speciality"),
    "language": gettext_lazy("I do not speak the patient's language"),
    "conflict_of_interest": gettext_lazy("Conflict of interest (e.g. a relative)"),
    "other": gettext_lazy("Other reason"),
}


def _changed_elsewhere() -> Conflict:
    return Conflict(
        _("This patient's status changed a moment ago. The page will refresh."),
        code="ticket_state_changed",
    )


def accept_offer(doctor: Doctor, ticket: Ticket, *, now: datetime | None = None) -> Ticket:
    """The doctor takes the offered patient: the patient's page shows CALL NOW."""
    now = now or timezone.now()
    with transaction.atomic():
        deadline = now + timedelta(seconds=ticket.opd.call_window_seconds)
        accepted = ticket.transition(
            Ticket.Status.CALLED,
            event=TicketEvent.Kind.ACCEPTED,
            at=now,
            held_by=doctor,
            actor=doctor.user,
            call_expires_at=deadline,
        )
        if not accepted:
            raise _changed_elsewhere()
        broadcast.ticket_changed(
            ticket,
            {
                "status": Ticket.Status.CALLED,
                "call_expires_at": deadline.isoformat(),
                "call_seconds_left": ticket.opd.call_window_seconds,
            },
        )
        broadcast.doctor_event(doctor.pk, {"event": "accepted", "ticket": str(ticket.public_id)})
    ticket.refresh_from_db()
    return ticket


def skip_offer(
    doctor: Doctor, ticket: Ticket, *, reason: str, note: str = "", now: datetime | None = None
) -> None:
    """The doctor passes: the patient keeps their place and is not offered to them again."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Ticket.objects.select_for_update()
            .filter(pk=ticket.pk, doctor=doctor, status=Ticket.Status.OFFERED)
            .first()
        )
        if locked is None:
            raise _changed_elsewhere()
        # Locked, so the list of doctors who skipped it cannot change under us.
        locked.transition(
            Ticket.Status.WAITING,
            source=[Ticket.Status.OFFERED],
            held_by=doctor,
            event=TicketEvent.Kind.SKIPPED,
            at=now,
            actor=doctor.user,
            detail={"reason": reason, "note": note[:SKIP_NOTE_MAX_LENGTH]},
            skipped_by=sorted({*locked.skipped_by, doctor.pk}),
        )
        broadcast.queue_changed(locked.opd_id, joined=[locked.key])
        broadcast.ticket_changed(locked, {"status": Ticket.Status.WAITING})
    dispatch_after_commit(opd_ids=[ticket.opd_id])


def answer_call(account: User, ticket: Ticket, *, now: datetime | None = None) -> Ticket:
    """The patient pressed CALL NOW in time: the consultation starts."""
    now = now or timezone.now()
    with transaction.atomic():
        answered = ticket.transition(
            Ticket.Status.IN_CONSULTATION,
            event=TicketEvent.Kind.ANSWERED,
            at=now,
            only_if=Q(call_expires_at__gt=now),
            actor=account,
        )
        if not answered:
            raise Conflict(
                _("The call is no longer waiting for you. Your page shows what happens next."),
                code="call_not_waiting",
            )
        signals.consultation_started.send(sender=Ticket, ticket=ticket, at=now)
        broadcast.ticket_changed(ticket, {"status": Ticket.Status.IN_CONSULTATION})
        if ticket.doctor_id:
            broadcast.doctor_event(
                ticket.doctor_id, {"event": "answered", "ticket": str(ticket.public_id)}
            )
    ticket.refresh_from_db()
    return ticket


def end_consultation(doctor: Doctor, ticket: Ticket, *, now: datetime | None = None) -> Ticket:
    now = now or timezone.now()
    with transaction.atomic():
        ended = ticket.transition(
            Ticket.Status.COMPLETED,
            event=TicketEvent.Kind.COMPLETED,
            at=now,
            held_by=doctor,
            actor=doctor.user,
        )
        if not ended:
            raise _changed_elsewhere()
        broadcast.ticket_changed(ticket, {"status": Ticket.Status.COMPLETED})
        broadcast.call_closed(ticket.pk, Ticket.Status.COMPLETED)
        broadcast.doctor_event(doctor.pk, {"event": "completed", "ticket": str(ticket.public_id)})
    dispatch_after_commit(opd_ids=None)
    ticket.refresh_from_db()
    return ticket


def cancel_ticket(account: User, ticket: Ticket, *, now: datetime | None = None) -> Ticket:
    """The patient gives up their token (not once the consultation has started)."""
    now = now or timezone.now()
    cancellable = [Ticket.Status.WAITING, Ticket.Status.OFFERED, Ticket.Status.CALLED]
    with transaction.atomic():
        locked = (
            Ticket.objects.select_for_update().filter(pk=ticket.pk, status__in=cancellable).first()
        )
        if locked is None:
            raise Conflict(
                _("This token can no longer be cancelled."), code="ticket_not_cancellable"
            )
        was_waiting = locked.status == Ticket.Status.WAITING
        doctor_id = locked.doctor_id
        locked.transition(
            Ticket.Status.CANCELLED,
            source=cancellable,
            event=TicketEvent.Kind.CANCELLED,
            at=now,
            actor=account,
        )
        if was_waiting:
            broadcast.queue_changed(locked.opd_id, left=[locked.key])
        broadcast.ticket_changed(locked, {"status": Ticket.Status.CANCELLED})
        broadcast.call_closed(locked.pk, Ticket.Status.CANCELLED)
        if doctor_id:
            broadcast.doctor_event(
                doctor_id, {"event": "cancelled", "ticket": str(locked.public_id)}
            )
    if doctor_id:
        dispatch_after_commit(opd_ids=[locked.opd_id])
    locked.refresh_from_db()
    return locked


def patient_present(ticket: Ticket) -> None:
    """The patient's page is open: they can be offered to a doctor again."""
    back = (
        Ticket.objects.filter(pk=ticket.pk)
        .exclude(patient_away_since=None)
        .update(patient_away_since=None)
    )
    if back:
        dispatch_after_commit(opd_ids=[ticket.opd_id])


def patient_away(ticket: Ticket, *, now: datetime | None = None) -> None:
    """The page closed: the place is kept for QUEUE_PATIENT_AWAY_GRACE_SECONDS."""
    Ticket.objects.filter(pk=ticket.pk, patient_away_since=None, status__in=Ticket.ACTIVE).update(
        patient_away_since=now or timezone.now()
    )


def hold_presence(ticket: Ticket, holder: str, *, now: datetime | None = None) -> None:
    """A page of the ticket is open (a socket that opened or sent its heartbeat, or a poll):
    take or renew its lease, and the patient is present (see ``PresenceLease``)."""
    expires = (now or timezone.now()) + timedelta(seconds=settings.QUEUE_PATIENT_LEASE_SECONDS)
    PresenceLease.objects.bulk_create(
        [PresenceLease(ticket_id=ticket.pk, holder=holder, expires_at=expires)],
        update_conflicts=True,
        unique_fields=["ticket", "holder"],
        update_fields=["expires_at"],
    )
    patient_present(ticket)


def release_presence(ticket: Ticket, holder: str, *, now: datetime | None = None) -> None:
    """A socket closed: its lease goes; the patient is away if no other page is alive (other
    tabs, or a reconnect that landed before this close)."""
    now = now or timezone.now()
    PresenceLease.objects.filter(ticket_id=ticket.pk, holder=holder).delete()
    if not PresenceLease.objects.filter(ticket_id=ticket.pk, expires_at__gt=now).exists():
        patient_away(ticket, now=now)
