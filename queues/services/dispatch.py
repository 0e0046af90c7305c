"""Offering waiting patients to free doctors.

``claim_next_ticket`` is the one place a ticket is given to a doctor: in one transaction it locks
the head of the doctor's queues with ``SELECT … FOR UPDATE SKIP LOCKED`` (parallel claimers
take different rows instead of waiting), applies the routing policy, and moves the chosen ticket
with a compare-and-set update. The partial unique constraint ``doctor_holds_one_ticket`` makes a
second ticket for the same doctor impossible even if two requests race; on SQLite, which has no
row locks, the compare-and-set alone keeps a ticket from going to two doctors.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from providers.models import Doctor
from queues import broadcast, policy
from queues.hours import opening_state
from queues.models import DoctorPresence, DutyShift, Opd, Ticket, TicketEvent

CLAIM_SCAN = 50  # how deep into the queue the language preference may look

_hours_cache: dict[int, tuple[float, Opd]] = {}
_HOURS_TTL = 30.0


def _opd_with_hours(opd_id: int) -> Opd:
    """OPD hours change rarely; claims read them from a short-lived per-process cache."""
    cached = _hours_cache.get(opd_id)
    if cached is not None and time.monotonic() - cached[0] < _HOURS_TTL:
        return cached[1]
    opd = Opd.objects.prefetch_related("hours").get(pk=opd_id)
    _hours_cache[opd_id] = (time.monotonic(), opd)
    return opd


def forget_cached_hours() -> None:
    _hours_cache.clear()


def _open_duty_opds(doctor_id: int, now: datetime) -> list[int]:
    opd_ids = DutyShift.objects.filter(doctor_id=doctor_id, ended_at=None).values_list(
        "opd_id", flat=True
    )
    return [opd_id for opd_id in opd_ids if opening_state(_opd_with_hours(opd_id), now).is_open]


def _languages_on_duty(opd_ids: list[int], except_doctor: int) -> frozenset[str]:
    codes = (
        Doctor.languages.through.objects.filter(
            doctor__shifts__opd_id__in=opd_ids, doctor__shifts__ended_at=None
        )
        .exclude(doctor_id=except_doctor)
        .values_list("language__code", flat=True)
    )
    return frozenset(codes)


def claim_next_ticket(doctor: Doctor, *, now: datetime | None = None) -> Ticket | None:
    """Offer the next suitable waiting patient to ``doctor``, or return None."""
    now = now or timezone.now()
    opd_ids = _open_duty_opds(doctor.pk, now)
    if not opd_ids:
        return None
    doctor_languages = frozenset(doctor.languages.values_list("code", flat=True))
    for _attempt in range(3):
        try:
            with transaction.atomic():
                ticket = _claim_once(doctor, opd_ids, doctor_languages, now)
        except IntegrityError:
            return None  # the doctor already holds a patient (a parallel claim won)
        if isinstance(ticket, Ticket) or ticket is None:
            return ticket
    return None


def _claim_once(
    doctor: Doctor, opd_ids: list[int], doctor_languages: frozenset[str], now: datetime
) -> Ticket | bool | None:
    rows = list(
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(opd_id__in=opd_ids, status=Ticket.Status.WAITING, patient_away_since=None)
        .order_by("-priority", "seq")
        .values_list("id", "priority", "seq", "language__code", "passed_over_since", "skipped_by")[
            :CLAIM_SCAN
        ]
    )
    if not rows:
        return None
    candidates = [
        policy.Candidate(
            ticket_id=row[0],
            priority=row[1],
            seq=row[2],
            language=row[3] or "",
            passed_over_since=row[4],
            skipped_by=frozenset(row[5] or ()),
        )
        for row in rows
    ]
    needs_others = any(c.language not in doctor_languages for c in candidates)
    choice = policy.choose_ticket(
        doctor.pk,
        doctor_languages,
        candidates,
        languages_on_duty=_languages_on_duty(opd_ids, doctor.pk) if needs_others else frozenset(),
        now=now,
        language_cap_seconds=settings.QUEUE_LANGUAGE_CAP_SECONDS,
    )
    if choice is None:
        return None
    offered = Ticket.objects.filter(
        pk=choice.ticket.ticket_id, status=Ticket.Status.WAITING
    ).update(
        status=Ticket.Status.OFFERED,
        doctor=doctor,
        offer_expires_at=now + timedelta(seconds=settings.QUEUE_DOCTOR_OFFER_SECONDS),
        status_changed_at=now,
    )
    if not offered:
        return False  # taken by a parallel claim between our read and write (SQLite): retry
    passed = [c.ticket_id for c in choice.passed_over if c.passed_over_since is None]
    if passed:
        Ticket.objects.filter(pk__in=passed, passed_over_since=None).update(passed_over_since=now)
    ticket = Ticket.objects.select_related("opd", "patient").get(pk=choice.ticket.ticket_id)
    TicketEvent.objects.create(ticket=ticket, kind=TicketEvent.Kind.OFFERED, at=now, doctor=doctor)
    DoctorPresence.objects.filter(doctor=doctor).update(last_assigned_at=now)
    broadcast.queue_changed(ticket.opd_id, left=[ticket.key])
    broadcast.ticket_changed(ticket, {"status": ticket.status})
    broadcast.doctor_event(doctor.pk, {"event": "offer", "ticket": str(ticket.public_id)})
    return ticket


def free_doctors(opd_ids: Collection[int] | None, now: datetime) -> list[policy.FreeDoctor]:
    """On duty, console alive, not paused, and holding no patient."""
    fresh = now - timedelta(seconds=settings.QUEUE_DOCTOR_GRACE_SECONDS)
    shifts = DutyShift.objects.filter(ended_at=None)
    if opd_ids is not None:
        shifts = shifts.filter(opd_id__in=opd_ids)
    holding = Ticket.objects.filter(doctor=OuterRef("pk"), status__in=Ticket.HELD)
    doctors = (
        Doctor.objects.filter(pk__in=shifts.values("doctor_id"))
        .filter(presence__console_seen_at__gte=fresh, presence__paused=False)
        .exclude(Exists(holding))
        .select_related("presence")
        .prefetch_related("languages")
    )
    return [
        policy.FreeDoctor(
            doctor_id=d.pk,
            languages=frozenset(lang.code for lang in d.languages.all()),
            last_assigned_at=d.presence.last_assigned_at,
        )
        for d in doctors
    ]


def dispatch(
    *, opd_ids: Collection[int] | None = None, now: datetime | None = None
) -> list[Ticket]:
    """Give every free doctor (fairest first) their next patient."""
    now = now or timezone.now()
    offers: list[Ticket] = []
    for free in policy.fair_order(free_doctors(opd_ids, now)):
        doctor = Doctor.objects.get(pk=free.doctor_id)
        ticket = claim_next_ticket(doctor, now=now)
        if ticket is not None:
            offers.append(ticket)
    return offers


def dispatch_after_commit(*, opd_ids: Collection[int] | None = None) -> None:
    """Run dispatch once the caller's transaction has committed (or now, outside one)."""
    ids = list(opd_ids) if opd_ids is not None else None
    transaction.on_commit(lambda: dispatch(opd_ids=ids))
