"""Doctors going on and off duty, and their consoles' heartbeat."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Invalid
from providers.models import Doctor
from queues import broadcast
from queues.models import DoctorPresence, DutyShift, Ticket, TicketEvent
from queues.selectors import opds_for_doctor
from queues.services.dispatch import dispatch_after_commit


def go_on_duty(doctor: Doctor, opd_ids: Collection[int], *, now: datetime | None = None) -> None:
    now = now or timezone.now()
    allowed = {opd.pk for opd in opds_for_doctor(doctor)}
    refused = set(opd_ids) - allowed
    if refused or not opd_ids:
        raise opds_not_allowed()
    with transaction.atomic():
        DoctorPresence.objects.update_or_create(
            doctor=doctor, defaults={"console_seen_at": now, "paused": False}
        )
        open_now = set(
            DutyShift.objects.filter(doctor=doctor, ended_at=None).values_list("opd_id", flat=True)
        )
        DutyShift.objects.bulk_create(
            [
                DutyShift(doctor=doctor, opd_id=opd_id, started_at=now)
                for opd_id in set(opd_ids) - open_now
            ]
        )
        for opd_id in set(opd_ids) | open_now:
            broadcast.queue_changed(opd_id)
            broadcast.doctors_changed(opd_id)
    dispatch_after_commit(opd_ids=list(opd_ids))


def opds_not_allowed() -> Invalid:
    return Invalid(
        _("Choose OPDs of your state and speciality."),
        code="opd_not_allowed",
        fields={"opds": [_("Choose OPDs of your state and speciality.")]},
    )


def go_off_duty(
    doctor: Doctor,
    opd_ids: Collection[int] | None = None,
    *,
    reason: str = DutyShift.EndReason.SIGNED_OFF,
    now: datetime | None = None,
) -> None:
    """End shifts; a patient offered but not yet accepted returns to their place."""
    now = now or timezone.now()
    with transaction.atomic():
        shifts = DutyShift.objects.filter(doctor=doctor, ended_at=None)
        if opd_ids is not None:
            shifts = shifts.filter(opd_id__in=opd_ids)
        ended = list(shifts.values_list("opd_id", flat=True))
        shifts.update(ended_at=now, end_reason=reason)
        still_on = DutyShift.objects.filter(doctor=doctor, ended_at=None).exists()
        if not still_on:
            return_offered_tickets(doctor, now=now, kind=TicketEvent.Kind.DOCTOR_LOST)
        for opd_id in ended:
            broadcast.queue_changed(opd_id)
            broadcast.doctors_changed(opd_id)


def return_offered_tickets(doctor: Doctor, *, now: datetime, kind: str) -> list[Ticket]:
    """Offered or called patients go back to their place (the doctor can no longer see them)."""
    held = list(
        Ticket.objects.select_for_update().filter(
            doctor=doctor, status__in=[Ticket.Status.OFFERED, Ticket.Status.CALLED]
        )
    )
    for ticket in held:
        returned = ticket.transition(
            Ticket.Status.WAITING, source=[ticket.status], held_by=doctor, event=kind, at=now
        )
        if returned:
            broadcast.call_closed(ticket.pk, Ticket.Status.WAITING)
            broadcast.queue_changed(ticket.opd_id, joined=[ticket.key])
            broadcast.ticket_changed(ticket, {"status": Ticket.Status.WAITING, "reason": kind})
    if held:
        dispatch_after_commit(opd_ids={t.opd_id for t in held})
    return held


def heartbeat(doctor: Doctor, *, now: datetime | None = None) -> None:
    DoctorPresence.objects.update_or_create(
        doctor=doctor, defaults={"console_seen_at": now or timezone.now()}
    )


def resume(doctor: Doctor, *, now: datetime | None = None) -> None:
    """After an unanswered offer paused the doctor: take patients again."""
    DoctorPresence.objects.update_or_create(
        doctor=doctor, defaults={"paused": False, "console_seen_at": now or timezone.now()}
    )
    dispatch_after_commit(
        opd_ids=list(
            DutyShift.objects.filter(doctor=doctor, ended_at=None).values_list("opd_id", flat=True)
        )
    )
