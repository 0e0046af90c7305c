"""Rollups are at most a minute behind, even where Celery beat is not running (``make run``):
a dashboard read whose rollups are stale catches up first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.clock import india_today
from dashboards import rollups
from dashboards.models import RollupCursor
from tests.dashboards.conftest import World, make_ticket

pytestmark = pytest.mark.django_db


def booked_today(client: Client) -> int:
    today = india_today().isoformat()
    response = client.get("/api/dashboards/trends/", {"state": "UP", "start": today, "end": today})
    assert response.status_code == 200, response.content
    booked: int = response.json()["totals"]["booked"]
    return booked


def test_a_booking_shows_once_the_rollups_are_a_minute_old(world: World, up_admin) -> None:
    rollups.catch_up()
    client = Client()
    client.force_login(up_admin)
    before = booked_today(client)

    make_ticket(world.up_general, world.patients["girl"], booked_at=timezone.now())
    # Beat refreshed a moment ago: the dashboard reads the rollups as they are.
    assert booked_today(client) == before

    # No refresh for a minute (no beat, as on `make run`): the next read catches up first.
    RollupCursor.objects.update(refreshed_at=timezone.now() - timedelta(minutes=1))
    assert booked_today(client) == before + 1
