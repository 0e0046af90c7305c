"""Waiting pages count every queue change once: a client written from docs/waiting-room.md
alone connects and resyncs during a burst of changes, and ends with the true count and
position. The page's own module (static/js/queue-line.js) gets the same frames."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection, transaction

from patients.models import Patient
from queues.models import Opd, Ticket
from queues.selectors import position_of
from queues.services import visits
from queues.services.booking import book
from tests.factories import PatientFactory
from tests.queues.conftest import make_opd
from tests.queues.queue_line import page_after
from tests.queues.sockets import booked, run, session_cookie, socket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

Frame = dict[str, Any]
ROUNDS = 36
PAUSE_SECONDS = 0.03


class DocClient:
    """A waiting page as docs/waiting-room.md tells one to write it ("Counting each change
    once"); a change without a revision is simply counted, as the document said before."""

    def __init__(self) -> None:
        self.revision: int | None = None
        self.kept: dict[int, list[Any]] = {}
        self.key: list[int] = []
        self.position: int | None = None
        self.waiting = 0
        self.frames: list[Frame] = []

    def read(self, frame: Frame) -> None:
        self.frames.append(frame)
        if frame["type"] == "snapshot":
            self.revision = frame.get("revision")
            self.key, self.position, self.waiting = (
                frame["key"],
                frame["position"],
                frame["waiting"],
            )
            for number, change in sorted(self.kept.items()):
                if self.revision is not None and number <= self.revision:
                    del self.kept[number]
                else:
                    self.count(change)
        elif frame["type"] == "queue":
            for change in frame["changes"]:
                revision: int | None = change[3] if len(change) > 3 else None
                if revision is None:
                    self.count(change)
                elif (self.revision is None or revision > self.revision) and (
                    revision not in self.kept
                ):
                    self.kept[revision] = change
                    if self.revision is not None:
                        self.count(change)

    def count(self, change: list[Any]) -> None:
        op, priority, seq = change[:3]
        delta = 1 if op == "+" else -1
        self.waiting += delta
        mine_p, mine_s = self.key
        if self.position is not None and (
            priority > mine_p or (priority == mine_p and seq < mine_s)
        ):
            self.position += delta


def family(*, senior: bool = False) -> Patient:
    if senior:
        return PatientFactory(date_of_birth=date(1950, 1, 1))  # the priority class
    return PatientFactory()


def burst(opd: Opd, ahead: list[Ticket], newcomers: list[Patient], seniors: list[Patient]) -> None:
    """Patients ahead cancel, newcomers join behind, seniors join ahead: every kind of change
    to the watchers' count and position, one every few milliseconds."""
    try:
        for round_ in range(ROUNDS):
            visits.cancel_ticket(ahead[round_].booked_by, ahead[round_])
            with transaction.atomic():
                book(
                    account=newcomers[round_].account,
                    patient=newcomers[round_],
                    opd=opd,
                    complaint="Fever",
                )
            if round_ % 3 == 0:
                senior = seniors[round_ // 3]
                with transaction.atomic():
                    book(account=senior.account, patient=senior, opd=opd, complaint="Fever")
            time.sleep(PAUSE_SECONDS)
    finally:
        connection.close()  # this thread's connection, before the test database is flushed


async def follow(comm: WebsocketCommunicator, client: DocClient, until: float) -> None:
    """Read frames into ``client`` until the loop's clock reaches ``until`` (from the output
    queue itself: a timed-out ``receive_from`` would cancel the application)."""
    loop = asyncio.get_running_loop()
    while (left := until - loop.time()) > 0:
        try:
            output = await asyncio.wait_for(comm.output_queue.get(), timeout=left)
        except TimeoutError:
            return
        assert output["type"] == "websocket.send", output
        client.read(json.loads(output["text"]))


def test_pages_that_connect_and_resync_during_a_burst_show_the_truth():
    opd = make_opd("RV")
    ahead = [booked(opd) for _ in range(ROUNDS)]
    watchers = [booked(opd) for _ in range(3)]
    newcomers = [family() for _ in range(ROUNDS)]
    seniors = [family(senior=True) for _ in range(ROUNDS // 3)]
    cookies = [session_cookie(t.patient.account) for t in watchers]
    clients = [DocClient() for _ in watchers]

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        changes = asyncio.ensure_future(
            sync_to_async(burst, thread_sensitive=False)(opd, ahead, newcomers, seniors)
        )
        comms = []
        for ticket, cookie, client in zip(watchers, cookies, clients, strict=True):
            await asyncio.sleep(0.25)  # each page opens at another moment of the burst
            comm = socket(f"/ws/waiting/{ticket.public_id}/", cookie)
            connected, _ = await comm.connect()
            assert connected
            comms.append((comm, client))
        # Every page resyncs while changes keep coming, then follows to the end.
        for comm, client in comms:
            await follow(comm, client, loop.time() + 0.2)
            await comm.send_json_to({"type": "resync"})
        await changes
        settle = loop.time() + 2.0  # the last changes' frame (QUEUE_BROADCAST_SECONDS)
        await asyncio.gather(*(follow(comm, client, settle) for comm, client in comms))
        for comm, _client in comms:
            await comm.disconnect()

    run(scenario)

    waiting = Ticket.objects.filter(opd=opd, status=Ticket.Status.WAITING).count()
    for ticket, client in zip(watchers, clients, strict=True):
        truth = {"position": position_of(ticket), "waiting": waiting}
        snapshots = [f for f in client.frames if f["type"] == "snapshot"]
        assert len(snapshots) == 2, client.frames  # on connect and on resync
        assert {"position": client.position, "waiting": client.waiting} == truth, client.frames
        assert page_after(client.frames) == {**truth, "gap": False}
