"""Shared pieces of the M2 tests (care contexts, consents, health information): signed visits
made quickly, a recording proxy in front of the real offline gateway (what we sent, as the
gateway received it), a dataPushUrl receiver, and waiting for the gateway's deliveries."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientSession, web
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from abdm import bridge
from abdm import gateway as client
from abdm.models import GatewayMessage
from consultations.models import Consultation, MedicineLine, Prescription
from patients.models import Patient
from queues.models import Ticket
from tests.abdm_gateway.harness import HIP_ID as HIP_ID_
from tests.abdm_gateway.harness import Bridge, Gateway, ThreadedServer
from tests.consultations.prescribing import CONTENT, ORS, PARACETAMOL
from tests.factories import DoctorFactory
from tests.queues.conftest import make_opd

SIGNED_AT = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def signed_visits(
    patient: Patient, count: int = 1, *, signed_at: datetime = SIGNED_AT
) -> list[Consultation]:
    """``count`` finished consultations of ``patient``, each with a signed prescription."""
    opd = make_opd(f"M{next(_numbers)}")
    doctor = DoctorFactory()
    tickets = Ticket.objects.bulk_create(
        [
            Ticket(
                opd=opd,
                patient=patient,
                booked_by=patient.account,
                service_date=signed_at.date(),
                number=n + 1,
                complaint="Fever",
                language=patient.preferred_language,
                seq=n + 1,
                status=Ticket.Status.COMPLETED,
                doctor=doctor,
                booked_at=signed_at,
                consult_started_at=signed_at,
                consult_ended_at=signed_at,
            )
            for n in range(count)
        ]
    )
    consultations = Consultation.objects.bulk_create(
        [
            Consultation(ticket=t, patient=patient, doctor=doctor, opd=opd, started_at=signed_at)
            for t in tickets
        ]
    )
    content = dict(CONTENT)
    prescriptions = Prescription.objects.bulk_create(
        [
            Prescription(
                consultation=c,
                version=1,
                number=f"RX{uuid.uuid4().hex[:10]}",
                status=Prescription.Status.FINAL,
                finalised_at=signed_at,
                **content,
            )
            for c in consultations
        ]
    )
    MedicineLine.objects.bulk_create(
        [
            MedicineLine(prescription=p, position=i, **line)
            for p in prescriptions
            for i, line in enumerate([PARACETAMOL, ORS])
        ]
    )
    return consultations


def wait(condition: Callable[[], Any], what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def delivered(gateway: Gateway, request_id: str) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        found = next(d for d in gateway.deliveries() if d["requestId"] == request_id)
        return found if found["state"] in {"delivered", "failed", "rejected"} else None

    return wait(settled, f"delivery {request_id}")


def outbound(flow: str) -> list[GatewayMessage]:
    return list(
        GatewayMessage.objects.filter(
            direction=GatewayMessage.Direction.OUTBOUND, flow=flow
        ).order_by("created_at")
    )


def callback(
    gateway: Gateway, recorder: Recorder, path: str, body: dict[str, Any], reply: str
) -> Any:
    before = len(recorder.calls(reply))
    request_id = gateway.enqueue(path, body, hipId=HIP_ID_)
    delivered(gateway, request_id)
    sent = recorder.wait_for(reply, before + 1)[before]
    assert sent.status == 202  # the gateway matched our answer to its callback
    assert sent.body["response"] == {"requestId": request_id}
    return sent.body


@dataclass
class Sent:
    path: str
    headers: dict[str, str]
    body: Any
    status: int


class Recorder(ThreadedServer):
    """A proxy in front of the real gateway that records every call we make through it (the
    gateway still judges each one); what the gateway answers is passed back unchanged."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target.rstrip("/")
        self.sent: list[Sent] = []

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        skipped = {"host", "content-length"}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in skipped}
        async with (
            ClientSession() as session,
            session.request(
                request.method, self.target + request.path_qs, data=raw, headers=headers
            ) as answer,
        ):
            payload = await answer.read()
            status, kind = answer.status, answer.headers.get("Content-Type")
        if request.method == "POST":
            body = json.loads(raw) if raw else None
            with self.lock:
                self.sent.append(Sent(request.path, dict(request.headers), body, status))
        response = web.Response(status=status, body=payload)
        if kind:
            response.headers["Content-Type"] = kind
        return response

    def calls(self, path: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.path.endswith(path)]

    def wait_for(self, path: str, count: int = 1) -> list[Sent]:
        return wait(
            lambda: found if len(found := self.calls(path)) >= count else None,
            f"{count} call(s) to {path}",
        )


@pytest.fixture
def recorder(real_gateway: Gateway, settings: SettingsWrapper) -> Iterator[Recorder]:
    proxy = Recorder(real_gateway.base).start()
    settings.ABDM_GATEWAY_URL = proxy.url
    bridge._jwks_client.cache_clear()
    client.forget_session()
    yield proxy
    proxy.stop()


@pytest.fixture
def hip(real_gateway: Gateway, recorder: Recorder, live_server: LiveServer) -> Iterator[Gateway]:
    """The real gateway, our calls to it recorded, its callbacks to our live bridge."""
    real_gateway.register_bridge(real_gateway.token(), live_server.url)
    yield real_gateway
    real_gateway.admin("faults", {"duplicate": False, "reorder": 0})


@pytest.fixture
def receiver() -> Iterator[Bridge]:
    """A requester's dataPushUrl: records each page, answers the statuses queued (then 202)."""
    server = Bridge().start()
    yield server
    server.stop()


def soon(minutes: int = 0, days: int = 0) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes, days=days)
