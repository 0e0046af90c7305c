"""HTTP to ABDM's Health Professional Registry (HPR) and Health Facility Registry (HFR).

Sandbox base ``https://apihspsbx.abdm.gov.in/v4/int``, offline the gateway's ``/v4/int``
(settings ``ABDM_REGISTRY_URL``); the gateway session and ABDM's headers as every call
(``abdm.http``). Answers are reduced to what the service keeps: found and practising, not found,
or found but suspended / inactive.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings

from abdm import http
from providers.models import RegistryStatus

# What HPR answers for an id nobody holds (the sandbox's 422 HIS-3008; its page says 404).
HPR_NOT_FOUND_STATUSES = {404, 422}


def professional_status(hpr_id: str) -> RegistryStatus:
    """Whether the HPR knows ``hpr_id`` (handle or number) and the professional may practise.
    Raises ``http.ServiceUnavailable`` or ``http.ServiceRefused`` (a refusal other than
    "not found")."""
    try:
        response = http.call(
            settings.ABDM_REGISTRY_URL, "GET", f"/v1/search/searchByHprId/{quote(hpr_id, safe='')}"
        )
    except http.ServiceRefused as exc:
        if exc.status in HPR_NOT_FOUND_STATUSES:
            return RegistryStatus.NOT_FOUND
        raise
    record = http.json_object(response)
    active = record.get("active")
    status = str(record.get("status") or "").lower()
    if active is False or (active is None and status not in {"", "active"}):
        return RegistryStatus.INACTIVE
    return RegistryStatus.VERIFIED


def facility_status(hfr_id: str) -> RegistryStatus:
    """Whether the HFR knows ``hfr_id`` and the facility is live (approved and active)."""
    body = {
        "facilityId": hfr_id,
        "facilityName": "",
        "stateLGDCode": "",
        "districtLGDCode": "",
        "ownershipCode": "",
        "subDistrictLGDCode": "",
        "pincode": "",
        "page": 1,
        "resultsPerPage": 10,
    }
    answer = http.json_object(
        http.call(
            settings.ABDM_REGISTRY_URL,
            "POST",
            "/FacilityManagement/v1.5/facility/search",
            body=body,
        )
    )
    facilities = answer.get("facilities") or []
    match = next(
        (
            f
            for f in facilities
            if isinstance(f, dict) and str(f.get("facilityId", "")).upper() == hfr_id.upper()
        ),
        None,
    )
    if match is None:
        return RegistryStatus.NOT_FOUND
    if match.get("active") is False or str(match.get("facilityStatus", "")).lower() not in {
        "",
        "approved",
    }:
        return RegistryStatus.INACTIVE
    return RegistryStatus.VERIFIED
