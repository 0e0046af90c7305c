"""A reader of an exported table who tries to work out its "<5" cells again.

The reader sees the CSV text and knows what any reader of these files knows (see
docs/dashboard-pages.md): "<5" is 1 to 4; an "x" among the rows is 5 or more and one in the
totals row any count; a column's rows add up to its total (to at least it for doctors on duty,
whom the total counts once); in a row, completed, cancelled and no-show visits are among the
bookings. From that alone, with a small integer solver of its own (bounds propagation and
splitting; nothing shared with ``dashboards.suppression``), it finds every value each "<5"
could have.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

BIG = 10**7  # above any count in these tests
SUM_COLUMNS = frozenset(
    {
        "Booked",
        "Completed",
        "Cancelled",
        "No-shows",
        "Prescriptions",
        "Consultations",
        "Waiting",
        "In consultation",
    }
)
AT_LEAST_COLUMNS = frozenset({"Doctors on duty"})  # a doctor in two OPDs is one in the total
OUTCOMES = ("Completed", "Cancelled", "No-shows")
TOTAL_LABELS = frozenset({"Total", "All of India"})
# The "Key figures" table lists its counts one per row.
SUMMARY_BOOKED = "Booked"
SUMMARY_OUTCOMES = ("Completed", "Cancelled", "Did not come (no-show)")

Term = tuple[str, int]  # (variable, coefficient)


@dataclass
class Problem:
    """Integer variables with bounds and equations ``sum(coef * var) == constant``."""

    bounds: dict[str, tuple[int, int]] = field(default_factory=dict)
    equations: list[tuple[list[Term], int]] = field(default_factory=list)

    def variable(self, name: str, low: int, high: int) -> str:
        self.bounds[name] = (low, high)
        return name

    def add(self, terms: list[tuple[str | int, int]], *, at_most: bool = False) -> None:
        """``sum(coef * x) == 0`` (``at_most``: ``<= 0``); an ``x`` that is an int is known."""
        variables: list[Term] = []
        constant = 0
        for item, coefficient in terms:
            if isinstance(item, int):
                constant -= coefficient * item
            else:
                variables.append((item, coefficient))
        if at_most:  # ... + s == 0 with s >= 0
            slack = self.variable(f"slack{len(self.equations)}", 0, BIG)
            variables.append((slack, 1))
        self.equations.append((variables, constant))


def _propagate(bounds: dict[str, tuple[int, int]], equations: list[tuple[list[Term], int]]) -> bool:
    """Narrow the bounds; False if some variable has no value left. (A bounded number of
    passes: where bounds only creep, splitting in ``_search`` finishes the job.)"""
    for _pass in range(50):
        changed = False
        for terms, constant in equations:
            # The least and most the whole left side can be; each term's share taken out below.
            least = sum(min(c * bounds[n][0], c * bounds[n][1]) for n, c in terms)
            most = sum(max(c * bounds[n][0], c * bounds[n][1]) for n, c in terms)
            for name, coefficient in terms:
                lo, hi = bounds[name]
                own_least, own_most = (
                    min(coefficient * lo, coefficient * hi),
                    max(coefficient * lo, coefficient * hi),
                )
                low = constant - (most - own_most)
                high = constant - (least - own_least)
                # coefficient * x is within [low, high]; coefficients are 1 or -1
                new_lo, new_hi = (low, high) if coefficient > 0 else (-high, -low)
                lo, hi = bounds[name]
                lo, hi = max(lo, new_lo), min(hi, new_hi)
                if lo > hi:
                    return False
                if (lo, hi) != bounds[name]:
                    bounds[name] = (lo, hi)
                    changed = True
                    least, most = (
                        sum(min(c * bounds[n][0], c * bounds[n][1]) for n, c in terms),
                        sum(max(c * bounds[n][0], c * bounds[n][1]) for n, c in terms),
                    )
        if not changed:
            break
    return True


def feasible(problem: Problem, fixed: dict[str, int]) -> bool:
    # A variable in no equation can take any value of its bounds: only the others are searched.
    related = {name for terms, _constant in problem.equations for name, _c in terms}
    bounds = {name: problem.bounds[name] for name in related}
    for name, value in fixed.items():
        low, high = problem.bounds[name]
        if not low <= value <= high:
            return False
        if name in related:
            bounds[name] = (value, value)
    return _search(bounds, problem.equations)


def _search(bounds: dict[str, tuple[int, int]], equations: list[tuple[list[Term], int]]) -> bool:
    if not _propagate(bounds, equations):
        return False
    open_ = [(hi - lo, name) for name, (lo, hi) in bounds.items() if lo < hi]
    if not open_:
        return True
    # Equations that share no open variable are independent, and each alone, its bounds
    # propagated (unit coefficients), has a solution for every value left in its bounds.
    names = {name for _width, name in open_}
    shared = Counter(name for terms, _c in equations for name, _ in terms if name in names)
    if all(n <= 1 for n in shared.values()):
        return True
    _width, name = min(open_)
    low, high = bounds[name]
    # Its lowest value first (propagation then usually settles the rest), then each half of
    # the others: a search as deep as the logarithm of the widest range.
    middle = (low + 1 + high) // 2
    parts = [(low, low), (low + 1, middle), (middle + 1, high)]
    return any(_search({**bounds, name: part}, equations) for part in parts if part[0] <= part[1])


@dataclass
class Export:
    columns: list[str]
    rows: list[list[str]]
    totals: list[str] | None

    @classmethod
    def parse(cls, text: str) -> Export:
        lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
        columns, rows = lines[0], lines[1:]
        totals = rows.pop() if rows and rows[-1][0] in TOTAL_LABELS else None
        return cls(columns, rows, totals)


def possible_values(
    export: Export, *, known_total: int | None = None
) -> dict[tuple[int, int], set[int]]:
    """For each "<5" cell (row, column; row -1 for the totals row), the values it could have
    for all the table says, and ``known_total``: what every count of the table adds up to, read
    from another table (the busiest hours add up to the bookings under "Key figures")."""
    problem = Problem()
    cells: dict[tuple[int, int], str | int] = {}
    smalls = []
    lines = [*enumerate(export.rows)] + ([(-1, export.totals)] if export.totals else [])
    for row, values in lines:
        for column, text in enumerate(values):
            name = f"r{row}c{column}"
            if text == "<5":
                cells[row, column] = problem.variable(name, 1, 4)
                smalls.append((row, column))
            elif text == "x":
                cells[row, column] = problem.variable(name, 0 if row == -1 else 5, BIG)
            elif text.isdigit():
                cells[row, column] = int(text)
    _relations(export, problem, cells)
    if known_total is not None:
        total: str | int = known_total if known_total >= 5 else problem.variable("known", 1, 4)
        problem.add([(cell, 1) for cell in cells.values()] + [(total, -1)])
    return {
        coord: {v for v in range(1, 5) if feasible(problem, {str(cells[coord]): v})}
        for coord in smalls
    }


def _relations(export: Export, problem: Problem, cells: dict[tuple[int, int], str | int]) -> None:
    heads = {name: index for index, name in enumerate(export.columns)}
    body = range(len(export.rows))
    if export.columns == ["Measure", "Value"]:  # Key figures: one count per row
        label = {row[0]: (index, 1) for index, row in enumerate(export.rows)}
        problem.add(
            [(cells[label[SUMMARY_BOOKED]], -1)]
            + [(cells[label[name]], 1) for name in SUMMARY_OUTCOMES],
            at_most=True,
        )
        return
    for name, column in heads.items():
        if export.totals is None or (-1, column) not in cells:
            continue
        terms = [(cells[row, column], 1) for row in body] + [(cells[-1, column], -1)]
        if name in SUM_COLUMNS:
            problem.add(terms)
        elif name in AT_LEAST_COLUMNS:  # total - sum <= 0
            problem.add([(item, -c) for item, c in terms], at_most=True)
    if "Booked" in heads:
        outcomes = [heads[name] for name in OUTCOMES if name in heads]
        for row in [*body, -1] if export.totals else body:
            terms = [(cells[row, column], 1) for column in outcomes]
            problem.add([*terms, (cells[row, heads["Booked"]], -1)], at_most=True)
