"""Consents and health information (docs/abdm.md) through the real offline gateway: consent
notifications stored once and acknowledged, HI requests checked, and the allowed documents
pushed to a dataPushUrl receiver that decrypts them with the PyPI ``abdm_ecdh`` (independent of
our Fidelius) and checks each checksum."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import abdm_ecdh
import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from abdm import transfer
from abdm.models import CareContext, Consent, HealthInformationRequest, Share
from abdm.tasks import expire_consents
from consultations.models import Consultation
from patients.models import Patient
from tests.abdm.m2 import SIGNED_AT, Recorder, callback, signed_visits, wait
from tests.abdm_gateway.harness import HIP_ID, Bridge, Gateway

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NOTIFY = "/api/v3/consent/request/hip/notify"
ON_NOTIFY = "/consent/v3/request/hip/on-notify"
HI_REQUEST = "/api/v3/hip/health-information/request"
ON_REQUEST = "/health-information/hip/on-request"
HI_NOTIFY = "/data-flow/v3/health-information/notify"
BOTH = ["OPConsultation", "Prescription"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def linked(patient: Patient, visits: list[Consultation]) -> list[CareContext]:
    return [
        CareContext.objects.create(
            patient=patient, consultation=v, reference=v.public_id, display="Teleconsultation",
            state=CareContext.State.LINKED, linked_at=timezone.now(),
        )
        for v in visits
    ]  # fmt: skip


def grant(
    gateway: Gateway,
    recorder: Recorder,
    patient: Patient,
    contexts: list[CareContext],
    *,
    hi_types: list[str] = BOTH,
    start: datetime = SIGNED_AT - timedelta(days=30),
    end: datetime = SIGNED_AT + timedelta(days=30),
    extra: list[dict[str, str]] | None = None,
) -> str:
    consent_id = str(uuid.uuid4())
    refs = [
        {"patientReference": str(patient.public_id), "careContextReference": str(c.reference)}
        for c in contexts
    ]
    body = {
        "notification": {
            "status": "GRANTED",
            "consentId": consent_id,
            "consentDetail": {
                "schemaVersion": "v3",
                "consentId": consent_id,
                "createdAt": iso(datetime.now(UTC)),
                "patient": {"id": "sunita.devi@sbx"},
                "careContexts": refs + (extra or []),
                "purpose": {"text": "Care Management", "code": "CAREMGT", "refUri": ""},
                "hip": {"id": HIP_ID, "name": "eSanjeevani"},
                "hiu": {"id": "IN0910000099", "name": "City Hospital, Lucknow"},
                "consentManager": {"id": "sbx"},
                "hiTypes": hi_types,
                "permission": {
                    "accessMode": "VIEW",
                    "dateRange": {"from": iso(start), "to": iso(end)},
                    "dataEraseAt": iso(datetime.now(UTC) + timedelta(days=1)),
                    "frequency": {"unit": "HOUR", "value": 1, "repeats": 0},
                },
            },
            "signature": "c2lnbmF0dXJl",
            "grantAcknowledgement": False,
        }
    }
    ack = callback(gateway, recorder, NOTIFY, body, ON_NOTIFY)
    assert ack["acknowledgement"] == {"status": "ok", "consentId": consent_id}
    return consent_id


def close(gateway: Gateway, recorder: Recorder, consent_id: str, status: str) -> None:
    body = {"notification": {"status": status, "consentId": consent_id}}
    ack = callback(gateway, recorder, NOTIFY, body, ON_NOTIFY)
    assert ack["acknowledgement"]["consentId"] == consent_id


def ask(
    gateway: Gateway,
    recorder: Recorder,
    receiver: Bridge,
    consent_id: str,
    *,
    start: datetime = SIGNED_AT - timedelta(days=1),
    end: datetime = SIGNED_AT + timedelta(days=1),
) -> tuple[dict[str, Any], abdm_ecdh.KeyMaterial, str]:
    requester = abdm_ecdh.generate_key_material()
    transaction_id = str(uuid.uuid4())
    body = {
        "transactionId": transaction_id,
        "hiRequest": {
            "consent": {"id": consent_id},
            "dateRange": {"from": iso(start), "to": iso(end)},
            "dataPushUrl": f"{receiver.url}/data/push",
            "keyMaterial": {
                "cryptoAlg": "ECDH",
                "curve": "Curve25519",
                "dhPublicKey": {
                    "expiry": iso(datetime.now(UTC) + timedelta(hours=1)),
                    "parameters": "Curve25519/32byte random key",
                    "keyValue": requester.public_key,
                },
                "nonce": requester.nonce,
            },
        },
    }
    answer = callback(gateway, recorder, HI_REQUEST, body, ON_REQUEST)
    return answer, requester, transaction_id


def opened(receiver: Bridge, requester: abdm_ecdh.KeyMaterial) -> list[tuple[str, dict[str, Any]]]:
    """Every entry pushed, decrypted by abdm_ecdh, its checksum checked: (reference, bundle)."""
    found = []
    for page in receiver.received:
        key = page.body["keyMaterial"]
        for entry in page.body["entries"]:
            plain = abdm_ecdh.decrypt(
                entry["content"], key["nonce"], requester.nonce, requester.private_key,
                key["dhPublicKey"]["keyValue"],
            ).decrypted_data  # fmt: skip
            assert hashlib.md5(plain.encode()).hexdigest() == entry["checksum"]  # noqa: S324
            assert entry["media"] == "application/fhir+json"
            found.append((entry["careContextReference"], json.loads(plain)))
    return found


def kind_of(bundle: dict[str, Any]) -> str:
    return str(bundle["entry"][0]["resource"]["type"]["coding"][0]["code"])


OP_CONSULT, PRESCRIPTION = "371530004", "440545006"


def test_the_allowed_documents_arrive_encrypted_in_pages_and_the_transfer_is_reported(
    hip: Gateway, recorder: Recorder, receiver: Bridge, family: Patient,
    other_family: Patient, settings: SettingsWrapper,
) -> None:  # fmt: skip
    settings.ABDM_PUSH_PAGE_SIZE = 3
    inside = signed_visits(family, 2)
    outside = signed_visits(family, 1, signed_at=SIGNED_AT - timedelta(days=10))
    not_consented = signed_visits(family, 1)
    contexts = linked(family, inside + outside + not_consented)
    [someone_elses] = linked(other_family, signed_visits(other_family))
    forged = {
        "patientReference": str(family.public_id),
        "careContextReference": str(someone_elses.reference),
    }
    consent_id = grant(hip, recorder, family, contexts[:3], extra=[forged])

    answer, requester, transaction_id = ask(hip, recorder, receiver, consent_id)

    assert answer["hiRequest"] == {"transactionId": transaction_id, "sessionStatus": "ACKNOWLEDGED"}
    [report] = recorder.wait_for(HI_NOTIFY)
    documents = opened(receiver, requester)
    # Two consultations inside both ranges, two types each; the one signed ten days before the
    # request's range, the one not consented and the other family's are not sent.
    assert sorted((ref, kind_of(b)) for ref, b in documents) == sorted(
        (str(v.public_id), kind) for v in inside for kind in (OP_CONSULT, PRESCRIPTION)
    )
    assert [p.body["pageNumber"] for p in receiver.received] == [1, 2]
    assert {p.body["pageCount"] for p in receiver.received} == {2}
    assert [len(p.body["entries"]) for p in receiver.received] == [3, 1]
    keys = {p.body["keyMaterial"]["dhPublicKey"]["keyValue"] for p in receiver.received}
    assert len(keys) == 2  # a fresh key pair per page
    assert all(p.headers["Authorization"].startswith("Bearer ") for p in receiver.received)
    status = report.body["notification"]["statusNotification"]
    assert report.status == 202 and status["sessionStatus"] == "TRANSFERRED"
    assert sorted(s["careContextReference"] for s in status["statusResponses"]) == sorted(
        str(v.public_id) for v in inside
    )
    assert {s["hiStatus"] for s in status["statusResponses"]} == {"DELIVERED"}
    request = HealthInformationRequest.objects.get(transaction_id=transaction_id)
    assert request.state == "transferred" and request.key_material is None
    assert request.push_host == "127.0.0.1" and request.data_push_url == ""
    assert Share.objects.count() == 4
    assert set(Share.objects.values_list("recipient", flat=True)) == {"City Hospital, Lucknow"}


def test_a_push_answered_503_is_tried_again(
    hip: Gateway, recorder: Recorder, receiver: Bridge, family: Patient
) -> None:
    contexts = linked(family, signed_visits(family))
    consent_id = grant(hip, recorder, family, contexts, hi_types=["Prescription"])
    receiver.answers.extend([503, 503])

    _answer, requester, _txn = ask(hip, recorder, receiver, consent_id)

    [report] = recorder.wait_for(HI_NOTIFY)
    assert len(receiver.received) == 3
    assert [kind_of(b) for _ref, b in opened(receiver, requester)] == [PRESCRIPTION] * 3
    assert report.body["notification"]["statusNotification"]["sessionStatus"] == "TRANSFERRED"
    assert Share.objects.count() == 1


def test_a_receiver_that_keeps_failing_makes_the_transfer_failed(
    hip: Gateway, recorder: Recorder, receiver: Bridge, family: Patient,
    settings: SettingsWrapper,
) -> None:  # fmt: skip
    settings.ABDM_PUSH_ATTEMPTS = 2
    contexts = linked(family, signed_visits(family))
    consent_id = grant(hip, recorder, family, contexts)
    receiver.answers.extend([500, 500])

    ask(hip, recorder, receiver, consent_id)

    [report] = recorder.wait_for(HI_NOTIFY)
    status = report.body["notification"]["statusNotification"]
    assert status["sessionStatus"] == "FAILED"
    assert [s["hiStatus"] for s in status["statusResponses"]] == ["FAILED"]
    assert not Share.objects.exists()


@pytest.mark.parametrize("closing", ["REVOKED", "EXPIRED"])
def test_a_closed_consent_is_refused_and_nothing_is_pushed(
    hip: Gateway, recorder: Recorder, receiver: Bridge, family: Patient, closing: str
) -> None:
    contexts = linked(family, signed_visits(family))
    consent_id = grant(hip, recorder, family, contexts)
    close(hip, recorder, consent_id, closing)
    grant_again = Consent.objects.get(consent_id=consent_id)
    assert grant_again.status == closing

    answer, _requester, _txn = ask(hip, recorder, receiver, consent_id)

    assert answer["hiRequest"]["sessionStatus"] == "ERRORED"
    assert answer["error"]["code"] == "ABDM-1030"
    time.sleep(0.5)
    assert receiver.received == [] and recorder.calls(HI_NOTIFY) == []


def test_a_request_outside_the_consents_dates_or_for_an_unknown_consent_is_refused(
    hip: Gateway, recorder: Recorder, receiver: Bridge, family: Patient
) -> None:
    contexts = linked(family, signed_visits(family))
    consent_id = grant(hip, recorder, family, contexts)

    too_wide, _r, _t = ask(
        hip, recorder, receiver, consent_id, start=SIGNED_AT - timedelta(days=60)
    )
    unknown, _r, _t = ask(hip, recorder, receiver, str(uuid.uuid4()))

    assert too_wide["error"]["code"] == "ABDM-1017"
    assert unknown["error"]["code"] == "ABDM-1009"
    assert receiver.received == []


def test_consent_notifications_are_stored_once_and_revocation_is_final(
    hip: Gateway, recorder: Recorder, family: Patient, other_family: Patient
) -> None:
    contexts = linked(family, signed_visits(family, 2))
    pending = CareContext.objects.create(
        patient=family, consultation=signed_visits(family)[0], reference=uuid.uuid4(),
        display="x", state=CareContext.State.PENDING,
    )  # fmt: skip
    hip.admin("faults", {"duplicate": True})
    consent_id = grant(hip, recorder, family, [*contexts, pending])
    hip.admin("faults", {"duplicate": False})

    consent = Consent.objects.get(consent_id=consent_id)
    assert consent.status == "GRANTED" and consent.patient == family
    assert set(consent.care_contexts.all()) == set(contexts)  # the pending one does not count
    assert consent.hi_types == BOTH and consent.purpose_code == "CAREMGT"
    assert consent.signature == "c2lnbmF0dXJl"
    assert consent.requester == "City Hospital, Lucknow"

    close(hip, recorder, consent_id, "REVOKED")
    again = {"notification": {"status": "GRANTED", "consentId": consent_id, "consentDetail": {}}}
    callback(hip, recorder, NOTIFY, again, ON_NOTIFY)

    consent.refresh_from_db()
    assert consent.status == "REVOKED" and consent.revoked_at is not None
    assert Consent.objects.count() == 1


def test_the_daily_task_expires_consents_past_their_erase_time(family: Patient) -> None:
    past = Consent.objects.create(
        consent_id="c-past", status="GRANTED", patient=family, hi_types=BOTH,
        data_erase_at=timezone.now() - timedelta(minutes=1), artefact={"x": 1},
        signature="sig", purpose_code="CAREMGT",
    )  # fmt: skip
    future = Consent.objects.create(
        consent_id="c-future", status="GRANTED", patient=family,
        data_erase_at=timezone.now() + timedelta(days=1), artefact={"x": 1},
    )  # fmt: skip

    expire_consents.delay()

    past.refresh_from_db()
    future.refresh_from_db()
    assert past.status == "EXPIRED" and past.artefact is None and past.signature == ""
    assert past.purpose_code == "CAREMGT" and past.hi_types == BOTH  # what the family sees
    assert future.status == "GRANTED" and future.artefact == {"x": 1}


def test_a_hundred_care_contexts_are_built_and_pushed_in_one_pass(
    hip: Gateway, recorder: Recorder, receiver: Bridge, family: Patient,
    django_assert_max_num_queries: Any,
) -> None:  # fmt: skip
    contexts = linked(family, signed_visits(family, 100))
    consent_id = grant(hip, recorder, family, contexts, hi_types=["OPConsultation"])
    consent = Consent.objects.get(consent_id=consent_id)
    requester = abdm_ecdh.generate_key_material()
    request = HealthInformationRequest.objects.create(
        transaction_id=str(uuid.uuid4()), consent_ref=consent_id,
        date_from=consent.date_from, date_to=consent.date_to,
        data_push_url=f"{receiver.url}/push", push_host="127.0.0.1",
        key_material={
            "cryptoAlg": "ECDH", "curve": "Curve25519",
            "dhPublicKey": {"expiry": None, "parameters": "", "keyValue": requester.public_key},
            "nonce": requester.nonce,
        },
    )  # fmt: skip

    # One pass: a fixed number of queries whatever the number of documents (no N+1); the
    # time is dominated by fhir.resources building and serialising (~20 ms a document here).
    with django_assert_max_num_queries(40) as queries:
        transfer.run(request.pk)

    request.refresh_from_db()
    assert request.state == "transferred" and request.pages == 10
    assert sum(len(p.body["entries"]) for p in receiver.received) == 100
    per_page = [q["sql"] for q in queries.captured_queries if "abdm_consent" in q["sql"]]
    assert len(per_page) <= 12  # the consent read once per page, and at the start
    wait(lambda: recorder.calls(HI_NOTIFY), "the notify")
