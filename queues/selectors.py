"""Reading the queue, and who may see which tickets."""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from core.errors import NotFound
from core.ids import parse_uuid
from patients.models import Patient
from providers.models import Doctor
from providers.selectors import doctor_of
from queues import claims
from queues.hours import opening_state
from queues.models import Attachment, DutyShift, Opd, OpdRevision, Ticket


def active_ticket_of(patient: Patient, opd: Opd) -> Ticket | None:
    return (
        Ticket.objects.filter(patient=patient, opd=opd, status__in=Ticket.ACTIVE)
        .select_related("opd", "patient")
        .first()
    )


def opds_for_patient(patient: Patient) -> QuerySet[Opd]:
    """The OPDs a patient may book: their state's and the national ones."""
    return (
        Opd.objects.filter(is_active=True)
        .filter(Q(state=patient.state_id) | Q(state__isnull=True))
        .select_related("speciality", "state")
        .prefetch_related("hours")
    )


def opds_for_doctor(doctor: Doctor) -> list[Opd]:
    """A doctor serves their home state's OPDs and the national ones, in their specialities
    (general OPDs take every doctor)."""
    specialities = list(doctor.specialities.values_list("pk", flat=True))
    return list(
        Opd.objects.filter(is_active=True)
        .filter(Q(state=doctor.home_state_id) | Q(state__isnull=True))
        .filter(Q(speciality__isnull=True) | Q(speciality__in=specialities))
        .select_related("speciality", "state")
        .prefetch_related("hours")
        .order_by("name")
    )


def opd_pks_named(public_ids: Collection[object]) -> list[int] | None:
    """The OPDs the public ids name, or None if one names no OPD (or an OPD is named twice)."""
    parsed = [parse_uuid(public_id) for public_id in public_ids]
    named = [public_id for public_id in parsed if public_id is not None]
    pks = list(Opd.objects.filter(public_id__in=named).values_list("pk", flat=True))
    return pks if len(pks) == len(parsed) else None


def tickets_for_account(user: User) -> QuerySet[Ticket]:
    """A patient account sees its own family's tickets, nobody else's."""
    if not user.is_authenticated or not user.is_patient:
        return Ticket.objects.none()
    return Ticket.objects.filter(patient__account=user).select_related(
        "opd", "patient", "doctor__user"
    )


def ticket_for_account(user: User, public_id: uuid.UUID | str) -> Ticket:
    parsed = parse_uuid(public_id)
    ticket = tickets_for_account(user).filter(public_id=parsed).first() if parsed else None
    if ticket is None:
        raise NotFound(gettext("No such token."))
    return ticket


def open_tickets_for_account(user: User) -> QuerySet[Ticket]:
    """The family's tokens still in the waiting room or with a doctor, oldest first."""
    return tickets_for_account(user).filter(status__in=Ticket.ACTIVE).order_by("booked_at")


def tickets_for_doctor(doctor: Doctor) -> QuerySet[Ticket]:
    """A doctor sees the tickets assigned to them (offered, called, in or after consultation)."""
    return Ticket.objects.filter(doctor=doctor).select_related("opd", "patient", "language")


def ticket_for_doctor(doctor: Doctor, public_id: uuid.UUID | str) -> Ticket:
    parsed = parse_uuid(public_id)
    ticket = tickets_for_doctor(doctor).filter(public_id=parsed).first() if parsed else None
    if ticket is None:
        raise NotFound(gettext("No such patient in your care."))
    return ticket


def attachments_for(user: User) -> QuerySet[Attachment]:
    """A shared record is for the patient's family and for the doctor the patient was assigned
    to: a patient account sees its family's records, a doctor those of their patients."""
    if user.is_patient:
        tickets = tickets_for_account(user)
    else:
        doctor = doctor_of(user)
        if doctor is None:
            return Attachment.objects.none()
        tickets = tickets_for_doctor(doctor)
    return Attachment.objects.filter(ticket__in=tickets.values("pk")).select_related(
        "ticket__patient"
    )


def attachment_for(user: User, public_id: uuid.UUID | str) -> Attachment:
    parsed = parse_uuid(public_id)
    found = attachments_for(user).filter(public_id=parsed).first() if parsed else None
    if found is None:
        raise NotFound(gettext("No such document."))
    return found


