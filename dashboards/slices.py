"""Computing rollup rows from the raw tables, for a set of slices (one OPD on one IST service
day; see ``dashboards.rollups``, which decides which slices to compute and swaps them in).

``compute`` reads the slices' tickets and the shifts that overlap them and returns unsaved rows
of every rollup table; ``dashboards.rollup_sql`` gives the very same rows in set-based SQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet

from consultations.models import Prescription
from core.clock import IST
from dashboards import buckets
from dashboards.models import DayStats, DemographyStats, DistrictStats, DoctorDayStats, HourStats
from notifications.models import Notification
from queues.models import DutyShift, Ticket

Slice = tuple[int, date]  # (opd id, IST service day)

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
