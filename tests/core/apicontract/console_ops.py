"""The doctor's console: duty, heartbeat, resume, and accept / skip / end a patient."""

from __future__ import annotations

from typing import Any

from tests.core.apicontract.checker import Contract
from tests.core.apicontract.registry import drives
from tests.core.apicontract.world import UNKNOWN, World

CONSOLE = "/api/console/"


def _action(ticket_id: Any, action: str) -> str:
    return f"{CONSOLE}tickets/{ticket_id}/{action}/"


def _refused_to_others(api: Contract, world: World, method: str, path: str, **body: Any) -> None:
    """Nobody signed in (401), a patient (403), an administrator without a doctor profile (404)."""
    api.call(method, path, expect=401, **body)
    api.call(method, path, expect=403, user=world.patient, **body)
    api.call(method, path, expect=404, user=world.state_admin, **body)


@drives("console_retrieve")
def console(api: Contract, world: World) -> None:
    world.offered()
    summary = api.call("GET", CONSOLE, expect=200, user=world.doctor.user).json()
    assert summary["current"]["status"] == "offered"
    assert summary["opds"][0]["on_duty"] is True
    idle = api.call("GET", CONSOLE, expect=200, user=world.other_doctor.user).json()
    assert idle["current"] is None
    _refused_to_others(api, world, "GET", CONSOLE)


@drives("console_duty_create")
def duty(api: Contract, world: World) -> None:
    path = f"{CONSOLE}duty/"
    world.waiting()
    on = {"opds": [str(world.opd.public_id)]}
    summary = api.call("POST", path, json_body=on, expect=200, user=world.doctor.user).json()
    assert summary["opds"][0]["on_duty"] is True
    off = api.call("POST", path, json_body={"opds": []}, expect=200, user=world.doctor.user)
    assert off.json()["opds"][0]["on_duty"] is False
    unknown = {"opds": [UNKNOWN]}
    api.call("POST", path, json_body=unknown, expect=400, user=world.doctor.user, conforming=True)
    api.call("POST", path, json_body={"opds": "GM"}, expect=400, user=world.doctor.user)
    _refused_to_others(api, world, "POST", path, json_body=on)


@drives("console_heartbeat_create")
def heartbeat(api: Contract, world: World) -> None:
    path = f"{CONSOLE}heartbeat/"
    api.call("POST", path, expect=204, user=world.doctor.user)
    _refused_to_others(api, world, "POST", path)


@drives("console_resume_create")
def resume(api: Contract, world: World) -> None:
    path = f"{CONSOLE}resume/"
    assert api.call("POST", path, expect=200, user=world.doctor.user).json()["paused"] is False
    _refused_to_others(api, world, "POST", path)


@drives("console_tickets_accept_create")
def accept(api: Contract, world: World) -> None:
    path = _action(world.offered().public_id, "accept")
    api.call("POST", path, expect=404, user=world.other_doctor.user)
    api.call("POST", _action(UNKNOWN, "accept"), expect=404, user=world.doctor.user)
    _refused_to_others(api, world, "POST", path)
    # No body: a generated client sends none.
    summary = api.call("POST", path, expect=200, user=world.doctor.user).json()
    assert summary["current"]["status"] == "called"
    api.call("POST", path, expect=409, user=world.doctor.user)
    api.call("POST", path, json_body={}, expect=409, user=world.doctor.user)


@drives("console_tickets_skip_create")
def skip(api: Contract, world: World) -> None:
    ticket = world.offered()
    path = _action(ticket.public_id, "skip")
    reason = {"reason": "language", "note": "Speaks only Tamil"}
    api.call("POST", path, json_body={"reason": "bored"}, expect=400, user=world.doctor.user)
    api.call("POST", path, json_body={}, expect=400, user=world.doctor.user)
    _refused_to_others(api, world, "POST", path, json_body=reason)
    summary = api.call("POST", path, json_body=reason, expect=200, user=world.doctor.user)
    assert summary.json()["current"] is None
    api.call("POST", path, json_body=reason, expect=404, user=world.doctor.user)
    called = _action(world.called(world.child).public_id, "skip")
    api.call("POST", called, json_body=reason, expect=409, user=world.doctor.user)


@drives("console_tickets_end_create")
def end(api: Contract, world: World) -> None:
    path = _action(world.in_consultation().public_id, "end")
    api.call("POST", path, expect=404, user=world.other_doctor.user)
    _refused_to_others(api, world, "POST", path)
    assert api.call("POST", path, expect=200, user=world.doctor.user).json()["current"] is None
    api.call("POST", path, expect=409, user=world.doctor.user)
