"""The timers run inside a web process: what `make run` relies on (no worker, no beat).

One Daphne with ``QUEUE_SWEEPER_IN_WEB=1`` sweeps every 0.2 s once it has served a request.
A doctor's offer whose deadline has passed must come back to the queue, and the doctor be
paused, without anything else running.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from queues.models import DoctorPresence, Ticket
from queues.services import duty
from queues.services.booking import book
from tests.e2e.processes import answers_http, free_port
from tests.factories import DoctorFactory, PatientFactory
from tests.queues.conftest import make_opd
from tests.queues.web_processes import WebProcess, web_environment

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def sweeping_web(tmp_path: Path) -> Iterator[WebProcess]:
    env = web_environment(tmp_path)
    env.update(QUEUE_SWEEPER_IN_WEB="1", QUEUE_SWEEP_SECONDS="0.2")
    web = WebProcess("sweeper", free_port(), env, tmp_path)
    web.start()
    try:
        web.wait_until_serving()
        yield web
    finally:
        web.current.stop()


def test_an_expired_offer_returns_to_the_queue_by_the_web_processes_own_sweeper(sweeping_web):
    opd = make_opd("SW")
    patient = PatientFactory()
    with transaction.atomic():
        ticket = book(account=patient.account, patient=patient, opd=opd, complaint="Fever")
    doctor = DoctorFactory()
    DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
    duty.go_on_duty(doctor, [opd.pk])
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OFFERED
    Ticket.objects.filter(pk=ticket.pk).update(
        offer_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert answers_http(sweeping_web.url + "/")  # the first request starts the sweeper

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        ticket.refresh_from_db()
        if ticket.status == Ticket.Status.WAITING:
            break
        time.sleep(0.2)
    assert ticket.status == Ticket.Status.WAITING, sweeping_web.logs()
    assert DoctorPresence.objects.get(doctor=doctor).paused is True
    assert ticket.events.filter(kind="offer_expired").exists()
