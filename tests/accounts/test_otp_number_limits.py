"""Sign-in codes: a stranger asking for someone's number never blocks the person who holds it.

README "One-time codes": the per-number cool-down and hourly cap count per requester (a known
device, else the client address); a number that got many codes within the hour makes unknown
requesters wait a growing, bounded time between codes; its known devices carry on.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import devices, otp
from core import ratelimit
from core.errors import TooManyRequests
from notifications.sms import SmsMessage
from tests.sms import code_in

pytestmark = pytest.mark.django_db

MOBILE = "98765 12340"
E164 = "+919876512340"
HOLDER = "10.0.0.1"
STRANGER = "203.0.113.9"


class Clock:
    """``timezone.now`` under the test's control; the cache's short-lived turn keys are
    dropped when it moves, as their TTLs would have (the database keeps the real record)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        cache.delete(otp.number_turn_key(E164))
        for address in (HOLDER, STRANGER):
            cache.delete(otp.cooldown_slot_key(E164, ratelimit.client_key(address)))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def ask(api: APIClient, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    def ask(address: str, device: str | None = None) -> Any:
        payload = {"mobile": MOBILE} if device is None else {"mobile": MOBILE, "device": device}
        with django_capture_on_commit_callbacks(execute=True):
            return api.post("/api/auth/otp/request/", payload, format="json", REMOTE_ADDR=address)

    return ask


def sign_in(api: APIClient, response: Any, outbox: list[SmsMessage], address: str) -> Any:
    code = code_in([m for m in outbox if m.to == E164][-1].body)
    return api.post(
        "/api/auth/otp/verify/",
        {"challenge_id": response.json()["challenge_id"], "code": code},
        format="json",
        REMOTE_ADDR=address,
    )


def sms_to_the_number(outbox: list[SmsMessage]) -> int:
    return len([m for m in outbox if m.to == E164])


def test_a_strangers_requests_do_not_block_the_holder(api, ask, clock, sms_outbox):
    for _ in range(5):
        assert ask(STRANGER).status_code == 202
        clock.advance(31)
    assert ask(STRANGER).status_code == 429  # the stranger's own allowance is spent

    response = ask(HOLDER)
    if response.status_code == 429:  # at most a minute's wait, never the rest of the hour
        assert response.json()["error"]["code"] == "otp_number_backoff"
        assert int(response["Retry-After"]) <= 60
        clock.advance(int(response["Retry-After"]))
        response = ask(HOLDER)
    assert response.status_code == 202
    assert sign_in(api, response, sms_outbox, HOLDER).status_code == 200


def test_a_device_that_signed_in_with_the_number_is_not_slowed_down(api, ask, clock, sms_outbox):
    first = ask(HOLDER)
    device = sign_in(api, first, sms_outbox, HOLDER).json()["device"]
    for n in range(12):  # many addresses, as fast as the number lets them
        ask(f"203.0.113.{n}")
        clock.advance(31)
    assert ask("203.0.113.200").json()["error"]["code"] == "otp_number_backoff"

    response = ask(HOLDER, device=device)

    assert response.status_code == 202
    assert sign_in(api, response, sms_outbox, HOLDER).status_code == 200


def test_a_strangers_code_does_not_void_the_holders_code(api, ask, clock, sms_outbox):
    holders = ask(HOLDER)
    code = code_in(sms_outbox[-1].body)
    clock.advance(31)
    assert ask(STRANGER).status_code == 202

    response = api.post(
        "/api/auth/otp/verify/",
        {"challenge_id": holders.json()["challenge_id"], "code": code},
        format="json",
        REMOTE_ADDR=HOLDER,
    )

    assert response.status_code == 200


def test_sms_bombing_from_many_addresses_slows_to_a_trickle(ask, clock, sms_outbox):
    sent_at: list[datetime] = []
    for n in range(120):  # a fresh address every 30 s for an hour
        if ask(f"198.51.{n // 250}.{n % 250}").status_code == 202:
            sent_at.append(clock.now)
        clock.advance(30)

    gaps = [round((b - a).total_seconds()) for a, b in pairwise(sent_at)]
    # Five codes at the cool-down's pace, then 1, 2, 4, 8 minutes, then every 10 minutes.
    assert gaps == [30] * 4 + [60, 120, 240, 480, 600, 600, 600, 600]
    assert sms_to_the_number(sms_outbox) == 13


def test_a_known_device_is_exempt_only_for_its_own_number(api, ask, clock, sms_outbox):
    device = sign_in(api, ask(HOLDER), sms_outbox, HOLDER).json()["device"]
    with_it_for_another_number = api.post(
        "/api/auth/otp/request/",
        {"mobile": "98765 00077", "device": device},
        format="json",
        REMOTE_ADDR=HOLDER,
    )
    assert with_it_for_another_number.status_code == 202
    assert otp.requester_for("+919876500077", HOLDER, device).known_device is False
    assert otp.requester_for(E164, HOLDER, device).known_device is True
    assert otp.requester_for(E164, HOLDER, device[:-3] + "abc").known_device is False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_requests_while_the_number_backs_off_send_one_code(clock, sms_outbox):
    for n in range(5):
        otp.request_code(mobile=E164, client_address=f"198.51.100.{n}")
        clock.advance(30)
    clock.advance(60)

    def request(n: int) -> str:
        try:
            otp.request_code(mobile=E164, client_address=f"203.0.113.{n}")
        except TooManyRequests as refused:
            return refused.code
        finally:
            connection.close()
        return "sent"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(request, range(8)))

    assert results.count("sent") == 1
    assert set(results) - {"sent"} == {"otp_number_backoff"}
    assert sms_to_the_number(sms_outbox) == 6


def test_the_page_remembers_the_device_that_proved_it_holds_the_number(
    client: Client, api, clock, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/signin/", {"mobile": MOBILE})
    client.post("/signin/code/", {"code": code_in(sms_outbox[-1].body)})
    cookie = client.cookies[devices.PATIENT.cookie]
    assert cookie["httponly"] is True
    assert "98765" not in cookie.value
    client.post("/signout/")
    for n in range(12):
        with django_capture_on_commit_callbacks(execute=True):
            api.post(
                "/api/auth/otp/request/",
                {"mobile": MOBILE},
                format="json",
                REMOTE_ADDR=f"203.0.113.{n}",
            )
        clock.advance(31)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/signin/", {"mobile": MOBILE})

    assert response.status_code == 302
    assert response["Location"] == "/signin/code/"


def test_a_shared_phone_stays_known_to_each_number_that_signed_in_on_it(
    api, sms_outbox, django_capture_on_commit_callbacks
):
    token = None
    for mobile in ("98765 12340", "98765 12341"):
        payload = {"mobile": mobile} if token is None else {"mobile": mobile, "device": token}
        with django_capture_on_commit_callbacks(execute=True):
            asked = api.post("/api/auth/otp/request/", payload, format="json")
        verified = api.post(
            "/api/auth/otp/verify/",
            {
                "challenge_id": asked.json()["challenge_id"],
                "code": code_in(sms_outbox[-1].body),
                **({"device": token} if token else {}),
            },
            format="json",
        )
        token = verified.json()["device"]

    assert otp.requester_for("+919876512340", HOLDER, token).known_device is True
    assert otp.requester_for("+919876512341", HOLDER, token).known_device is True
