"""A patient's presence survives the death of the web process their page was connected to.

A waiting page holds a presence lease that its heartbeats renew (``PresenceLease``). When its
Daphne is killed (SIGKILL, as when a machine dies) or stopped (SIGTERM, as in every deploy) no
goodbye may run: the page reconnects to another process, and later closes. The patient must
then be marked away once the dead socket's lease has lapsed, and not be offered to a doctor;
while the page stays open on the other process, they must stay present.

Leases here last 3 s (``QUEUE_PATIENT_LEASE_SECONDS``); the test process runs the sweeps.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from queues.models import DoctorPresence, Ticket
from queues.services import duty
from queues.services.booking import book
from queues.services.timers import sweep
from tests.e2e.processes import free_port
from tests.factories import DoctorFactory, PatientFactory
from tests.queues.conftest import make_opd
from tests.queues.web_processes import (
    OpenSocket,
    Socket,
    TwoWebProcesses,
    WebProcess,
    socket_opener,
    two_web_processes,
    web_environment,
)
from tests.sessions import session_cookie

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LEASE_SECONDS = 3


@pytest.fixture
def web(tmp_path: Path) -> Iterator[TwoWebProcesses]:
    """Two web processes whose pages' leases last LEASE_SECONDS (replaces conftest's)."""
    with two_web_processes(tmp_path, QUEUE_PATIENT_LEASE_SECONDS=str(LEASE_SECONDS)) as pair:
        yield pair


def waiting_patient() -> Ticket:
    patient = PatientFactory(account__preferred_language="en")
    return book(account=patient.account, patient=patient, opd=make_opd("PR"), complaint="Fever")


def away_since(ticket: Ticket) -> object:
    ticket.refresh_from_db()
    return ticket.patient_away_since


def sweep_for(seconds: float, *, until: Callable[[], bool] = lambda: False) -> None:
    """Run the timers as the web processes' sweepers would, for ``seconds`` or until ``until``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until():
        sweep()
        time.sleep(0.25)


def opened(page: Socket) -> None:
    """The page got its snapshot and a first heartbeat answered: the socket's connection has
    been handled whole (its presence recorded) before anything else happens to it."""
    page.wait_for(type="snapshot")
    page.send({"type": "ping"})
    page.wait_for(type="pong")


def keep_open(page: Socket, seconds: float) -> None:
    """The page's heartbeat: a ping (and its pong) every half second, sweeping meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.send({"type": "ping"})
        page.wait_for(type="pong")
        sweep()
        time.sleep(0.5)


def doctor_comes_on_duty(ticket: Ticket) -> None:
    doctor = DoctorFactory()
    DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
    duty.go_on_duty(doctor, [ticket.opd_id])


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_page_whose_process_died_and_that_closed_elsewhere_is_away(
    web: TwoWebProcesses, open_socket: OpenSocket, sig: signal.Signals
) -> None:
    ticket = waiting_patient()
    cookie = session_cookie(ticket.patient.account)
    path = f"/ws/waiting/{ticket.public_id}/"
    web.start()

    first = open_socket(web.a, path, cookie)
    opened(first)
    web.a.kill(sig)
    first.wait_for_close()
    # The page reconnects to the other process (two sockets counted), then is closed.
    second = open_socket(web.b, path, cookie)
    opened(second)
    assert away_since(ticket) is None
    second.connection.close()

    sweep_for(LEASE_SECONDS + 10, until=lambda: away_since(ticket) is not None)
    assert away_since(ticket) is not None, web.logs()
    doctor_comes_on_duty(ticket)  # and is not offered a closed page
    ticket.refresh_from_db()
    assert (ticket.status, ticket.doctor_id) == (Ticket.Status.WAITING, None)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_page_still_open_on_another_process_keeps_its_patient_present(
    web: TwoWebProcesses, open_socket: OpenSocket, sig: signal.Signals
) -> None:
    ticket = waiting_patient()
    cookie = session_cookie(ticket.patient.account)
    path = f"/ws/waiting/{ticket.public_id}/"
    web.start()

    first = open_socket(web.a, path, cookie)
    opened(first)
    web.a.kill(sig)
    first.wait_for_close()
    page = open_socket(web.b, path, cookie)
    opened(page)
    # Long after the dead socket's lease lapsed, and the live one's would have without its
    # heartbeats, the patient is present: the live page renews its own.
    keep_open(page, LEASE_SECONDS * 3)
    assert away_since(ticket) is None, web.logs()
    doctor_comes_on_duty(ticket)
    page.wait_for(type="ticket", status="offered")


def test_presence_needs_no_cache(tmp_path: Path) -> None:
    """With the cache unreachable (nothing listens on its port), a page that opens makes its
    patient present again, and closing it makes them away."""
    ticket = waiting_patient()
    ticket.patient_away_since = timezone.now()  # away before the page opens
    ticket.save(update_fields=["patient_away_since"])
    cookie = session_cookie(ticket.patient.account)
    env = {**web_environment(tmp_path), "CACHE_URL": f"redis://127.0.0.1:{free_port()}/0"}
    web = WebProcess("no-cache", free_port(), env, tmp_path)
    web.start()
    try:
        web.current.wait_until(lambda: listening(web.port), f"listening on {web.port}")
        with socket_opener(TwoWebProcesses(a=web, b=web)) as open_socket:
            page = open_socket(web, f"/ws/waiting/{ticket.public_id}/", cookie)
            opened(page)
            assert away_since(ticket) is None, web.logs()
            page.connection.close()
        deadline = time.monotonic() + 5
        while away_since(ticket) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert away_since(ticket) is not None, web.logs()
    finally:
        web.current.stop()


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
