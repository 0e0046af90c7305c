from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import time
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Role
from providers.models import Doctor
from queues.models import DoctorPresence, Opd, OpdHours
from queues.services import duty
from queues.services.dispatch import forget_cached_hours
from tests.factories import DoctorFactory, PatientFactory, StaffFactory, state
from tests.queues.web_processes import OpenSocket, TwoWebProcesses, socket_opener, two_web_processes

ALL_DAY = (time(0, 0), time.max)


def make_opd(code: str = "GM", *, state_code: str | None = "UP", hours=ALL_DAY, **fields) -> Opd:
    opd = Opd.objects.create(
        code=code,
        name=f"Test {code} OPD",
        state=state(state_code) if state_code else None,
        **fields,
    )
    if hours is not None:
        OpdHours.objects.bulk_create(
            [OpdHours(opd=opd, weekday=d, opens_at=hours[0], closes_at=hours[1]) for d in range(7)]
        )
    forget_cached_hours()  # as the admin does when an OPD changes
    return opd


@pytest.fixture
def opd(db) -> Opd:
    return make_opd("TS")


@pytest.fixture
def on_duty() -> Callable[..., Doctor]:
    """A doctor on duty for the given OPDs with a live console."""

    def make(*opds: Opd, languages=("hi", "en"), **fields) -> Doctor:
        doctor = DoctorFactory(languages=list(languages), **fields)
        DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
        duty.go_on_duty(doctor, [o.pk for o in opds])
        return doctor

    return make


@pytest.fixture
def patient_factory():
    def make(**fields):
        fields.setdefault("account__preferred_language", "en")
        return PatientFactory(**fields)

    return make


@pytest.fixture
def admin_of():
    def make(code: str):
        return StaffFactory(role=Role.STATE_ADMIN, state=state(code))

    return make


@pytest.fixture
def web(tmp_path: Path) -> Iterator[TwoWebProcesses]:
    """Two Daphne processes A and B on the test database and Redis (started by the test)."""
    with two_web_processes(tmp_path) as pair:
        yield pair  # stopped before pytest-django flushes the database


@pytest.fixture
def open_socket(web: TwoWebProcesses) -> Iterator[OpenSocket]:
    """``open_socket(process, path, cookie)``; every socket is closed at the end of the test."""
    with socket_opener(web) as open_:
        yield open_
