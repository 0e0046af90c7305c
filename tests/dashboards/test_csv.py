"""CSV exports: scoped like the pages, Excel-friendly, and small counts suppressed."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from accounts.models import User
from dashboards.cells import Cell
from dashboards.queries import trends
from dashboards.selectors import Scope
from tests.dashboards.conftest import FIRST_DAY, LAST_DAY, World
from tests.dashboards.support import RANGE, outsider_accounts, roll_up
from tests.factories import state

pytestmark = pytest.mark.django_db


@pytest.fixture
def rolled_up(month_of_visits: World) -> World:
    roll_up()
    return month_of_visits


@pytest.fixture
def outsiders(family, doctor_user) -> dict[str, User]:
    return outsider_accounts(family, doctor_user)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows_of(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff"), "no byte-order mark: Excel would misread Hindi names"
    return list(csv.reader(io.StringIO(text[1:])))


def test_it_exports_a_table_with_a_file_name_and_a_byte_order_mark(rolled_up, up_admin) -> None:
    response = signed_in(up_admin).get("/dashboard/per-day.csv", RANGE)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="esanjeevani-UP-per-day-20260302-20260311.csv"'
    )
    assert "no-store" in response["Cache-Control"]
    rows = rows_of(response)
    assert rows[0] == ["Day", "Booked", "Completed", "Cancelled", "No-shows", "Prescriptions"]
    assert rows[1][0] == FIRST_DAY.isoformat()
    assert rows[-2][0] == LAST_DAY.isoformat()
    assert rows[-1][0] == "Total"


def test_it_writes_counts_from_1_to_4_as_under_5_and_keeps_0(rolled_up, up_admin) -> None:
    expected = trends(Scope(state("UP")), FIRST_DAY, LAST_DAY)
    rows = rows_of(signed_in(up_admin).get("/dashboard/per-day.csv", RANGE))[1:-1]
    seen = set()
    for row, point in zip(rows, expected.per_day, strict=True):
        figures = (point.booked, point.completed, point.cancelled, point.no_show)
        for written, value in zip(row[1:5], figures, strict=True):
            if value == 0:
                assert written == "0"
            elif value < 5:
                assert written == "<5"
            else:  # exact, or withheld so that no "<5" can be worked out (test_suppression)
                assert written in (str(value), "x")
            seen.add(written if written in ("0", "<5") else "5+")
    assert seen == {"0", "<5", "5+"}, "the data must exercise every case"


def test_it_suppresses_small_cells_in_every_kind_of_table(rolled_up, up_admin) -> None:
    client = signed_in(up_admin)
    for table in ("by-sex-age", "by-district", "doctors", "busiest-hours", "summary"):
        rows = rows_of(client.get(f"/dashboard/{table}.csv", RANGE))
        for row in rows[1:]:
            for value in row[1:]:
                if value.isdigit():
                    assert int(value) == 0 or int(value) >= 5, (table, row)


def test_it_leaves_rates_and_durations_unsuppressed(rolled_up, up_admin) -> None:
    rows = dict(rows_of(signed_in(up_admin).get("/dashboard/summary.csv", RANGE))[1:])
    expected = trends(Scope(state("UP")), FIRST_DAY, LAST_DAY)
    assert expected.wait_median_seconds is not None
    assert rows["Median wait (minutes)"] == f"{expected.wait_median_seconds / 60:.1f}"
    assert rows["Booked"] == str(sum(p.booked for p in expected.per_day))


def test_it_exports_every_state_for_the_national_administrator(rolled_up, national_admin) -> None:
    response = signed_in(national_admin).get("/dashboard/states.csv", RANGE)
    assert response.status_code == 200
    assert "esanjeevani-IN-states-" in response["Content-Disposition"]
    rows = rows_of(response)
    assert rows[0][0] == "State or UT"
    assert len(rows) == 1 + 36 + 1
    assert rows[-1][0] == "All of India"
    names = [row[0] for row in rows[1:-1]]
    assert "Maharashtra" in names and "Lakshadweep" in names


def test_it_scopes_a_drill_down_export_like_its_page(rolled_up, national_admin, up_admin) -> None:
    response = signed_in(national_admin).get("/dashboard/states/MH/by-district.csv", RANGE)
    assert response.status_code == 200
    districts = {row[0] for row in rows_of(response)[1:-1]}
    assert districts == {"Pune", "Nagpur"}
    up = {row[0] for row in rows_of(signed_in(up_admin).get("/dashboard/by-district.csv", RANGE))}
    assert "Lucknow" in up and "Pune" not in up


def test_it_refuses_exports_outside_the_scope(rolled_up, up_admin, outsiders, client) -> None:
    admin = signed_in(up_admin)
    assert admin.get("/dashboard/states/MH/per-day.csv", RANGE).status_code == 403
    assert admin.get("/dashboard/states.csv", RANGE).status_code == 404
    for user in outsiders.values():
        for path in ("/dashboard/per-day.csv", "/dashboard/states/UP/per-day.csv"):
            assert signed_in(user).get(path, RANGE).status_code == 403
    response = client.get("/dashboard/states/UP/per-day.csv", RANGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/signin/")


def test_it_answers_404_for_an_unknown_table(up_admin) -> None:
    assert signed_in(up_admin).get("/dashboard/patients.csv").status_code == 404


def test_it_answers_400_for_bad_dates(up_admin) -> None:
    response = signed_in(up_admin).get("/dashboard/per-day.csv", {"start": "2026-13-01"})
    assert response.status_code == 400
    assert "Enter a date as YYYY-MM-DD" in response.content.decode()


def test_it_exports_the_live_table(rolled_up, up_admin) -> None:
    rows = rows_of(signed_in(up_admin).get("/dashboard/live.csv"))
    assert rows[0][:2] == ["OPD", "Waiting"]
    assert rows[-1][0] == "Total"


def test_a_name_that_looks_like_a_formula_stays_text() -> None:
    assert Cell("=HYPERLINK(1)").export == "'=HYPERLINK(1)"
    assert Cell("-5 district").export == "'-5 district"
    assert Cell("Lucknow").export == "Lucknow"
    assert Cell(3, "count").export == "<5"
    assert Cell(3, "count").display == "3"
    assert Cell(None, "minutes").export == ""
