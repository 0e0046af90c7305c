"""Every dashboard table, defined once: shown on the page (beside its chart, see
``dashboards.panels``), exported as CSV (``dashboards.cells``: what a table holds and how
each side writes it, small counts suppressed in exports). Each definition says what a reader
knows of its table besides the cells: which columns add up to their totals, which outcomes
lie within bookings, which figures are derived from counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

from dashboards.cells import Cell, Table, count
from dashboards.live import LiveNow
from dashboards.queries import Count, StateRow, Trends
from dashboards.suppression import TOTAL, Relation, column_total, within
from patients.models import Sex

KNOWN_TOTAL = (TOTAL, 0)  # where a table without a totals row keeps a total known elsewhere
HEAT_LEVELS = 5


def _bookings_and_outcomes(
    rows: int, booked: int, outcomes: Iterable[int], others: Iterable[int] = ()
) -> tuple[Relation, ...]:
    """What a reader knows of a table with a bookings column: in each row the outcomes
    (completed, cancelled, no-show) are among the bookings, and every count column adds up to
    its total."""
    outcomes = tuple(outcomes)
    return (
        *(within((row, booked), [(row, column) for column in outcomes]) for row in range(rows)),
        column_total(booked, rows, sign=-1),
        *(column_total(column, rows) for column in (*outcomes, *others)),
    )


# --- Trends ---------------------------------------------------------------------------------


def _sum(trends: Trends, name: str) -> int:
    return sum(int(getattr(point, name)) for point in trends.per_day)


def summary_table(trends: Trends) -> Table:
    rows = [
        (_("Booked"), count(_sum(trends, "booked"))),
        (_("Completed"), count(_sum(trends, "completed"))),
        (_("Cancelled"), count(_sum(trends, "cancelled"))),
        (_("Did not come (no-show)"), count(_sum(trends, "no_show"))),
        (_("Median wait (minutes)"), Cell(trends.wait_median_seconds, "minutes")),
        (_("90th percentile wait (minutes)"), Cell(trends.wait_p90_seconds, "minutes")),
        (_("Median consultation (minutes)"), Cell(trends.consult_median_seconds, "minutes")),
        (_("No-show rate (%)"), Cell(trends.no_show_rate, "percent")),
        (_("Cancellation rate (%)"), Cell(trends.cancellation_rate, "percent")),
        (_("Prescriptions issued"), count(trends.prescriptions)),
        (_("Notifications delivered"), count(trends.notifications_sent)),
        (_("Notifications failed"), count(trends.notifications_failed)),
    ]
    booked, completed, cancelled, no_show = ((row, 1) for row in range(4))
    return Table(
        "summary",
        _("Key figures"),
        [_("Measure"), _("Value")],
        [[Cell(label), value] for label, value in rows],
        relations=(within(booked, [completed, cancelled, no_show]),),
        derived={(7, 1): (no_show, booked), (8, 1): (cancelled, booked)},  # the two rates
    )


def per_day_table(trends: Trends) -> Table:
    rows = [
        [
            Cell(p.day, "date"),
            count(p.booked),
            count(p.completed),
            count(p.cancelled),
            count(p.no_show),
            count(p.prescriptions),
        ]
        for p in trends.per_day
    ]
    names = ("booked", "completed", "cancelled", "no_show", "prescriptions")
    return Table(
        "per-day",
        _("Consultations per day"),
        [
            _("Day"),
            _("Booked"),
            _("Completed"),
            _("Cancelled"),
            _("No-shows"),
            _("Prescriptions"),
        ],
        rows,
        totals=[Cell(_("Total")), *(count(_sum(trends, n)) for n in names)],
        relations=_bookings_and_outcomes(len(rows), 1, (2, 3, 4), others=(5,)),
    )


def _count_table(slug: str, title: str, first: str, counts: list[Count]) -> Table:
    return Table(
        slug,
        title,
        [first, _("Booked"), _("Completed")],
        [[Cell(c.label), count(c.booked), count(c.completed)] for c in counts],
        totals=[
            Cell(_("Total")),
            count(sum(c.booked for c in counts)),
            count(sum(c.completed for c in counts)),
        ],
        relations=_bookings_and_outcomes(len(counts), 1, (2,)),
        ranked=True,
    )


def sex_label(code: str) -> str:
    return str(dict(Sex.choices).get(code, code))


def sex_age_table(trends: Trends) -> Table:
    rows = []
    for c in trends.by_sex_age:
        sex, _sep, band = c.key.partition(":")
        rows.append([Cell(sex_label(sex)), Cell(band), count(c.booked), count(c.completed)])
    return Table(
        "by-sex-age",
        _("By sex and age band"),
        [_("Sex"), _("Age band (years)"), _("Booked"), _("Completed")],
        rows,
        totals=[
            Cell(_("Total")),
            Cell(""),
            count(sum(c.booked for c in trends.by_sex_age)),
            count(sum(c.completed for c in trends.by_sex_age)),
        ],
        relations=_bookings_and_outcomes(len(rows), 2, (3,)),
    )


def _shade(value: int, peak: int) -> int:
    if value <= 0 or peak <= 0:
        return 0
    return max(1, -(-value * HEAT_LEVELS // peak))  # 1..HEAT_LEVELS, rounded up


def busiest_hours_table(trends: Trends) -> Table:
    peak = max((v for day in trends.busiest_hours for v in day), default=0)
    rows = [
        [Cell(str(WEEKDAYS[weekday]))]
        + [Cell(v, "count", shade=_shade(v, peak)) for v in trends.busiest_hours[weekday]]
        for weekday in range(len(trends.busiest_hours))
    ]
    # Its cells add up to the period's bookings, which "Key figures" gives: a reader knows it.
    booked = sum(sum(day) for day in trends.busiest_hours)
    cells = [(row, column) for row in range(len(rows)) for column in range(1, 25)]
    return Table(
        "busiest-hours",
        _("Busiest hours (bookings by day of the week and hour, IST)"),
        [_("Day"), *(f"{hour:02d}" for hour in range(24))],
        rows,
        wide=True,
        relations=(Relation((*((cell, 1) for cell in cells), (KNOWN_TOTAL, -1))),),
        known={KNOWN_TOTAL: booked},
    )


def doctors_table(trends: Trends) -> Table:
    doctors = sorted(trends.doctors, key=lambda d: (-d.consultations, d.name))
    return Table(
        "doctors",
        _("Doctors' utilisation"),
        [
            _("Doctor"),
            _("Consultations"),
            _("Time consulting (hours)"),
            _("Time on duty (hours)"),
            _("Utilisation (%)"),
        ],
        [
            [
                Cell(d.name),
                count(d.consultations),
                Cell(d.consult_seconds, "hours"),
                Cell(d.on_duty_seconds, "hours"),
                Cell(d.utilisation, "percent"),
            ]
            for d in doctors
        ],
        totals=[
            Cell(_("Total")),
            count(sum(d.consultations for d in doctors)),
            Cell(sum(d.consult_seconds for d in doctors), "hours"),
            Cell(sum(d.on_duty_seconds for d in doctors), "hours"),
            Cell(None, "percent"),
        ],
        relations=(column_total(1, len(doctors)),),
        ranked=True,
    )


TREND_TABLES: dict[str, Callable[[Trends], Table]] = {
    "summary": summary_table,
    "per-day": per_day_table,
    "by-opd": lambda t: _count_table("by-opd", _("By OPD"), _("OPD"), t.by_opd),
    "by-speciality": lambda t: _count_table(
        "by-speciality", _("By speciality"), _("Speciality"), t.by_speciality
    ),
    "by-district": lambda t: _count_table(
        "by-district", _("By the patient's district"), _("District"), t.by_district
    ),
    "by-sex-age": sex_age_table,
    "busiest-hours": busiest_hours_table,
    "doctors": doctors_table,
}


# --- The national view ------------------------------------------------------------------------


def states_table(
    rows: list[StateRow], link_for: Callable[[str], str] | None = None, *, median: float | None
) -> Table:
    names = ("booked", "completed", "cancelled", "no_show", "prescriptions")
    return Table(
        "states",
        _("States and union territories"),
        [
            _("State or UT"),
            _("Booked"),
            _("Completed"),
            _("Cancelled"),
            _("No-shows"),
            _("Prescriptions"),
            _("Median wait (minutes)"),
        ],
        [
            [
                Cell(r.name, link=link_for(r.code) if link_for else None),
                *(count(int(getattr(r, n))) for n in names),
                Cell(r.wait_median_seconds, "minutes"),
            ]
            for r in rows
        ],
        totals=[
            Cell(_("All of India")),
            *(count(sum(int(getattr(r, n)) for r in rows)) for n in names),
            Cell(median, "minutes"),
        ],
        relations=_bookings_and_outcomes(len(rows), 1, (2, 3, 4), others=(5,)),
    )


# --- Live now ---------------------------------------------------------------------------------


def live_table(live: LiveNow) -> Table:
    return Table(
        "live",
        _("Live now, by OPD"),
        [
            _("OPD"),
            _("Waiting"),
            _("Doctors on duty"),
            _("In consultation"),
            _("Longest wait (minutes)"),
        ],
        [
            [
                Cell(o.name),
                count(o.waiting),
                count(o.doctors_on_duty),
                count(o.in_consultation),
                Cell(o.longest_wait_seconds, "minutes"),
            ]
            for o in live.opds
        ],
        empty=_("No OPD has patients waiting or doctors on duty right now."),
        totals=[
            Cell(_("Total")),
            count(live.waiting),
            count(live.doctors_on_duty),
            count(live.in_consultation),
            Cell(live.longest_wait_seconds, "minutes"),
        ],
        # A doctor on duty in two OPDs is counted once in the total.
        relations=(
            column_total(1, len(live.opds)),
            column_total(2, len(live.opds), at_least=True),
            column_total(3, len(live.opds)),
        ),
    )
