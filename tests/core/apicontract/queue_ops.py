"""The waiting room for patients: OPDs, booking, the polling fallback, CALL NOW, cancel."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from tests.core.apicontract.checker import Contract
from tests.core.apicontract.registry import drives
from tests.core.apicontract.world import UNKNOWN, World

TICKETS = "/api/tickets/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _ticket(ticket_id: Any, tail: str = "") -> str:
    return f"{TICKETS}{ticket_id}/{tail}"


def _refused_to_others(api: Contract, world: World, method: str, path: str, **body: Any) -> None:
    api.call(method, path, expect=401, **body)
    api.call(method, path, expect=403, user=world.doctor.user, **body)


@drives("opds_list")
def opds(api: Contract, world: World) -> None:
    query = {"patient": str(world.child.public_id)}
    listed = api.call("GET", "/api/opds/", query=query, expect=200, user=world.patient).json()
    assert "CT" in [o["code"] for o in listed]
    assert listed[0]["speciality"] is None  # a general OPD
    api.call("GET", "/api/opds/", query=query, expect=404, user=world.stranger)
    api.call("GET", "/api/opds/", expect=400, user=world.patient)
    api.call("GET", "/api/opds/", query={"patient": "me"}, expect=400, user=world.patient)
    _refused_to_others(api, world, "GET", "/api/opds/", query=query)


@drives("tickets_list")
def tickets(api: Contract, world: World) -> None:
    world.waiting()
    listed = api.call("GET", TICKETS, expect=200, user=world.patient).json()
    assert [t["token"] for t in listed] == ["CT-001"]
    assert api.call("GET", TICKETS, expect=200, user=world.stranger).json() == []
    _refused_to_others(api, world, "GET", TICKETS)


def _booking(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "patient": str(world.family.public_id),
        "opd": str(world.opd.public_id),
        "complaint": "Fever for three days",
        **changes,
    }


@drives("tickets_create")
def booking(api: Contract, world: World) -> None:
    booked = api.call("POST", TICKETS, json_body=_booking(world), expect=201, user=world.patient)
    assert booked.json()["status"] == "waiting"
    form = {
        **_booking(world, patient=str(world.child.public_id)),
        "files": [SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf")],
    }
    api.call("POST", TICKETS, multipart=form, expect=201, user=world.patient)
    # Already booked in this OPD; another family's member; an unknown OPD; bad input.
    api.call("POST", TICKETS, json_body=_booking(world), expect=409, user=world.patient)
    api.call("POST", TICKETS, json_body=_booking(world), expect=404, user=world.stranger)
    theirs = str(world.other_family.public_id)
    unknown_opd = _booking(world, patient=theirs, opd=UNKNOWN)
    api.call("POST", TICKETS, json_body=unknown_opd, expect=404, user=world.stranger)
    short = _booking(world, patient=theirs, complaint="x")
    api.call("POST", TICKETS, json_body=short, expect=400, user=world.stranger)
    with override_settings(ATTACHMENT_MAX_FILES=1, ATTACHMENT_MAX_BYTES=1024):
        big = {**_booking(world), "files": [SimpleUploadedFile("scan.pdf", PDF * 8000)]}
        api.call("POST", TICKETS, multipart=big, expect=413, user=world.patient)
    _refused_to_others(api, world, "POST", TICKETS, json_body=_booking(world))


@drives("tickets_retrieve")
def polling_fallback(api: Contract, world: World) -> None:
    path = _ticket(world.waiting().public_id)
    snapshot = api.call("GET", path, expect=200, user=world.patient).json()
    assert (snapshot["type"], snapshot["status"], snapshot["position"]) == (
        "snapshot",
        "waiting",
        1,
    )
    api.call("GET", path, expect=404, user=world.stranger)
    api.call("GET", _ticket(UNKNOWN), expect=404, user=world.patient)
    _refused_to_others(api, world, "GET", path)


@drives("tickets_answer_create")
def call_now(api: Contract, world: World) -> None:
    path = _ticket(world.called().public_id, "answer/")
    # The doctor is busy with that call: this one stays waiting, and CALL NOW is refused.
    waiting = _ticket(world.waiting(world.child).public_id, "answer/")
    api.call("POST", waiting, expect=409, user=world.patient)
    api.call("POST", path, expect=404, user=world.stranger)
    _refused_to_others(api, world, "POST", path)
    answered = api.call("POST", path, expect=200, user=world.patient).json()
    assert (answered["type"], answered["status"]) == ("snapshot", "in_consultation")


@drives("tickets_cancel_create")
def cancel(api: Contract, world: World) -> None:
    path = _ticket(world.waiting().public_id, "cancel/")
    api.call("POST", path, expect=404, user=world.stranger)
    _refused_to_others(api, world, "POST", path)
    cancelled = api.call("POST", path, expect=200, user=world.patient).json()
    assert cancelled["status"] == "cancelled"
    api.call("POST", path, expect=409, user=world.patient)
