"""The whole ABDM journey, through the offline gateway playing the consent manager and PHR app,
with a real Celery worker doing our side's work: a family links Sunita's ABHA on our pages, her
signed consultations are linked to it, the PHR app grants a consent and asks for the data, the
documents arrive encrypted and every check passes, the family's history shows what was shared
with whom; a revoked consent then gets nothing, a denied one never reaches us."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from abdm.models import CareContext, Consent, HealthInformationRequest, Share
from patients.models import Patient, Sex
from tests.abdm.m2 import SIGNED_AT, signed_visits
from tests.abdm.test_worker import WAIT_SECONDS, worker  # noqa: F401 - the fixture, by name
from tests.abdm_gateway.harness import HIP_ID, Gateway
from tests.e2e.processes import ManagedProcess
from tests.factories import PatientFactory
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ABHA_NUMBER = "91-1234-5678-9015"


def iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def link_on_our_pages(client: Client, member: Patient) -> None:
    base = f"/family/{member.public_id}/abha/"
    answer = client.post(f"{base}link/", {"method": "abha-number", "identifier": ABHA_NUMBER})
    assert answer.status_code == 302, answer.content[:300]
    answer = client.post(f"{base}code/", {"otp": "123456"})
    assert answer.status_code == 302, answer.content[:300]
    preview = client.get(f"{base}link/confirm/")
    assert b'data-testid="abha-matches"' in preview.content  # her details match ours
    assert client.post(f"{base}link/confirm/").status_code == 302
    member.refresh_from_db()
    assert member.abha_number == ABHA_NUMBER.replace("-", "")


def gateway_wait(
    read: Callable[[], Any], until: Callable[[Any], bool], what: str, process: ManagedProcess
) -> Any:
    found: list[Any] = []

    def ready() -> bool:
        found[:] = [read()]
        return until(found[0])

    wait_for(ready, what, process, WAIT_SECONDS)
    return found[0]


def test_sunitas_abha_linked_on_our_pages_her_records_shared_by_consent_and_revoked(
    abha_service: Gateway,
    worker: ManagedProcess,  # noqa: F811
    live_server: Any,
) -> None:
    gateway = abha_service
    gateway.register_bridge(gateway.token(), live_server.url)
    sunita = PatientFactory(name="Sunita Devi", sex=Sex.FEMALE, date_of_birth=date(1988, 3, 14))
    visits = signed_visits(sunita, 3)
    client = Client()
    client.force_login(sunita.account)

    link_on_our_pages(client, sunita)

    # HIP-initiated linking, by the worker, answered by the gateway's consent manager.
    references = {str(visit.public_id) for visit in visits}

    def linked_at_gateway() -> set[str]:
        links = gateway.admin(f"cm/links?abhaNumber={ABHA_NUMBER}")
        return {
            c["careContextReference"]
            for hip in links["hips"]
            if hip["hipId"] == HIP_ID
            for c in hip["careContexts"]
        }

    wait_for(lambda: references <= linked_at_gateway(), "the links", worker, WAIT_SECONDS)
    linked = CareContext.objects.filter(patient=sunita, state=CareContext.State.LINKED)
    wait_for(lambda: linked.count() == 3, "the links at our side", worker, WAIT_SECONDS)

    # The PHR app grants a consent over them; the HIP stores its artefact.
    span = {"from": iso(SIGNED_AT - timedelta(days=1)), "to": iso(SIGNED_AT + timedelta(days=1))}
    consent = gateway.admin(
        "cm/consents",
        {
            "abhaNumber": ABHA_NUMBER,
            "hipId": HIP_ID,
            "careContexts": sorted(references),
            "hiTypes": ["OPConsultation", "Prescription"],
            "dateRange": span,
            "purpose": "CAREMGT",
        },
    )
    stored = Consent.objects.filter(consent_id=consent["consentId"], status="GRANTED")
    wait_for(stored.exists, "the consent at our side", worker, WAIT_SECONDS)
    ours = stored.get()
    assert ours.patient == sunita and ours.purpose_code == "CAREMGT"
    assert ours.requester == "District Hospital, Lucknow (demo HIU)"
    assert sorted(ours.hi_types) == ["OPConsultation", "Prescription"]
    assert ours.care_contexts.count() == 3

    # The PHR app asks for the data: six documents arrive, each decrypted and checked.
    asked = gateway.admin(f"cm/consents/{consent['consentId']}/data-requests", {})
    transaction_id = asked["transactionId"]
    shown = gateway_wait(
        lambda: gateway.admin(f"cm/transactions/{transaction_id}"),
        lambda t: t["state"] == "COMPLETE",
        "the transfer to complete at the gateway",
        worker,
    )
    entries = shown["entries"]
    # Each visit's OPConsultRecord and PrescriptionRecord, nothing else.
    assert Counter(e["careContextReference"] for e in entries) == dict.fromkeys(references, 2)
    assert all(e["tagOk"] and e["checksumOk"] and e["bundleOk"] for e in entries), entries
    assert all(e["resourceTypes"][0] == "Composition" for e in entries)
    statuses = shown["notify"]["statusNotification"]["statusResponses"]
    assert {s["careContextReference"]: s["hiStatus"] for s in statuses} == dict.fromkeys(
        references, "DELIVERED"
    )
    request = HealthInformationRequest.objects.get(transaction_id=transaction_id)
    assert request.state == "transferred"
    assert request.key_material is None and request.data_push_url == ""  # dropped when done
    assert Share.objects.filter(request=request).count() == 6

    # The family sees, on its history page, what was shared with whom.
    history = client.get("/history/").content.decode()
    assert history.count('data-testid="share"') == 6
    assert "District Hospital, Lucknow (demo HIU)" in history
    assert history.count('data-state="linked"') == 3

    # Revoked: our side closes the consent and a new request gets nothing.
    gateway.admin(f"cm/consents/{consent['consentId']}/revoke", {})
    revoked = Consent.objects.filter(consent_id=consent["consentId"], status="REVOKED")
    wait_for(revoked.exists, "the revocation at our side", worker, WAIT_SECONDS)
    again = gateway.admin(f"cm/consents/{consent['consentId']}/data-requests", {"force": True})[
        "transactionId"
    ]
    refused = gateway_wait(
        lambda: gateway.admin(f"cm/transactions/{again}"),
        lambda t: t["state"] == "ERRORED",
        "the refusal",
        worker,
    )
    assert refused["pages"] == [] and refused["entries"] == []
    assert HealthInformationRequest.objects.get(transaction_id=again).state == "errored"
    assert Share.objects.count() == 6

    # Denied in the PHR app: the HIP is never told, so nothing of it is stored here.
    denied = gateway.admin(
        "cm/consents",
        {
            "abhaNumber": ABHA_NUMBER,
            "hipId": HIP_ID,
            "hiTypes": ["Prescription"],
            "dateRange": span,
            "status": "DENIED",
        },
    )
    assert denied["status"] == "DENIED" and denied["notifications"] == []
    assert not Consent.objects.filter(consent_id=denied["consentId"]).exists()
