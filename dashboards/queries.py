"""What the dashboards show, read from the rollup tables (``trends``). Tests and the benchmark
also compute the same ``Trends`` straight from the raw tables (``tests/dashboards/raw.py``,
which labels its ``Figures`` with ``trends_of`` as ``trends`` does).

Every reading is for a ``Scope`` (a state or the whole country), which
``dashboards.selectors.scope_for`` gives for a user. What is happening right now is read by
``dashboards.live``.

INTERFACE SHARED BY THE ROLLUP, PAGE AND BENCHMARK WORK: change only with all three in mind.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import BigIntegerField, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.translation import gettext

from core.models import District, State
from dashboards import buckets
from dashboards.models import DayStats, DemographyStats, DistrictStats, DoctorDayStats, HourStats
from dashboards.selectors import Scope
from patients.models import Sex
from providers.models import Doctor
from queues.models import Opd


@dataclass(frozen=True)
class DayPoint:
    day: date
    booked: int
    completed: int
    cancelled: int
    no_show: int
    prescriptions: int


@dataclass(frozen=True)
class Count:
    """One row of a breakdown table: ``key`` is stable (an id or code), ``label`` is shown."""

    key: str
    label: str
    booked: int
    completed: int


@dataclass(frozen=True)
class DoctorUse:
    doctor_key: str  # the doctor's public id, never a sequential id
    name: str
    consultations: int
    consult_seconds: int
    on_duty_seconds: int

    @property
    def utilisation(self) -> float | None:
        return self.consult_seconds / self.on_duty_seconds if self.on_duty_seconds else None


@dataclass(frozen=True)
class Trends:
    start: date
    end: date  # inclusive
    per_day: list[DayPoint]  # every day of the range, zeros included
    by_opd: list[Count]
    by_speciality: list[Count]  # "general" for OPDs without a speciality
    by_district: list[Count]
    by_sex_age: list[Count]  # key "F:30-44"
    wait_median_seconds: float | None
    wait_p90_seconds: float | None
    consult_median_seconds: float | None
    no_show_rate: float | None  # no-shows / booked
    cancellation_rate: float | None  # cancelled / booked
    busiest_hours: list[list[int]]  # [weekday 0=Monday][hour 0-23] bookings, IST
    doctors: list[DoctorUse]
    prescriptions: int
    notifications_sent: int
    notifications_failed: int
    totals: dict[str, int] = field(default_factory=dict)  # booked, completed, cancelled, ...


@dataclass(frozen=True)
class StateRow:
    """The national view: one state or UT side by side with the others."""

    code: str
    name: str
    booked: int
    completed: int
    cancelled: int
    no_show: int
    prescriptions: int
    wait_median_seconds: float | None


# --- Trends -------------------------------------------------------------------------------------

GENERAL = "general"  # the speciality key of general OPDs
DAY_FIELDS = ("booked", "completed", "cancelled", "no_show", "prescriptions")
TOTAL_FIELDS = (
    "booked",
    "completed",
    "cancelled",
    "no_show",
    "left",
    "wait_count",
    "consult_count",
    "prescriptions",
    "notifications_sent",
    "notifications_failed",
)


@dataclass
class Figures:
    """Trends before labels: what both the rollup and the raw readings produce."""

    per_day: dict[date, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTAL_FIELDS, 0))
    wait: list[int] = field(default_factory=lambda: buckets.empty(buckets.WAIT))
    consult: list[int] = field(default_factory=lambda: buckets.empty(buckets.CONSULT))
    by_opd: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_district: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_sex_age: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    hours: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    doctors: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))


def _in_scope(rows: QuerySet[Any], scope: Scope, start: date, end: date) -> QuerySet[Any]:
    rows = rows.filter(day__range=(start, end))
    return rows if scope.state is None else rows.filter(state=scope.state)


def _histogram_sums(column: str, edges: tuple[int, ...]) -> dict[str, Sum]:
    return {
        f"{column}_{i}": Sum(Cast(KT(f"{column}__{i}"), BigIntegerField()))
        for i in range(len(edges))
    }


def trends(scope: Scope, start: date, end: date) -> Trends:
    """From the rollup tables: cost depends on the range and the number of OPDs only."""
    figures = Figures()
    days = _in_scope(DayStats.objects.all(), scope, start, end)
    for row in days.values("day").annotate(**{f: Sum(f) for f in DAY_FIELDS}):
        figures.per_day[row["day"]] = {f: row[f] for f in DAY_FIELDS}
    sums = days.aggregate(
        **{f: Sum(f) for f in TOTAL_FIELDS},
        **_histogram_sums("wait_histogram", buckets.WAIT),
        **_histogram_sums("consult_histogram", buckets.CONSULT),
    )
    figures.totals = {f: sums[f] or 0 for f in TOTAL_FIELDS}
    figures.wait = [sums[f"wait_histogram_{i}"] or 0 for i in range(len(buckets.WAIT))]
    figures.consult = [sums[f"consult_histogram_{i}"] or 0 for i in range(len(buckets.CONSULT))]
    for row in days.values("opd").annotate(b=Sum("booked"), c=Sum("completed")):
        figures.by_opd[row["opd"]] = [row["b"], row["c"]]
    districts = _in_scope(DistrictStats.objects.all(), scope, start, end)
    for row in districts.values("district").annotate(b=Sum("booked"), c=Sum("completed")):
        figures.by_district[row["district"]] = [row["b"], row["c"]]
    demography = _in_scope(DemographyStats.objects.all(), scope, start, end)
    for row in demography.values("sex", "age_band").annotate(b=Sum("booked"), c=Sum("completed")):
        figures.by_sex_age[(row["sex"], row["age_band"])] = [row["b"], row["c"]]
    hours = _in_scope(HourStats.objects.all(), scope, start, end)
    for row in hours.values("day", "hour").annotate(b=Sum("booked")):
        figures.hours[(row["day"].weekday(), row["hour"])] += row["b"]
    doctors = _in_scope(DoctorDayStats.objects.all(), scope, start, end)
    for row in doctors.values("doctor").annotate(
        n=Sum("consultations"), c=Sum("consult_seconds"), d=Sum("on_duty_seconds")
    ):
        figures.doctors[row["doctor"]] = [row["n"], row["c"], row["d"]]
    return trends_of(start, end, figures)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _ranked(counts: list[Count]) -> list[Count]:
    return sorted(counts, key=lambda c: (-c.booked, c.key))


def trends_of(start: date, end: date, figures: Figures) -> Trends:
    """Label and order the figures (both readings share this, so they compare equal)."""
    totals = figures.totals
    per_day = []
    day = start
    while day <= end:
        point = figures.per_day.get(day) or dict.fromkeys(DAY_FIELDS, 0)
        per_day.append(DayPoint(day=day, **{f: point[f] or 0 for f in DAY_FIELDS}))
        day += timedelta(days=1)

    opds = Opd.objects.select_related("speciality").in_bulk(list(figures.by_opd))
    by_opd: list[Count] = []
    by_speciality: dict[str, Count] = {}
    for opd_id, (booked, completed) in figures.by_opd.items():
        opd = opds[opd_id]
        by_opd.append(Count(str(opd.public_id), opd.display_name, booked, completed))
        key = opd.speciality.code if opd.speciality else GENERAL
        label = opd.speciality.display_name if opd.speciality else gettext("General")
        before = by_speciality.get(key, Count(key, label, 0, 0))
        by_speciality[key] = Count(key, label, before.booked + booked, before.completed + completed)

    districts = District.objects.in_bulk(list(figures.by_district))
    by_district = [
        Count(str(districts[pk].lgd_code), districts[pk].display_name, booked, completed)
        for pk, (booked, completed) in figures.by_district.items()
    ]

    sexes = dict(Sex.choices)
    sex_order = list(sexes)
    by_sex_age = [
        Count(f"{sex}:{band}", f"{sexes.get(sex, sex)}, {band}", booked, completed)
        for (sex, band), (booked, completed) in sorted(
            figures.by_sex_age.items(),
            key=lambda item: (
                sex_order.index(item[0][0]) if item[0][0] in sex_order else len(sex_order),
                buckets.AGE_BAND_LABELS.index(item[0][1])
                if item[0][1] in buckets.AGE_BAND_LABELS
                else len(buckets.AGE_BAND_LABELS),
            ),
        )
    ]

    doctors = Doctor.objects.select_related("user").in_bulk(list(figures.doctors))
    uses = [
        DoctorUse(str(doctors[pk].public_id), doctors[pk].name, n, seconds, on_duty)
        for pk, (n, seconds, on_duty) in figures.doctors.items()
    ]
    uses.sort(key=lambda u: (-u.consultations, -u.on_duty_seconds, u.doctor_key))

    return Trends(
        start=start,
        end=end,
        per_day=per_day,
        by_opd=_ranked(by_opd),
        by_speciality=_ranked(list(by_speciality.values())),
        by_district=_ranked(by_district),
        by_sex_age=by_sex_age,
        wait_median_seconds=buckets.percentile(figures.wait, buckets.WAIT, 0.5),
        wait_p90_seconds=buckets.percentile(figures.wait, buckets.WAIT, 0.9),
        consult_median_seconds=buckets.percentile(figures.consult, buckets.CONSULT, 0.5),
        no_show_rate=_rate(totals["no_show"], totals["booked"]),
        cancellation_rate=_rate(totals["cancelled"], totals["booked"]),
        busiest_hours=[[figures.hours.get((wd, h), 0) for h in range(24)] for wd in range(7)],
        doctors=uses,
        prescriptions=totals["prescriptions"],
        notifications_sent=totals["notifications_sent"],
        notifications_failed=totals["notifications_failed"],
        totals=dict(totals),
    )


# --- The national view --------------------------------------------------------------------------


def states_overview(start: date, end: date) -> list[StateRow]:
    """Every state and UT (all 36, zeros included), from the rollups."""
    fields = ("booked", "completed", "cancelled", "no_show", "prescriptions")
    per_state: dict[int, dict[str, Any]] = {
        row["state"]: dict(row)
        for row in DayStats.objects.filter(day__range=(start, end))
        .values("state")
        .annotate(**{f: Sum(f) for f in fields}, **_histogram_sums("wait_histogram", buckets.WAIT))
    }
    rows = []
    for state in State.objects.order_by("name"):
        sums = per_state.get(state.pk, {})
        wait = [sums.get(f"wait_histogram_{i}") or 0 for i in range(len(buckets.WAIT))]
        rows.append(
            StateRow(
                code=state.code,
                name=state.display_name,
                **{f: sums.get(f) or 0 for f in fields},
                wait_median_seconds=buckets.percentile(wait, buckets.WAIT, 0.5),
            )
        )
    return rows
