"""Every dashboard table, defined once: shown on the page (beside its chart, see
``dashboards.panels``), exported as CSV.

A ``Table`` holds typed ``Cell``s, so the page and the export can each write a value their own
way: the page shows exact figures to the administrators who may see them; an export, which
leaves the service, writes counts from 1 to 4 as "<5" (small-number suppression), so that no
row of a file can point at a person, and withholds ("x") whatever else would let a reader work
such a count out again from the table's totals and other cells (``dashboards.suppression``,
applied to every export by ``csv_response``). Each table states what a reader knows of it:
its ``relations`` (columns adding up to their totals, outcomes within bookings), the figures
``derived`` from counts (rates), and whether its rows are ``ranked`` by a count.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from django.http import HttpResponse
from django.utils.dates import WEEKDAYS
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from dashboards.queries import Count, LiveNow, StateRow, Trends
from dashboards.suppression import (
    SMALL_BELOW,
    TOTAL,
    Coord,
    Mark,
    Relation,
    column_total,
    protect,
    within,
)
from patients.models import Sex

Kind = Literal["text", "date", "count", "minutes", "hours", "percent"]
SUPPRESS_BELOW = SMALL_BELOW
KNOWN_TOTAL = (TOTAL, 0)  # where a table without a totals row keeps a total known elsewhere
HEAT_LEVELS = 5
# Seconds are shown in minutes or hours, rates (0 to 1) in per cent; one decimal.
SCALES: dict[str, float] = {"minutes": 1 / 60, "hours": 1 / 3600, "percent": 100}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Value = str | int | float | date | None


@dataclass(frozen=True)
class Cell:
    value: Value
    kind: Kind = "text"
    link: str | None = None
    shade: int | None = None  # 0..HEAT_LEVELS for the heat map

    @property
    def numeric(self) -> bool:
        return self.kind not in ("text", "date")

    @property
    def display(self) -> str:
        """As the page shows it: exact."""
        if self.value is None:
            return "—"
        return self._formatted(suppress=False)

    @property
    def export(self) -> str:
        """As a CSV file holds it: small counts suppressed, dates ISO, no unit signs."""
        if self.value is None:
            return ""
        if self.kind == "date" and isinstance(self.value, date):
            return self.value.isoformat()
        text = self._formatted(suppress=True)
        # A name that starts like a formula must stay text when a spreadsheet opens the file.
        return f"'{text}" if self.kind == "text" and text.startswith(FORMULA_STARTS) else text

    def _formatted(self, *, suppress: bool) -> str:
        value = self.value
        if self.kind == "count" and isinstance(value, int):
            return f"<{SUPPRESS_BELOW}" if suppress and 0 < value < SUPPRESS_BELOW else str(value)
        if self.kind in SCALES and isinstance(value, int | float):
            return f"{value * SCALES[self.kind]:.1f}"
        if isinstance(value, date):
            return date_format(value, "DATE_FORMAT")
        return str(value)


def count(value: int) -> Cell:
    return Cell(value, "count")


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


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    totals: list[Cell] | None = None
    wide: bool = False  # many columns: scrolls sideways inside its own box on a phone
    empty: str = ""  # said instead of rows when there are none
    # What a reader of an export knows besides the cells (see dashboards.suppression).
    relations: tuple[Relation, ...] = ()
    derived: dict[Coord, tuple[Coord, ...]] = field(default_factory=dict)  # e.g. rates
    ranked: bool = False  # rows ordered by a count: an export lists them by name
    # Counts a reader has from another table of the page (not written in this one).
    known: dict[Coord, int] = field(default_factory=dict)

    def cell(self, coord: Coord) -> Cell:
        row, column = coord
        return (self.totals or [])[column] if row == TOTAL else self.rows[row][column]

    def exported(self) -> list[list[str]]:
        """The rows (then the totals) as a CSV file writes them: small counts and whatever
        would give them away suppressed."""
        counts = {
            (row, column): int(cell.value)
            for row, cells in [*enumerate(self.rows), (TOTAL, self.totals or [])]
            for column, cell in enumerate(cells)
            if cell.kind == "count" and isinstance(cell.value, int)
        }
        marks = protect({**counts, **self.known}, self.relations, known=self.known)
        hidden = {coord for coord, mark in marks.items() if mark is not Mark.EXACT}
        for coord, sources in self.derived.items():
            if hidden.intersection(sources):
                marks[coord] = Mark.WITHHELD

        def written(coord: Coord) -> str:
            mark = marks.get(coord, Mark.EXACT)
            return self.cell(coord).export if mark is Mark.EXACT else mark.value

        rows = [
            [written((row, column)) for column in range(len(cells))]
            for row, cells in enumerate(self.rows)
        ]
        if self.ranked:  # in name order, so that a row's place says nothing of its counts
            rows.sort(key=lambda cells: (cells[0].casefold(), cells[1:]))
        if self.totals:
            rows.append([written((TOTAL, column)) for column in range(len(self.totals))])
        return rows


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


# --- Export ------------------------------------------------------------------------------------


def csv_response(table: Table, filename: str) -> HttpResponse:
    """UTF-8 with a byte-order mark, so Excel reads Hindi names correctly."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(table.columns)
    writer.writerows(table.exported())
    return response