def ahead_of(ticket: Ticket) -> Q:
    return Q(priority__gt=ticket.priority) | Q(priority=ticket.priority, seq__lt=ticket.seq)


def position_of(ticket: Ticket) -> int | None:
    """1 for the next patient; None once the ticket has left the queue."""
    if ticket.status != Ticket.Status.WAITING:
        return None
    ahead = Ticket.objects.filter(opd_id=ticket.opd_id, status=Ticket.Status.WAITING).filter(
        ahead_of(ticket)
    )
    return ahead.count() + 1


def doctors_on_duty(opd_id: int) -> int:
    fresh = timezone.now() - timedelta(seconds=settings.QUEUE_DOCTOR_GRACE_SECONDS)
    return (
        DutyShift.objects.filter(opd_id=opd_id, ended_at=None)
        .filter(doctor__presence__console_seen_at__gte=fresh)
        .values("doctor_id")
        .distinct()
        .count()
    )


# The estimate of a consultation's length (documented in docs/waiting-room.md).
RECENT_CONSULTATIONS = 20  # the most recent consultations of the OPD that are looked at
RECENT_WINDOW = timedelta(hours=3)  # ... and only those that ended this recently
MIN_CONSULTATIONS = 3  # fewer: QUEUE_DEFAULT_CONSULT_SECONDS
# A consultation under a minute is a call that did not happen (ended at once after a failed
# connection); a run of them must not tell everyone behind that their turn is moments away.
MIN_SECONDS_PER_PATIENT = 60


def seconds_per_patient(opd_id: int, now: datetime | None = None) -> int:
    """Median length of the OPD's most recent consultations (see the constants above)."""
    now = now or timezone.now()
    recent = (
        Ticket.objects.filter(
            opd_id=opd_id,
            status=Ticket.Status.COMPLETED,
            consult_ended_at__gte=now - RECENT_WINDOW,
            consult_ended_at__lte=now,
            consult_started_at__isnull=False,
        )
        .order_by("-consult_ended_at")
        .values_list("consult_started_at", "consult_ended_at")[:RECENT_CONSULTATIONS]
    )
    durations = [(end - start).total_seconds() for start, end in recent if end and start]
    if len(durations) < MIN_CONSULTATIONS:
        return int(settings.QUEUE_DEFAULT_CONSULT_SECONDS)
    return max(MIN_SECONDS_PER_PATIENT, int(statistics.median(durations)))


def estimated_wait_seconds(position: int | None, doctors: int, per_patient: int) -> int | None:
    if position is None or doctors == 0:
        return None
    return math.ceil(position / doctors) * per_patient


def waiting_count(opd_id: int) -> int:
    return Ticket.objects.filter(opd_id=opd_id, status=Ticket.Status.WAITING).count()


