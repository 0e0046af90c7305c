"""No "<5" in an exported table can be worked out again from the table's other cells and its
totals (issue 9, item 4). The reader of ``tests/dashboards/reader.py`` tries: on the Bihar file
of the issue, with one and with several small counts in a column, on random tables of every
kind, and on every export of the month of visits."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from dashboards import cells, tables
from dashboards.live import LiveNow, OpdLive
from dashboards.queries import Count, DayPoint, DoctorUse, StateRow, Trends, trends
from dashboards.selectors import Scope
from tests.dashboards.conftest import FIRST_DAY, LAST_DAY, World
from tests.dashboards.reader import Export, possible_values
from tests.dashboards.support import RANGE, roll_up
from tests.factories import state

START = date(2026, 3, 2)
EVERY_VALUE = {1, 2, 3, 4}
RANKED = ("by-opd", "by-speciality", "by-district", "doctors")


def trends_with(**figures: Any) -> Trends:
    per_day = figures.pop("per_day", [])
    booked = sum(p.booked for p in per_day)
    values: dict[str, Any] = {
        "start": START,
        "end": START + timedelta(days=max(len(per_day) - 1, 0)),
        "per_day": per_day,
        "by_opd": [],
        "by_speciality": [],
        "by_district": [],
        "by_sex_age": [],
        "wait_median_seconds": 300.0,
        "wait_p90_seconds": 900.0,
        "consult_median_seconds": 420.0,
        "no_show_rate": sum(p.no_show for p in per_day) / booked if booked else None,
        "cancellation_rate": sum(p.cancelled for p in per_day) / booked if booked else None,
        "busiest_hours": [[0] * 24 for _day in range(7)],
        "doctors": [],
        "prescriptions": sum(p.prescriptions for p in per_day),
        "notifications_sent": 0,
        "notifications_failed": 0,
    }
    return Trends(**{**values, **figures})


def exported(table: cells.Table) -> Export:
    return Export.parse(cells.csv_response(table, "table.csv").content.decode("utf-8"))


def by_opd(*booked_completed: tuple[int, int]) -> Export:
    counts = [
        Count(f"opd-{i}", f"OPD {chr(65 + i)}", booked, completed)
        for i, (booked, completed) in enumerate(booked_completed)
    ]
    return exported(tables.TREND_TABLES["by-opd"](trends_with(by_opd=counts)))


def test_the_bihar_file_no_longer_gives_its_small_count_away() -> None:
    # The BR by-opd.csv: rows adding up to 27, a "<5" and a Total of 28.
    export = by_opd((15, 12), (12, 10), (1, 1))
    assert export.totals is not None
    assert export.totals[1:] == ["28", "23"], "the totals stay exact"
    assert "<5" in [row[1] for row in export.rows]
    values = possible_values(export)
    assert values, "the small counts are still suppressed"
    assert all(found == EVERY_VALUE for found in values.values()), values


@pytest.mark.parametrize(
    "rows",
    [
        [(20, 15), (1, 1), (1, 0)],  # two small counts adding up to 2: both would be 1
        [(20, 15), (4, 4), (4, 4)],  # two adding up to 8: both would be 4
        [(9, 9), (6, 6), (3, 2), (2, 1)],  # small counts beside small complements
        [(1, 1), (1, 1), (1, 1), (1, 0)],  # a total that is itself below 5
        [(1, 1), (5, 5)],  # nothing but a 5 to hide a 1 behind
        [(30, 2), (2, 2)],  # small in both columns of a row
    ],
)
def test_several_small_counts_in_a_column_cannot_be_worked_out(
    rows: list[tuple[int, int]],
) -> None:
    values = possible_values(by_opd(*rows))
    assert values
    assert all(found == EVERY_VALUE for found in values.values()), values


def test_a_ranked_table_is_exported_in_name_order() -> None:
    # As the queries rank them: most bookings first.
    ranked = [("Zira", 40, 30), ("Mau", 12, 9), ("Chapra", 7, 7), ("Arrah", 3, 1)]
    counts = [Count(name, name, booked, completed) for name, booked, completed in ranked]
    export = exported(tables.TREND_TABLES["by-district"](trends_with(by_district=counts)))
    names = [row[0] for row in export.rows]
    assert names == ["Arrah", "Chapra", "Mau", "Zira"], "the order would rank the hidden counts"


def test_a_rate_is_withheld_with_its_count() -> None:
    day = DayPoint(START, booked=40, completed=30, cancelled=6, no_show=3, prescriptions=20)
    summary = exported(tables.summary_table(trends_with(per_day=[day])))
    written = {row[0]: row[1] for row in summary.rows}
    assert written["Did not come (no-show)"] == "<5"
    assert written["No-show rate (%)"] == "x", "3 of 40 as a rate is the 3"
    assert written["Cancellation rate (%)"] == "15.0"


# --- Random tables of every kind -------------------------------------------------------------

SIZES = [0, 1, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 11, 15, 24, 60]


def random_trends(rng: random.Random) -> Trends:
    def outcomes(booked: int) -> tuple[int, int, int]:
        completed = rng.randint(0, booked)
        cancelled = rng.randint(0, booked - completed)
        return completed, cancelled, rng.randint(0, booked - completed - cancelled)

    per_day = []
    for day in range(rng.randint(1, 6)):
        booked = rng.choice(SIZES)
        completed, cancelled, no_show = outcomes(booked)
        per_day.append(
            DayPoint(
                START + timedelta(days=day),
                booked,
                completed,
                cancelled,
                no_show,
                rng.randint(0, completed),
            )
        )

    def counts(prefix: str) -> list[Count]:
        rows = []
        for i in range(rng.randint(1, 6)):
            booked = rng.choice(SIZES[1:])
            rows.append(Count(f"{prefix}{i}", f"{prefix} {i}", booked, rng.randint(0, booked)))
        return sorted(rows, key=lambda c: (-c.booked, c.key))

    doctors = [
        DoctorUse(f"d{i}", f"Dr {i}", rng.choice(SIZES), rng.randint(0, 9000), 9000)
        for i in range(rng.randint(1, 5))
    ]
    return trends_with(
        per_day=per_day,
        by_opd=counts("OPD"),
        by_speciality=counts("Speciality"),
        by_district=counts("District"),
        by_sex_age=counts("F:"),
        doctors=sorted(doctors, key=lambda d: -d.consultations),
        busiest_hours=[[rng.choice(SIZES[:8]) for _h in range(24)] for _d in range(7)],
    )


def random_states(rng: random.Random) -> list[StateRow]:
    rows = []
    for i in range(rng.randint(1, 7)):
        booked = rng.choice(SIZES)
        completed = rng.randint(0, booked)
        cancelled = rng.randint(0, booked - completed)
        no_show = rng.randint(0, booked - completed - cancelled)
        rows.append(StateRow(f"S{i}", f"State {i}", booked, completed, cancelled, no_show, 0, None))
    return rows


def random_live(rng: random.Random) -> LiveNow:
    opds = [
        OpdLive(
            f"o{i}", f"OPD {i}", rng.choice(SIZES), rng.choice(SIZES[:6]), rng.randint(0, 4), 60
        )
        for i in range(rng.randint(1, 6))
    ]
    most = sum(o.doctors_on_duty for o in opds)
    return LiveNow(
        opds=opds,
        waiting=sum(o.waiting for o in opds),
        doctors_on_duty=rng.randint(max((o.doctors_on_duty for o in opds), default=0), most),
        in_consultation=sum(o.in_consultation for o in opds),
        longest_wait_seconds=60,
    )


def random_tables(seed: int) -> tuple[Trends, list[cells.Table]]:
    rng = random.Random(seed)
    figures = random_trends(rng)
    return figures, [
        *(build(figures) for build in tables.TREND_TABLES.values()),
        tables.states_table(random_states(rng), median=None),
        tables.live_table(random_live(rng)),
    ]


def heat_map_total(figures: Trends) -> int:
    """What the busiest hours add up to: the bookings "Key figures" gives."""
    return sum(sum(day) for day in figures.busiest_hours)


def assert_protected(export: Export, name: str, *, known_total: int | None = None) -> int:
    """Every "<5" of ``export`` keeps at least two values ("not recoverable"), and every value
    from 1 to 4 wherever the table leaves room for it: only a row whose bookings are themselves
    "<5" limits its own cells (outcomes of at least 1 each among at most 4 bookings). Returns
    how many "<5" there are."""
    found_values = possible_values(export, known_total=known_total)
    bookings = export.columns.index("Booked") if "Booked" in export.columns else None
    for (row, column), found in found_values.items():
        assert len(found) >= 2, (name, row, column, found, export)
        line = export.totals if row == -1 else export.rows[row]
        assert line is not None
        if export.columns != ["Measure", "Value"] and (bookings is None or line[bookings] != "<5"):
            assert found == EVERY_VALUE, (name, row, column, found, export)
    return len(found_values)


@pytest.mark.parametrize("seed", range(120))
def test_no_small_count_of_a_random_table_can_be_worked_out(seed: int) -> None:
    figures, built = random_tables(seed)
    for table in built:
        known = heat_map_total(figures) if table.slug == "busiest-hours" else None
        assert_protected(exported(table), table.slug, known_total=known)


def test_the_busiest_hours_cannot_be_worked_out_from_the_key_figures() -> None:
    hours = [[0] * 24 for _day in range(7)]
    hours[0][9], hours[0][10], hours[2][11] = 8, 3, 12  # 23 bookings, as "Key figures" says
    export = exported(tables.busiest_hours_table(trends_with(busiest_hours=hours)))
    values = possible_values(export, known_total=23)
    assert values
    assert all(found == EVERY_VALUE for found in values.values()), values


# --- The exports of a month of visits ---------------------------------------------------------


@pytest.mark.django_db
def test_no_export_of_the_month_gives_a_small_count_away(
    month_of_visits: World, up_admin, national_admin
) -> None:
    roll_up()
    month = trends(Scope(state("UP")), FIRST_DAY, LAST_DAY)
    paths = [(up_admin, f"/dashboard/{slug}.csv") for slug in [*tables.TREND_TABLES, "live"]] + [
        (national_admin, "/dashboard/states.csv"),
        (national_admin, "/dashboard/by-opd.csv"),
        (national_admin, "/dashboard/states/MH/per-day.csv"),
    ]
    smalls = 0
    for user, path in paths:
        client = Client()
        client.force_login(user)
        response = client.get(path, RANGE)
        assert response.status_code == 200, path
        export = Export.parse(response.content.decode("utf-8"))
        if any(path.endswith(f"/{slug}.csv") for slug in RANKED):
            names = [row[0].casefold() for row in export.rows]
            assert names == sorted(names), path
        known = heat_map_total(month) if path.endswith("/busiest-hours.csv") else None
        smalls += assert_protected(export, path, known_total=known)
    assert smalls > 10, "the month must have small counts to protect"
