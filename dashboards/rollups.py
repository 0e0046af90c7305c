"""Keeping the rollup tables (``dashboards.models``) in step with the raw tables.

A *slice* is one OPD on one service day (IST). Every rollup row belongs to one slice, and a slice
is always recomputed whole: its rows are deleted and rebuilt from the raw tables, so refreshing
twice changes nothing and a missed change is repaired by the next refresh of its slice.

- ``catch_up`` (every 30 s) refreshes the slices touched since its cursor, minus an overlap for
  transactions that committed after the last run had read past their timestamps.
- ``reconcile`` (hourly) recomputes the last two days whatever the cursor says.
- ``rebuild`` recomputes a whole date range; on PostgreSQL in set-based SQL (``rollup_sql``),
  which produces exactly the rows ``refresh_slices`` does.

Slices are read outside any transaction (one short statement each), then swapped in by one short
transaction per batch: no long snapshot is held on the queue tables while patients book.
"""

from __future__ import annotations

import logging
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import reduce
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from consultations.models import Prescription
from core.clock import IST
from dashboards import buckets, rollup_sql
from dashboards.models import (
    DayStats,
    DemographyStats,
    DistrictStats,
    DoctorDayStats,
    HourStats,
    RollupCursor,
)
from notifications.models import Notification, NotificationAttempt
from queues.models import DutyShift, Ticket

logger = logging.getLogger(__name__)

Slice = tuple[int, date]  # (opd id, IST service day)

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

SECOND = timedelta(seconds=1)

TICKET_FIELDS = (
    "id",
    "opd_id",
    "service_date",
    "status",
    "booked_at",
    "consult_started_at",
    "consult_ended_at",
    "doctor_id",
    "opd__state_id",
    "doctor__home_state_id",
    "patient__state_id",
    "patient__district_id",
    "patient__sex",
    "patient__date_of_birth",
)
SHIFT_FIELDS = (
    "opd_id",
    "doctor_id",
    "started_at",
    "ended_at",
    "opd__state_id",
    "doctor__home_state_id",
)


