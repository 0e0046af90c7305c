"""The family's ABDM section on the history page (item 8): its own members' ABHA, linked
records, consents and shares, and nobody else's."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from abdm.models import CareContext, Consent, HealthInformationRequest, Share
from patients.models import Patient
from tests.abdm.m2 import SIGNED_AT, signed_visits

pytestmark = pytest.mark.django_db


def shared_record(patient: Patient, requester: str) -> None:
    patient.abha_number = "91123456789015"
    patient.save()
    [visit] = signed_visits(patient)
    context = CareContext.objects.create(
        patient=patient, consultation=visit, reference=visit.public_id, display="x",
        state=CareContext.State.LINKED, linked_at=timezone.now(),
    )  # fmt: skip
    consent = Consent.objects.create(
        consent_id=str(uuid.uuid4()), status="GRANTED", patient=patient, purpose_code="CAREMGT",
        requester=requester, hi_types=["OPConsultation"], date_from=SIGNED_AT - timedelta(days=1),
        date_to=SIGNED_AT + timedelta(days=1), data_erase_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip
    consent.care_contexts.add(context)
    request = HealthInformationRequest.objects.create(
        transaction_id=str(uuid.uuid4()), consent_ref=consent.consent_id, consent=consent,
        push_host="hiu.example.in", state="transferred",
    )  # fmt: skip
    Share.objects.create(
        request=request, consent=consent, care_context=context, hi_type="OPConsultation",
        recipient=requester,
    )  # fmt: skip


def page(client: Client, patient: Patient) -> str:
    client.force_login(patient.account)
    response = client.get(reverse("consultations:history"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_family_sees_its_abha_linked_records_consents_and_shares(
    client: Client, family: Patient
) -> None:
    shared_record(family, "City Hospital, Lucknow")

    html = page(client, family)

    assert 'data-testid="abdm-records"' in html
    assert "91-1234-5678-9015" in html
    assert 'data-testid="care-context" data-state="linked"' in html
    assert 'data-testid="consent" data-status="GRANTED"' in html
    assert "Care management" in html and "Consultation record" in html
    assert html.count('data-testid="share"') == 1 and "City Hospital, Lucknow" in html


def test_another_familys_records_and_shares_are_not_shown(
    client: Client, family: Patient, other_family: Patient
) -> None:
    shared_record(other_family, "Outsider Clinic")

    html = page(client, family)

    assert "Outsider Clinic" not in html
    assert "91-1234-5678-9015" not in html
    assert 'data-testid="share"' not in html and 'data-testid="consent"' not in html


def test_staff_do_not_get_the_familys_page(client: Client, family: Patient, doctor_user) -> None:
    shared_record(family, "City Hospital, Lucknow")
    client.force_login(doctor_user)

    response = client.get(reverse("consultations:history"))

    assert response.status_code == 302
    assert "City Hospital" not in response.content.decode()
