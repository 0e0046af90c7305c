"""Deadlines kept in the database and enforced by one sweep, in every mode.

``sweep()`` is idempotent (every change is a compare-and-set), so it is safe to run in several
processes; a short cache lease keeps it to about one sweeper at a time (see
``queues.sweeper``). Tests call it with a controlled clock.

Two clocks: deadlines are judged against the sweep's ``now``, taken once when it starts, but
each change is stamped when it is written (``_stamp()``). A sweep takes time, and meanwhile
doctors act: an offer stamped with the sweep's clock could read as made before the doctor's
previous patient was completed, as if the doctor had held two patients at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Q
from django.utils import timezone

from core.clock import IST
from providers.models import Doctor
from queues import broadcast, sms
from queues.hours import opening_state
from queues.models import DoctorPresence, DutyShift, Opd, PresenceLease, Ticket, TicketEvent
from queues.services.dispatch import dispatch
from queues.services.duty import go_off_duty


@dataclass
class SweepReport:
    offers_expired: int = 0
    calls_missed: int = 0
    no_shows: int = 0
    doctors_lost: int = 0
    patients_away: int = 0
    patients_left: int = 0
    closed: int = 0
    position_sms: int = 0
    offers: int = 0
    notes: list[str] = field(default_factory=list)


def _stamp() -> datetime:
    """When a timer's change happens (see the module's docstring)."""
    return timezone.now()


def sweep(*, now: datetime | None = None) -> SweepReport:
    now = now or timezone.now()
    report = SweepReport()
    report.offers_expired = expire_offers(now)
    report.calls_missed, report.no_shows = expire_calls(now)
    report.doctors_lost = drop_lost_doctors(now)
    report.patients_away = mark_absent_patients(now)
    report.patients_left = drop_absent_patients(now)
    report.closed = close_finished_days(now)
    report.position_sms = send_turn_near_sms(now)
    report.offers = len(dispatch(now=now))
    return report


def expire_offers(now: datetime) -> int:
    """An offer the doctor did not answer: the patient keeps their place, the doctor is paused."""
    count = 0
    for ticket in Ticket.objects.filter(
        status=Ticket.Status.OFFERED, offer_expires_at__lte=now
    ).select_related("opd"):
        with transaction.atomic():
            doctor_id = ticket.doctor_id
            at = _stamp()
            back = ticket.transition(
                Ticket.Status.WAITING,
                source=[Ticket.Status.OFFERED],
                only_if=Q(offer_expires_at__lte=now),
                event=TicketEvent.Kind.OFFER_EXPIRED,
                at=at,
            )
            if not back:
                continue
            count += 1
            if doctor_id is not None:
                DoctorPresence.objects.filter(doctor_id=doctor_id).update(paused=True)
            broadcast.queue_changed(ticket.opd_id, joined=[ticket.key])
            broadcast.ticket_changed(ticket, {"status": Ticket.Status.WAITING})
            if doctor_id:
                broadcast.doctor_event(
                    doctor_id, {"event": "offer_expired", "ticket": str(ticket.public_id)}
                )
    return count


def expire_calls(now: datetime) -> tuple[int, int]:
    """CALL NOW not answered in time: back to the head of the queue once, then a no-show."""
    missed = no_show = 0
    for ticket in Ticket.objects.filter(
        status=Ticket.Status.CALLED, call_expires_at__lte=now
    ).select_related("opd"):
        with transaction.atomic():
            doctor_id = ticket.doctor_id
            at = _stamp()
            if ticket.missed_calls == 0:
                # Before everyone of the same priority still in play, so the new key is unique.
                head = Ticket.objects.filter(
                    opd_id=ticket.opd_id, status__in=Ticket.ACTIVE, priority=ticket.priority
                ).aggregate(first=Min("seq"))["first"]
                new_seq = min(ticket.seq, head - 1) if head is not None else ticket.seq
                changed = ticket.transition(
                    Ticket.Status.WAITING,
                    source=[Ticket.Status.CALLED],
                    only_if=Q(call_expires_at__lte=now),
                    event=TicketEvent.Kind.CALL_MISSED,
                    at=at,
                    missed_calls=1,
                    seq=new_seq,
                )
                if not changed:
                    continue
                missed += 1
                broadcast.call_closed(ticket.pk, Ticket.Status.WAITING)
                new_key = (ticket.priority, new_seq)
                broadcast.queue_changed(ticket.opd_id, joined=[new_key])
                broadcast.ticket_changed(
                    ticket,
                    {
                        "status": Ticket.Status.WAITING,
                        "reason": "call_missed",
                        "key": list(new_key),
                    },
                )
            else:
                changed = ticket.transition(
                    Ticket.Status.NO_SHOW,
                    only_if=Q(call_expires_at__lte=now),
                    event=TicketEvent.Kind.NO_SHOW,
                    at=at,
                )
                if not changed:
                    continue
                no_show += 1
                broadcast.call_closed(ticket.pk, Ticket.Status.NO_SHOW)
                broadcast.ticket_changed(ticket, {"status": Ticket.Status.NO_SHOW})
            if doctor_id:
                broadcast.doctor_event(
                    doctor_id, {"event": "call_missed", "ticket": str(ticket.public_id)}
                )
    return missed, no_show


def drop_lost_doctors(now: datetime) -> int:
    """A console silent past the grace period: off duty; offered patients return."""
    stale = now - timedelta(seconds=settings.QUEUE_DOCTOR_GRACE_SECONDS)
    lost = (
        Doctor.objects.filter(shifts__ended_at=None)
        .exclude(presence__console_seen_at__gte=stale)
        .distinct()
    )
    count = 0
    for doctor in lost:
        # Going off duty everywhere returns the patients the doctor was offered or had called.
        go_off_duty(doctor, reason=DutyShift.EndReason.DISCONNECTED, now=_stamp())
        count += 1
    return count


def mark_absent_patients(now: datetime) -> int:
    """Patients whose every page stopped renewing its presence lease without saying goodbye (a
    web process killed or stopped, a network gone): away since their last lease lapsed, so
    they are not offered to doctors, and the grace period runs from then."""
    lapsed = PresenceLease.objects.filter(expires_at__lte=now)
    last_lapse = dict(
        lapsed.values("ticket_id").annotate(last=Max("expires_at")).values_list("ticket_id", "last")
    )
    alive = PresenceLease.objects.filter(ticket=OuterRef("pk"), expires_at__gt=now)
    count = 0
    for ticket_id, since in last_lapse.items():
        # One statement: a page that renewed its lease meanwhile keeps its patient present.
        count += (
            Ticket.objects.filter(pk=ticket_id, patient_away_since=None, status__in=Ticket.ACTIVE)
            .exclude(Exists(alive))
            .update(patient_away_since=since)
        )
    lapsed.filter(ticket_id__in=list(last_lapse)).delete()  # a renewed lease is not lapsed
    return count


def drop_absent_patients(now: datetime) -> int:
    """A waiting patient whose page has been closed past the grace period loses the place,
    but only while the OPD is open (nobody is expected to watch a closed OPD's queue)."""
    stale = now - timedelta(seconds=settings.QUEUE_PATIENT_AWAY_GRACE_SECONDS)
    count = 0
    for ticket in Ticket.objects.filter(
        status=Ticket.Status.WAITING, patient_away_since__lte=stale
    ).select_related("opd"):
        if not opening_state(ticket.opd, now).is_open:
            continue
        with transaction.atomic():
            at = _stamp()
            gone = ticket.transition(
                Ticket.Status.LEFT,
                only_if=Q(patient_away_since__lte=stale),
                event=TicketEvent.Kind.LEFT,
                at=at,
            )
            if gone:
                count += 1
                broadcast.queue_changed(ticket.opd_id, left=[ticket.key])
                broadcast.ticket_changed(ticket, {"status": Ticket.Status.LEFT})
    return count


def close_finished_days(now: datetime) -> int:
    """Tokens still waiting when their OPD has closed and will not open again on the token's
    day are closed, with an SMS. (An OPD open round the clock carries its queue over midnight.)
    """
    count = 0
    for opd in (
        Opd.objects.filter(tickets__status=Ticket.Status.WAITING)
        .distinct()
        .prefetch_related("hours")
    ):
        state = opening_state(opd, now)
        if state.is_open:
            continue
        finished = Ticket.objects.filter(opd=opd, status=Ticket.Status.WAITING).select_related(
            "booked_by", "opd", "patient"
        )
        if state.next_opening is not None:
            finished = finished.filter(service_date__lt=state.next_opening.astimezone(IST).date())
        for ticket in finished:
            count += _close(ticket)
    return count


def _close(ticket: Ticket) -> int:
    with transaction.atomic():
        at = _stamp()
        closed = ticket.transition(
            Ticket.Status.CANCELLED,
            source=[Ticket.Status.WAITING],
            event=TicketEvent.Kind.CLOSED,
            at=at,
        )
        if not closed:
            return 0
        broadcast.queue_changed(ticket.opd_id, left=[ticket.key])
        broadcast.ticket_changed(ticket, {"status": Ticket.Status.CANCELLED, "reason": "closed"})
        sms.send(ticket, sms.closed_for_the_day)
    return 1


def send_turn_near_sms(now: datetime) -> int:
    """Once, when a patient's position reaches QUEUE_POSITION_SMS_AT."""
    count = 0
    limit = settings.QUEUE_POSITION_SMS_AT
    opd_ids = (
        Ticket.objects.filter(status=Ticket.Status.WAITING, position_sms_sent=False)
        .values_list("opd_id", flat=True)
        .distinct()
    )
    for opd_id in opd_ids:
        head = list(
            Ticket.objects.filter(opd_id=opd_id, status=Ticket.Status.WAITING)
            .order_by("-priority", "seq")
            .select_related("booked_by", "opd", "patient")[:limit]
        )
        for ticket in head:
            if ticket.position_sms_sent:
                continue
            with transaction.atomic():
                marked = Ticket.objects.filter(pk=ticket.pk, position_sms_sent=False).update(
                    position_sms_sent=True
                )
                if marked:
                    count += 1
                    sms.send(ticket, sms.turn_near)
    return count
