from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Role, User
from notifications.sms import InMemorySmsBackend, SmsMessage
from patients.models import Patient
from queues.services.dispatch import forget_cached_hours
from tests.factories import DoctorFactory, PatientFactory, StaffFactory, state


def _clear_cache() -> None:
    """Delete this run's keys only: the Redis database may be shared (broker, other runs)."""
    backend = cache._cache if hasattr(cache, "_cache") else None
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    if backend is not None and hasattr(backend, "get_client") and prefix:
        client = backend.get_client(None, write=True)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit counters live in the (Redis) cache: every test starts from zero."""
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture(autouse=True)
def _fresh_opd_cache() -> Iterator[None]:
    """Claims cache OPD hours per process; each test starts without them."""
    forget_cached_hours()
    yield
    forget_cached_hours()


@pytest.fixture
def sms_outbox() -> Iterator[list[SmsMessage]]:
    InMemorySmsBackend.outbox.clear()
    yield InMemorySmsBackend.outbox
    InMemorySmsBackend.outbox.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def family(db: None) -> Patient:
    """The account holder of one family (with the account as ``.account``)."""
    return PatientFactory()


@pytest.fixture
def other_family(db: None) -> Patient:
    return PatientFactory()


@pytest.fixture
def doctor_user(db: None) -> User:
    return DoctorFactory().user


@pytest.fixture
def up_admin(db: None) -> User:
    return StaffFactory(role=Role.STATE_ADMIN, state=state("UP"))


@pytest.fixture
def mh_admin(db: None) -> User:
    return StaffFactory(role=Role.STATE_ADMIN, state=state("MH"))


@pytest.fixture
def national_admin(db: None) -> User:
    return StaffFactory(role=Role.NATIONAL_ADMIN)


def as_user(client: APIClient, user: User) -> APIClient:
    client.force_authenticate(user)
    return client
