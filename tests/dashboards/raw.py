# ruff: noqa: S608  (the statements are built from dashboards.rollup_sql's pieces; values are
# parameters)
"""The dashboards' figures computed straight from the raw tables (tickets, prescriptions,
notifications and shifts) instead of the rollups: the reference the rollups are checked against
(tests) and measured against (``bench/dashboard.py``). It returns the very ``Trends`` that
``dashboards.queries.trends`` reads from the rollups for the same data.

Not production code: no page, API or socket reads it. On PostgreSQL it counts the range's
tickets in one grouped pass (with ``dashboards.rollup_sql``'s statements, so the two agree by
construction on rounding, buckets and ages); elsewhere it computes the range's slices in Python
(``dashboards.slices.compute``) and folds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from dashboards import buckets, rollup_sql, slices
from dashboards.queries import DAY_FIELDS, TOTAL_FIELDS, Figures, Trends, trends_of
from dashboards.selectors import Scope
from queues.models import DutyShift, Ticket


def raw_trends(scope: Scope, start: date, end: date, *, now: datetime | None = None) -> Trends:
    """The same figures straight from tickets, prescriptions, notifications and shifts (open
    shifts count up to ``now``): on PostgreSQL in one grouped pass over the range's tickets,
    elsewhere by computing the range's slices in Python."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        return trends_of(start, end, _raw_figures_sql(scope, start, end, now))
    tickets = Ticket.objects.filter(service_date__range=(start, end))
    shifts = DutyShift.objects.filter(
        started_at__lt=slices.day_start(end + timedelta(days=1))
    ).filter(Q(ended_at=None) | Q(ended_at__gt=slices.day_start(start)))
    if scope.state is not None:
        # The state's residents anywhere, and the doctors of its OPDs (or from it, in
        # national OPDs) with all of their patients.
        doctors_here = Q(opd__state=scope.state) | Q(
            opd__state=None, doctor__home_state=scope.state
        )
        tickets = tickets.filter(Q(patient__state=scope.state) | doctors_here)
        shifts = shifts.filter(doctors_here)
    rows = slices.compute(tickets, shifts, lambda _opd, day: start <= day <= end, now=now)
    return trends_of(start, end, _fold(rows, scope))


def _raw_figures_sql(scope: Scope, start: date, end: date, now: datetime) -> Figures:
    state_id = scope.state.pk if scope.state is not None else None
    figures = Figures()
    for group in raw_groups(start, end, state_id, now=now):
        key, booked, completed = group.key, group.booked, group.completed
        match sorted(key):
            case ["day"]:
                figures.per_day[key["day"]] = {f: getattr(group, f) for f in DAY_FIELDS}
                for f in TOTAL_FIELDS:
                    figures.totals[f] += getattr(group, f)
            case ["day", "hour"]:
                figures.hours[(key["day"].weekday(), key["hour"])] += booked
            case ["opd_id"]:
                figures.by_opd[key["opd_id"]] = [booked, completed]
            case ["district_id"] if key["district_id"] is not None:
                figures.by_district[key["district_id"]] = [booked, completed]
            case ["age_band", "sex"]:
                figures.by_sex_age[(key["sex"], key["age_band"])] = [booked, completed]
            case ["wait_b"] if key["wait_b"] is not None:
                figures.wait[key["wait_b"]] = booked
            case ["consult_b"] if key["consult_b"] is not None:
                figures.consult[key["consult_b"]] = booked
    for doctor_id, consultations, seconds, on_duty in raw_doctors(start, end, state_id, now=now):
        figures.doctors[doctor_id] = [consultations, seconds, on_duty]
    return figures


