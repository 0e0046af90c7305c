"""The public verification page the QR code opens: genuine or not, and nothing more than a
pharmacist needs."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core import signing

from consultations.verify import verification_token, verification_url
from tests.consultations.prescribing import correct, sign

pytestmark = pytest.mark.django_db


def page_of(prescription) -> str:
    return urlsplit(verification_url(prescription)).path


def test_it_confirms_a_genuine_prescription_without_sign_in(
    client, visit, django_capture_on_commit_callbacks
):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    response = client.get(page_of(prescription))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Genuine" in page
    assert prescription.display_number in page
    assert "10 Mar 2026, 10:30 IST" in page
    assert "Superseded" not in page


def test_it_writes_the_hindi_date_with_the_month_in_full(
    client, visit, django_capture_on_commit_callbacks
):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    page = client.get(page_of(prescription), HTTP_ACCEPT_LANGUAGE="hi").content.decode()
    assert "10 मार्च 2026, 10:30" in page


def test_it_names_the_doctor_and_registration(client, visit, django_capture_on_commit_callbacks):
    page = client.get(page_of(sign(visit, django_capture_on_commit_callbacks))).content.decode()
    assert "Dr Asha Verma" in page
    assert "UPMC-45821" in page
    assert "Uttar Pradesh Medical Council" in page


def test_it_lists_the_medicines_to_dispense(client, visit, django_capture_on_commit_callbacks):
    page = client.get(page_of(sign(visit, django_capture_on_commit_callbacks))).content.decode()
    assert "Paracetamol 500 mg Tablet" in page
    assert "1 tablet" in page
    assert "Three times a day" in page
    assert "3 days" in page
    assert "ORS 21 g Powder or sachet" in page


def test_it_reveals_nothing_more_than_a_pharmacist_needs(
    client, visit, django_capture_on_commit_callbacks
):
    patient = visit.patient
    patient.abha_number = "91123456789012"
    patient.abha_address = "sunita.devi@abdm"
    patient.save(update_fields=["abha_number", "abha_address"])
    page = client.get(page_of(sign(visit, django_capture_on_commit_callbacks))).content.decode()
    assert "S. D." in page
    assert "35 years" in page
    assert "Female" in page
    for private in [
        "Sunita Devi",
        "Sunita",
        patient.patient_number,
        patient.display_patient_number,
        "91123456789012",
        "91-1234-5678-9012",
        "sunita.devi@abdm",
        patient.account.mobile,
        "Acute viral fever",  # diagnosis
        "B34.9",
        "Fever for 3 days",  # chief complaints
        "asthmatic",  # history
        "Throat congested",  # examination
        "38.4",  # vitals
        "Complete blood count",  # investigations
        "Drink plenty of fluids",  # advice
    ]:
        assert private not in page


def test_it_refuses_a_tampered_token(client, visit, django_capture_on_commit_callbacks):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    code, signature = verification_token(prescription).split(":")
    forged = f"{code[:-1]}{'A' if code[-1] != 'A' else 'B'}:{signature}"
    response = client.get(f"/verify/{forged}/")
    assert response.status_code == 404
    assert prescription.display_number not in response.content.decode()


def test_it_refuses_the_bare_code_without_its_signature(
    client, visit, django_capture_on_commit_callbacks
):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    assert client.get(f"/verify/{prescription.verification_code}/").status_code == 404


def test_it_refuses_a_code_signed_for_another_purpose(
    client, visit, django_capture_on_commit_callbacks
):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    other = signing.Signer(salt="something-else").sign(str(prescription.verification_code))
    assert client.get(f"/verify/{other}/").status_code == 404


def test_it_warns_that_a_corrected_prescription_is_superseded(
    client, visit, django_capture_on_commit_callbacks
):
    first = sign(visit, django_capture_on_commit_callbacks)
    second = correct(visit, first, django_capture_on_commit_callbacks)
    first.refresh_from_db()
    response = client.get(page_of(first))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="superseded"' in page
    assert f"has been replaced by a correction: {second.display_number}" in page


def test_it_shows_the_correction_as_current(client, visit, django_capture_on_commit_callbacks):
    first = sign(visit, django_capture_on_commit_callbacks)
    second = correct(visit, first, django_capture_on_commit_callbacks)
    page = client.get(page_of(second)).content.decode()
    assert second.display_number in page
    assert 'data-testid="superseded"' not in page


def test_it_is_never_cached_nor_indexed(client, visit, django_capture_on_commit_callbacks):
    response = client.get(page_of(sign(visit, django_capture_on_commit_callbacks)))
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_it_builds_the_address_from_the_public_base_url(
    visit, django_capture_on_commit_callbacks, settings
):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    settings.PUBLIC_BASE_URL = "https://esanjeevani.example.in/"
    assert verification_url(prescription) == (
        f"https://esanjeevani.example.in/verify/{verification_token(prescription)}/"
    )
