"""Rollups are at most a minute behind, even where Celery beat is not running (``make run``):
a dashboard read whose rollups are stale catches up first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.clock import IST, india_today
from dashboards import rollups
from dashboards.freshness import FIGURES, Freshness
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


# --- Saying how fresh the figures are (issue 9, item 31) ----------------------------------------


def freshness_line(body: str, testid: str) -> re.Match[str]:
    found = re.search(
        rf'<p class="freshness" data-freshness data-testid="{testid}"(?P<attrs>[^>]*)>\s*'
        r"<span data-freshness-age aria-hidden=\"true\">(?P<age>[^<]*)</span>\s*"
        r'<time class="visually-hidden" data-freshness-exact datetime="(?P<at>[^"]+)">'
        r"(?P<exact>[^<]*)</time>",
        body,
    )
    assert found is not None, f"no {testid} line on the page"
    return found


def test_the_page_says_how_old_todays_figures_are(world: World, up_admin) -> None:
    read_at = timezone.now() - timedelta(seconds=37)
    RollupCursor.objects.create(name=rollups.INCREMENTAL, read_up_to=read_at, refreshed_at=read_at)
    client = Client()
    client.force_login(up_admin)

    body = client.get("/dashboard/").content.decode()
    line = freshness_line(body, "figures-freshness")
    assert re.fullmatch(r"Figures for today were updated 3[78] s ago\.", line["age"]), line["age"]
    in_india = read_at.astimezone(IST)
    assert line["at"] == in_india.isoformat(timespec="seconds")
    assert line["exact"] == (
        f"Figures for today were updated at {in_india:%H:%M:%S}, Indian Standard Time."
    )
    # The script counts on with the same sentences, in the page's language.
    assert 'data-seconds-text="Figures for today were updated {seconds} s ago."' in line["attrs"]
    assert 'data-minutes-text="Figures for today were updated {minutes} min ago."' in line["attrs"]
    assert re.search(r'data-age-seconds="3[78]"', line["attrs"])

    live = freshness_line(body, "live-freshness")
    assert live["age"] == "Updated 0 s ago."
    assert live["exact"].startswith("Updated at ")


def test_stale_figures_are_read_again_and_say_so(world: World, up_admin) -> None:
    long_ago = timezone.now() - timedelta(minutes=3)
    RollupCursor.objects.create(
        name=rollups.INCREMENTAL, read_up_to=long_ago, refreshed_at=long_ago
    )
    client = Client()
    client.force_login(up_admin)
    body = client.get("/dashboard/").content.decode()
    age = freshness_line(body, "figures-freshness")["age"]
    assert re.fullmatch(r"Figures for today were updated [01] s ago\.", age), age


def test_minutes_are_said_in_minutes() -> None:
    now = timezone.now()
    old = Freshness.of(now - timedelta(seconds=130), FIGURES, now=now)
    assert old.age_text == "Figures for today were updated 2 min ago."
    assert Freshness.of(now + timedelta(seconds=3), FIGURES, now=now).age_seconds == 0
