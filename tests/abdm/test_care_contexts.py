"""Care contexts and linking (docs/abdm.md): HIP-initiated after a signing, through the real
offline gateway (our calls recorded on their way to it, its callbacks driven to our live
bridge), and user-initiated discover → init (OTP by SMS) → confirm."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import pytest

from abdm import linking
from abdm.models import CareContext, Flow, GatewayMessage
from notifications.sms import SmsMessage
from patients.models import Patient, Relationship, Sex
from queues.models import Ticket
from tests.abdm.m2 import Recorder, callback, outbound, signed_visits, wait
from tests.abdm_gateway.harness import HIP_ID, Gateway
from tests.consultations.prescribing import sign
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DISCOVER = "/api/v3/hip/patient/care-context/discover"
INIT = "/api/v3/hip/link/care-context/init"
CONFIRM = "/api/v3/hip/link/care-context/confirm"
ABHA = "91123456789015"


def with_abha(patient: Patient, *, born: date = date(1988, 3, 14)) -> Patient:
    """The member is the offline gateway's demo ABHA holder Sunita Devi (abdm_gateway/abha_data.py),
    so its consent manager issues link tokens for her."""
    patient.name, patient.sex, patient.date_of_birth = "Sunita Devi", Sex.FEMALE, born
    patient.abha_number = ABHA
    patient.abha_address = "sunita.devi@sbx"
    patient.save()
    return patient


def linked_at_gateway(gateway: Gateway) -> set[str]:
    """The care contexts the gateway's consent manager holds for Sunita at our HIP."""
    links = gateway.admin(f"cm/links?abhaNumber={ABHA}")
    return {
        context["careContextReference"]
        for hip in links["hips"]
        if hip["hipId"] == HIP_ID
        for context in hip["careContexts"]
    }


def accepted(flow: str, count: int = 1) -> list[GatewayMessage]:
    return wait(
        lambda: (
            found
            if len(found := [m for m in outbound(flow) if m.state in {"accepted", "answered"}])
            >= count
            else None
        ),
        f"{count} accepted {flow}",
    )


def test_signing_a_prescription_links_the_visit_to_the_patients_abha(
    hip: Gateway, recorder: Recorder, visit: Ticket, django_capture_on_commit_callbacks: Any
) -> None:
    with_abha(visit.patient)

    sign(visit, django_capture_on_commit_callbacks, render=True)

    context = CareContext.objects.get(consultation__ticket=visit)
    assert context.state == CareContext.State.PENDING
    assert context.reference == visit.consultation.public_id
    [token_call] = recorder.wait_for("/v3/token/generate-token")
    assert token_call.status == 202
    assert token_call.headers["X-HIP-ID"] == HIP_ID
    assert token_call.body == {
        "abhaNumber": "91-1234-5678-9015",
        "abhaAddress": "sunita.devi@sbx",
        "name": "Sunita Devi",
        "gender": "F",
        "yearOfBirth": 1988,
    }

    [link_call] = recorder.wait_for("/hip/v3/link/carecontext")
    assert link_call.status == 202 and link_call.headers["X-LINK-TOKEN"]
    [entry] = link_call.body["patient"]
    assert entry["referenceNumber"] == str(visit.patient.public_id)
    assert entry["careContexts"] == [
        {"referenceNumber": str(context.reference), "display": context.display}
    ]
    assert entry["hiType"] == "OPConsultation" and entry["count"] == 1
    assert "fever" not in context.display.lower()  # the display never names the diagnosis

    [link] = accepted(Flow.LINK_CARECONTEXT)
    assert link.headers == {}  # the token is not kept once the gateway has it

    wait(lambda: CareContext.objects.filter(state=CareContext.State.LINKED).exists(), "the link")
    context.refresh_from_db()
    assert context.state == CareContext.State.LINKED and context.how == CareContext.How.HIP
    assert str(context.reference) in linked_at_gateway(hip)
    assert context.linked_at is not None and context.abha_address == "sunita.devi@sbx"


def test_a_token_still_valid_is_reused_for_the_next_visit(
    hip: Gateway, recorder: Recorder, family: Patient
) -> None:
    with_abha(family)
    first, second = signed_visits(family, 2)
    linking.link_consultations(family, [first])
    accepted(Flow.LINK_CARECONTEXT)

    linking.link_consultations(family, [second])

    links = recorder.wait_for("/hip/v3/link/carecontext", 2)
    assert links[0].headers["X-LINK-TOKEN"] == links[1].headers["X-LINK-TOKEN"]
    assert len(recorder.calls("/v3/token/generate-token")) == 1
    ours = {str(c.public_id) for c in (first, second)}
    wait(lambda: ours <= linked_at_gateway(hip), "both linked at the gateway")


