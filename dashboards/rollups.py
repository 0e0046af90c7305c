"""Keeping the rollup tables (``dashboards.models``) in step with the raw tables.

A *slice* is one OPD on one service day (IST). Every rollup row belongs to one slice, and a slice
is always recomputed whole: its rows are deleted and rebuilt from the raw tables, so refreshing
twice changes nothing and a missed change is repaired by the next refresh of its slice.

- ``catch_up`` (every 30 s) refreshes the slices touched since its cursor, minus an overlap for
  transactions that committed after the last run had read past their timestamps.
- ``reconcile`` (hourly) recomputes the last two days whatever the cursor says.
- ``rebuild`` recomputes a whole date range; on PostgreSQL in set-based SQL (``rollup_sql``),
  which produces exactly the rows ``refresh_slices`` does.

The rows of a set of slices are computed by ``dashboards.slices``; this module decides which
slices to recompute and swaps their rows in.

Slices are read outside any transaction (one short statement each), then swapped in by one short
transaction per batch: no long snapshot is held on the queue tables while patients book.
"""

from __future__ import annotations

import logging
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from functools import reduce

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from consultations.models import Prescription
from dashboards import rollup_sql
from dashboards.models import (
    DayStats,
    DemographyStats,
    DistrictStats,
    DoctorDayStats,
    HourStats,
    RollupCursor,
)
from dashboards.slices import Slice, compute, day_start, days_between, ist_day
from notifications.models import NotificationAttempt
from queues.models import DutyShift, Ticket

logger = logging.getLogger(__name__)

ROLLUP_MODELS = (DayStats, HourStats, DistrictStats, DemographyStats, DoctorDayStats)
INCREMENTAL = "incremental"
# A change is stamped before its transaction commits; one that commits after a catch-up has read
# past its stamp is still found by the next run as long as it commits within this overlap.
OVERLAP = timedelta(minutes=5)
RECONCILE_DAYS = 2
# A dashboard read older than this catches up first (beat normally refreshes every 30 s).
FRESH_ENOUGH = timedelta(seconds=45)
BATCH = 100  # slices per transaction
# Rollup writers (catch-up, reconcile, rebuild) take turns, so two never swap the same slice.
_WRITER_LOCK = 0x45534A44  # "ESJD"

# --- Swapping slices in -------------------------------------------------------------------------


def _slices_q(keys: Iterable[Slice], day_field: str) -> Q:
    """Rows of these slices (``keys`` not empty), one ``IN`` list per day."""
    by_day: dict[date, set[int]] = defaultdict(set)
    for opd_id, day in keys:
        by_day[day].add(opd_id)
    return reduce(
        operator.or_,
        (Q(**{day_field: day, "opd_id__in": sorted(ids)}) for day, ids in by_day.items()),
    )


def _member_of(wanted: set[Slice]) -> Callable[[int, date], bool]:
    return lambda opd_id, day: (opd_id, day) in wanted


