"""The PHR page (`/phr/`) of the offline gateway, driven over HTTP as a browser without JS would."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.abdm_gateway.fake_hip import Entry, Hip, document, plain
from tests.abdm_gateway.harness import HIP_ID, Bridge, Gateway, http

SUNITA = "91123456789015"
RAMESH = "91234567890129"


@pytest.fixture
def hip(abdm_gateway: Gateway, abdm_bridge: Bridge) -> Hip:
    return Hip(abdm_gateway, abdm_bridge, abdm_gateway.token())


@pytest.fixture
def browser(abdm_gateway: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=abdm_gateway.url, follow_redirects=False, timeout=10) as client:
        yield client


def page(browser: httpx.Client, abha: str = SUNITA) -> str:
    answer = browser.get("/phr/", params={"abha": abha})
    assert answer.status_code == 200
    return answer.text


def csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


def submit(
    browser: httpx.Client, path: str, fields: dict[str, Any], abha: str = SUNITA
) -> httpx.Response:
    token = csrf(page(browser, abha))
    return browser.post(f"/phr/{path}", data={"csrf": token, "abha": abha, **fields})


def test_the_page_lists_the_demo_people_and_a_persons_linked_records(hip: Hip, browser):
    reference = str(uuid.uuid4())
    hip.link(reference)

    start = browser.get("/phr/")
    assert start.status_code == 200
    assert '<label for="abha">' in start.text
    assert "Sunita Devi — 91-1234-5678-9015" in start.text
    assert "Kamla Devi — 91-3456-7890-1231" in start.text
    assert 'name="viewport"' in start.text

    html = page(browser)
    assert f"Consultation {reference[:8]}" in html
    assert "by the hospital" in html
    assert " IST" in html
    assert browser.get("/phr/", params={"abha": "91-0000-0000-0000"}).status_code == 404


def test_a_form_without_the_pages_token_is_refused(hip: Hip, browser):
    answer = browser.post("/phr/discover", data={"abha": SUNITA, "hipId": HIP_ID})
    assert answer.status_code == 403
    answer = browser.post("/phr/discover", data={"abha": SUNITA, "hipId": HIP_ID, "csrf": "forged"})
    assert answer.status_code == 403
    assert hip.count("/api/v3/hip/patient/care-context/discover") == 0


def test_discover_link_and_confirm_with_the_otp_through_the_page(hip: Hip, browser):
    answer = submit(browser, "discover", {"hipId": HIP_ID, "mr": ""})
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/phr/?abha=91123456789015")
    discover = hip.wait("/api/v3/hip/patient/care-context/discover")
    txn = discover.body["transactionId"]
    reference = str(uuid.uuid4())
    found = {
        "referenceNumber": "patient-sunita",
        "display": "Sunita Devi",
        "careContexts": [{"referenceNumber": reference, "display": "Fever visit"}],
        "hiType": "OPConsultation",
        "count": 1,
    }
    hip.call(
        "/user-initiated-linking/v3/patient/care-context/on-discover",
        {"transactionId": txn, "patient": [found], "matchedBy": ["MOBILE"]},
        answering=discover,
    )
    html = page(browser)
    assert f'value="{reference}" checked' in html

    assert submit(browser, "link-init", {"txn": txn, "careContext": reference}).status_code == 303
    init = hip.wait("/api/v3/hip/link/care-context/init")
    assert init.body["patient"][0]["careContexts"] == [{"referenceNumber": reference}]
    hip.call(
        "/user-initiated-linking/v3/link/care-context/on-init",
        {
            "transactionId": txn,
            "link": {
                "referenceNumber": "ref-1",
                "authenticationType": "DIRECT",
                "meta": {"communicationMedium": "MOBILE", "communicationHint": "OTP"},
            },
        },
        answering=init,
    )
    assert 'autocomplete="one-time-code"' in page(browser)

    assert submit(browser, "link-confirm", {"txn": txn, "otp": "246810"}).status_code == 303
    confirm = hip.wait("/api/v3/hip/link/care-context/confirm")
    assert confirm.body["confirmation"] == {"linkRefNumber": "ref-1", "token": "246810"}
    hip.call(
        "/user-initiated-linking/v3/link/care-context/on-confirm",
        {"patient": [found]},
        answering=confirm,
    )
    html = page(browser)
    assert "Fever visit" in html
    assert "by you" in html


def consent_fields(reference: str, decision: str = "GRANTED") -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {
        "hipId": HIP_ID,
        "careContext": reference,
        "hiType": ["OPConsultation", "Prescription"],
        "purpose": "CAREMGT",
        "from": str(today - timedelta(days=30)),
        "to": str(today),
        "expires": str(today + timedelta(days=7)),
        "erase": str(today + timedelta(days=7)),
        "decision": decision,
    }


def test_grant_ask_for_the_data_and_see_what_arrived(hip: Hip, browser):
    reference = str(uuid.uuid4())
    hip.link(reference)
    assert submit(browser, "consents", consent_fields(reference)).status_code == 303
    notice = hip.wait("/api/v3/consent/request/hip/notify").body["notification"]
    assert notice["status"] == "GRANTED"
    assert notice["consentDetail"]["careContexts"][0]["careContextReference"] == reference
    span = notice["consentDetail"]["permission"]["dateRange"]
    assert span["to"].endswith("18:29:59.999Z")  # the end of the day in IST
    consent_id = notice["consentId"]
    shown = page(browser)
    assert "Get the data" in shown
    # Sunita's earlier transfers (other tests share this gateway) may already show as complete.
    complete_before = shown.count(": complete</h4>")

    answer = submit(browser, "consent-request", {"consent": consent_id})
    assert answer.status_code == 303
    request = hip.wait("/api/v3/hip/health-information/request")
    txn = request.body["transactionId"]
    hip.call(
        "/data-flow/v3/health-information/hip/on-request",
        {"hiRequest": {"transactionId": txn, "sessionStatus": "ACKNOWLEDGED"}},
        answering=request,
    )
    hip.push(request.body, [Entry(reference, plain(document("Cough and cold")))])
    hip.call(
        "/data-flow/v3/health-information/notify",
        {
            "notification": {
                "consentId": consent_id,
                "transactionId": txn,
                "doneAt": "2026-12-07T10:00:00.000Z",
                "notifier": {"type": "HIP", "id": HIP_ID},
                "statusNotification": {
                    "sessionStatus": "TRANSFERRED",
                    "hipId": HIP_ID,
                    "statusResponses": [
                        {"careContextReference": reference, "hiStatus": "DELIVERED"}
                    ],
                },
            }
        },
    )
    # The page is checked after it was answered: the PHR page shows it once it is.
    deadline = time.monotonic() + 10
    while (html := page(browser)).count(
        ": complete</h4>"
    ) <= complete_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert html.count(": complete</h4>") == complete_before + 1
    assert "Cough and cold" in html
    assert "01 Dec 2026, 10:00 IST" in html
    assert html.count('<span class="ok">passed</span>') >= 3


def test_deny_then_revoke_through_the_page(hip: Hip, browser):
    reference = str(uuid.uuid4())
    hip.link(reference)
    assert submit(browser, "consents", consent_fields(reference, "DENIED")).status_code == 303
    assert "Denied for" in page(browser)
    assert hip.count("/api/v3/consent/request/hip/notify") == 0

    submit(browser, "consents", consent_fields(reference))
    consent_id = hip.wait("/api/v3/consent/request/hip/notify").body["notification"]["consentId"]
    assert submit(browser, "consent-revoke", {"consent": consent_id}).status_code == 303
    revoked = hip.wait("/api/v3/consent/request/hip/notify", 2).body["notification"]
    assert revoked == {"status": "REVOKED", "consentId": consent_id}
    assert "Revoked for" in page(browser)


def test_a_consent_form_with_nothing_to_share_is_shown_again_with_the_reason(hip: Hip, browser):
    reference = str(uuid.uuid4())
    hip.link(reference)
    fields = {**consent_fields(reference), "hiType": []}
    answer = submit(browser, "consents", fields)
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert "choose one or more of" in answer.text
    assert hip.count("/api/v3/consent/request/hip/notify") == 0


def test_another_persons_consent_cannot_be_touched_from_their_page(hip: Hip, browser):
    reference = str(uuid.uuid4())
    hip.link(reference)
    submit(browser, "consents", consent_fields(reference))
    consent_id = hip.wait("/api/v3/consent/request/hip/notify").body["notification"]["consentId"]

    answer = submit(browser, "consent-revoke", {"consent": consent_id}, abha=RAMESH)
    assert answer.status_code == 404
    _, shown = http("GET", f"{hip.gateway.url}/_admin/cm/consents/{consent_id}")
    assert shown["status"] == "GRANTED"
    assert consent_id not in page(browser, RAMESH)