def test_an_expired_token_is_renewed_once_and_a_second_refusal_fails_the_link(
    hip: Gateway, recorder: Recorder, family: Patient
) -> None:
    with_abha(family)
    [visit] = signed_visits(family)
    hip.admin("cm/settings", {"linkTokenTtlSeconds": 0})  # every token it issues has expired
    try:
        linking.link_consultations(family, [visit])

        context = wait(
            lambda: CareContext.objects.filter(state=CareContext.State.FAILED).first(), "failure"
        )
    finally:
        hip.admin("cm/settings", {"linkTokenTtlSeconds": 1800})
    assert context.error_code == "ABDM-1094"
    links = recorder.wait_for("/hip/v3/link/carecontext", 2)
    assert links[0].headers["X-LINK-TOKEN"] != links[1].headers["X-LINK-TOKEN"]
    assert len(recorder.calls("/v3/token/generate-token")) == 2
    assert str(context.reference) not in linked_at_gateway(hip)


def test_a_refused_token_fails_the_waiting_care_contexts(hip: Gateway, family: Patient) -> None:
    with_abha(family, born=date(1990, 3, 14))  # not the year the ABHA holds
    [visit] = signed_visits(family)
    linking.link_consultations(family, [visit])

    context = wait(
        lambda: CareContext.objects.filter(state=CareContext.State.FAILED).first(), "failure"
    )
    assert context.error_code == "ABDM-1092"
    assert not outbound(Flow.LINK_CARECONTEXT)


def test_a_member_without_abha_gets_no_care_context(
    recorder: Recorder, visit: Ticket, django_capture_on_commit_callbacks: Any
) -> None:
    sign(visit, django_capture_on_commit_callbacks, render=True)

    assert not CareContext.objects.exists()
    assert not GatewayMessage.objects.exists()


def test_an_abha_added_later_links_the_members_signed_consultations(
    hip: Gateway, recorder: Recorder, family: Patient
) -> None:
    signed_visits(family, 3)
    assert linking.link_existing_care_contexts(family) == 0  # no ABHA yet
    with_abha(family)

    assert linking.link_existing_care_contexts(family) == 3

    [link] = recorder.wait_for("/hip/v3/link/carecontext")
    assert link.body["patient"][0]["count"] == 3
    ours = {str(c.reference) for c in CareContext.objects.all()}
    wait(lambda: len(ours) == 3 and ours <= linked_at_gateway(hip), "three linked at the gateway")
    wait(
        lambda: set(CareContext.objects.values_list("state", flat=True)) == {"linked"},
        "three linked here",
    )
    assert linking.link_existing_care_contexts(family) == 0  # nothing left to link


# --- User-initiated ----------------------------------------------------------------------------


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def discovery(patient: Patient, **identifiers: Any) -> dict[str, Any]:
    return {
        "transactionId": str(uuid.uuid4()),
        "patient": {
            "id": "sunita.devi@sbx",
            "name": patient.name.upper().replace(" ", "  "),
            "gender": patient.sex,
            "yearOfBirth": patient.date_of_birth.year,
            "verifiedIdentifiers": identifiers.get("verified", []),
            "unverifiedIdentifiers": identifiers.get("unverified", []),
        },
    }


ON_DISCOVER = "/care-context/on-discover"
ON_INIT = "/care-context/on-init"
ON_CONFIRM = "/care-context/on-confirm"


