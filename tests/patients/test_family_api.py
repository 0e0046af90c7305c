"""A family's members over the API: validation, ABHA, and isolation between families."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from core.clock import india_today
from patients.models import Patient
from tests.conftest import as_user
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/family/members/"


def member(**overrides):
    data = {
        "relationship": "child",
        "name": "Anjali Kumari",
        "sex": "F",
        "date_of_birth": "2016-07-21",
        "state": "UP",
        "district": 162,  # Lucknow
        "preferred_language": "hi",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def test_it_adds_a_member_with_their_own_patient_id(api, family):
    response = as_user(api, family.account).post(URL, member(), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Anjali Kumari"
    assert len(body["patient_id"].replace("-", "")) == 12
    assert body["patient_id"] != family.display_patient_number
    assert body["warnings"] == []
    listed = [m["name"] for m in api.get(URL).json()]
    assert listed == [family.name, "Anjali Kumari"]


def test_it_takes_an_age_when_the_date_of_birth_is_unknown(api, family):
    body = (
        as_user(api, family.account)
        .post(URL, member(date_of_birth=..., age_years=67, relationship="parent"), format="json")
        .json()
    )
    assert body["age_years"] == 67
    assert body["dob_is_estimated"] is True


def test_it_accepts_names_in_devanagari(api, family):
    response = as_user(api, family.account).post(URL, member(name="  कमला   देवी "), format="json")
    assert response.status_code == 201
    assert response.json()["name"] == "कमला देवी"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"date_of_birth": "2031-01-01"}, "date_of_birth"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth"),
        ({"date_of_birth": "2023-02-30"}, "date_of_birth"),
        ({"date_of_birth": ..., "age_years": 130}, "age_years"),
        ({"date_of_birth": ..., "age_years": -1}, "age_years"),
        ({"date_of_birth": ...}, "date_of_birth"),
        ({"age_years": 30}, "age_years"),
        ({"state": "XX"}, "state"),
        ({"district": 99999999}, "district"),
        ({"state": "MH", "district": 162}, "district"),
        ({"district": ...}, "district"),
        ({"sex": "Z"}, "sex"),
        ({"name": "R2D2"}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"preferred_language": "xx"}, "preferred_language"),
        ({"relationship": "boss"}, "relationship"),
        ({"abha_number": "91-1234-5678"}, "abha_number"),
        ({"abha_address": "1sunita@abdm"}, "abha_address"),
        ({"abha_address": "sun.it.a@abdm"}, "abha_address"),
        ({"abha_address": "sunita@gmail.com"}, "abha_address"),
    ],
)
def test_it_refuses_bad_input_and_writes_nothing(api, family, overrides, field):
    response = as_user(api, family.account).post(URL, member(**overrides), format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert Patient.objects.filter(account=family.account).count() == 1


def test_a_state_without_district_data_needs_no_district(api, family):
    response = as_user(api, family.account).post(
        URL, member(state="RJ", district=...), format="json"
    )
    assert response.status_code == 201
    assert response.json()["district"] is None


def test_abha_checksum_is_a_warning_not_a_refusal(api, family):
    response = as_user(api, family.account).post(
        URL, member(abha_number="91-1234-5678-9012"), format="json"
    )
    assert response.status_code == 201
    assert [w["code"] for w in response.json()["warnings"]] == ["abha_checksum"]


def test_a_valid_abha_is_normalised_and_shown_grouped(api, family):
    # 91 4163 2897 3647 passes Luhn.
    response = as_user(api, family.account).post(
        URL,
        member(abha_number="91416328973647", abha_address="Anjali.Kumari@SBX"),
        format="json",
    )
    body = response.json()
    assert body["abha_number"] == "91-4163-2897-3647"
    assert body["abha_address"] == "anjali.kumari@sbx"
    assert body["warnings"] == []


def test_two_members_of_one_family_cannot_share_an_abha(api, family):
    as_user(api, family.account).post(URL, member(abha_number="91416328973647"), format="json")
    response = api.post(URL, member(name="Ravi Kumar", abha_number="91416328973647"), format="json")
    assert response.status_code == 409
    assert "abha_number" in response.json()["error"]["fields"]


def test_a_second_account_holder_is_refused(api, family):
    response = as_user(api, family.account).post(URL, member(relationship="self"), format="json")
    assert response.status_code == 409


@override_settings(FAMILY_MAX_MEMBERS=2)
def test_a_family_has_a_size_limit(api, family):
    as_user(api, family.account)
    assert api.post(URL, member(), format="json").status_code == 201
    response = api.post(URL, member(name="Ravi Kumar"), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "family_full"


def test_it_updates_a_member(api, family):
    created = as_user(api, family.account).post(URL, member(), format="json").json()
    response = api.patch(f"{URL}{created['id']}/", {"name": "Anjali Verma"}, format="json")
    assert response.status_code == 200
    assert api.get(f"{URL}{created['id']}/").json()["name"] == "Anjali Verma"


def test_an_update_cannot_make_a_future_birthday(api, family):
    tomorrow = (india_today() + timedelta(days=1)).isoformat()
    response = as_user(api, family.account).patch(
        f"{URL}{family.public_id}/", {"date_of_birth": tomorrow}, format="json"
    )
    assert response.status_code == 400
    family.refresh_from_db()
    assert family.date_of_birth.isoformat() == "1990-05-17"


def test_removing_a_member_keeps_their_record(api, family):
    created = as_user(api, family.account).post(URL, member(), format="json").json()
    assert api.delete(f"{URL}{created['id']}/").status_code == 204
    assert api.get(f"{URL}{created['id']}/").status_code == 404
    assert Patient.objects.get(public_id=created["id"]).archived_at is not None


def test_the_account_holder_cannot_be_removed(api, family):
    response = as_user(api, family.account).delete(f"{URL}{family.public_id}/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "account_holder_locked"


def test_another_family_sees_nothing_of_ours(api, family, other_family):
    child = PatientFactory(account=family.account, relationship="child", name="Anjali")
    as_user(api, other_family.account)
    assert [m["id"] for m in api.get(URL).json()] == [str(other_family.public_id)]
    for target in (family, child):
        path = f"{URL}{target.public_id}/"
        assert api.get(path).status_code == 404
        assert api.patch(path, {"name": "Hacked"}, format="json").status_code == 404
        assert api.delete(path).status_code == 404
    child.refresh_from_db()
    assert child.name == "Anjali"
    assert child.archived_at is None


@pytest.mark.parametrize("persona", ["doctor_user", "up_admin", "national_admin"])
def test_staff_have_no_family_endpoint(api, family, persona, request):
    as_user(api, request.getfixturevalue(persona))
    assert api.get(URL).status_code == 403
    assert api.get(f"{URL}{family.public_id}/").status_code == 403


def test_anonymous_callers_are_asked_to_sign_in(api, family):
    response = api.get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_session_callers_need_a_csrf_token(family):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(family.account)
    response = client.post(URL, member(), format="json")
    assert response.status_code == 403
    assert Patient.objects.filter(account=family.account).count() == 1
