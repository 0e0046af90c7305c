"""The dashboard pages: who may open which, the date range, and what the page holds."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from accounts.models import User
from core.clock import india_today
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


def page(client: Client, path: str, **query: str):
    return client.get(path, {**RANGE, **query})


# --- Who may look ------------------------------------------------------------------------------


def test_it_sends_an_anonymous_visitor_to_staff_sign_in(client: Client) -> None:
    for path in ("/dashboard/", "/dashboard/states/UP/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/signin/")


def test_it_refuses_patients_and_doctors(outsiders) -> None:
    for user in outsiders.values():
        for path in ("/dashboard/", "/dashboard/states/UP/"):
            response = signed_in(user).get(path)
            assert response.status_code == 403, (user.role, path)
            assert "Uttar Pradesh" not in response.content.decode()


def test_it_shows_a_state_administrator_their_state(rolled_up, up_admin) -> None:
    client = signed_in(up_admin)
    for path in ("/dashboard/", "/dashboard/states/UP/", "/dashboard/states/up/"):
        response = page(client, path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert "<h1>Dashboard: Uttar Pradesh</h1>" in body
        assert 'data-table="states"' not in body
        assert 'data-state="UP"' in body


def test_it_refuses_a_state_administrator_another_state(rolled_up, up_admin) -> None:
    response = page(signed_in(up_admin), "/dashboard/states/MH/")
    assert response.status_code == 403
    assert "Maharashtra" not in response.content.decode()


def test_it_shows_the_national_administrator_every_state(rolled_up, national_admin) -> None:
    response = page(signed_in(national_admin), "/dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>National dashboard</h1>" in body
    states = re.search(r'<table[^>]*data-table="states".*?</table>', body, re.S)
    assert states is not None
    rows = re.findall(r"<tbody data-rows>(.*?)</tbody>", states.group(0), re.S)[0]
    assert rows.count("<tr>") == 36
    assert f'href="/dashboard/states/MH/?start={RANGE["start"]}&amp;end={RANGE["end"]}"' in rows
    assert "All of India" in states.group(0)


def test_it_lets_the_national_administrator_drill_down_into_any_state(
    rolled_up, national_admin
) -> None:
    response = page(signed_in(national_admin), "/dashboard/states/MH/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Dashboard: Maharashtra</h1>" in body
    assert "All states and UTs" in body


def test_it_answers_404_for_a_state_that_does_not_exist(national_admin) -> None:
    assert page(signed_in(national_admin), "/dashboard/states/ZZ/").status_code == 404


def test_it_links_administrators_to_their_dashboard(up_admin, national_admin, doctor_user) -> None:
    for user in (up_admin, national_admin):
        body = signed_in(user).get("/staff/").content.decode()
        assert 'href="/dashboard/"' in body
        assert "Open the dashboard" in body
    assert 'href="/dashboard/"' not in signed_in(doctor_user).get("/staff/").content.decode()


# --- The date range ----------------------------------------------------------------------------


def test_it_shows_the_last_30_days_in_india_by_default(up_admin) -> None:
    response = signed_in(up_admin).get("/dashboard/")
    assert response.status_code == 200
    period = response.context["period"]
    assert period.end == india_today()
    assert period.start == india_today() - timedelta(days=29)
    assert f'value="{period.start.isoformat()}"' in response.content.decode()


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, "start", "on or before the end date"),
        ({"start": "2024-01-01", "end": "2025-06-30"}, "start", "at most 366 days"),
        ({"end": "2999-01-01"}, "end", "cannot be after today"),
        ({"start": "2999-01-01"}, "start", "cannot be after today"),
        ({"start": "yesterday"}, "start", "Enter a date as YYYY-MM-DD"),
        ({"start": "2026-02-30"}, "start", "Enter a date as YYYY-MM-DD"),
    ],
)
def test_it_answers_400_for_dates_it_cannot_show(up_admin, query, field, message) -> None:
    response = signed_in(up_admin).get("/dashboard/", query)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert f'id="id_{field}_errors"' in body


def test_it_accepts_a_full_year(up_admin) -> None:
    end = india_today()
    start = end - timedelta(days=365)
    query = {"start": start.isoformat(), "end": end.isoformat()}
    assert signed_in(up_admin).get("/dashboard/", query).status_code == 200


# --- What the page holds -------------------------------------------------------------------------


def test_it_shows_the_figures_of_the_range(rolled_up, up_admin) -> None:
    response = page(signed_in(up_admin), "/dashboard/")
    body = response.content.decode()
    expected = trends(Scope(state("UP")), FIRST_DAY, LAST_DAY)
    booked = sum(p.booked for p in expected.per_day)
    assert booked > 0
    per_day = re.search(r'data-table="per-day".*?</table>', body, re.S)
    assert per_day is not None
    assert per_day.group(0).count("<tr>") == 1 + (LAST_DAY - FIRST_DAY).days + 1 + 1
    assert f'<td class="num">{booked}</td>' in per_day.group(0)
    for panel in (
        "summary",
        "per-day",
        "by-opd",
        "by-speciality",
        "by-district",
        "by-sex-age",
        "busiest-hours",
        "doctors",
    ):
        assert f'data-testid="panel-{panel}"' in body
        assert f'href="/dashboard/{panel}.csv?start=' in body or (
            f'href="/dashboard/states/UP/{panel}.csv?start=' in body
        )
    assert "Dr Asha Verma" in body
    assert "Lucknow" in body


def test_it_draws_charts_from_data_beside_them_without_inline_script(rolled_up, up_admin) -> None:
    body = page(signed_in(up_admin), "/dashboard/").content.decode()
    canvases = re.findall(r'<canvas data-chart="([^"]+)"', body)
    assert "chart-data-per-day" in canvases
    for chart in canvases:
        assert f'<script id="{chart}" type="application/json">' in body
    for script in re.findall(r"<script[^>]*>", body):
        assert "src=" in script or 'type="application/json"' in script, script
    assert "vendor/chart.js/chart.umd.js" in body
    assert "style=" not in body


def test_it_shades_the_busiest_hours(rolled_up, up_admin) -> None:
    body = page(signed_in(up_admin), "/dashboard/").content.decode()
    heat_map = re.search(r'data-table="busiest-hours".*?</table>', body, re.S)
    assert heat_map is not None
    assert "heat-5" in heat_map.group(0)
    assert heat_map.group(0).count("<tr>") == 1 + 7


def test_it_shows_who_is_waiting_right_now(rolled_up, up_admin) -> None:
    response = page(signed_in(up_admin), "/dashboard/")
    live = response.context["live"]
    assert [o.name for o in live.opds] == sorted(o.name for o in live.opds)
    body = response.content.decode()
    assert 'data-ws-path="/ws/dashboard/live/"' in body
    assert f'data-live-figure="waiting">{live.waiting}<' in body


def test_it_speaks_hindi(rolled_up, up_admin) -> None:
    client = signed_in(up_admin)
    client.cookies["django_language"] = "hi"
    response = page(client, "/dashboard/")
    assert response.status_code == 200
    assert '<html lang="hi">' in response.content.decode()