def test_discover_init_and_confirm_link_the_records_the_patient_chose(
    hip: Gateway, recorder: Recorder, family: Patient, sms_outbox: list[SmsMessage]
) -> None:
    with_abha(family)
    visits = signed_visits(family, 3)
    linked_already = visits[0]
    CareContext.objects.create(
        patient=family,
        consultation=linked_already,
        reference=linked_already.public_id,
        display="x",
        state=CareContext.State.LINKED,
    )
    found = callback(
        hip,
        recorder,
        DISCOVER,
        discovery(family, verified=[{"type": "ABHA_NUMBER", "value": "91-1234-5678-9015"}]),
        ON_DISCOVER,
    )

    assert found["matchedBy"] == ["ABHA_NUMBER"]
    [entry] = found["patient"]
    offered = {c["referenceNumber"] for c in entry["careContexts"]}
    assert offered == {str(v.public_id) for v in visits[1:]} and entry["count"] == 2

    init = {
        "transactionId": found["transactionId"],
        "abhaAddress": "sunita.devi@sbx",
        "patient": [
            {
                "referenceNumber": entry["referenceNumber"],
                "careContexts": [{"referenceNumber": str(visits[1].public_id)}],
                "hiType": "OPConsultation",
                "count": 1,
            }
        ],
    }
    started = callback(hip, recorder, INIT, init, ON_INIT)
    link = started["link"]
    assert link["authenticationType"] == "DIRECT"
    assert link["meta"]["communicationMedium"] == "MOBILE"
    [sms] = wait(lambda: list(sms_outbox), "the OTP SMS")
    assert sms.to == family.account.mobile
    code = re.search(r"\b(\d{6})\b", sms.body)
    assert code is not None and "Acute viral fever" not in sms.body

    wrong = callback(
        hip,
        recorder,
        CONFIRM,
        {"confirmation": {"linkRefNumber": link["referenceNumber"], "token": other_than(code[1])}},
        ON_CONFIRM,
    )
    assert wrong["error"]["code"] == "ABDM-1035"
    confirmed = callback(
        hip,
        recorder,
        CONFIRM,
        {"confirmation": {"linkRefNumber": link["referenceNumber"], "token": code[1]}},
        ON_CONFIRM,
    )

    [entry] = confirmed["patient"]
    assert [c["referenceNumber"] for c in entry["careContexts"]] == [str(visits[1].public_id)]
    context = CareContext.objects.get(consultation=visits[1])
    assert context.state == CareContext.State.LINKED and context.how == CareContext.How.USER
    assert not CareContext.objects.filter(consultation=visits[2]).exists()


def test_five_wrong_codes_end_the_link_request(
    hip: Gateway, recorder: Recorder, family: Patient, sms_outbox: list[SmsMessage]
) -> None:
    [visit] = signed_visits(family)
    found = callback(
        hip,
        recorder,
        DISCOVER,
        discovery(
            family, verified=[{"type": "MOBILE", "value": (family.account.mobile or "")[-10:]}]
        ),
        ON_DISCOVER,
    )
    assert found["matchedBy"] == ["MOBILE"]
    init = {
        "transactionId": found["transactionId"],
        "patient": [
            {
                "referenceNumber": str(family.public_id),
                "careContexts": [{"referenceNumber": str(visit.public_id)}],
            }
        ],
    }
    ref = callback(hip, recorder, INIT, init, ON_INIT)["link"]["referenceNumber"]
    code = re.search(r"\b(\d{6})\b", wait(lambda: list(sms_outbox), "SMS")[0].body)
    assert code is not None
    wrong = other_than(code[1])

    codes = [
        callback(
            hip,
            recorder,
            CONFIRM,
            {"confirmation": {"linkRefNumber": ref, "token": wrong}},
            ON_CONFIRM,
        )["error"]["code"]
        for _ in range(5)
    ]
    last = callback(
        hip,
        recorder,
        CONFIRM,
        {"confirmation": {"linkRefNumber": ref, "token": code[1]}},
        ON_CONFIRM,
    )

    assert codes == ["ABDM-1035"] * 5
    assert last["error"]["code"] == "ABDM-1036"
    assert not CareContext.objects.exists()


def test_discovery_never_guesses_between_members_and_init_refuses_anothers_record(
    hip: Gateway, recorder: Recorder, family: Patient, other_family: Patient
) -> None:
    # An elderly parent registered by two children: the ABHA number names two members.
    with_abha(family)
    with_abha(other_family)
    ambiguous = callback(
        hip,
        recorder,
        DISCOVER,
        discovery(family, verified=[{"type": "ABHA_NUMBER", "value": ABHA}]),
        ON_DISCOVER,
    )
    assert ambiguous["error"]["code"] == "ABDM-1010" and "patient" not in ambiguous

    child = PatientFactory(
        account=family.account,
        relationship=Relationship.CHILD,
        name="Anjali Kumari",
        sex=Sex.FEMALE,
    )
    wrong_year = discovery(child, unverified=[{"type": "MR", "value": child.patient_number}])
    wrong_year["patient"]["yearOfBirth"] = 1970
    assert (
        callback(hip, recorder, DISCOVER, wrong_year, ON_DISCOVER)["error"]["code"] == "ABDM-1010"
    )

    by_mr = callback(
        hip,
        recorder,
        DISCOVER,
        discovery(child, unverified=[{"type": "MR", "value": child.patient_number}]),
        ON_DISCOVER,
    )
    assert by_mr["matchedBy"] == ["MR"]
    [someone_elses] = signed_visits(other_family)
    init = {
        "transactionId": by_mr["transactionId"],
        "patient": [
            {
                "referenceNumber": str(child.public_id),
                "careContexts": [{"referenceNumber": str(someone_elses.public_id)}],
            }
        ],
    }
    refused = callback(hip, recorder, INIT, init, ON_INIT)
    assert refused["error"]["code"] == "ABDM-1010" and "link" not in refused
