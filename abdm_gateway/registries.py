"""The Health Professional Registry (HPR) and Health Facility Registry (HFR) lookups, offline.

ABDM serves both registries from the NHPR host (sandbox `https://apihspsbx.abdm.gov.in/v4/int`);
the paths below are the ones open integrations call there:

- `GET  /v4/int/v1/search/searchByHprId/{hprId}`: one professional, looked up by HPR ID handle
  (`name@hpr.abdm`) or HPR number (`71-XXXX-XXXX-XXXX`, with or without dashes). An id nobody
  holds is answered 422 `HIS-3008 "Invalid HPID."`, as the sandbox is observed to answer.
- `GET  /v4/int/v1/search/existsByHprId/{hprId}`: `true` or `false`.
- `POST /v4/int/FacilityManagement/v1.5/facility/search`: `{facilityId, facilityName,
  stateLGDCode, ..., page, resultsPerPage}` → `{facilities: [...], message, totalFacilities,
  numberOfPages}`; an unknown facility is an empty page (totalFacilities 0), not an error.

Whether a professional may practise is in `active` and `status` (the registry's own fields are
not published; this shape is this gateway's), a facility's in `facilityStatus`. Every call needs
the gateway session and the headers of every other gateway call (Bearer token, UUID REQUEST-ID,
TIMESTAMP in the window, X-CM-ID). See docs/abdm.md, "The offline registries".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from abdm_gateway.admission import Refused, authenticate, check_headers
from abdm_gateway.config import Config
from abdm_gateway.keys import Keys

BASE = "/v4/int"
HPR_NUMBER = re.compile(r"^71\d{12}$")


@dataclass(frozen=True)
class Professional:
    hpr_id: str  # the handle, name@hpr.abdm
    number: str  # 14 digits starting 71
    name: str
    category: str  # "Doctor" (categoryId 1) or "Nurse" (2)
    council: str
    registration_number: str
    state_code: str  # LGD state code
    status: str  # "Active" or "Suspended"

    @property
    def active(self) -> bool:
        return self.status == "Active"

    def record(self) -> dict[str, Any]:
        n = self.number
        return {
            "hprIdNumber": f"{n[:2]}-{n[2:6]}-{n[6:10]}-{n[10:]}",
            "hprId": self.hpr_id,
            "name": self.name,
            "categoryId": "1" if self.category == "Doctor" else "2",
            "categoryName": self.category,
            "subCategoryId": "1",
            "subCategoryName": "Modern Medicine",
            "councilName": self.council,
            "registrationNumber": self.registration_number,
            "stateCode": self.state_code,
            "status": self.status,
            "active": self.active,
        }


@dataclass(frozen=True)
class Facility:
    facility_id: str  # IN + 2-digit LGD state code + 8 digits
    name: str
    state: str
    state_lgd: str
    district: str
    district_lgd: str
    status: str  # "Approved" (live in ABDM) or "Inactive"

    def record(self) -> dict[str, Any]:
        return {
            "facilityId": self.facility_id,
            "facilityName": self.name,
            "facilityStatus": self.status,
            "active": self.status == "Approved",
            "ownership": "GOVERNMENT",
            "ownershipCode": "G",
            "facilityType": "Hospital",
            "facilityTypeCode": "5",
            "systemOfMedicine": "Modern Medicine(Allopathy)",
            "systemOfMedicineCode": "M",
            "stateName": self.state,
            "stateLGDCode": self.state_lgd,
            "districtName": self.district,
            "districtLGDCode": self.district_lgd,
            "subDistrictName": None,
            "subDistrictLGDCode": None,
            "villageCityTownName": None,
            "villageCityTownLGDCode": None,
            "address": f"{self.name}, {self.district}",
            "pincode": "226001",
            "latitude": None,
            "longitude": None,
        }


# The demo doctors of `manage.py seed_demo` (their HPR handles), and one suspended doctor.
PROFESSIONALS = [
    Professional(
        "asha.verma@hpr.abdm",
        "71100000000101",
        "Asha Verma",
        "Doctor",
        "Uttar Pradesh Medical Council",
        "UPMC-45821",
        "9",
        "Active",
    ),
    Professional(
        "imran.qureshi@hpr.abdm",
        "71100000000102",
        "Imran Qureshi",
        "Doctor",
        "Uttar Pradesh Medical Council",
        "UPMC-51207",
        "9",
        "Active",
    ),
    Professional(
        "rakesh.suspended@hpr.abdm",
        "71100000000199",
        "Rakesh Malhotra",
        "Doctor",
        "Uttar Pradesh Medical Council",
        "UPMC-30001",
        "9",
        "Suspended",
    ),
]

# The demo facility of `manage.py seed_demo`, and one facility no longer live in ABDM.
FACILITIES = [
    Facility(
        "IN0910000162",
        "District Hospital, Lucknow (demo)",
        "Uttar Pradesh",
        "9",
        "Lucknow",
        "162",
        "Approved",
    ),
    Facility(
        "IN0910000999",
        "Community Health Centre, Kakori (closed demo)",
        "Uttar Pradesh",
        "9",
        "Lucknow",
        "162",
        "Inactive",
    ),
]


def find_professional(raw: str) -> Professional | None:
    """By handle (case-insensitive) or by number (dashes and spaces ignored)."""
    value = raw.strip().lower()
    digits = re.sub(r"[\s-]", "", value)
    for person in PROFESSIONALS:
        if value == person.hpr_id or (HPR_NUMBER.fullmatch(digits) and digits == person.number):
            return person
    return None


def text(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    return "" if value is None else str(value).strip()


def search_facilities(body: dict[str, Any]) -> dict[str, Any]:
    """The filters that are given (facilityId exact, facilityName contained, state and district
    LGD codes exact), paged by `page` (from 1) and `resultsPerPage`."""
    facility_id = text(body, "facilityId").upper()
    name = text(body, "facilityName").lower()
    state = text(body, "stateLGDCode")
    district = text(body, "districtLGDCode")
    try:
        page = max(int(body.get("page") or 1), 1)
        per_page = min(max(int(body.get("resultsPerPage") or 10), 1), 100)
    except (TypeError, ValueError):
        raise Refused(400, "HIS-1000", "page and resultsPerPage must be numbers") from None
    found = [
        f
        for f in FACILITIES
        if (not facility_id or f.facility_id == facility_id)
        and (not name or name in f.name.lower())
        and (not state or f.state_lgd == state)
        and (not district or f.district_lgd == district)
    ]
    start = (page - 1) * per_page
    return {
        "facilities": [f.record() for f in found[start : start + per_page]],
        "message": "Request processed successfully",
        "totalFacilities": len(found),
        "numberOfPages": math.ceil(len(found) / per_page),
    }


class Registries:
    def __init__(self, config: Config, keys: Keys) -> None:
        self.config, self.keys = config, keys

    def admit(self, request: web.Request) -> None:
        """The gateway session and the headers every gateway call carries."""
        authenticate(request, self.keys, self.config)
        check_headers(request, self.config)

    async def search_by_hpr_id(self, request: web.Request) -> web.Response:
        self.admit(request)
        person = find_professional(request.match_info["hpr_id"])
        if person is None:
            raise Refused(422, "HIS-3008", "Invalid HPID.")
        return web.json_response(person.record())

    async def exists_by_hpr_id(self, request: web.Request) -> web.Response:
        self.admit(request)
        return web.json_response(find_professional(request.match_info["hpr_id"]) is not None)

    async def facility_search(self, request: web.Request) -> web.Response:
        self.admit(request)
        try:
            body = await request.json()
        except ValueError:
            raise Refused(400, "HIS-1000", "The body is not JSON") from None
        if not isinstance(body, dict):
            raise Refused(400, "HIS-1000", "The body is not a JSON object")
        return web.json_response(search_facilities(body))


def install(app: web.Application, config: Config, keys: Keys) -> Registries:
    """Serve the HPR and HFR lookups on the gateway's app."""
    registries = Registries(config, keys)
    router = app.router
    router.add_get(f"{BASE}/v1/search/searchByHprId/{{hpr_id}}", registries.search_by_hpr_id)
    router.add_get(f"{BASE}/v1/search/existsByHprId/{{hpr_id}}", registries.exists_by_hpr_id)
    router.add_post(f"{BASE}/FacilityManagement/v1.5/facility/search", registries.facility_search)
    return registries
