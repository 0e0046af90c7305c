"""Every console action through its three doors (the page's form, the API, the socket through
the real ASGI stack), each on an equal fresh state: the same outcome from every door, and the
same refusal (the socket and the API also name the same code)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from django.contrib.messages import constants, get_messages
from django.test import Client
from django.utils import timezone

from providers.models import Doctor
from queues.models import DoctorPresence, DutyShift, Opd, Ticket, TicketEvent
from queues.services import duty, visits
from tests.factories import DoctorFactory
from tests.queues.conftest import make_opd
from tests.queues.sockets import booked, receive, run, session_cookie, socket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

UNKNOWN = "00000000-0000-4000-8000-000000000000"
_codes = count()


@dataclass
class World:
    opd: Opd
    doctor: Doctor
    tickets: list[Ticket]
    first_event: int

    @property
    def ticket(self) -> Ticket:
        return self.tickets[0]


@dataclass(frozen=True)
class Outcome:
    statuses: tuple[str, ...]
    events: tuple[tuple[int, str, str | None, str | None], ...]  # ticket, kind, actor, doctor
    on_duty: bool
    paused: bool
    refusal: str | None  # the message the doctor reads


def _world(state: str) -> World:
    """The doctor's console in ``state`` (an OPD of its own, so worlds never meet)."""
    opd = make_opd(f"D{next(_codes)}")
    doctor = DoctorFactory()
    DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
    if state == "paused":  # on duty, paused after an unanswered offer, a patient waiting
        duty.go_on_duty(doctor, [opd.pk])
        DoctorPresence.objects.filter(doctor=doctor).update(paused=True)
    tickets = [booked(opd)]
    if state in {"offered", "called", "in_consultation"}:
        duty.go_on_duty(doctor, [opd.pk])
    if state in {"called", "in_consultation"}:
        visits.accept_offer(doctor, Ticket.objects.get(pk=tickets[0].pk))
    if state == "in_consultation":
        visits.answer_call(tickets[0].booked_by, Ticket.objects.get(pk=tickets[0].pk))
    first_event = (TicketEvent.objects.order_by("-pk").values_list("pk", flat=True).first()) or 0
    return World(opd, doctor, tickets, first_event)


def _outcome(world: World, refusal: str | None) -> Outcome:
    def who(user_id: int | None, doctor_id: int | None) -> tuple[str | None, str | None]:
        mine = {None: None, world.doctor.user_id: "doctor"}
        actor = mine.get(user_id, "someone else")
        return actor, {None: None, world.doctor.pk: "doctor"}.get(doctor_id, "another doctor")

    index = {t.pk: i for i, t in enumerate(world.tickets)}
    events = TicketEvent.objects.filter(ticket__in=world.tickets, pk__gt=world.first_event)
    presence = DoctorPresence.objects.get(doctor=world.doctor)
    outcome = Outcome(
        statuses=tuple(Ticket.objects.get(pk=t.pk).status for t in world.tickets),
        events=tuple(
            (index[e.ticket_id], e.kind, *who(e.actor_id, e.doctor_id))
            for e in events.order_by("pk")
        ),
        on_duty=DutyShift.objects.filter(doctor=world.doctor, ended_at=None).exists(),
        paused=presence.paused,
        refusal=refusal,
    )
    duty.go_off_duty(world.doctor)  # this world is done: no later dispatch reaches it
    return outcome


# --- The doors: each speaks its own input format ---------------------------------------------


def page(world: World, action: str, *, opds: Sequence[str] = (), ticket: str = "", **body: str):
    client = Client()
    client.force_login(world.doctor.user)
    form = {"action": "duty" if action == "off_duty" else action, "ticket": ticket, **body}
    response = client.post("/console/", {**form, "opds": list(opds)})
    assert response.status_code == 302
    errors = [m.message for m in get_messages(response.wsgi_request) if m.level == constants.ERROR]
    return _outcome(world, errors[0] if errors else None), None


def api(world: World, action: str, *, opds: Sequence[str] = (), ticket: str = "", **body: str):
    client = Client()
    client.force_login(world.doctor.user)
    payload: dict[str, Any]
    if action in {"duty", "off_duty"}:
        path, payload = "/api/console/duty/", {"opds": list(opds) if action == "duty" else []}
    elif action == "resume":
        path, payload = "/api/console/resume/", {}
    else:
        path, payload = f"/api/console/tickets/{ticket}/{action}/", body
    response = client.post(path, json.dumps(payload), content_type="application/json")
    if response.status_code == 200:
        return _outcome(world, None), None
    error = response.json()["error"]
    return _outcome(world, error["message"]), (response.status_code, error["code"])


