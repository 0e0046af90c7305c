"""Administrators see their own state's doctors and facilities; others see none of them."""

from __future__ import annotations

import pytest

from tests.conftest import as_user
from tests.factories import DoctorFactory, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def doctors():
    up = DoctorFactory(user__full_name="Dr Up")
    mh = DoctorFactory(user__full_name="Dr Mh", home_state=state("MH"))
    return up, mh


def names(response):
    return sorted(d["name"] for d in response.json()["results"])


def test_a_state_administrator_sees_only_their_states_doctors(api, up_admin, doctors):
    assert names(as_user(api, up_admin).get("/api/doctors/")) == ["Dr Up"]


def test_another_state_administrator_sees_only_theirs(api, mh_admin, doctors):
    assert names(as_user(api, mh_admin).get("/api/doctors/")) == ["Dr Mh"]


def test_the_national_administrator_sees_every_state(api, national_admin, doctors):
    assert names(as_user(api, national_admin).get("/api/doctors/")) == ["Dr Mh", "Dr Up"]


def test_facilities_are_scoped_the_same_way(api, up_admin, doctors):
    facilities = as_user(api, up_admin).get("/api/facilities/").json()["results"]
    assert [f["state"] for f in facilities] == ["UP"]


@pytest.mark.parametrize("persona", ["family", "doctor_user"])
def test_patients_and_doctors_cannot_list_doctors(api, persona, request, doctors):
    user = request.getfixturevalue(persona)
    user = getattr(user, "account", user)
    as_user(api, user)
    assert api.get("/api/doctors/").status_code == 403
    assert api.get("/api/facilities/").status_code == 403


def test_a_doctor_sees_their_own_profile_only(api, doctors):
    up, _mh = doctors
    body = as_user(api, up.user).get("/api/doctors/me/").json()
    assert body["name"] == "Dr Up"
    assert body["registration_number"] == up.registration_number


def test_a_patient_has_no_doctor_profile(api, family):
    assert as_user(api, family.account).get("/api/doctors/me/").status_code == 403


def test_the_staff_page_is_refused_to_signed_out_visitors(client):
    assert client.get("/staff/")["Location"].startswith("/staff/signin/")