def _count(queryset: QuerySet[Ticket]) -> Coalesce:
    """``count(*)`` of ``queryset`` as a subquery of a larger statement."""
    counted = queryset.order_by().values("opd_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _line_as_of_revision(ticket_id: int) -> dict[str, Any]:
    """The ticket with its OPD's waiting count, the count ahead of it and the OPD's revision,
    read in ONE statement: one database snapshot, so the figures are exactly those of the
    changes up to that revision (see OpdRevision)."""
    waiting = Ticket.objects.filter(opd_id=OuterRef("opd_id"), status=Ticket.Status.WAITING)
    ahead = waiting.filter(
        Q(priority__gt=OuterRef("priority"))
        | Q(priority=OuterRef("priority"), seq__lt=OuterRef("seq"))
    )
    revision = OpdRevision.objects.filter(opd_id=OuterRef("opd_id")).values("revision")
    row: dict[str, Any] = dict(
        Ticket.objects.annotate(
            waiting_now=_count(waiting),
            ahead_now=_count(ahead),
            revision_now=Coalesce(Subquery(revision), Value(0)),
        )
        .values(
            "status",
            "priority",
            "seq",
            "call_expires_at",
            "missed_calls",
            "waiting_now",
            "ahead_now",
            "revision_now",
        )
        .get(pk=ticket_id)
    )
    return row


def snapshot(ticket: Ticket) -> dict[str, Any]:
    """Everything the waiting-room page shows, computed now from the database."""
    row = _line_as_of_revision(ticket.pk)
    status, deadline = row["status"], row["call_expires_at"]
    position = row["ahead_now"] + 1 if status == Ticket.Status.WAITING else None
    doctors = doctors_on_duty(ticket.opd_id)
    per_patient = seconds_per_patient(ticket.opd_id)
    now = timezone.now()
    state = opening_state(ticket.opd, now)
    return {
        "type": "snapshot",
        "ticket": str(ticket.public_id),
        "token": ticket.token,
        "status": status,
        "key": [row["priority"], row["seq"]],
        "position": position,
        "waiting": row["waiting_now"],
        "revision": row["revision_now"],
        "doctors_on_duty": doctors,
        "seconds_per_patient": per_patient,
        "estimated_wait_seconds": estimated_wait_seconds(position, doctors, per_patient),
        "call_expires_at": deadline.isoformat() if deadline else None,
        "call_seconds_left": (
            max(0, int((deadline - now).total_seconds()))
            if deadline and status == Ticket.Status.CALLED
            else None
        ),
        "opd_open": state.is_open,
        "opens_at": state.next_opening.isoformat() if state.next_opening else None,
        "missed_calls": row["missed_calls"],
    }


def _patient_line(ticket: Ticket) -> dict[str, Any]:
    """What a doctor needs to see of a waiting patient, and no more."""
    return {
        "token": ticket.token,
        "age": ticket.patient.age_years,
        "sex": str(ticket.patient.get_sex_display()),
        "complaint": ticket.complaint[:140],
        "language": ticket.language.name,
        "priority": str(ticket.get_priority_reason_display()) if ticket.priority_reason else None,
        # "declared" (the family's word), "date_of_birth" or "age" (on record), or "".
        "priority_basis": claims.basis(ticket),
        "opd": ticket.opd.code,
    }


def held_ticket(doctor: Doctor) -> Ticket | None:
    return (
        Ticket.objects.filter(doctor=doctor, status__in=Ticket.HELD)
        .select_related("opd", "patient", "language")
        .prefetch_related("attachments")
        .first()
    )


def console_summary(doctor: Doctor, *, next_count: int = 5) -> dict[str, Any]:
    shifts = set(
        DutyShift.objects.filter(doctor=doctor, ended_at=None).values_list("opd_id", flat=True)
    )
    now = timezone.now()
    opds = []
    for opd in opds_for_doctor(doctor):
        on_duty = opd.pk in shifts
        opds.append(
            {
                "id": str(opd.public_id),
                "code": opd.code,
                "name": opd.display_name,
                "on_duty": on_duty,
                "open": opening_state(opd, now).is_open,
                "waiting": waiting_count(opd.pk) if on_duty else None,
                "doctors_on_duty": doctors_on_duty(opd.pk) if on_duty else None,
            }
        )
    upcoming = (
        Ticket.objects.filter(opd_id__in=shifts, status=Ticket.Status.WAITING)
        .order_by("-priority", "seq", "id")  # in the order dispatch offers them
        .select_related("opd", "patient", "language")[:next_count]
    )
    current = held_ticket(doctor)
    presence = getattr(doctor, "presence", None)
    return {
        "type": "console",
        "paused": bool(presence and presence.paused),
        "opds": opds,
        "next": [_patient_line(t) for t in upcoming],
        "current": _current(current) if current else None,
    }


def _current(ticket: Ticket) -> dict[str, Any]:
    patient = ticket.patient
    return {
        **_patient_line(ticket),
        "ticket": str(ticket.public_id),
        "status": ticket.status,
        "name": patient.name,
        "complaint": ticket.complaint,
        "offer_expires_at": ticket.offer_expires_at.isoformat()
        if ticket.offer_expires_at
        else None,
        "call_expires_at": ticket.call_expires_at.isoformat() if ticket.call_expires_at else None,
        "attachments": [
            {
                "id": str(a.public_id),
                "name": a.original_name,
                "type": a.content_type,
                "size": a.size,
                "url": f"/files/{a.public_id}/",
            }
            for a in ticket.attachments.all()
        ],
    }
