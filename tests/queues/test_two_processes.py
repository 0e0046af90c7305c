"""One queue served by two web processes: Redis carries the messages, PostgreSQL keeps the truth.

Two Daphne processes (A and B) run against the test database and the test run's Redis (same
``REDIS_URL`` and ``CACHE_KEY_PREFIX``), each with its own waiting-room hub. A patient's socket is
on A, the doctor's console on B: every message between them crosses processes. Both run with
``QUEUE_SWEEPER_IN_WEB=0``: no timer may move a ticket while the test watches it (nothing here
waits long enough for a deadline anyway). Then both are killed with SIGKILL, so no disconnect
handler runs, and restarted: what the pages see again comes from the database alone.
The processes and sockets: ``tests/queues/web_processes.py``.
"""

from __future__ import annotations

import time

import pytest

from patients.models import Patient
from queues.models import Ticket
from queues.services.booking import book
from tests.factories import DoctorFactory, PatientFactory
from tests.queues.conftest import make_opd
from tests.queues.web_processes import Frame, OpenSocket, TwoWebProcesses, api_post, api_token
from tests.sessions import session_cookie

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# "Within a second or two": the hub hands a ticket's message to its sockets at once.
CROSS_PROCESS_SECONDS = 2.0
# What must survive a restart of every web process.
DURABLE = ("ticket", "token", "status", "key", "position", "waiting", "missed_calls")


def durable(snapshot: Frame) -> Frame:
    return {key: snapshot[key] for key in DURABLE}


def family() -> Patient:
    return PatientFactory(account__preferred_language="en")


def test_one_queue_served_by_two_processes_and_restarted(
    web: TwoWebProcesses, open_socket: OpenSocket
) -> None:
    opd = make_opd("TW")
    doctor = DoctorFactory()
    patient = family()
    ticket = book(account=patient.account, patient=patient, opd=opd, complaint="Fever")
    later = family()
    later_token = api_token(later.account)
    cookies = {
        "patient": session_cookie(patient.account),
        "later": session_cookie(later.account),
        "doctor": session_cookie(doctor.user),
    }
    web.start()

    waiting = open_socket(web.a, f"/ws/waiting/{ticket.public_id}/", cookies["patient"])
    first = waiting.wait_for(type="snapshot")
    assert (first["token"], first["status"], first["position"]) == ("TW-001", "waiting", 1)
    console = open_socket(web.b, "/ws/console/", cookies["doctor"])
    console.wait_for(type="console", current=None)

    # Another family books through B: A's patient hears of it, behind them.
    booked = api_post(
        web.b.url,
        "/api/tickets/",
        later_token,
        {"patient": str(later.public_id), "opd": str(opd.public_id), "complaint": "Cough"},
    )
    assert booked["token"] == "TW-002"
    later_ticket = Ticket.objects.get(public_id=booked["id"])
    delta = waiting.wait_for(type="queue")
    assert delta["changes"] == [["+", *later_ticket.key, first["revision"] + 1]]
    assert tuple(later_ticket.key) > tuple(first["key"])  # same priority, later sequence
    waiting.send({"type": "resync"})
    again = waiting.wait_for(type="snapshot")
    assert (again["position"], again["waiting"]) == (1, 2)
    later_socket = open_socket(web.b, f"/ws/waiting/{later_ticket.public_id}/", cookies["later"])
    later_first = later_socket.wait_for(type="snapshot")
    assert (later_first["position"], later_first["revision"]) == (2, again["revision"])

    # The doctor goes on duty through B and is offered A's patient.
    console.send({"type": "duty", "opds": [str(opd.public_id)]})
    console.wait_for(type="event", event="offer", ticket=str(ticket.public_id))
    waiting.wait_for(type="ticket", status="offered")
    assert later_socket.wait_for(type="queue")["changes"] == [
        ["-", *ticket.key, later_first["revision"] + 1]
    ]

    # Accepted on B, CALL NOW on A within a second or two.
    sent = time.monotonic()
    console.send({"type": "accept", "ticket": str(ticket.public_id)})
    called = waiting.wait_for(type="ticket", status="called")
    elapsed = time.monotonic() - sent
    assert elapsed < CROSS_PROCESS_SECONDS, f"CALL NOW took {elapsed:.2f}s to cross processes"
    assert called["call_seconds_left"] == opd.call_window_seconds
    assert called["call_expires_at"]
    console.wait_for(type="event", event="accepted", ticket=str(ticket.public_id))

    # The patient answers on A; the doctor's console on B hears it.
    sent = time.monotonic()
    waiting.send({"type": "answer"})
    console.wait_for(type="event", event="answered", ticket=str(ticket.public_id))
    elapsed = time.monotonic() - sent
    assert elapsed < CROSS_PROCESS_SECONDS, f"the answer took {elapsed:.2f}s to cross processes"
    waiting.wait_for(type="ticket", status="in_consultation")
    before = {"patient": durable(waiting.wait_for(type="snapshot", status="in_consultation"))}
    later_socket.send({"type": "resync"})
    before["later"] = durable(later_socket.wait_for(type="snapshot"))
    assert before["later"]["position"] == 1
    assert before["later"]["status"] == "waiting"

    # Both web processes die at once; nothing they held in memory survives.
    web.kill()
    for socket in (waiting, console, later_socket):
        socket.wait_for_close()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.IN_CONSULTATION
    assert ticket.doctor_id == doctor.pk
    web.start()

    # Reconnect, each to the other process this time: the same token, status and place.
    after = {
        "patient": durable(
            open_socket(web.b, f"/ws/waiting/{ticket.public_id}/", cookies["patient"]).wait_for(
                type="snapshot"
            )
        ),
        "later": durable(
            open_socket(web.a, f"/ws/waiting/{later_ticket.public_id}/", cookies["later"]).wait_for(
                type="snapshot"
            )
        ),
    }
    assert after == before
    console = open_socket(web.a, "/ws/console/", cookies["doctor"])
    current = console.wait_for(type="console")["current"]
    assert (current["ticket"], current["status"]) == (str(ticket.public_id), "in_consultation")