def websocket(
    world: World, action: str, *, opds: Sequence[str] = (), ticket: str = "", **body: str
):
    cookie = session_cookie(world.doctor.user)
    frame = {"type": action, "opds": list(opds), "ticket": ticket, **body}
    answer: dict[str, Any] = {}

    async def scenario() -> None:
        comm = socket("/ws/console/", cookie)
        connected, _ = await comm.connect()
        assert connected
        await receive(comm, "console")
        await comm.send_to(text_data=json.dumps(frame))
        while not answer:
            received = json.loads(await comm.receive_from(timeout=5))
            if received["type"] in {"console", "error"}:
                answer.update(received)
        await comm.disconnect()

    run(scenario)
    if answer["type"] == "console":
        return _outcome(world, None), None
    return _outcome(world, answer["message"]), answer["code"]


def through_every_door(state: str, action: str, **params: Any) -> tuple[list[Outcome], list[Any]]:
    outcomes, refusals = [], []
    for door in (page, api, websocket):
        world = _world(state)
        resolved = {k: v(world) if callable(v) else v for k, v in params.items()}
        outcome, refusal = door(world, action, **resolved)
        outcomes.append(outcome)
        refusals.append(refusal)
    return outcomes, refusals


def _opd(world: World) -> list[str]:
    return [str(world.opd.public_id)]


def _ticket(world: World) -> str:
    return str(world.ticket.public_id)


CASES: list[tuple[str, str, dict[str, Callable[[World], Any] | Any]]] = [
    ("waiting", "duty", {"opds": _opd}),
    ("offered", "off_duty", {}),
    ("paused", "resume", {}),
    ("offered", "accept", {"ticket": _ticket}),
    ("offered", "skip", {"ticket": _ticket, "reason": "language", "note": "Tamil only"}),
    ("in_consultation", "end", {"ticket": _ticket}),
]


@pytest.mark.parametrize(("state", "action", "params"), CASES, ids=[c[1] for c in CASES])
def test_every_door_does_the_same(state, action, params):
    outcomes, refusals = through_every_door(state, action, **params)
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0].refusal is None and refusals == [None, None, None]


def test_the_actions_do_what_they_say():
    """What the doors agree on is the console's behaviour, not a shared mistake."""
    expected = {
        "duty": (("offered",), ((0, "offered", None, "doctor"),), True, False),
        "off_duty": (("waiting",), ((0, "doctor_lost", None, "doctor"),), False, False),
        "resume": (("offered",), ((0, "offered", None, "doctor"),), True, False),
        "accept": (("called",), ((0, "accepted", "doctor", "doctor"),), True, False),
        "skip": (("waiting",), ((0, "skipped", "doctor", "doctor"),), True, False),
        "end": (("completed",), ((0, "completed", "doctor", "doctor"),), True, False),
    }
    for state, action, params in CASES:
        world = _world(state)
        outcome, _ = websocket(
            world, action, **{k: v(world) if callable(v) else v for k, v in params.items()}
        )
        assert (outcome.statuses, outcome.events, outcome.on_duty, outcome.paused) == (
            expected[action]
        ), action


REFUSED: list[tuple[str, str, str, dict[str, Any]]] = [
    ("unknown_opd", "waiting", "duty", {"opds": [UNKNOWN]}),
    ("unknown_and_known_opd", "waiting", "duty", {"opds": lambda w: [*_opd(w), UNKNOWN]}),
    ("not_your_patient", "offered", "end", {"ticket": lambda w: str(booked(w.opd).public_id)}),
    ("unknown_ticket", "offered", "accept", {"ticket": UNKNOWN}),
    ("state_changed", "called", "accept", {"ticket": _ticket}),
    ("end_before_the_visit", "offered", "end", {"ticket": _ticket}),
]


@pytest.mark.parametrize(
    ("name", "state", "action", "params"), REFUSED, ids=[case[0] for case in REFUSED]
)
def test_every_door_refuses_the_same(name, state, action, params):
    outcomes, refusals = through_every_door(state, action, **params)
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0].refusal  # every door refused, with the same message
    assert outcomes[0].events == ()
    (status, api_code), socket_code = refusals[1], refusals[2]
    assert api_code == socket_code
    assert (status, api_code) == {
        "unknown_opd": (400, "opd_not_allowed"),
        "unknown_and_known_opd": (400, "opd_not_allowed"),
        "not_your_patient": (404, "not_found"),
        "unknown_ticket": (404, "not_found"),
        "state_changed": (409, "ticket_state_changed"),
        "end_before_the_visit": (409, "ticket_state_changed"),
    }[name]
