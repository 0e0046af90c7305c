"""The consultation record and prescriptions: the doctor writes, the family reads."""

from __future__ import annotations

from typing import Any

from consultations import services as prescribing
from tests.core.apicontract.checker import Contract
from tests.core.apicontract.registry import drives
from tests.core.apicontract.world import MEDICINE, PRESCRIPTION, UNKNOWN, World


def _consultation(ticket_id: Any, tail: str = "") -> str:
    return f"/api/consultations/{ticket_id}/{tail}"


def _prescription(prescription_id: Any, tail: str = "") -> str:
    return f"/api/prescriptions/{prescription_id}/{tail}"


def _refused_to_others(api: Contract, world: World, method: str, path: str, **body: Any) -> None:
    """Nobody signed in (401), the patient (403: only doctors write), another doctor (404)."""
    api.call(method, path, expect=401, **body)
    api.call(method, path, expect=403, user=world.patient, **body)
    api.call(method, path, expect=404, user=world.other_doctor.user, **body)


@drives("consultations_retrieve")
def consultation(api: Contract, world: World) -> None:
    path = _consultation(world.in_consultation().public_id)
    record = api.call("GET", path, expect=200, user=world.doctor.user).json()
    assert record["draft"]["chief_complaints"] == "Fever"
    assert record["patient"]["abha_number"] is None
    api.call("GET", _consultation(UNKNOWN), expect=404, user=world.doctor.user)
    _refused_to_others(api, world, "GET", path)


@drives("consultations_draft_update")
def draft(api: Contract, world: World) -> None:
    ticket = world.in_consultation()
    path = _consultation(ticket.public_id, "draft/")
    body = {**PRESCRIPTION, "medicines": [MEDICINE]}
    saved = api.call("PUT", path, json_body=body, expect=200, user=world.doctor.user).json()
    assert (saved["status"], saved["pdf_url"], saved["finalised_at"]) == ("draft", None, None)
    api.call("PUT", path, json_body={}, expect=200, user=world.doctor.user)
    bad = {**body, "icd10_code": "flu"}
    api.call("PUT", path, json_body=bad, expect=400, user=world.doctor.user, conforming=True)
    api.call("PUT", path, json_body={"vitals": "hot"}, expect=400, user=world.doctor.user)
    _refused_to_others(api, world, "PUT", path, json_body=body)
    api.call("PUT", path, json_body=body, expect=200, user=world.doctor.user)
    api.call(
        "POST", _consultation(ticket.public_id, "finalise/"), expect=200, user=world.doctor.user
    )
    api.call("PUT", path, json_body=body, expect=409, user=world.doctor.user)


@drives("consultations_finalise_create")
def finalise(api: Contract, world: World) -> None:
    ticket = world.in_consultation()
    path = _consultation(ticket.public_id, "finalise/")
    # The first draft holds only the complaint: diagnosis and medicines are missing.
    incomplete = api.call("POST", path, expect=400, user=world.doctor.user, conforming=True)
    assert incomplete.json()["error"]["code"] == "incomplete"
    _refused_to_others(api, world, "POST", path)
    body = {**PRESCRIPTION, "medicines": [MEDICINE]}
    api.call("PUT", _consultation(ticket.public_id, "draft/"), json_body=body, expect=200,
             user=world.doctor.user)  # fmt: skip
    signed = api.call("POST", path, expect=200, user=world.doctor.user).json()
    assert signed["status"] == "final" and signed["number"].startswith("RX")
    api.call("POST", path, expect=409, user=world.doctor.user)


@drives("prescriptions_list")
def prescriptions(api: Contract, world: World) -> None:
    signed = world.signed()
    listed = api.call("GET", "/api/prescriptions/", expect=200, user=world.patient).json()
    assert [p["id"] for p in listed] == [str(signed.public_id)]
    assert api.call("GET", "/api/prescriptions/", expect=200, user=world.stranger).json() == []
    api.call("GET", "/api/prescriptions/", expect=401)
    api.call("GET", "/api/prescriptions/", expect=403, user=world.doctor.user)


@drives("prescriptions_retrieve")
def prescription(api: Contract, world: World) -> None:
    path = _prescription(world.signed().public_id)
    family = api.call("GET", path, expect=200, user=world.patient).json()
    assert family["medicines"][0]["name"] == "Paracetamol"
    api.call("GET", path, expect=200, user=world.doctor.user)
    for outsider in (world.stranger, world.other_doctor.user, world.state_admin):
        api.call("GET", path, expect=404, user=outsider)
    api.call("GET", path, expect=401)


@drives("prescriptions_correct_create")
def correct(api: Contract, world: World) -> None:
    first = world.signed()
    path = _prescription(first.public_id, "correct/")
    _refused_to_others(api, world, "POST", path)
    correction = api.call("POST", path, expect=200, user=world.doctor.user).json()
    assert (correction["status"], correction["version"]) == ("draft", 2)
    draft = first.consultation.prescriptions.get(public_id=correction["id"])
    with world.run_on_commit(execute=False):
        prescribing.finalise(draft, doctor=world.doctor)
    # The first version is superseded now: only the current one can be corrected.
    api.call("POST", path, expect=409, user=world.doctor.user)
