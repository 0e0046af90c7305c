"""The offline gateway as ABDM's consent manager, against a HIP played by the test (fake_hip.py)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from tests.abdm_gateway.fake_hip import SUNITA, Entry, Hip, document, plain
from tests.abdm_gateway.harness import HIP_ID, Bridge, Gateway, http

DISCOVER = "/api/v3/hip/patient/care-context/discover"
INIT = "/api/v3/hip/link/care-context/init"
CONFIRM = "/api/v3/hip/link/care-context/confirm"
NOTIFY = "/api/v3/consent/request/hip/notify"
HI_REQUEST = "/api/v3/hip/health-information/request"


@pytest.fixture
def hip(abdm_gateway: Gateway, abdm_bridge: Bridge) -> Iterator[Hip]:
    yield Hip(abdm_gateway, abdm_bridge, abdm_gateway.token())
    abdm_gateway.admin("cm/settings", {"linkTokenTtlSeconds": 1800})


def admin(hip: Hip, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return http(method, f"{hip.gateway.url}/_admin/cm/{path}", body)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wait_for(read: Any, until: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def grant(hip: Hip, references: list[str], **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "abhaNumber": SUNITA["abhaNumber"],
        "hipId": HIP_ID,
        "careContexts": references,
        "hiTypes": ["OPConsultation", "Prescription"],
        "dateRange": {"from": iso(now - timedelta(days=365)), "to": iso(now)},
        "purpose": "CAREMGT",
        **extra,
    }
    status, consent = admin(hip, "POST", "consents", body)
    assert status == 201, consent
    return consent


# HIP-initiated linking -----------------------------------------------------------------------
def test_it_gives_a_link_token_when_name_gender_and_year_match(hip: Hip):
    body = {**SUNITA, "name": "  sunita   DEVI ", "abhaAddress": ""}
    status, _ = hip.call("/v3/token/generate-token", body)
    assert status == 202
    answer = hip.wait("/api/v3/hip/token/on-generate-token")
    assert answer.body["abhaAddress"] == "sunita.devi@sbx"
    assert answer.body["linkToken"]
    assert "error" not in answer.body
    assert answer.headers["X-HIP-ID"] == HIP_ID


@pytest.mark.parametrize(
    "change",
    [
        {"gender": "M"},
        {"yearOfBirth": 1987},
        {"name": "Sunita Kumari"},
        {"abhaNumber": "91-0000-0000-0000"},
    ],
)
def test_it_refuses_a_link_token_when_the_details_differ(hip: Hip, change: dict[str, Any]):
    status, _ = hip.call("/v3/token/generate-token", {**SUNITA, **change})
    assert status == 202
    answer = hip.wait("/api/v3/hip/token/on-generate-token")
    assert "linkToken" not in answer.body
    assert answer.body["error"]["code"] in ("ABDM-1092", "ABDM-1114")


def test_it_refuses_carecontext_without_a_link_token(hip: Hip):
    status, body = hip.call("/hip/v3/link/carecontext", {**SUNITA, "patient": []})
    assert status == 400
    assert "X-LINK-TOKEN" in body["error"]["message"]


def carecontext_body(reference: str) -> dict[str, Any]:
    return {
        "abhaNumber": SUNITA["abhaNumber"],
        "abhaAddress": "",
        "patient": [
            {
                "referenceNumber": "patient-sunita",
                "display": "Sunita Devi",
                "careContexts": [{"referenceNumber": reference, "display": "OP visit"}],
                "hiType": "OPConsultation",
                "count": 1,
            }
        ],
    }


def test_it_links_with_a_valid_token_reused_and_refuses_a_bad_or_expired_one(hip: Hip):
    hip.call("/v3/token/generate-token", SUNITA)
    token = hip.wait("/api/v3/hip/token/on-generate-token").body["linkToken"]
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    for number, reference in enumerate((first, second), start=1):
        status, _ = hip.call(
            "/hip/v3/link/carecontext", carecontext_body(reference), headers={"X-LINK-TOKEN": token}
        )
        assert status == 202
        answer = hip.wait("/api/v3/link/on_carecontext", number).body
        assert answer["status"] == "Successfully Linked care context"
        assert answer["abhaAddress"] == "sunita.devi@sbx"

    hip.call("/hip/v3/link/carecontext", carecontext_body("x"), headers={"X-LINK-TOKEN": "forged"})
    assert hip.wait("/api/v3/link/on_carecontext", 3).body["error"]["code"] == "ABDM-1094"

    hip.gateway.admin("cm/settings", {"linkTokenTtlSeconds": 0})
    hip.call("/v3/token/generate-token", SUNITA)
    stale = hip.wait("/api/v3/hip/token/on-generate-token", 2).body["linkToken"]
    hip.call("/hip/v3/link/carecontext", carecontext_body("y"), headers={"X-LINK-TOKEN": stale})
    assert hip.wait("/api/v3/link/on_carecontext", 4).body["error"]["code"] == "ABDM-1094"

    status, links = admin(hip, "GET", "links?abhaNumber=91-1234-5678-9015")
    linked = [c["careContextReference"] for h in links["hips"] for c in h["careContexts"]]
    assert {first, second} <= set(linked)
    assert "x" not in linked and "y" not in linked


def test_a_malformed_carecontext_body_is_answered_with_an_error_and_links_nothing(hip: Hip):
    hip.call("/v3/token/generate-token", SUNITA)
    token = hip.wait("/api/v3/hip/token/on-generate-token").body["linkToken"]
    body = {**carecontext_body("z"), "patient": [{"display": "no reference"}]}
    status, _ = hip.call("/hip/v3/link/carecontext", body, headers={"X-LINK-TOKEN": token})
    assert status == 202
    answer = hip.wait("/api/v3/link/on_carecontext").body
    assert answer["error"]["code"] == "ABDM-1000"
    assert "status" not in answer


# user-initiated linking ----------------------------------------------------------------------
def test_it_discovers_links_and_confirms_with_the_otp_the_person_typed(hip: Hip):
    status, started = admin(
        hip, "POST", "discover", {"abhaNumber": SUNITA["abhaNumber"], "hipId": HIP_ID, "mr": "P-1"}
    )
    assert status == 201
    txn = started["transactionId"]
    discover = hip.wait(DISCOVER)
    patient = discover.body["patient"]
    assert discover.body["transactionId"] == txn
    assert patient["id"] == "sunita.devi@sbx"
    assert {"type": "MOBILE", "value": "9876543210"} in patient["verifiedIdentifiers"]
    assert {"type": "ABHA_NUMBER", "value": "91-1234-5678-9015"} in patient["verifiedIdentifiers"]
    assert patient["unverifiedIdentifiers"] == [{"type": "MR", "value": "P-1"}]

    wanted, other = str(uuid.uuid4()), str(uuid.uuid4())
    found: dict[str, Any] = {
        "referenceNumber": "patient-sunita",
        "display": "Sunita Devi",
        "careContexts": [
            {"referenceNumber": wanted, "display": "OP 1"},
            {"referenceNumber": other, "display": "OP 2"},
        ],
        "hiType": "OPConsultation",
        "count": 2,
    }
    hip.call(
        "/user-initiated-linking/v3/patient/care-context/on-discover",
        {"transactionId": txn, "patient": [found], "matchedBy": ["ABHA_NUMBER"]},
        answering=discover,
    )
    state = wait_for(
        lambda: admin(hip, "GET", f"link-transactions/{txn}")[1],
        lambda t: t["state"] == "discovered",
    )
    assert state["matchedBy"] == ["ABHA_NUMBER"]

    status, body = admin(hip, "POST", f"link-transactions/{txn}/init", {"careContexts": ["nope"]})
    assert status == 422
    assert "careContexts" in body["error"]["fields"]
    status, _ = admin(hip, "POST", f"link-transactions/{txn}/init", {"careContexts": [wanted]})
    assert status == 202
    init = hip.wait(INIT)
    assert init.body["abhaAddress"] == "sunita.devi@sbx"
    assert init.body["patient"] == [
        {
            "referenceNumber": "patient-sunita",
            "careContexts": [{"referenceNumber": wanted}],
            "hiType": "OPConsultation",
            "count": 1,
        }
    ]
    link_ref = str(uuid.uuid4())
    hip.call(
        "/user-initiated-linking/v3/link/care-context/on-init",
        {
            "transactionId": txn,
            "link": {
                "referenceNumber": link_ref,
                "authenticationType": "DIRECT",
                "meta": {
                    "communicationMedium": "MOBILE",
                    "communicationHint": "OTP",
                    "communicationExpiry": iso(datetime.now(UTC) + timedelta(minutes=10)),
                },
            },
        },
        answering=init,
    )
    wait_for(
        lambda: admin(hip, "GET", f"link-transactions/{txn}")[1],
        lambda t: t["state"] == "otp_sent",
    )

    # A wrong OTP comes back as an error and may be typed again.
    admin(hip, "POST", f"link-transactions/{txn}/confirm", {"otp": "000000"})
    wrong = hip.wait(CONFIRM)
    assert wrong.body == {"confirmation": {"linkRefNumber": link_ref, "token": "000000"}}
    hip.call(
        "/user-initiated-linking/v3/link/care-context/on-confirm",
        {"error": {"code": "ABDM-1035", "message": "Invalid OTP"}},
        answering=wrong,
    )
    state = wait_for(
        lambda: admin(hip, "GET", f"link-transactions/{txn}")[1],
        lambda t: t["error"] is not None,
    )
    assert state["state"] == "otp_sent"

    admin(hip, "POST", f"link-transactions/{txn}/confirm", {"otp": "482913"})
    right = hip.wait(CONFIRM, 2)
    assert right.body["confirmation"]["token"] == "482913"
    hip.call(
        "/user-initiated-linking/v3/link/care-context/on-confirm",
        {"patient": [{**found, "careContexts": [found["careContexts"][0]], "count": 1}]},
        answering=right,
    )
    state = wait_for(
        lambda: admin(hip, "GET", f"link-transactions/{txn}")[1],
        lambda t: t["state"] == "linked",
    )
    links = admin(hip, "GET", "links?abhaNumber=91123456789015")[1]
    at_hip = next(h for h in links["hips"] if h["hipId"] == HIP_ID)["careContexts"]
    mine = [c for c in at_hip if c["careContextReference"] == wanted]
    assert mine and mine[0]["via"] == "user" and mine[0]["display"] == "OP 1"
    assert other not in [c["careContextReference"] for c in at_hip]


def test_a_discovery_the_hip_cannot_match_is_not_found(hip: Hip):
    status, started = admin(
        hip, "POST", "discover", {"abhaNumber": "91-3456-7890-1231", "hipId": HIP_ID}
    )
    discover = hip.wait(DISCOVER)
    assert discover.body["patient"]["unverifiedIdentifiers"] == []
    hip.call(
        "/user-initiated-linking/v3/patient/care-context/on-discover",
        {
            "transactionId": started["transactionId"],
            "error": {"code": "ABDM-1010", "message": "Patient not found"},
        },
        answering=discover,
    )
    state = wait_for(
        lambda: admin(hip, "GET", f"link-transactions/{started['transactionId']}")[1],
        lambda t: t["state"] == "not_found",
    )
    assert state["error"]["code"] == "ABDM-1010"
    status, _ = admin(
        hip, "POST", f"link-transactions/{started['transactionId']}/init", {"careContexts": ["a"]}
    )
    assert status == 409


def test_a_reply_must_name_a_request_the_cm_sent(hip: Hip):
    status, _ = hip.call(
        "/user-initiated-linking/v3/patient/care-context/on-discover",
        {
            "transactionId": str(uuid.uuid4()),
            "patient": [],
            "response": {"requestId": str(uuid.uuid4())},
        },
    )
    assert status == 400


# consents ------------------------------------------------------------------------------------
def verify_signature(gateway: Gateway, detail: dict[str, Any], signature: str) -> bool:
    canonical = json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for jwk in gateway.jwks()["keys"]:
        public = RSAAlgorithm.from_jwk(json.dumps(jwk))
        assert isinstance(public, rsa.RSAPublicKey)
        try:
            public.verify(
                base64.b64decode(signature), canonical.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            continue
        return True
    return False


def test_a_granted_consent_is_signed_and_notified_and_its_ack_recorded(hip: Hip):
    reference = str(uuid.uuid4())
    hip.link(reference)
    consent = grant(hip, [reference])
    assert consent["status"] == "GRANTED"
    notify = hip.wait(NOTIFY)
    notification = notify.body["notification"]
    assert notification["status"] == "GRANTED"
    assert notification["consentId"] == consent["consentId"]
    assert notification["grantAcknowledgement"] is False
    detail = notification["consentDetail"]
    assert detail["careContexts"] == [
        {"patientReference": "patient-sunita", "careContextReference": reference}
    ]
    assert detail["patient"] == {"id": "sunita.devi@sbx"}
    assert detail["hiTypes"] == ["OPConsultation", "Prescription"]
    assert detail["purpose"]["code"] == "CAREMGT"
    assert detail["consentManager"] == {"id": "sbx"}
    assert detail["permission"]["accessMode"] == "VIEW"
    assert detail["permission"]["dataEraseAt"].endswith("Z")
    assert verify_signature(hip.gateway, detail, notification["signature"])
    assert not verify_signature(
        hip.gateway, {**detail, "hiTypes": ["Prescription"]}, notification["signature"]
    )

    status, _ = hip.call(
        "/consent/v3/request/hip/on-notify",
        {"acknowledgement": {"status": "ok", "consentId": consent["consentId"]}},
        answering=notify,
    )
    assert status == 202
    shown = admin(hip, "GET", f"consents/{consent['consentId']}")[1]
    assert shown["notifications"][0]["status"] == "GRANTED"
    assert shown["notifications"][0]["acknowledgedAt"]
    assert shown["notifications"][0]["acknowledgement"]["status"] == "ok"


def test_a_denied_consent_is_recorded_and_the_hip_hears_nothing(hip: Hip):
    reference = str(uuid.uuid4())
    hip.link(reference)
    consent = grant(hip, [reference], status="DENIED")
    assert consent["status"] == "DENIED"
    assert consent["signature"] is None
    time.sleep(0.5)
    assert hip.count(NOTIFY) == 0
    status, _ = admin(hip, "POST", f"consents/{consent['consentId']}/revoke")
    assert status == 409


def test_a_consent_for_what_is_not_linked_is_refused_with_field_messages(hip: Hip):
    status, body = admin(
        hip,
        "POST",
        "consents",
        {
            "abhaNumber": SUNITA["abhaNumber"],
            "hipId": HIP_ID,
            "careContexts": ["never-linked"],
            "hiTypes": ["Nonsense"],
            "dateRange": {"from": "2026-01-01", "to": "2026-02-01"},
        },
    )
    assert status == 422
    assert set(body["error"]["fields"]) == {"careContexts", "hiTypes"}
    status, body = admin(
        hip, "POST", "consents", {"abhaNumber": SUNITA["abhaNumber"], "hipId": "IN-NOPE"}
    )
    assert status == 422
    assert "hipId" in body["error"]["fields"]


def test_revoke_notifies_revoked_once(hip: Hip):
    reference = str(uuid.uuid4())
    hip.link(reference)
    consent = grant(hip, [reference])
    status, revoked = admin(hip, "POST", f"consents/{consent['consentId']}/revoke")
    assert status == 200
    assert revoked["status"] == "REVOKED"
    notice = hip.wait(NOTIFY, 2).body["notification"]
    assert notice == {"status": "REVOKED", "consentId": consent["consentId"]}
    status, _ = admin(hip, "POST", f"consents/{consent['consentId']}/revoke")
    assert status == 409
    status, _ = admin(hip, "POST", f"consents/{consent['consentId']}/data-requests", {})
    assert status == 409


def test_a_consent_past_its_expiry_is_expired_and_notified_by_the_gateway(hip: Hip):
    reference = str(uuid.uuid4())
    hip.link(reference)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    consent = grant(hip, [reference], expiresAt=iso(soon))
    notice = hip.wait(NOTIFY, 2).body["notification"]
    assert notice == {"status": "EXPIRED", "consentId": consent["consentId"]}
    assert admin(hip, "GET", f"consents/{consent['consentId']}")[1]["status"] == "EXPIRED"


def test_expire_by_hand_notifies_expired(hip: Hip):
    reference = str(uuid.uuid4())
    hip.link(reference)
    consent = grant(hip, [reference])
    status, _ = admin(hip, "POST", f"consents/{consent['consentId']}/expire")
    assert status == 200
    assert hip.wait(NOTIFY, 2).body["notification"]["status"] == "EXPIRED"


# health information --------------------------------------------------------------------------
def start_transfer(hip: Hip, references: list[str], **consent: Any) -> tuple[str, Any]:
    hip.link(*references)
    granted = grant(hip, references, **consent)
    status, started = admin(hip, "POST", f"consents/{granted['consentId']}/data-requests", {})
    assert status == 201
    request = hip.wait(HI_REQUEST)
    assert request.body["transactionId"] == started["transactionId"]
    return started["transactionId"], request


def transaction(hip: Hip, txn: str) -> dict[str, Any]:
    status, body = admin(hip, "GET", f"transactions/{txn}")
    assert status == 200
    return body


def notify_done(hip: Hip, txn: str, consent_id: str, references: list[str]) -> None:
    status, _ = hip.call(
        "/data-flow/v3/health-information/notify",
        {
            "notification": {
                "consentId": consent_id,
                "transactionId": txn,
                "doneAt": iso(datetime.now(UTC)),
                "notifier": {"type": "HIP", "id": HIP_ID},
                "statusNotification": {
                    "sessionStatus": "TRANSFERRED",
                    "hipId": HIP_ID,
                    "statusResponses": [
                        {"careContextReference": r, "hiStatus": "DELIVERED", "description": "ok"}
                        for r in references
                    ],
                },
            }
        },
    )
    assert status == 202


def test_pushed_entries_are_decrypted_checked_and_the_transfer_completes_on_notify(hip: Hip):
    good, tampered, mis_summed, not_fhir = (str(uuid.uuid4()) for _ in range(4))
    txn, request = start_transfer(hip, [good, tampered, mis_summed, not_fhir])
    hi = request.body["hiRequest"]
    assert hi["dataPushUrl"] == f"{hip.gateway.url}/hiu/data-push"
    key = hi["keyMaterial"]
    assert key["cryptoAlg"] == "ECDH" and key["curve"] == "Curve25519"
    assert len(base64.b64decode(key["dhPublicKey"]["keyValue"])) == 65
    assert len(base64.b64decode(key["nonce"])) == 32

    hip.call(
        "/data-flow/v3/health-information/hip/on-request",
        {"hiRequest": {"transactionId": txn, "sessionStatus": "ACKNOWLEDGED"}},
        answering=request,
    )
    status, _ = hip.push(
        request.body,
        [
            Entry(good, plain(document("Prescription of 1 Dec"))),
            Entry(tampered, plain(document("Tampered")), tamper_tag=True),
        ],
        page=1,
        pages=2,
    )
    assert status == 202  # answered at once, checked after
    shown = wait_for(lambda: transaction(hip, txn), lambda t: t["state"] == "TRANSFERRING")
    assert shown["sessionStatus"] == "ACKNOWLEDGED"

    status, _ = hip.push(
        request.body,
        [
            Entry(mis_summed, plain(document("Checksum")), wrong_checksum=True),
            Entry(not_fhir, json.dumps({"resourceType": "Bundle", "entry": "not a list"})),
        ],
        page=2,
        pages=2,
    )
    assert status == 202
    consent_id = request.body["hiRequest"]["consent"]["id"]
    checked = wait_for(lambda: transaction(hip, txn), lambda t: len(t["pages"]) == 2)
    assert checked["state"] == "TRANSFERRING"  # pages alone do not complete it
    notify_done(hip, txn, consent_id, [good, tampered, mis_summed, not_fhir])

    shown = wait_for(lambda: transaction(hip, txn), lambda t: t["state"] == "COMPLETE")
    assert shown["sessionStatus"] == "TRANSFERRED"
    assert [p["pageNumber"] for p in shown["pages"]] == [1, 2]
    by_ref = {e["careContextReference"]: e for e in shown["entries"]}
    assert by_ref[good]["tagOk"] and by_ref[good]["checksumOk"] and by_ref[good]["bundleOk"]
    assert by_ref[good]["title"] == "Prescription of 1 Dec"
    assert by_ref[good]["date"] == "2026-12-01T04:30:00.000Z"
    assert by_ref[good]["resourceTypes"] == ["Composition", "Patient"]
    assert by_ref[good]["problems"] == []
    assert not by_ref[tampered]["tagOk"] and not by_ref[tampered]["decrypted"]
    assert "GCM tag" in by_ref[tampered]["problems"][0]
    assert by_ref[mis_summed]["tagOk"] and not by_ref[mis_summed]["checksumOk"]
    assert by_ref[mis_summed]["bundleOk"]
    assert by_ref[not_fhir]["checksumOk"] and not by_ref[not_fhir]["bundleOk"]
    timings = shown["timings"]
    assert timings["requestSentAt"] <= timings["firstPageAt"] <= timings["notifyAt"]
    assert timings["completedAt"]


def test_a_transfer_whose_notify_comes_first_completes_with_its_last_page(hip: Hip):
    reference = str(uuid.uuid4())
    txn, request = start_transfer(hip, [reference])
    consent_id = request.body["hiRequest"]["consent"]["id"]
    notify_done(hip, txn, consent_id, [reference])
    assert transaction(hip, txn)["state"] != "COMPLETE"
    hip.push(request.body, [Entry(reference, plain(document("Late page")))])
    wait_for(lambda: transaction(hip, txn), lambda t: t["state"] == "COMPLETE")


def test_the_data_push_refuses_a_bad_token_or_an_unknown_transaction(hip: Hip):
    reference = str(uuid.uuid4())
    txn, request = start_transfer(hip, [reference])
    forged = Hip(hip.gateway, hip.bridge, "not-a-token")
    status, _ = forged.push(request.body, [Entry(reference, "{}")])
    assert status == 401
    status, body = hip.push(
        {**request.body, "transactionId": str(uuid.uuid4())}, [Entry(reference, "{}")]
    )
    assert status == 400
    assert "transactionId" in body["error"]["fields"]
    assert transaction(hip, txn)["pages"] == []


def test_an_errored_request_is_recorded_and_takes_no_pages(hip: Hip):
    reference = str(uuid.uuid4())
    txn, request = start_transfer(hip, [reference])
    hip.call(
        "/data-flow/v3/health-information/hip/on-request",
        {
            "hiRequest": {"transactionId": txn, "sessionStatus": "ERRORED"},
            "error": {"code": "ABDM-1026", "message": "Consent expired"},
        },
        answering=request,
    )
    shown = wait_for(lambda: transaction(hip, txn), lambda t: t["state"] == "ERRORED")
    assert shown["error"]["message"] == "Consent expired"
    status, _ = hip.push(request.body, [Entry(reference, plain(document("x")))])
    assert status == 409


def test_decrypted_content_is_dropped_at_data_erase_at(hip: Hip):
    reference = str(uuid.uuid4())
    erase = datetime.now(UTC) + timedelta(seconds=2)
    txn, request = start_transfer(
        hip, [reference], expiresAt=iso(erase + timedelta(hours=1)), dataEraseAt=iso(erase)
    )
    hip.push(request.body, [Entry(reference, plain(document("Erased soon")))])
    entry = wait_for(lambda: transaction(hip, txn), lambda t: t["entries"])["entries"][0]
    assert json.loads(entry["content"])["resourceType"] == "Bundle"
    shown = wait_for(lambda: transaction(hip, txn), lambda t: t["entries"][0]["content"] is None)
    entry = shown["entries"][0]
    assert entry["content"] is None and entry["erasedAt"]
    assert entry["title"] == "Erased soon" and entry["tagOk"]  # the results stay
