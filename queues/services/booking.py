"""Booking a token: a patient joins an OPD's queue."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import User
from core.clock import IST
from core.errors import Conflict, Invalid
from patients.models import Patient
from queues import broadcast, claims, sms
from queues.attachments import CheckedUpload
from queues.hours import opening_state, opens_later_today
from queues.models import Attachment, Opd, OpdDay, Ticket, TicketEvent
from queues.selectors import active_ticket_of, position_of
from queues.services.dispatch import dispatch_after_commit


def queue_seq(service_date: datetime | object, number: int) -> int:
    """Earlier days before later ones, then token order: ``YYYYMMDD * 1_000_000 + number``."""
    return int(f"{service_date:%Y%m%d}") * 1_000_000 + number


def _when(moment: datetime) -> str:
    return date_format(moment.astimezone(IST), "DATETIME_FORMAT")


def _check_open(opd: Opd, now: datetime) -> None:
    state = opening_state(opd, now)
    if opd.is_active and (state.is_open or opens_later_today(state, now)):
        return
    if state.next_opening is not None:
        message = _("This OPD is closed now. It opens next on %(when)s (IST).") % {
            "when": _when(state.next_opening)
        }
    else:
        message = _("This OPD is not taking patients.")
    raise Conflict(
        message,
        code="opd_closed",
        extra={"next_opening": state.next_opening.isoformat() if state.next_opening else None},
    )


def priority_for(patient: Patient, claim: str, now: datetime) -> tuple[int, str]:
    """The priority class and its reason (rules: ``queues/claims.py``). The elderly are in the
    priority class by age; pregnancy and disability as declared, unless the record rules the
    claim out (a 5-year-old boy is not pregnant): then nothing is booked."""
    age = patient.age_on(now.astimezone(IST).date())
    if claim:
        refused = claims.refusal(claim, sex=patient.sex, age=age)
        if refused is not None:
            raise Invalid(
                refused, code="priority_claim_refused", fields={"priority_reason": [refused]}
            )
        return Ticket.Priority.PRIORITY, claim
    if age >= claims.SENIOR_AGE:
        return Ticket.Priority.PRIORITY, Ticket.PriorityReason.SENIOR
    return Ticket.Priority.NORMAL, ""


def book(
    *,
    account: User,
    patient: Patient,
    opd: Opd,
    complaint: str,
    priority_reason: str = "",
    uploads: list[CheckedUpload] | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Issue a token for ``patient`` (already checked to be in ``account``'s family)."""
    now = now or timezone.now()
    if opd.state_id is not None and opd.state_id != patient.state_id:
        raise Conflict(
            _(
                "This OPD serves patients of %(state)s. "
                "Choose your own state's OPD or a national one."
            )
            % {"state": opd.state.display_name if opd.state else ""},
            code="opd_other_state",
        )
    _check_open(opd, now)
    priority, reason = priority_for(patient, priority_reason, now)
    declared = reason in claims.DECLARED
    today = now.astimezone(IST).date()
    try:
        with transaction.atomic():
            day, _created = OpdDay.objects.get_or_create(opd=opd, service_date=today)
            day = OpdDay.objects.select_for_update().get(pk=day.pk)
            existing = active_ticket_of(patient, opd)
            if existing is not None:
                raise _already_booked(existing)
            if day.tokens_issued >= opd.daily_token_limit:
                raise Conflict(
                    _("All of today's tokens for this OPD are taken. Please try tomorrow."),
                    code="opd_full",
                )
            waiting = Ticket.objects.filter(opd=opd, status=Ticket.Status.WAITING).count()
            if waiting >= opd.waiting_room_size:
                raise Conflict(
                    _("The waiting room is full right now. Please try again in a little while."),
                    code="waiting_room_full",
                )
            day.tokens_issued += 1
            day.save(update_fields=["tokens_issued"])
            ticket = Ticket(
                opd=opd,
                patient=patient,
                booked_by=account,
                service_date=today,
                number=day.tokens_issued,
                seq=queue_seq(today, day.tokens_issued),
                complaint=complaint,
                language=patient.preferred_language,
                priority=priority,
                priority_reason=reason,
                priority_declared_by=account if declared else None,
                priority_declared_at=now if declared else None,
                booked_at=now,
                status_changed_at=now,
            )
            # Booked this close to the front: the token's text also says the turn is near,
            # and the timers do not send a second one.
            near = (position_of(ticket) or 0) <= settings.QUEUE_POSITION_SMS_AT
            ticket.position_sms_sent = near
            ticket.save(force_insert=True)
            for upload in uploads or []:
                Attachment.objects.create(
                    ticket=ticket,
                    file=upload.upload,
                    content_type=upload.content_type,
                    size=upload.upload.size or 0,
                    original_name=upload.name,
                    sha256=upload.sha256,
                )
            TicketEvent.objects.create(
                ticket=ticket, kind=TicketEvent.Kind.BOOKED, at=now, actor=account
            )
            sms.send(ticket, partial(sms.token_booked, near=near))
            broadcast.queue_changed(opd.pk, joined=[ticket.key])
    except IntegrityError as exc:  # a parallel booking for the same patient won the race
        existing = active_ticket_of(patient, opd)
        if existing is None:
            raise
        raise _already_booked(existing) from exc
    dispatch_after_commit(opd_ids=[opd.pk])
    return ticket


def _already_booked(existing: Ticket) -> Conflict:
    return Conflict(
        _("%(name)s already has token %(token)s for this OPD.")
        % {"name": existing.patient.name, "token": existing.token},
        code="already_booked",
        extra={"token": existing.token, "ticket": str(existing.public_id)},
    )