def _lock_writers() -> None:
    """Within a transaction: wait for any other rollup writer to finish (PostgreSQL; SQLite
    serialises writers by itself)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_WRITER_LOCK])


def refresh_slices(keys: Iterable[Slice], *, now: datetime | None = None) -> int:
    """Recompute these slices from the raw tables; returns how many were refreshed."""
    now = now or timezone.now()
    todo = sorted(set(keys))
    for i in range(0, len(todo), BATCH):
        batch = todo[i : i + BATCH]
        wanted = set(batch)
        days = [day for _opd, day in batch]
        shifts = DutyShift.objects.filter(
            opd_id__in={opd_id for opd_id, _day in batch},
            started_at__lt=day_start(max(days) + timedelta(days=1)),
        ).filter(Q(ended_at=None) | Q(ended_at__gt=day_start(min(days))))
        rows = compute(
            Ticket.objects.filter(_slices_q(batch, "service_date")),
            shifts,
            _member_of(wanted),
            now=now,
        )
        with transaction.atomic():
            _lock_writers()
            where = _slices_q(batch, "day")
            for model, new_rows in rows.all():
                model.objects.filter(where).delete()
                model.objects.bulk_create(new_rows)
    return len(todo)


# --- Which slices changed -----------------------------------------------------------------------


def changed_slices(since: datetime, *, now: datetime | None = None) -> set[Slice]:
    """Slices with anything stamped at or after ``since``: ticket changes, signed
    prescriptions, finished notification attempts, shifts started or ended (open shifts always,
    as their time on duty grows)."""
    now = now or timezone.now()
    found: set[Slice] = set(
        Ticket.objects.filter(status_changed_at__gte=since)
        .values_list("opd_id", "service_date")
        .distinct()
    )
    found.update(
        Prescription.objects.filter(finalised_at__gte=since)
        .values_list("consultation__ticket__opd_id", "consultation__ticket__service_date")
        .distinct()
    )
    notified = NotificationAttempt.objects.filter(finished_at__gte=since).values(
        "notification__about"
    )
    found.update(
        Prescription.objects.filter(public_id__in=notified)
        .values_list("consultation__ticket__opd_id", "consultation__ticket__service_date")
        .distinct()
    )
    shifts = DutyShift.objects.filter(
        Q(started_at__gte=since) | Q(ended_at__gte=since) | Q(ended_at=None)
    ).values_list("opd_id", "started_at", "ended_at")
    first_day = ist_day(since)
    for opd_id, started, ended in shifts:
        start = max(ist_day(started), first_day)
        found.update((opd_id, day) for day in days_between(start, ist_day(ended or now)))
    return found


def slices_between(start: date, end: date, *, now: datetime | None = None) -> set[Slice]:
    """Every slice of these days with raw data or rollup rows."""
    now = now or timezone.now()
    found: set[Slice] = set(
        Ticket.objects.filter(service_date__range=(start, end))
        .values_list("opd_id", "service_date")
        .distinct()
    )
    for model in ROLLUP_MODELS:
        found.update(
            model.objects.filter(day__range=(start, end)).values_list("opd_id", "day").distinct()
        )
    shifts = DutyShift.objects.filter(started_at__lt=day_start(end + timedelta(days=1))).filter(
        Q(ended_at=None) | Q(ended_at__gt=day_start(start))
    )
    for opd_id, started, ended in shifts.values_list("opd_id", "started_at", "ended_at"):
        first, last = max(ist_day(started), start), min(ist_day(ended or now), end)
        found.update((opd_id, day) for day in days_between(first, last))
    return found


# --- Entry points -------------------------------------------------------------------------------


def catch_up(now: datetime | None = None) -> int:
    """Refresh what changed since the last run (the last two days on the very first run);
    returns the number of slices refreshed."""
    now = now or timezone.now()
    cursor = RollupCursor.objects.filter(name=INCREMENTAL).first()
    if cursor is None:
        refreshed = reconcile(RECONCILE_DAYS, now=now)
    else:
        refreshed = refresh_slices(changed_slices(cursor.read_up_to - OVERLAP, now=now), now=now)
    RollupCursor.objects.update_or_create(
        name=INCREMENTAL, defaults={"read_up_to": now, "refreshed_at": timezone.now()}
    )
    return refreshed


def ensure_fresh(max_age: timedelta = FRESH_ENOUGH) -> datetime:
    """Catch up now if the rollups are older than ``max_age``: a dashboard read never shows
    figures more than a minute behind, whether or not Celery beat is running (``make run`` has
    no beat). Cheap when beat keeps up: one read of the cursor. Returns the moment the figures
    were read up to, for the page to say how fresh they are."""
    cursor = RollupCursor.objects.filter(name=INCREMENTAL).first()
    if cursor is None or cursor.refreshed_at < timezone.now() - max_age:
        catch_up()
        cursor = RollupCursor.objects.get(name=INCREMENTAL)
    return cursor.read_up_to


def reconcile(days: int = RECONCILE_DAYS, *, now: datetime | None = None) -> int:
    """Recompute every slice of the last ``days`` IST days, today included."""
    now = now or timezone.now()
    today = ist_day(now)
    return refresh_slices(slices_between(today - timedelta(days=days - 1), today, now=now), now=now)


def rebuild(start: date, end: date, *, now: datetime | None = None) -> None:
    """Recompute every rollup row from ``start`` to ``end`` (inclusive), a month at a time."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        for first, last in _months(start, end):
            with transaction.atomic():
                _lock_writers()
                rollup_sql.rebuild_range(first, last, now=now)
            logger.info("Rollups rebuilt for %s to %s", first, last)
        return
    for first, last in _months(start, end):
        refresh_slices(slices_between(first, last, now=now), now=now)


def _months(start: date, end: date) -> Iterator[tuple[date, date]]:
    first = start
    while first <= end:
        next_month = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
        last = min(next_month - timedelta(days=1), end)
        yield first, last
        first = last + timedelta(days=1)
