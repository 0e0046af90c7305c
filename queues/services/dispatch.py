"""Offering waiting patients to free doctors.

``claim_next_ticket`` is the one place a ticket is given to a doctor. It locks the head of the
doctor's queues with ``SELECT … FOR UPDATE SKIP LOCKED`` (parallel claimers take the next
patients instead of waiting), applies the routing policy, and moves the chosen ticket with a
compare-and-set update. The partial unique constraint ``doctor_holds_one_ticket`` makes a
second ticket for the same doctor impossible even if two requests race; on SQLite, which has no
row locks, the compare-and-set alone keeps a ticket from going to two doctors.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.clock import IST
from providers.models import Doctor
from queues import broadcast, policy
from queues.hours import opening_state
from queues.models import DoctorPresence, DutyShift, Opd, Ticket, TicketEvent

CLAIM_SCAN = 50  # how deep into the queue the language preference may look
_CACHE_SECONDS = 30.0

_open_cache: tuple[float, list[Opd]] | None = None
_language_cache: dict[int, tuple[float, frozenset[str], tuple[int, ...]]] = {}


def _opds_with_hours() -> list[Opd]:
    """Every active OPD with its hours, read once per ``_CACHE_SECONDS`` per process (hours
    change rarely; the admin clears the cache when they do)."""
    global _open_cache  # noqa: PLW0603
    if _open_cache is None or time.monotonic() - _open_cache[0] > _CACHE_SECONDS:
        _open_cache = (
            time.monotonic(),
            list(Opd.objects.filter(is_active=True).prefetch_related("hours")),
        )
    return _open_cache[1]


def forget_cached_hours() -> None:
    global _open_cache  # noqa: PLW0603
    _open_cache = None
    _language_cache.clear()


def _open_opd_ids(now: datetime) -> list[int]:
    return [opd.pk for opd in _opds_with_hours() if opening_state(opd, now).is_open]


def _open_duty_opds(doctor_id: int, now: datetime) -> list[int]:
    open_now = set(_open_opd_ids(now))
    duty = DutyShift.objects.filter(doctor_id=doctor_id, ended_at=None).values_list(
        "opd_id", flat=True
    )
    return [opd_id for opd_id in duty if opd_id in open_now]


def _doctor_languages(doctor: Doctor) -> tuple[frozenset[str], tuple[int, ...]]:
    """The languages a doctor speaks (codes and ids), cached briefly per process."""
    cached = _language_cache.get(doctor.pk)
    if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
        return cached[1], cached[2]
    rows = list(doctor.languages.values_list("code", "id"))
    codes, ids = frozenset(code for code, _ in rows), tuple(pk for _, pk in rows)
    _language_cache[doctor.pk] = (time.monotonic(), codes, ids)
    return codes, ids


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
    """Offer the next suitable waiting patient to ``doctor``, or return None.

    On PostgreSQL the usual case (the doctor speaks the language of the patient at the head of
    their queues) is one statement: it locks that patient with ``SKIP LOCKED``, offers them,
    records the event and notes the doctor's assignment. Anything else takes the policy path.
    """
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        try:
            outcome = _claim_head(doctor, now)
        except IntegrityError:
            return None  # the doctor already holds a patient (a parallel claim won)
        if outcome is not _NEEDS_POLICY:
            return outcome if isinstance(outcome, Ticket) else None
    opd_ids = _open_duty_opds(doctor.pk, now)
    if not opd_ids:
        return None
    doctor_languages, _ids = _doctor_languages(doctor)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                ticket = _claim_once(doctor, opd_ids, doctor_languages, now)
        except IntegrityError:
            return None
        if isinstance(ticket, Ticket) or ticket is None:
            return ticket
    return None


_NEEDS_POLICY = object()

# This statement repeats, for speed, the hours of queues/hours.py and the order, language and
# skip rules of queues/policy.py. tests/queues/test_dispatch_agrees_with_policy.py (hypothesis,
# generated queues in the database) checks that both offer the same patient: change them together.
_CLAIM_HEAD_SQL = """
WITH duty AS (
    -- The doctor's OPDs that are open now: hours are IST wall-clock times, passed in.
    SELECT s.opd_id FROM queues_dutyshift AS s
    JOIN queues_opd AS o ON o.id = s.opd_id AND o.is_active
    WHERE s.doctor_id = %(doctor)s AND s.ended_at IS NULL AND EXISTS (
        SELECT 1 FROM queues_opdhours AS h
        WHERE h.opd_id = s.opd_id AND h.weekday = %(weekday)s
          AND h.opens_at <= %(local_time)s AND %(local_time)s < h.closes_at
    )
), head AS (
    SELECT t.id, t.language_id, t.skipped_by
    FROM duty
    CROSS JOIN LATERAL (
        SELECT id, language_id, skipped_by, priority, seq FROM queues_ticket
        WHERE opd_id = duty.opd_id AND status = 'waiting' AND patient_away_since IS NULL
        ORDER BY priority DESC, seq
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    ) t
    ORDER BY t.priority DESC, t.seq, t.id  -- token N of two OPDs: the earlier booking first
    LIMIT 1
), chosen AS (
    SELECT id FROM head
    WHERE language_id = ANY(%(languages)s) AND NOT (skipped_by @> %(doctor_json)s::jsonb)
), offered AS (
    UPDATE queues_ticket AS t
    SET status = 'offered', doctor_id = %(doctor)s, offer_expires_at = %(expires)s,
        status_changed_at = %(now)s
    FROM chosen WHERE t.id = chosen.id AND t.status = 'waiting'
    RETURNING t.id, t.opd_id, t.priority, t.seq, t.public_id
), event AS (
    INSERT INTO queues_ticketevent (ticket_id, kind, at, doctor_id, actor_id, detail)
    SELECT id, 'offered', %(now)s, %(doctor)s, NULL, '{}'::jsonb FROM offered
), presence AS (
    UPDATE queues_doctorpresence SET last_assigned_at = %(now)s
    WHERE doctor_id = %(doctor)s AND EXISTS (SELECT 1 FROM offered)
), revision AS (
    -- The patient left the waiting line: the OPD's next revision, in this same statement
    -- (see OpdRevision).
    INSERT INTO queues_opdrevision (opd_id, revision) SELECT opd_id, 1 FROM offered
    ON CONFLICT (opd_id) DO UPDATE SET revision = queues_opdrevision.revision + 1
    RETURNING revision
)
SELECT (SELECT count(*) FROM head), o.id, o.opd_id, o.priority, o.seq, o.public_id,
    (SELECT revision FROM revision)