def _fold(rows: slices.SliceRows, scope: Scope) -> Figures:
    def wanted(row: Any) -> bool:
        return scope.state is None or row.state_id == scope.state.pk

    figures = Figures()
    for day in filter(wanted, rows.days):
        point = figures.per_day.setdefault(day.day, dict.fromkeys(DAY_FIELDS, 0))
        for f in DAY_FIELDS:
            point[f] += getattr(day, f)
        for f in TOTAL_FIELDS:
            figures.totals[f] += getattr(day, f)
        buckets.add(figures.wait, day.wait_histogram)
        buckets.add(figures.consult, day.consult_histogram)
        figures.by_opd[day.opd_id][0] += day.booked
        figures.by_opd[day.opd_id][1] += day.completed
    for district in filter(wanted, rows.districts):
        figures.by_district[district.district_id][0] += district.booked
        figures.by_district[district.district_id][1] += district.completed
    for group in filter(wanted, rows.demography):
        figures.by_sex_age[(group.sex, group.age_band)][0] += group.booked
        figures.by_sex_age[(group.sex, group.age_band)][1] += group.completed
    for hour in filter(wanted, rows.hours):
        figures.hours[(hour.day.weekday(), hour.hour)] += hour.booked
    for use in filter(wanted, rows.doctors):
        totals = figures.doctors[use.doctor_id]
        totals[0] += use.consultations
        totals[1] += use.consult_seconds
        totals[2] += use.on_duty_seconds
    return figures


# --- The grouped pass on PostgreSQL -----------------------------------------------------------

GROUPS = ("day", "hour", "opd_id", "district_id", "sex", "wait_b", "consult_b")


@dataclass
class RawGroup:
    """One grouping set of ``raw_groups``: the grouped columns and the counts."""

    key: dict[str, Any]
    booked: int
    completed: int
    cancelled: int
    no_show: int
    left: int
    wait_count: int
    consult_count: int
    prescriptions: int
    notifications_sent: int
    notifications_failed: int


def raw_groups(start: date, end: date, state_id: int | None, *, now: datetime) -> list[RawGroup]:
    """The tickets of the range (of one state's residents, if given) counted in one pass, by
    day, day and hour, OPD, district, sex and age band, and wait and duration bucket."""
    flags = ", ".join(f"GROUPING({column})" for column in GROUPS)
    sql = f"""
    WITH {rollup_sql.visits_cte(residents=state_id is not None)}
    SELECT {flags}, day, hour, opd_id, district_id, sex, age_band, wait_b, consult_b,
           {rollup_sql.COUNTS}
    FROM b
    GROUP BY GROUPING SETS ((day), (day, hour), (opd_id), (district_id), (sex, age_band),
                           (wait_b), (consult_b))
    """
    groups = []
    with connection.cursor() as cursor:
        cursor.execute(sql, rollup_sql.sql_params(start, end, now, state_id))
        for row in cursor.fetchall():
            grouped = [
                name for name, flag in zip(GROUPS, row[: len(GROUPS)], strict=True) if not flag
            ]
            values = dict(
                zip(
                    (
                        "day",
                        "hour",
                        "opd_id",
                        "district_id",
                        "sex",
                        "age_band",
                        "wait_b",
                        "consult_b",
                    ),
                    row[len(GROUPS) : len(GROUPS) + 8],
                    strict=True,
                )
            )
            key = {name: values[name] for name in grouped}
            if "sex" in key:
                key["age_band"] = values["age_band"]
            groups.append(RawGroup(key, *(int(n or 0) for n in row[len(GROUPS) + 8 :])))
    return groups


def raw_doctors(
    start: date, end: date, state_id: int | None, *, now: datetime
) -> list[tuple[int, int, int, int]]:
    """(doctor id, consultations, seconds in consultation, seconds on duty) over the range,
    for the doctors counted in ``state_id`` (their OPD's state, or their own in a national
    OPD)."""
    where = "WHERE state_id = %(state)s" if state_id is not None else ""
    sql = f"""
    SELECT doctor_id, sum(consultations), sum(consult_seconds), sum(on_duty_seconds)
    FROM ({rollup_sql.doctor_days_sql()}) days
    {where}
    GROUP BY doctor_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, rollup_sql.sql_params(start, end, now, state_id))
        return [(d, int(n), int(c), int(u)) for d, n, c, u in cursor.fetchall()]
