"""Waiting-room and console sockets through the real ASGI stack (origin check, session auth,
routing, consumers, the process's hub) with the Redis channel layer: shared by the tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.db import transaction

from accounts.models import User
from esanjeevani.asgi import application
from queues.models import Opd, Ticket
from queues.services.booking import book
from tests.factories import PatientFactory
from tests.sessions import session_cookie as signed_in

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")  # a browser's socket names its host; the origin must match


def session_cookie(user: User) -> tuple[bytes, bytes]:
    return (b"cookie", signed_in(user).encode())


def socket(
    path: str, cookie: tuple[bytes, bytes] | None = None, origin: tuple[bytes, bytes] = ORIGIN
) -> WebsocketCommunicator:
    """``cookie`` from ``session_cookie(user)``, made before entering the event loop."""
    headers = [HOST, origin] + ([cookie] if cookie else [])
    return WebsocketCommunicator(application, path, headers=headers)


async def receive(comm: WebsocketCommunicator, kind: str, timeout: float = 3) -> dict[str, Any]:
    """The next frame of ``kind`` (other kinds are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"no {kind!r} frame within {timeout}s")
        message = await comm.receive_from(timeout=left)
        frame: dict[str, Any] = json.loads(message)
        if frame["type"] == kind:
            return frame


async def closed_with(comm: WebsocketCommunicator, timeout: float = 3) -> int:
    output = await comm.receive_output(timeout=timeout)
    while output["type"] != "websocket.close":
        output = await comm.receive_output(timeout=timeout)
    return int(output.get("code", 1000))


def booked(opd: Opd, patient: Any = None) -> Ticket:
    patient = patient or PatientFactory()
    with transaction.atomic():
        return book(account=patient.account, patient=patient, opd=opd, complaint="Fever")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()
