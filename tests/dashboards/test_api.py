"""The dashboards' API: scoped like the pages, refusals in the one error envelope."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from dashboards.queries import trends
from dashboards.selectors import Scope
from tests.conftest import as_user
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


ENDPOINTS = ("/api/dashboards/trends/", "/api/dashboards/states/", "/api/dashboards/live/")


def test_it_gives_a_state_administrator_their_state(rolled_up, api: APIClient, up_admin) -> None:
    response = as_user(api, up_admin).get("/api/dashboards/trends/", RANGE)
    assert response.status_code == 200
    body = response.json()
    expected = trends(Scope(state("UP")), FIRST_DAY, LAST_DAY)
    assert body["state"] == "UP"
    assert body["start"] == RANGE["start"] and body["end"] == RANGE["end"]
    assert len(body["per_day"]) == len(expected.per_day) == 10
    assert body["per_day"][0]["booked"] == expected.per_day[0].booked
    assert body["wait_median_seconds"] == expected.wait_median_seconds
    assert len(body["busiest_hours"]) == 7 and len(body["busiest_hours"][0]) == 24
    assert {"key", "name", "booked", "completed"} == set(body["by_opd"][0])
    assert {d["name"] for d in body["doctors"]} >= {"Dr Asha Verma"}
    assert "patient" not in str(body).lower()


def test_it_refuses_a_state_administrator_another_state(api: APIClient, up_admin) -> None:
    response = as_user(api, up_admin).get("/api/dashboards/trends/", {"state": "MH"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    response = as_user(api, up_admin).get("/api/dashboards/live/", {"state": "MH"})
    assert response.status_code == 403


def test_it_keeps_the_national_view_for_the_national_administrator(
    rolled_up, api: APIClient, up_admin, national_admin
) -> None:
    assert as_user(api, up_admin).get("/api/dashboards/states/", RANGE).status_code == 403
    response = as_user(APIClient(), national_admin).get("/api/dashboards/states/", RANGE)
    assert response.status_code == 200
    body = response.json()
    assert len(body["states"]) == 36
    assert body["totals"]["booked"] == sum(row["booked"] for row in body["states"]) > 0


def test_it_lets_the_national_administrator_see_the_country_and_any_state(
    rolled_up, api: APIClient, national_admin
) -> None:
    client = as_user(api, national_admin)
    country = client.get("/api/dashboards/trends/", RANGE).json()
    assert country["state"] is None
    maharashtra = client.get("/api/dashboards/trends/", {**RANGE, "state": "mh"}).json()
    assert maharashtra["state"] == "MH"
    assert sum(d["booked"] for d in maharashtra["per_day"]) < sum(
        d["booked"] for d in country["per_day"]
    )


def test_it_refuses_patients_doctors_and_strangers(api: APIClient, outsiders) -> None:
    for path in ENDPOINTS:
        response = APIClient().get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "not_authenticated"
        for user in outsiders.values():
            response = as_user(APIClient(), user).get(path)
            assert response.status_code == 403, (path, user.role)
            assert response.json()["error"]["code"] == "permission_denied"


def test_it_answers_404_for_an_unknown_state(api: APIClient, national_admin) -> None:
    response = as_user(api, national_admin).get("/api/dashboards/live/", {"state": "ZZ"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, "start"),
        ({"start": "2020-01-01", "end": "2026-03-01"}, "start"),
        ({"end": "2999-01-01"}, "end"),
        ({"start": "not-a-date"}, "start"),
        ({"state": "Uttar Pradesh"}, "state"),
    ],
)
def test_it_refuses_bad_input_in_the_envelope(api: APIClient, up_admin, query, field) -> None:
    response = as_user(api, up_admin).get("/api/dashboards/trends/", query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]


def test_it_tells_what_is_happening_right_now(rolled_up, api: APIClient, up_admin) -> None:
    body = as_user(api, up_admin).get("/api/dashboards/live/").json()
    assert body["type"] == "live"
    assert body["at"].endswith("+05:30")
    assert set(body) >= {"waiting", "doctors_on_duty", "in_consultation", "longest_wait_seconds"}
    assert all(set(opd) >= {"id", "name", "waiting"} for opd in body["opds"])


def test_the_schema_documents_the_dashboards(client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ENDPOINTS:
        assert path in schema["paths"]
    parameters = {
        p["name"] for p in schema["paths"]["/api/dashboards/trends/"]["get"]["parameters"]
    }
    assert parameters == {"state", "start", "end"}
    assert "403" in schema["paths"]["/api/dashboards/states/"]["get"]["responses"]
