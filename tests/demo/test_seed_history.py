"""``manage.py seed_history``: the demo's past weeks, and the rollups built from them."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import User
from consultations.models import Consultation, Prescription, PrescriptionCounter
from core.clock import india_today
from dashboards.queries import trends
from dashboards.rollups import ROLLUP_MODELS
from dashboards.selectors import Scope
from demo.history import DEMO_MOBILE_PREFIX
from notifications.models import Notification
from patients.models import Patient
from queues.models import DutyShift, Ticket
from tests.dashboards.raw import raw_trends
from tests.factories import state

DAYS = 10


def seed_history(**options: int) -> str:
    out = StringIO()
    call_command("seed_history", days=DAYS, per_day=12, stdout=out, **options)
    return out.getvalue()


def history_range() -> tuple[date, date]:
    today = india_today()
    return today - timedelta(days=DAYS), today - timedelta(days=1)


def counts() -> dict[str, int]:
    tables: list[type[Any]] = [
        User,
        Patient,
        Ticket,
        Consultation,
        Prescription,
        Notification,
        DutyShift,
        *ROLLUP_MODELS,
    ]
    return {model.__name__: model.objects.count() for model in tables}


@pytest.mark.django_db
def test_it_writes_finished_visits_of_made_up_patients() -> None:
    output = seed_history()

    first, last = history_range()
    tickets = Ticket.objects.all()
    assert tickets.count() > 50
    assert "Demo history:" in output
    assert not tickets.exclude(service_date__range=(first, last)).exists()
    assert not tickets.filter(status__in=Ticket.ACTIVE).exists()
    assert not tickets.exclude(patient__account__mobile__startswith=DEMO_MOBILE_PREFIX).exists()
    completed = tickets.filter(status=Ticket.Status.COMPLETED)
    assert Consultation.objects.count() == completed.count()
    assert Prescription.objects.filter(status=Prescription.Status.FINAL).count() > 0
    assert not DutyShift.objects.filter(ended_at=None).exists()


@pytest.mark.django_db
def test_its_rollups_give_the_figures_of_the_raw_tables() -> None:
    seed_history()

    first, last = history_range()
    for scope in (Scope(state("UP")), Scope(state("MH")), Scope(None)):
        from_rollups = trends(scope, first, last)
        assert from_rollups == raw_trends(scope, first, last)
        assert from_rollups.totals["booked"] > 0


@pytest.mark.django_db
def test_it_adds_nothing_the_second_time() -> None:
    seed_history()
    before = counts()

    output = seed_history()

    assert "no demo history added" in output
    assert counts() == before


@pytest.mark.django_db
def test_signing_a_prescription_later_continues_after_its_numbers() -> None:
    seed_history()

    for counter in PrescriptionCounter.objects.all():
        numbers = Prescription.objects.filter(number__startswith=f"RX{counter.year}-")
        highest = max(
            int(number.rsplit("-", 1)[1]) for number in numbers.values_list("number", flat=True)
        )
        assert counter.last == highest == numbers.count()


@pytest.mark.django_db
def test_it_builds_missing_rollups_for_the_visits_there_are() -> None:
    seed_history()
    for model in ROLLUP_MODELS:
        model.objects.all().delete()

    output = seed_history()

    assert "Built the dashboards' rollups" in output
    first, last = history_range()
    scope = Scope(state("UP"))
    assert trends(scope, first, last).totals["booked"] > 0
    assert trends(scope, first, last) == raw_trends(scope, first, last)
