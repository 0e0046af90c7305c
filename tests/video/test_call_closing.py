"""Frames to a call socket that is closing, on a running Daphne: lost quietly, as on any
network, never an error with a traceback in the log.

The doctor's tab is slow to finish the closing handshake (a background tab, a slow network):
while Daphne waits for it, the patient's socket closes too and its "left" reaches the doctor's
closing socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame
from websockets.http11 import Response
from websockets.typing import Origin
from websockets.uri import parse_uri

from queues.services import visits
from tests.sessions import session_cookie
from tests.video.bots import LiveServer, called_ticket, live_daphne, shared_database_url

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module")
def server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with django_db_blocker.unblock():
        database_url = shared_database_url()
    with live_daphne(tmp_path_factory.mktemp("closing"), database_url) as live:
        yield live


class SlowTab:
    """A call socket whose page reads only when told to (it never answers a close by itself)."""

    def __init__(self, url: str, origin: str, cookie: str) -> None:
        self.protocol = ClientProtocol(parse_uri(url), origin=Origin(origin))
        self.cookie = cookie

    async def open(self) -> None:
        uri = self.protocol.uri
        self.reader, self.writer = await asyncio.open_connection(uri.host, uri.port)
        request = self.protocol.connect()
        request.headers["Cookie"] = self.cookie
        self.protocol.send_request(request)
        await self._flush()
        while True:
            for event in await self._events():
                if isinstance(event, Response):
                    assert event.status_code == 101, event.status_code
                elif isinstance(event, Frame) and json.loads(bytes(event.data))["type"] == "room":
                    return

    async def send(self, message: dict[str, Any]) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        await self._flush()

    async def _events(self) -> list[Any]:
        self.protocol.receive_data(await asyncio.wait_for(self.reader.read(65536), 5))
        return self.protocol.events_received()

    async def _flush(self) -> None:
        self.writer.write(b"".join(self.protocol.data_to_send()))
        await self.writer.drain()


def test_a_frame_to_a_closing_call_socket_is_not_an_error(server: LiveServer) -> None:
    ticket = called_ticket("VX")
    assert ticket.doctor is not None
    visits.answer_call(ticket.patient.account, ticket)  # in consultation: the doctor may end it
    base = server.url.replace("http://", "ws://", 1) + f"/ws/call/{ticket.public_id}/"
    patient_cookie = session_cookie(ticket.patient.account)
    doctor_cookie = session_cookie(ticket.doctor.user)

    async def scenario() -> None:
        doctor = SlowTab(f"{base}?client={uuid.uuid4()}", server.url, doctor_cookie)
        await doctor.open()
        async with connect(
            f"{base}?client={uuid.uuid4()}",
            origin=Origin(server.url),
            additional_headers={"Cookie": patient_cookie},
            proxy=None,
        ) as patient:
            # The doctor hangs up: the server ends the consultation and closes both sockets.
            await doctor.send({"type": "hangup"})
            frames = []
            with contextlib.suppress(ConnectionClosed):
                while True:
                    frames.append(json.loads(await patient.recv()))
            assert frames[-1]["type"] == "ended"
            assert patient.close_code == 4409
        # The patient's socket is gone (its "left" went to the doctor's closing socket); the
        # doctor's closes when Daphne stops waiting for its tab (1 s).
        await asyncio.sleep(1.5)
        doctor.writer.close()

    asyncio.run(scenario())
    log = server.log()
    assert "Attempt to send on a closed protocol" not in log, log
    assert "Traceback" not in log, log
    assert " ERROR " not in log, log
