"""Downloading a prescription (PDF and FHIR bundle): the patient's family and the assigned
doctor may, nobody else."""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
import types

import pytest
from django.urls import reverse

from consultations import services
from consultations.models import Prescription
from tests.consultations.prescribing import correct, sign
from tests.factories import DoctorFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def signed(visit, django_capture_on_commit_callbacks) -> Prescription:
    """Signed, with the PDF rendered by the task as it runs after the commit."""
    return sign(visit, django_capture_on_commit_callbacks, render=True)


@pytest.fixture
def fhir_bundle(monkeypatch):
    """consultations.fhir's document_bundle; a stand-in of the same shape until it lands."""
    try:
        return importlib.import_module("consultations.fhir").document_bundle
    except ModuleNotFoundError:

        def document_bundle(rx):
            return {
                "resourceType": "Bundle",
                "type": "document",
                "identifier": {"value": rx.display_number},
            }

        module = types.ModuleType("consultations.fhir")
        module.document_bundle = document_bundle  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "consultations.fhir", module)
        return document_bundle


def pdf_url(prescription: Prescription) -> str:
    return f"/prescriptions/{prescription.public_id}/pdf/"


def fhir_url(prescription: Prescription) -> str:
    return f"/prescriptions/{prescription.public_id}/fhir/"


def test_it_gives_the_family_the_pdf(client, visit, signed):
    client.force_login(visit.patient.account)
    response = client.get(pdf_url(signed))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF")
    assert hashlib.sha256(body).hexdigest() == Prescription.objects.get(pk=signed.pk).pdf_sha256
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="prescription-{signed.number}.pdf"'
    )


def test_it_keeps_the_pdf_out_of_shared_caches(client, visit, signed):
    client.force_login(visit.patient.account)
    cache_control = client.get(pdf_url(signed))["Cache-Control"]
    assert "private" in cache_control
    assert "no-store" in cache_control


def test_it_gives_the_assigned_doctor_the_pdf(client, visit, signed):
    client.force_login(visit.doctor.user)
    response = client.get(pdf_url(signed))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_it_hides_the_pdf_from_another_family(client, signed):
    client.force_login(PatientFactory().account)
    assert client.get(pdf_url(signed)).status_code == 404


def test_it_hides_the_pdf_from_another_doctor(client, signed):
    client.force_login(DoctorFactory().user)
    assert client.get(pdf_url(signed)).status_code == 404


def test_it_sends_an_anonymous_visitor_to_sign_in(client, signed, settings):
    response = client.get(pdf_url(signed))
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse(settings.LOGIN_URL)}?next=")


def test_it_renders_a_pdf_the_worker_has_not_stored_yet(
    client, visit, django_capture_on_commit_callbacks
):
    prescription = sign(visit, django_capture_on_commit_callbacks, render=False)
    assert not prescription.pdf
    client.force_login(visit.patient.account)
    response = client.get(pdf_url(prescription))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert Prescription.objects.get(pk=prescription.pk).pdf_sha256


def test_it_has_no_pdf_for_a_draft(client, visit, signed):
    draft = services.start_correction(signed, doctor=visit.doctor)
    client.force_login(visit.doctor.user)
    assert client.get(pdf_url(draft)).status_code == 409


def test_it_names_a_corrected_version_in_the_file_name(
    client, visit, signed, django_capture_on_commit_callbacks
):
    second = correct(visit, signed, django_capture_on_commit_callbacks, render=True)
    client.force_login(visit.patient.account)
    response = client.get(pdf_url(second))
    assert f'filename="prescription-{signed.number}-v2.pdf"' in response["Content-Disposition"]


def test_it_gives_the_family_the_fhir_bundle(client, visit, signed, fhir_bundle):
    client.force_login(visit.patient.account)
    response = client.get(fhir_url(signed))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response["Content-Disposition"] == (
        f'attachment; filename="prescription-{signed.number}.fhir.json"'
    )
    bundle = json.loads(response.content)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "document")


def test_it_gives_the_assigned_doctor_the_fhir_bundle(client, visit, signed, fhir_bundle):
    client.force_login(visit.doctor.user)
    assert client.get(fhir_url(signed)).status_code == 200


def test_it_hides_the_fhir_bundle_from_another_family(client, signed, fhir_bundle):
    client.force_login(PatientFactory().account)
    assert client.get(fhir_url(signed)).status_code == 404


def test_it_hides_the_fhir_bundle_from_another_doctor(client, signed, fhir_bundle):
    client.force_login(DoctorFactory().user)
    assert client.get(fhir_url(signed)).status_code == 404