def day_start(day: date) -> datetime:
    """Midnight IST at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=IST)


def ist_day(moment: datetime) -> date:
    return moment.astimezone(IST).date()


def days_between(start: date, end: date) -> Iterator[date]:
    """Every day from ``start`` to ``end`` inclusive."""
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def whole_seconds(delta: timedelta) -> int:
    return delta // SECOND


# --- Computing a set of slices from the raw tables ----------------------------------------------


@dataclass
class _Day:
    booked: int = 0
    completed: int = 0
    cancelled: int = 0
    no_show: int = 0
    left: int = 0
    wait_count: int = 0
    wait_seconds: int = 0
    wait_histogram: list[int] = field(default_factory=lambda: buckets.empty(buckets.WAIT))
    consult_count: int = 0
    consult_seconds: int = 0
    consult_histogram: list[int] = field(default_factory=lambda: buckets.empty(buckets.CONSULT))
    prescriptions: int = 0
    notifications_sent: int = 0
    notifications_failed: int = 0


@dataclass
class _Doctor:
    state_id: int
    consultations: int = 0
    consult_seconds: int = 0
    on_duty_seconds: int = 0


@dataclass
class SliceRows:
    """Unsaved rollup rows for a set of slices."""

    days: list[DayStats]
    hours: list[HourStats]
    districts: list[DistrictStats]
    demography: list[DemographyStats]
    doctors: list[DoctorDayStats]

    def all(self) -> Iterator[tuple[type[Any], list[Any]]]:
        yield DayStats, self.days
        yield HourStats, self.hours
        yield DistrictStats, self.districts
        yield DemographyStats, self.demography
        yield DoctorDayStats, self.doctors


def compute(
    tickets: QuerySet[Ticket],
    shifts: QuerySet[DutyShift],
    keep_day: Callable[[int, date], bool],
    *,
    now: datetime,
) -> SliceRows:
    """Rollup rows for ``tickets`` (whole slices of them) and the on-duty time of ``shifts`` on
    the days ``keep_day(opd_id, day)`` accepts. Open shifts count up to ``now``."""
    ticket_rows = list(tickets.values(*TICKET_FIELDS))
    signed, sent, failed = _visit_outcomes(tickets)

    day_acc: dict[tuple[date, int, int], _Day] = defaultdict(_Day)
    hour_acc: dict[tuple[date, int, int, int], int] = defaultdict(int)
    district_acc: dict[tuple[date, int, int, int], list[int]] = defaultdict(lambda: [0, 0])
    demo_acc: dict[tuple[date, int, int, str, str], list[int]] = defaultdict(lambda: [0, 0])
    doctor_acc: dict[tuple[date, int, int], _Doctor] = {}

    for t in ticket_rows:
        day, opd_id, state_id = t["service_date"], t["opd_id"], t["patient__state_id"]
        completed = t["status"] == Ticket.Status.COMPLETED
        acc = day_acc[(day, opd_id, state_id)]
        acc.booked += 1
        acc.completed += completed
        acc.cancelled += t["status"] == Ticket.Status.CANCELLED
        acc.no_show += t["status"] == Ticket.Status.NO_SHOW
        acc.left += t["status"] == Ticket.Status.LEFT
        acc.prescriptions += signed.get(t["id"], 0)
        acc.notifications_sent += sent.get(t["id"], 0)
        acc.notifications_failed += failed.get(t["id"], 0)
        started, ended = t["consult_started_at"], t["consult_ended_at"]
        if started is not None:
            wait = whole_seconds(started - t["booked_at"])
            acc.wait_count += 1
            acc.wait_seconds += wait
            acc.wait_histogram[buckets.bucket_of(wait, buckets.WAIT)] += 1
        consult = None
        if completed and started is not None and ended is not None:
            consult = whole_seconds(ended - started)
            acc.consult_count += 1
            acc.consult_seconds += consult
            acc.consult_histogram[buckets.bucket_of(consult, buckets.CONSULT)] += 1

        hour_acc[(day, opd_id, state_id, t["booked_at"].astimezone(IST).hour)] += 1
        if t["patient__district_id"] is not None:
            counts = district_acc[(day, opd_id, state_id, t["patient__district_id"])]
            counts[0] += 1
            counts[1] += completed
        band = buckets.age_band(buckets.age_on(t["patient__date_of_birth"], day))
        counts = demo_acc[(day, opd_id, state_id, t["patient__sex"], band)]
        counts[0] += 1
        counts[1] += completed

        if completed and t["doctor_id"] is not None:
            doc = doctor_acc.setdefault(
                (day, opd_id, t["doctor_id"]),
                _Doctor(t["opd__state_id"] or t["doctor__home_state_id"]),
            )
            doc.consultations += 1
            doc.consult_seconds += consult or 0

    for s in shifts.values(*SHIFT_FIELDS):
        for day, seconds in _duty_by_day(s["started_at"], s["ended_at"] or now):
            if keep_day(s["opd_id"], day):
                doc = doctor_acc.setdefault(
                    (day, s["opd_id"], s["doctor_id"]),
                    _Doctor(s["opd__state_id"] or s["doctor__home_state_id"]),
                )
                doc.on_duty_seconds += seconds

    return SliceRows(
        days=[
            DayStats(day=d, opd_id=o, state_id=s, **vars(acc)) for (d, o, s), acc in day_acc.items()
        ],
        hours=[
            HourStats(day=d, opd_id=o, state_id=s, hour=h, booked=n)
            for (d, o, s, h), n in hour_acc.items()
        ],
        districts=[
            DistrictStats(day=d, opd_id=o, state_id=s, district_id=k, booked=b, completed=c)
            for (d, o, s, k), (b, c) in district_acc.items()
        ],
        demography=[
            DemographyStats(
                day=d, opd_id=o, state_id=s, sex=sex, age_band=band, booked=b, completed=c
            )
            for (d, o, s, sex, band), (b, c) in demo_acc.items()
        ],
        doctors=[
            DoctorDayStats(day=d, opd_id=o, doctor_id=doctor, **vars(acc))
            for (d, o, doctor), acc in doctor_acc.items()
        ],
    )


def _visit_outcomes(
    tickets: QuerySet[Ticket],
) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Per ticket: signed prescriptions (a correction keeps its number: first versions only),
    and notifications about any version of them sent or failed."""
    prescriptions = Prescription.objects.filter(consultation__ticket__in=tickets.values("id"))
    signed: dict[int, int] = defaultdict(int)
    ticket_of: dict[Any, int] = {}
    for ticket_id, public_id, version, status in prescriptions.values_list(
        "consultation__ticket_id", "public_id", "version", "status"
    ):
        ticket_of[public_id] = ticket_id
        if version == 1 and status != Prescription.Status.DRAFT:
            signed[ticket_id] += 1
    sent: dict[int, int] = defaultdict(int)
    failed: dict[int, int] = defaultdict(int)
    if ticket_of:
        notifications = Notification.objects.filter(
            about__in=prescriptions.values("public_id"),
            status__in=[Notification.Status.SENT, Notification.Status.FAILED],
        )
        for about, status in notifications.values_list("about", "status"):
            ticket_id = ticket_of[about]
            if status == Notification.Status.SENT:
                sent[ticket_id] += 1
            else:
                failed[ticket_id] += 1
    return signed, sent, failed


def _duty_by_day(started: datetime, ended: datetime) -> Iterator[tuple[date, int]]:
    """A shift cut at IST midnights: (day, whole seconds on duty that day)."""
    for day in days_between(ist_day(started), ist_day(ended)):
        low = max(started, day_start(day))
        high = min(ended, day_start(day + timedelta(days=1)))
        if high > low:
            yield day, whole_seconds(high - low)


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