FROM (SELECT 1) AS one LEFT JOIN offered AS o ON true
"""


def _claim_head(doctor: Doctor, now: datetime) -> Ticket | object | None:
    """The one-statement claim: a Ticket, None (nobody waiting), or _NEEDS_POLICY.

    The hot path of every offer, so it makes in SQL the same change and event as
    ``Ticket.transition(OFFERED)`` (the policy path, ``_claim_once``, calls that)."""
    _codes, language_ids = _doctor_languages(doctor)
    local = now.astimezone(IST)
    params: dict[str, Any] = {
        "doctor": doctor.pk,
        "doctor_json": f"[{int(doctor.pk)}]",
        "weekday": local.weekday(),
        "local_time": local.time().replace(tzinfo=None),
        "languages": list(language_ids),
        "now": now,
        "expires": now + timedelta(seconds=settings.QUEUE_DOCTOR_OFFER_SECONDS),
    }
    # Alone, one statement is one transaction: no BEGIN and COMMIT round trips, and the messages
    # that announce the offer go out at once. Inside a caller's transaction, a savepoint keeps a
    # refusal (the doctor already holds a patient) from spoiling it.
    scope = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with scope, connection.cursor() as cursor:
        cursor.execute(_CLAIM_HEAD_SQL, params)
        heads, ticket_id, opd_id, priority, seq, public_id, revision = cursor.fetchone()
        if not heads:
            return None
        if ticket_id is None:
            return _NEEDS_POLICY
        known = {
            "id": ticket_id,
            "public_id": public_id,
            "opd_id": opd_id,
            "priority": priority,
            "seq": seq,
            "status": Ticket.Status.OFFERED,
            "doctor_id": doctor.pk,
        }
        # The other fields load on first use, as for any deferred field.
        names = [f.attname for f in Ticket._meta.concrete_fields if f.attname in known]
        ticket = Ticket.from_db("default", names, [known[name] for name in names])
        _announce_offer(ticket, doctor, revision=revision)
    return ticket


def _announce_offer(ticket: Ticket, doctor: Doctor, *, revision: int | None = None) -> None:
    with broadcast.together():
        broadcast.queue_changed(ticket.opd_id, left=[ticket.key], revision=revision)
        broadcast.ticket_changed(ticket, {"status": Ticket.Status.OFFERED})
        broadcast.doctor_event(doctor.pk, {"event": "offer", "ticket": str(ticket.public_id)})


def _claim_once(
    doctor: Doctor, opd_ids: list[int], doctor_languages: frozenset[str], now: datetime
) -> Ticket | bool | None:
    rows = list(
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(opd_id__in=opd_ids, status=Ticket.Status.WAITING, patient_away_since=None)
        .order_by("-priority", "seq", "id")
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
    ticket = Ticket.objects.select_related("opd", "patient").get(pk=choice.ticket.ticket_id)
    offered = ticket.transition(
        Ticket.Status.OFFERED,
        event=TicketEvent.Kind.OFFERED,
        at=now,
        doctor=doctor,
        offer_expires_at=now + timedelta(seconds=settings.QUEUE_DOCTOR_OFFER_SECONDS),
    )
    if not offered:
        return False  # taken by a parallel claim between our read and write (SQLite): retry
    passed = [c.ticket_id for c in choice.passed_over if c.passed_over_since is None]
    if passed:
        Ticket.objects.filter(pk__in=passed, passed_over_since=None).update(passed_over_since=now)
    DoctorPresence.objects.filter(doctor=doctor).update(last_assigned_at=now)
    _announce_offer(ticket, doctor)
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
    """Give every free doctor (fairest first) their next patient.

    Consoles are judged alive against ``now`` (a sweep's clock); each offer is made and
    stamped at its own moment, after the read that found its doctor free, so it never reads
    as made before the doctor's previous patient was let go."""
    offers: list[Ticket] = []
    for free in policy.fair_order(free_doctors(opd_ids, now or timezone.now())):
        doctor = Doctor.objects.get(pk=free.doctor_id)
        ticket = claim_next_ticket(doctor)
        if ticket is not None:
            offers.append(ticket)
    return offers


def dispatch_after_commit(*, opd_ids: Collection[int] | None = None) -> None:
    """Run dispatch once the caller's transaction has committed (or now, outside one)."""
    ids = list(opd_ids) if opd_ids is not None else None
    transaction.on_commit(lambda: dispatch(opd_ids=ids), robust=True)
