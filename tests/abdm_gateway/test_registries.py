"""The offline HPR and HFR lookups over real HTTP, with the gateway session."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from tests.abdm_gateway.harness import Gateway, http

HPR = "/v4/int/v1/search"
HFR_SEARCH = "/v4/int/FacilityManagement/v1.5/facility/search"
DEMO_FACILITY = "IN0910000162"


def lookup(gateway: Gateway, hpr_id: str, token: str | None = None) -> tuple[int, Any]:
    token = token if token is not None else gateway.token()
    return http("GET", f"{gateway.url}{HPR}/searchByHprId/{hpr_id}", headers=gateway.headers(token))


def facilities(gateway: Gateway, body: dict[str, Any], token: str | None = None) -> Any:
    headers = gateway.headers(token if token is not None else gateway.token())
    return http("POST", f"{gateway.url}{HFR_SEARCH}", body, headers)


def test_a_demo_doctor_is_found_active_by_handle_and_by_number(abdm_gateway: Gateway):
    status, by_handle = lookup(abdm_gateway, "asha.verma@hpr.abdm")
    again, by_number = lookup(abdm_gateway, by_handle["hprIdNumber"])

    assert status == 200
    assert by_handle["name"] == "Asha Verma"
    assert by_handle["hprId"] == "asha.verma@hpr.abdm"
    assert by_handle["hprIdNumber"].startswith("71-")
    assert by_handle["active"] is True
    assert by_handle["status"] == "Active"
    assert by_handle["registrationNumber"] == "UPMC-45821"
    assert (again, by_number) == (200, by_handle)
    digits = by_handle["hprIdNumber"].replace("-", "")
    assert lookup(abdm_gateway, digits)[1]["hprId"] == "asha.verma@hpr.abdm"


def test_both_seeded_doctors_are_in_the_registry(abdm_gateway: Gateway):
    token = abdm_gateway.token()

    status, imran = lookup(abdm_gateway, "imran.qureshi@hpr.abdm", token)

    assert status == 200
    assert imran["name"] == "Imran Qureshi"
    assert imran["active"] is True


def test_an_unknown_hpr_id_is_invalid_hpid_and_does_not_exist(abdm_gateway: Gateway):
    token = abdm_gateway.token()

    status, body = lookup(abdm_gateway, "nobody.here@hpr.abdm", token)
    exists = http(
        "GET",
        f"{abdm_gateway.url}{HPR}/existsByHprId/nobody.here@hpr.abdm",
        headers=abdm_gateway.headers(token),
    )
    known = http(
        "GET",
        f"{abdm_gateway.url}{HPR}/existsByHprId/imran.qureshi@hpr.abdm",
        headers=abdm_gateway.headers(token),
    )

    assert status == 422
    assert body["error"] == {"code": "HIS-3008", "message": "Invalid HPID."}
    assert exists == (200, False)
    assert known == (200, True)


def test_a_suspended_doctor_is_found_but_not_active(abdm_gateway: Gateway):
    status, body = lookup(abdm_gateway, "rakesh.suspended@hpr.abdm")

    assert status == 200
    assert body["status"] == "Suspended"
    assert body["active"] is False


def test_the_demo_facility_is_found_by_its_hfr_id(abdm_gateway: Gateway):
    status, body = facilities(abdm_gateway, {"facilityId": DEMO_FACILITY.lower(), "page": 1})

    assert status == 200
    assert body["totalFacilities"] == 1
    assert body["numberOfPages"] == 1
    (facility,) = body["facilities"]
    assert facility["facilityId"] == DEMO_FACILITY
    assert facility["facilityName"] == "District Hospital, Lucknow (demo)"
    assert facility["facilityStatus"] == "Approved"
    assert facility["active"] is True
    assert facility["stateLGDCode"] == "9"


def test_an_unknown_facility_is_an_empty_page(abdm_gateway: Gateway):
    status, body = facilities(abdm_gateway, {"facilityId": "IN0910009999"})

    assert status == 200
    assert body["facilities"] == []
    assert body["totalFacilities"] == 0


def test_an_inactive_facility_is_found_but_not_active(abdm_gateway: Gateway):
    status, body = facilities(abdm_gateway, {"facilityId": "IN0910000999"})

    assert status == 200
    (facility,) = body["facilities"]
    assert facility["facilityStatus"] == "Inactive"
    assert facility["active"] is False


def test_a_search_by_name_and_state_pages_its_results(abdm_gateway: Gateway):
    token = abdm_gateway.token()

    _, first = facilities(
        abdm_gateway, {"facilityName": "demo", "stateLGDCode": "9", "resultsPerPage": 1}, token
    )
    _, second = facilities(
        abdm_gateway,
        {"facilityName": "demo", "stateLGDCode": "9", "resultsPerPage": 1, "page": 2},
        token,
    )
    _, elsewhere = facilities(abdm_gateway, {"facilityName": "demo", "stateLGDCode": "27"}, token)

    assert first["totalFacilities"] == 2
    assert first["numberOfPages"] == 2
    ids = {first["facilities"][0]["facilityId"], second["facilities"][0]["facilityId"]}
    assert ids == {DEMO_FACILITY, "IN0910000999"}
    assert elsewhere["totalFacilities"] == 0


def test_lookups_without_the_gateway_session_get_401_and_no_record(abdm_gateway: Gateway):
    no_token = http(
        "GET",
        f"{abdm_gateway.url}{HPR}/searchByHprId/asha.verma@hpr.abdm",
        headers=abdm_gateway.headers(),
    )
    forged = lookup(abdm_gateway, "asha.verma@hpr.abdm", token="not-a-jwt")
    facility = facilities(abdm_gateway, {"facilityId": DEMO_FACILITY}, token="not-a-jwt")

    for status, body in (no_token, forged, facility):
        assert status == 401
        assert body["error"]["code"] == "ABDM-1008"
        assert "name" not in body
        assert "facilities" not in body


def test_lookups_need_the_gateway_headers(abdm_gateway: Gateway):
    token = abdm_gateway.token()
    headers = abdm_gateway.headers(token, **{"REQUEST-ID": "not-a-uuid"})

    status, body = http(
        "GET", f"{abdm_gateway.url}{HPR}/searchByHprId/asha.verma@hpr.abdm", headers=headers
    )

    assert status == 400
    assert body["error"]["code"] == "ABDM-1001"


def test_a_facility_search_that_is_not_json_gets_400(abdm_gateway: Gateway):
    request = urllib.request.Request(  # noqa: S310 - a local http URL
        f"{abdm_gateway.url}{HFR_SEARCH}",
        data=b"facilityId=IN0910000162",
        method="POST",
        headers={"Content-Type": "application/json", **abdm_gateway.headers(abdm_gateway.token())},
    )
    try:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
        status = 200
    except urllib.error.HTTPError as error:
        status = error.code

    assert status == 400


def test_a_lookup_does_not_use_up_its_request_id(abdm_gateway: Gateway):
    headers = abdm_gateway.headers(abdm_gateway.token())
    url = f"{abdm_gateway.url}{HPR}/searchByHprId/asha.verma@hpr.abdm"

    first, _ = http("GET", url, headers=headers)
    second, body = http("GET", url, headers=headers)

    assert (first, second) == (200, 200)
    assert body["name"] == "Asha Verma"
