"""A dashboard table and its typed cells: how the page and a CSV export each write a value.

The page shows exact figures to the administrators who may see them; an export, which leaves
the service, writes counts from 1 to 4 as "<5" (small-number suppression), so that no row of a
file can point at a person, and withholds ("x") whatever else would let a reader work such a
count out again from the table's totals and other cells (``dashboards.suppression``, applied to
every export by ``Table.exported`` and so by ``csv_response``). Each table states what a reader
knows of it: its ``relations`` (columns adding up to their totals, outcomes within bookings),
the figures ``derived`` from counts (rates), and whether its rows are ``ranked`` by a count.
The tables themselves are defined in ``dashboards.tables``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from django.http import HttpResponse
from django.utils.formats import date_format

from dashboards.suppression import SMALL_BELOW, TOTAL, Coord, Mark, Relation, protect

Kind = Literal["text", "date", "count", "minutes", "hours", "percent"]
SUPPRESS_BELOW = SMALL_BELOW
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
