"""The live panel's socket through the real ASGI stack (origin check, session, routing) and the
Redis channel layer: who may watch, and that a booking reaches the right dashboards, coalesced."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from dashboards import consumers, events
from queues.signals import opd_changed
from tests.factories import DoctorFactory, PatientFactory, state
from tests.queues.conftest import make_opd
from tests.queues.test_sockets import booked, closed_with, receive, run, session_cookie, socket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PATH = "/ws/dashboard/live/"


async def connected(path: str, cookie) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    comm = socket(path, cookie)
    ok, _ = await comm.connect()
    assert ok
    return comm, await receive(comm, "live")


async def live_frames(
    comm: WebsocketCommunicator, seconds: float
) -> list[tuple[float, dict[str, Any]]]:
    """Every ``live`` frame for ``seconds``, with when it came. (Polled: a timed-out
    ``receive_from`` would cancel the consumer.)"""
    frames = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await comm.receive_nothing(timeout=0.02, interval=0.005):
            continue
        frame = json.loads(await comm.receive_from())
        if frame["type"] == "live":
            frames.append((time.monotonic(), frame))
    return frames


def test_it_refuses_whoever_may_not_watch(national_admin, mh_admin) -> None:
    make_opd("LV", state_code="UP")
    refusals = [
        (None, PATH, 4401),
        (session_cookie(PatientFactory().account), PATH, 4403),
        (session_cookie(DoctorFactory().user), PATH, 4403),
        (session_cookie(mh_admin), f"{PATH}?state=UP", 4403),
        (session_cookie(national_admin), f"{PATH}?state=ZZ", 4404),
    ]

    async def scenario():
        for cookie, path, code in refusals:
            comm = socket(path, cookie)
            await comm.connect()
            assert await closed_with(comm) == code, (path, code)

    run(scenario)


def test_it_sends_the_figures_on_connect_and_answers_pings(up_admin) -> None:
    opd = make_opd("LV", state_code="UP")
    booked(opd)
    booked(opd)
    cookie = session_cookie(up_admin)

    async def scenario():
        for path in (PATH, f"{PATH}?state=up"):
            comm, frame = await connected(path, cookie)
            assert frame["waiting"] == 2
            assert {"name": opd.display_name, "waiting": 2} in [
                {"name": o["name"], "waiting": o["waiting"]} for o in frame["opds"]
            ]
            assert frame["at"].endswith("+05:30")
            await comm.send_to(text_data='{"type": "ping"}')
            await receive(comm, "pong")
            await comm.disconnect()

    run(scenario)


def test_a_booking_reaches_its_state_and_the_national_dashboard_only(
    up_admin, mh_admin, national_admin
) -> None:
    up_opd = make_opd("LV", state_code="UP")
    make_opd("LV", state_code="MH")
    cookies = [session_cookie(u) for u in (up_admin, mh_admin, national_admin)]

    async def scenario():
        (up, up_first), (mh, _), (india, india_first) = [
            await connected(PATH, cookie) for cookie in cookies
        ]
        assert up_first["waiting"] == 0
        await sync_to_async(booked)(up_opd)
        assert (await receive(up, "live"))["waiting"] == 1
        assert (await receive(india, "live"))["waiting"] == india_first["waiting"] + 1
        assert await mh.receive_nothing(timeout=1.5)
        for comm in (up, mh, india):
            await comm.disconnect()

    run(scenario)


def test_a_residents_booking_in_a_national_opd_reaches_their_state(up_admin, national_admin):
    national_opd = make_opd("NC", state_code=None)
    resident = PatientFactory(state=state("UP"))
    cookie = session_cookie(up_admin)
    drill_down = session_cookie(national_admin)

    async def scenario():
        up, _ = await connected(PATH, cookie)
        watching_up, _ = await connected(f"{PATH}?state=UP", drill_down)
        await sync_to_async(booked)(national_opd, resident)
        for comm in (up, watching_up):
            frame = await receive(comm, "live")
            assert frame["waiting"] == 1
            waiting = [o["name"] for o in frame["opds"] if o["waiting"]]
            assert waiting == [national_opd.display_name]
            await comm.disconnect()

    run(scenario)


def test_a_burst_of_bookings_sends_about_one_snapshot_a_second(up_admin) -> None:
    opd = make_opd("LV", state_code="UP")
    patients = [PatientFactory() for _ in range(40)]
    cookie = session_cookie(up_admin)

    def book_all() -> float:
        started = time.monotonic()
        for patient in patients:
            booked(opd, patient)
        return time.monotonic() - started

    async def scenario():
        comm, _ = await connected(PATH, cookie)
        booking = asyncio.ensure_future(sync_to_async(book_all)())
        frames = await live_frames(comm, 4.0)
        took = await booking
        # The last booking's snapshot may wait out the one-second spacing, then travel.
        frames += await live_frames(comm, 3.0)
        assert frames, "no snapshot after 40 bookings"
        assert frames[-1][1]["waiting"] == 40, "the last change must not be left unshown"
        assert len(frames) <= took + 3, (len(frames), took)
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(frames)]
        # Sent at least a second apart; delivery jitter on a loaded machine may pull two
        # arrivals closer, never to the back-to-back frames an uncoalesced burst would give.
        assert all(gap >= 0.7 for gap in gaps), gaps
        await comm.disconnect()

    run(scenario)


def test_it_refreshes_by_itself_when_nothing_is_said(up_admin, monkeypatch) -> None:
    monkeypatch.setattr(consumers, "REFRESH_SECONDS", 0.3)
    opd = make_opd("LV", state_code="UP")
    cookie = session_cookie(up_admin)

    async def scenario():
        comm, first = await connected(PATH, cookie)
        assert first["waiting"] == 0
        # Written without telling anyone: only the periodic refresh can show it.
        await sync_to_async(_book_silently)(opd)
        frame = await receive(comm, "live", timeout=3)
        assert frame["waiting"] == 1
        await comm.disconnect()

    run(scenario)


def _book_silently(opd) -> None:
    opd_changed.disconnect(dispatch_uid=events.DISPATCH_UID)
    try:
        booked(opd)
    finally:
        opd_changed.connect(events.nudge_live_dashboards, dispatch_uid=events.DISPATCH_UID)
