"""Scan & Share on the gateway's side: the PHR app's share built from the ABHA registry and
delivered to the HIP's bridge, and the HIP's on-share shown as the PHR app would show it."""

from __future__ import annotations

from tests.abdm_gateway.harness import HIP_ID, Bridge, Gateway, http

ON_SHARE = "/patient-share/v3/on-share"


def test_a_share_carries_the_abha_profile_to_the_hip_and_shows_its_token(
    abdm_gateway: Gateway, abdm_bridge: Bridge
) -> None:
    started = abdm_gateway.admin(
        "share", {"abhaAddress": "Sunita.Devi@sbx", "hipId": HIP_ID, "context": "UP-GM"}
    )
    request_id = started["requestId"]
    [received] = abdm_bridge.wait_for(1)

    assert received.path == "/api/v3/hip/patient/share"
    assert received.headers["REQUEST-ID"] == request_id
    assert received.headers["X-HIP-ID"] == HIP_ID
    assert received.body["intent"] == "PROFILE_SHARE"
    assert received.body["metaData"] == {"hipId": HIP_ID, "context": "UP-GM", "hprId": ""}
    patient = received.body["profile"]["patient"]
    assert patient["abhaNumber"] == "91-1234-5678-9015"
    assert patient["abhaAddress"] == "sunita.devi@sbx" and patient["name"] == "Sunita Devi"
    assert (patient["gender"], patient["yearOfBirth"], patient["monthOfBirth"]) == (
        "F",
        "1988",
        "3",
    )
    assert patient["phoneNumber"] == "9876543210"
    assert (patient["address"]["stateCode"], patient["address"]["districtCode"]) == ("9", "162")
    assert abdm_gateway.admin(f"share/{request_id}")["status"] == "PENDING"

    answer = {
        "acknowledgement": {
            "status": "SUCCESS",
            "abhaAddress": "sunita.devi@sbx",
            "profile": {"context": "UP-GM", "tokenNumber": "GM-007", "expiry": "1800"},
        },
        "response": {"requestId": request_id},
    }
    token = abdm_gateway.token()
    assert abdm_gateway.call(ON_SHARE, answer, abdm_gateway.headers(token))[0] == 202

    shown = abdm_gateway.admin(f"share/{request_id}")
    assert shown["status"] == "SUCCESS" and shown["tokenNumber"] == "GM-007"
    assert shown["expiry"] == "1800" and shown["error"] is None
    # A second answer to the same share is refused by admission and changes nothing.
    again = {**answer, "acknowledgement": {**answer["acknowledgement"], "status": "FAILED"}}
    assert abdm_gateway.call(ON_SHARE, again, abdm_gateway.headers(token))[0] == 409
    assert abdm_gateway.admin(f"share/{request_id}")["status"] == "SUCCESS"


def test_a_refusal_is_shown_with_its_error(abdm_gateway: Gateway, abdm_bridge: Bridge) -> None:
    request_id = abdm_gateway.admin(
        "share", {"abhaAddress": "ramesh.k@sbx", "hipId": HIP_ID, "context": "UP-EV"}
    )["requestId"]
    abdm_bridge.wait_for(1)
    error = {"code": "opd_closed", "message": "This OPD is closed now."}
    answer = {
        "acknowledgement": {
            "status": "FAILED",
            "abhaAddress": "ramesh.k@sbx",
            "profile": {"context": "UP-EV"},
        },
        "error": error,
        "response": {"requestId": request_id},
    }
    token = abdm_gateway.token()
    assert abdm_gateway.call(ON_SHARE, answer, abdm_gateway.headers(token))[0] == 202

    shown = abdm_gateway.admin(f"share/{request_id}")
    assert shown["status"] == "FAILED" and shown["error"] == error
    assert shown["tokenNumber"] is None


def test_a_share_needs_a_known_abha_a_registered_hip_and_a_counter(abdm_gateway: Gateway) -> None:
    url = f"{abdm_gateway.url}/_admin/share"
    good = {"abhaAddress": "sunita.devi@sbx", "hipId": HIP_ID, "context": "UP-GM"}

    assert http("POST", url, {**good, "abhaAddress": "nobody@sbx"})[0] == 400
    assert http("POST", url, {**good, "hipId": "IN0000000000"})[0] == 400
    assert http("POST", url, {**good, "context": ""})[0] == 400
    assert http("POST", url, ["not", "an", "object"])[0] == 400
    assert http("GET", f"{url}/5b0c4f5e-0000-4000-8000-000000000000")[0] == 404
