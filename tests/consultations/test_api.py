"""The prescription API: who may write, who may read, and what is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consultations.models import Prescription
from core.clock import india_today
from tests.conftest import as_user
from tests.factories import DoctorFactory, PatientFactory

pytestmark = pytest.mark.django_db

MEDICINE = {
    "name": "Amoxicillin", "strength": "500 mg", "dosage_form": "capsule", "dose": "1 capsule",
    "frequency": "tds", "duration_days": 5, "timing": "after_food",
}  # fmt: skip


def draft(**overrides):
    body = {
        "chief_complaints": "Sore throat, fever",
        "diagnosis": "Acute pharyngitis",
        "icd10_code": "j02.9",
        "vitals": {"temperature_c": 38.4, "pulse": 96},
        "advice": "Warm saline gargles",
        "medicines": [MEDICINE],
    }
    body.update(overrides)
    return body


def url(visit, tail=""):
    return f"/api/consultations/{visit.public_id}/{tail}"


def test_the_doctor_opens_the_consultation_with_a_draft_from_the_complaint(api, visit):
    body = as_user(api, visit.doctor.user).get(url(visit)).json()
    assert body["token"] == visit.token
    assert body["draft"]["chief_complaints"] == "Fever"
    assert body["draft"]["status"] == "draft"


def test_the_draft_saves_and_normalises(api, visit):
    response = as_user(api, visit.doctor.user).put(url(visit, "draft/"), draft(), format="json")
    assert response.status_code == 200
    saved = response.json()
    assert saved["icd10_code"] == "J02.9"
    assert saved["medicines"][0]["name"] == "Amoxicillin"
    assert api.get(url(visit)).json()["draft"]["diagnosis"] == "Acute pharyngitis"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"vitals": {"temperature_c": 60}}, "vitals"),
        ({"vitals": {"mood": 3}}, "vitals"),
        ({"icd10_code": "flu"}, "icd10_code"),
        ({"follow_up_on": (india_today() - timedelta(days=2)).isoformat()}, "follow_up_on"),
        ({"medicines": [{**MEDICINE, "dosage_form": "potion"}]}, "medicines.0.dosage_form"),
        ({"medicines": [{**MEDICINE, "duration_days": 0}]}, "medicines.0.duration_days"),
        ({"medicines": [MEDICINE] * 21}, "medicines"),
        ({"diagnosis": "x" * 1001}, "diagnosis"),
    ],
)
def test_bad_draft_input_is_refused_by_field(api, visit, overrides, field):
    response = as_user(api, visit.doctor.user).put(
        url(visit, "draft/"), draft(**overrides), format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_signing_a_draft_with_a_medicine_missing_its_dose_names_it(api, visit):
    as_user(api, visit.doctor.user).put(
        url(visit, "draft/"), draft(medicines=[{**MEDICINE, "dose": ""}]), format="json"
    )
    response = api.post(url(visit, "finalise/"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "incomplete"
    assert "medicines.0" in error["fields"]


def test_a_final_prescription_cannot_be_edited_or_signed_again(api, visit):
    as_user(api, visit.doctor.user).put(url(visit, "draft/"), draft(), format="json")
    final = api.post(url(visit, "finalise/")).json()
    assert final["status"] == "final"
    assert final["number"].startswith("RX")
    assert api.put(url(visit, "draft/"), draft(), format="json").status_code == 409
    assert api.post(url(visit, "finalise/")).status_code == 409


def test_another_doctor_and_patients_cannot_write(api, visit):
    for user, status in ((DoctorFactory().user, 404), (visit.patient.account, 403)):
        as_user(api, user)
        assert api.get(url(visit)).status_code == status
        assert api.put(url(visit, "draft/"), draft(), format="json").status_code == status
        assert api.post(url(visit, "finalise/")).status_code == status


def test_the_family_reads_final_prescriptions_only(api, visit):
    as_user(api, visit.doctor.user).put(url(visit, "draft/"), draft(), format="json")
    as_user(api, visit.patient.account)
    assert api.get("/api/prescriptions/").json() == []  # the draft is the doctor's
    as_user(api, visit.doctor.user).post(url(visit, "finalise/"))
    listed = as_user(api, visit.patient.account).get("/api/prescriptions/").json()
    assert [p["status"] for p in listed] == ["final"]
    assert listed[0]["pdf_url"].endswith("/pdf/")


def test_another_family_sees_no_prescription(api, visit):
    as_user(api, visit.doctor.user).put(url(visit, "draft/"), draft(), format="json")
    final = api.post(url(visit, "finalise/")).json()
    as_user(api, PatientFactory().account)
    assert api.get("/api/prescriptions/").json() == []
    assert api.get(f"/api/prescriptions/{final['id']}/").status_code == 404


def test_a_correction_is_a_new_version_and_the_old_stays(api, visit):
    as_user(api, visit.doctor.user).put(url(visit, "draft/"), draft(), format="json")
    first = api.post(url(visit, "finalise/")).json()
    correction = api.post(f"/api/prescriptions/{first['id']}/correct/").json()
    assert (correction["status"], correction["version"]) == ("draft", 2)
    api.put(url(visit, "draft/"), draft(diagnosis="Streptococcal pharyngitis"), format="json")
    second = api.post(url(visit, "finalise/")).json()
    assert second["number"] == f"{first['number']}/2"
    statuses = dict(Prescription.objects.values_list("version", "status"))
    assert statuses == {1: "superseded", 2: "final"}
    as_user(api, visit.patient.account)
    assert {p["number"] for p in api.get("/api/prescriptions/").json()} == {
        first["number"], second["number"],
    }  # fmt: skip


def test_only_the_doctor_may_start_a_correction(api, visit):
    as_user(api, visit.doctor.user).put(url(visit, "draft/"), draft(), format="json")
    first = api.post(url(visit, "finalise/")).json()
    as_user(api, visit.patient.account)
    assert api.post(f"/api/prescriptions/{first['id']}/correct/").status_code == 403
