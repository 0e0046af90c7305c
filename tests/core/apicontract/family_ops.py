"""Family members: the signed-in account's family only."""

from __future__ import annotations

from typing import Any

from tests.core.apicontract.checker import Contract
from tests.core.apicontract.registry import drives
from tests.core.apicontract.world import UNKNOWN, World
from tests.factories import district

MEMBERS = "/api/family/members/"


def _member(member_id: Any) -> str:
    return f"{MEMBERS}{member_id}/"


def _new_member(**changes: Any) -> dict[str, Any]:
    return {
        "relationship": "spouse",
        "name": "Ramesh Kumar",
        "sex": "M",
        "age_years": 41,
        "state": "UP",
        "district": district("UP", "Lucknow").lgd_code,
        "preferred_language": "hi",
        "abha_number": "",
        **changes,
    }


def _refused_to_others(api: Contract, world: World, method: str, path: str, **body: Any) -> None:
    api.call(method, path, expect=401, **body)
    api.call(method, path, expect=403, user=world.doctor.user, **body)


@drives("family_members_list")
def family_list(api: Contract, world: World) -> None:
    members = api.call("GET", MEMBERS, expect=200, user=world.patient).json()
    assert {m["name"] for m in members} == {"Sunita Devi", "Ravi Kumar"}
    _refused_to_others(api, world, "GET", MEMBERS)


@drives("family_members_create")
def family_create(api: Contract, world: World) -> None:
    added = api.call("POST", MEMBERS, json_body=_new_member(), expect=201, user=world.patient)
    assert added.json()["dob_is_estimated"] is True
    with_birth_date = _new_member(name="Asha Kumari", age_years=None, date_of_birth="2001-04-05")
    api.call("POST", MEMBERS, json_body=with_birth_date, expect=201, user=world.patient)
    api.call("POST", MEMBERS, json_body=_new_member(name=""), expect=400, user=world.patient)
    api.call(
        "POST", MEMBERS, json_body=_new_member(relationship="self"), expect=409, user=world.patient
    )
    _refused_to_others(api, world, "POST", MEMBERS, json_body=_new_member())


@drives("family_members_retrieve")
def family_retrieve(api: Contract, world: World) -> None:
    path = _member(world.child.public_id)
    assert api.call("GET", path, expect=200, user=world.patient).json()["name"] == "Ravi Kumar"
    api.call("GET", path, expect=404, user=world.stranger)
    api.call("GET", _member(UNKNOWN), expect=404, user=world.patient)
    _refused_to_others(api, world, "GET", path)


@drives("family_members_partial_update")
def family_update(api: Contract, world: World) -> None:
    path = _member(world.child.public_id)
    changed = api.call(
        "PATCH", path, json_body={"name": "Ravi Verma"}, expect=200, user=world.patient
    )
    assert changed.json()["name"] == "Ravi Verma"
    api.call("PATCH", path, json_body={"sex": "X"}, expect=400, user=world.patient)
    api.call("PATCH", path, json_body={"name": "Ravi"}, expect=404, user=world.stranger)
    holder = _member(world.family.public_id)
    api.call("PATCH", holder, json_body={"relationship": "spouse"}, expect=409, user=world.patient)
    _refused_to_others(api, world, "PATCH", path, json_body={"name": "Ravi"})


@drives("family_members_destroy")
def family_destroy(api: Contract, world: World) -> None:
    path = _member(world.child.public_id)
    api.call("DELETE", path, expect=404, user=world.stranger)
    _refused_to_others(api, world, "DELETE", path)
    api.call("DELETE", path, expect=204, user=world.patient)
    api.call("DELETE", path, expect=404, user=world.patient)
    api.call("DELETE", _member(world.family.public_id), expect=409, user=world.patient)
