"""Every socket closes with 4401 when the session that opened it ends: signing out over HTTP at
once, and expiry, a deleted session, a changed password or a deactivated account by the
periodic check. Through the real ASGI stack, with the Redis channel layer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from accounts.models import Role, User
from tests.factories import DoctorFactory, StaffFactory
from tests.queues.conftest import make_opd
from tests.queues.test_sockets import booked, receive, run, socket
from tests.sessions import session_cookie
from tests.video.bots import LiveServer, live_daphne, shared_database_url
from tests.video.test_signalling import called_ticket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Each kind of socket: who opens it, where, and the first frame it gets.
Opener = Callable[[], tuple[User, str, str]]


def waiting_room() -> tuple[User, str, str]:
    ticket = booked(make_opd("SO"))
    return ticket.patient.account, f"/ws/waiting/{ticket.public_id}/", "snapshot"


def console() -> tuple[User, str, str]:
    return DoctorFactory().user, "/ws/console/", "console"


def call() -> tuple[User, str, str]:
    ticket = called_ticket()
    return ticket.patient.account, f"/ws/call/{ticket.public_id}/?client={ticket.public_id}", "room"


def dashboard() -> tuple[User, str, str]:
    return StaffFactory(role=Role.NATIONAL_ADMIN), "/ws/dashboard/live/", "live"


SOCKETS = {"waiting": waiting_room, "console": console, "call": call, "dashboard": dashboard}


def cookie_header(cookie: str) -> tuple[bytes, bytes]:
    return (b"cookie", cookie.encode())


def session_key(cookie: str) -> str:
    return cookie.partition("=")[2]


async def closes_with(comm: WebsocketCommunicator, seconds: float) -> tuple[int, float]:
    """The close code and how long it took (only frames may come before it)."""
    started = time.monotonic()
    output: dict[str, Any] = await comm.receive_output(timeout=seconds)
    while output["type"] != "websocket.close":
        assert output["type"] == "websocket.send", output
        output = await comm.receive_output(timeout=seconds)
    return int(output.get("code", 1000)), time.monotonic() - started


@pytest.mark.parametrize("opener", SOCKETS.values(), ids=SOCKETS.keys())
def test_signing_out_closes_that_sessions_sockets_at_once(opener: Opener) -> None:
    user, path, first = opener()
    signed_out, other_device = session_cookie(user), session_cookie(user)
    browser = Client()
    browser.cookies[django_settings.SESSION_COOKIE_NAME] = session_key(signed_out)

    async def scenario() -> None:
        tabs = [socket(path, cookie_header(signed_out)) for _ in range(2)]
        if first == "room":  # a call side is held by one socket at a time
            tabs = tabs[:1]
        elsewhere = socket(path, cookie_header(other_device))
        for comm in tabs:
            assert (await comm.connect())[0]
            await receive(comm, first)
        if first != "room":
            assert (await elsewhere.connect())[0]
            await receive(elsewhere, first)
        response = await sync_to_async(browser.post)("/signout/")
        assert response.status_code == 302
        for comm in tabs:
            code, took = await closes_with(comm, 5)
            assert code == 4401
            assert took < 2
        if first != "room":  # the same person's other session is not signed out
            await elsewhere.send_to(text_data='{"type": "ping"}')
            await receive(elsewhere, "pong")
            await elsewhere.disconnect()

    run(scenario)


def end_by_expiry(user: User, key: str) -> None:
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))


def end_by_deletion(user: User, key: str) -> None:
    Session.objects.filter(session_key=key).delete()


def end_by_new_password(user: User, key: str) -> None:
    user.set_password("a completely new password 42")
    user.save(update_fields=["password"])


def end_by_deactivation(user: User, key: str) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


ENDINGS = {
    "expired": end_by_expiry,
    "deleted": end_by_deletion,
    "new password": end_by_new_password,
    "deactivated": end_by_deactivation,
}


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
@pytest.mark.parametrize("opener", SOCKETS.values(), ids=SOCKETS.keys())
def test_a_session_ended_otherwise_closes_its_sockets_within_seconds(
    opener: Opener, ending: Callable[[User, str], None], settings: Any
) -> None:
    settings.SOCKET_SESSION_CHECK_SECONDS = 0.5
    user, path, first = opener()
    cookie = session_cookie(user)

    async def scenario() -> None:
        comm = socket(path, cookie_header(cookie))
        assert (await comm.connect())[0]
        await receive(comm, first)
        assert await comm.receive_nothing(timeout=1.0)  # checked, and still signed in
        await sync_to_async(ending)(user, session_key(cookie))
        code, took = await closes_with(comm, 5)
        assert code == 4401
        assert took < 3

    run(scenario)


@pytest.fixture(scope="module")
def server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with django_db_blocker.unblock():
        database_url = shared_database_url()
    with live_daphne(tmp_path_factory.mktemp("signout"), database_url) as live:
        yield live


def sign_out(base_url: str, cookie: str) -> int:
    """The page's sign-out button: a POST with the session and the CSRF token."""
    token = secrets.token_hex(16)
    request = urllib.request.Request(  # noqa: S310 - our loopback server
        base_url + "/signout/",
        method="POST",
        data=b"",
        headers={
            "Cookie": f"{cookie}; csrftoken={token}",
            "X-CSRFToken": token,
            "Origin": base_url,
        },
    )
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with contextlib.closing(opener.open(request, timeout=10)) as response:
            return int(response.status)
    except urllib.error.HTTPError as answer:  # the redirect to the home page, not followed
        return answer.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_on_a_running_daphne_signing_out_closes_the_live_dashboard(server: LiveServer) -> None:
    cookie = session_cookie(StaffFactory(role=Role.NATIONAL_ADMIN))
    url = server.url.replace("http://", "ws://", 1) + "/ws/dashboard/live/"

    async def scenario() -> None:
        async with connect(
            url, origin=Origin(server.url), additional_headers={"Cookie": cookie}, proxy=None
        ) as dashboard:
            assert json.loads(await asyncio.wait_for(dashboard.recv(), 5))["type"] == "live"
            started = time.monotonic()
            assert await asyncio.to_thread(sign_out, server.url, cookie) == 302
            with contextlib.suppress(ConnectionClosed):
                while True:  # frames sent before the sign-out may still arrive
                    await asyncio.wait_for(dashboard.recv(), 5)
            assert dashboard.close_code == 4401, server.log()
            assert time.monotonic() - started < 3

    asyncio.run(scenario())
