"""The ABDM client against a real HTTP gateway stand-in: session token cached and refreshed,
ABDM's headers on every call, retries with back-off on 5xx, no retry on 4xx, sent once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from abdm import gateway as abdm_gateway
from abdm import outbound
from abdm.client import Flow, GatewayMessage, send
from abdm.models import LEASE, MAX_ATTEMPTS, digest
from abdm.tasks import deliver_gateway_message, send_overdue_messages
from esanjeevani.celery import app as celery_app
from tests.abdm.fake_gateway import FakeGateway

pytestmark = pytest.mark.django_db

ON_NOTIFY = "/consent/v3/request/hip/on-notify"
BODY = {"acknowledgement": {"status": "ok", "consentId": "c-1"}, "response": {"requestId": "x"}}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

Capture = Callable[..., Any]


def sent(capture: Capture, flow: Flow = Flow.ON_NOTIFY, *, hip: bool = True) -> GatewayMessage:
    with capture(execute=True):
        message = send(flow, ON_NOTIFY, dict(BODY), hip=hip)
    message.refresh_from_db()
    return message


def test_calls_carry_abdm_headers_and_share_one_cached_session(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture, settings: SettingsWrapper
) -> None:
    first = sent(django_capture_on_commit_callbacks)
    second = sent(django_capture_on_commit_callbacks, hip=False)

    sessions = gateway.calls_to("/gateway/v3/sessions")
    assert len(sessions) == 1
    assert sessions[0].body == {
        "clientId": settings.ABDM_CLIENT_ID,
        "clientSecret": settings.ABDM_CLIENT_SECRET,
        "grantType": "client_credentials",
    }
    posts = gateway.calls_to(ON_NOTIFY)
    assert len(posts) == 2
    for call, message in zip(posts, [first, second], strict=True):
        assert call.headers["Authorization"] == f"Bearer {gateway.issued[0]}"
        assert call.headers["REQUEST-ID"] == str(message.request_id)
        assert uuid.UUID(call.headers["REQUEST-ID"]).version == 4
        assert TIMESTAMP.match(call.headers["TIMESTAMP"])
        moment = datetime.fromisoformat(call.headers["TIMESTAMP"])
        assert abs(moment - datetime.now(UTC)) < timedelta(seconds=30)
        assert call.headers["X-CM-ID"] == settings.ABDM_CM_ID
        assert call.body == BODY
    assert posts[0].headers["X-HIP-ID"] == settings.ABDM_HIP_ID
    assert "X-HIP-ID" not in posts[1].headers
    assert sessions[0].headers["X-CM-ID"] == settings.ABDM_CM_ID
    assert TIMESTAMP.match(sessions[0].headers["TIMESTAMP"])

    assert first.state == GatewayMessage.State.ACCEPTED
    assert first.accepted_at is not None and first.attempts == 1
    # The body is dropped once the gateway has it; its digest stays.
    assert first.body is None and first.body_digest == digest(BODY)


def test_a_401_fetches_a_new_session_once_and_the_call_goes_through(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture
) -> None:
    sent(django_capture_on_commit_callbacks)
    gateway.revoked.add(gateway.issued[0])

    message = sent(django_capture_on_commit_callbacks)

    assert len(gateway.calls_to("/gateway/v3/sessions")) == 2
    last_two = gateway.calls_to(ON_NOTIFY)[-2:]
    assert [c.headers["Authorization"] for c in last_two] == [
        f"Bearer {gateway.issued[0]}",
        f"Bearer {gateway.issued[1]}",
    ]
    assert message.state == GatewayMessage.State.ACCEPTED


def test_a_second_401_fails_the_message_without_a_third_session(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture
) -> None:
    sent(django_capture_on_commit_callbacks)
    gateway.accepts_tokens = False
    message = sent(django_capture_on_commit_callbacks)

    assert len(gateway.calls_to("/gateway/v3/sessions")) == 2
    assert len(gateway.calls_to(ON_NOTIFY)) == 3
    assert message.state == GatewayMessage.State.FAILED
    assert message.last_error == "HTTP 401"


def test_a_session_is_kept_for_its_lifetime_less_a_margin(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture
) -> None:
    sent(django_capture_on_commit_callbacks)
    assert cache.get(abdm_gateway.SESSION_CACHE_KEY) == gateway.issued[0]
    cache.delete(abdm_gateway.SESSION_CACHE_KEY)  # its time in the cache ran out
    sent(django_capture_on_commit_callbacks)
    assert len(gateway.calls_to("/gateway/v3/sessions")) == 2

    # A token that lives no longer than the margin is never cached: each call fetches one.
    gateway.expires_in = abdm_gateway.SESSION_MARGIN_SECONDS
    cache.delete(abdm_gateway.SESSION_CACHE_KEY)
    sent(django_capture_on_commit_callbacks)
    sent(django_capture_on_commit_callbacks)
    assert len(gateway.calls_to("/gateway/v3/sessions")) == 4


def test_5xx_is_retried_with_growing_back_off_under_the_same_request_id(
    gateway: FakeGateway,
) -> None:
    message = GatewayMessage.objects.create(
        request_id=uuid.uuid4(),
        direction=GatewayMessage.Direction.OUTBOUND,
        flow=Flow.ON_NOTIFY,
        path=ON_NOTIFY,
        state=GatewayMessage.State.QUEUED,
        body=BODY,
        body_digest=digest(BODY),
    )
    abdm_gateway.session_token()  # the session first, so the script answers the posts
    gateway.script.extend([503, 502])

    first = outbound.deliver(message.pk)
    second = outbound.deliver(message.pk)
    third = outbound.deliver(message.pk)

    assert first == timedelta(seconds=2) and second == timedelta(seconds=4) and third is None
    message.refresh_from_db()
    assert message.state == GatewayMessage.State.ACCEPTED and message.attempts == 3
    ids = {c.headers["REQUEST-ID"] for c in gateway.calls_to(ON_NOTIFY)}
    assert ids == {str(message.request_id)} and len(gateway.calls_to(ON_NOTIFY)) == 3


def test_the_task_retries_5xx_until_the_gateway_accepts(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture, monkeypatch: Any
) -> None:
    # In-process, as a worker would: each retry runs the task again (without the countdown).
    monkeypatch.setitem(celery_app.conf, "CELERY_TASK_EAGER_PROPAGATES", value=False)
    abdm_gateway.session_token()
    gateway.script.extend([500, 503, 504])
    with django_capture_on_commit_callbacks(execute=False):
        message = send(Flow.ON_NOTIFY, ON_NOTIFY, dict(BODY))
    deliver_gateway_message.apply(args=(message.pk,))
    message.refresh_from_db()
    assert message.state == GatewayMessage.State.ACCEPTED
    assert message.attempts == 4
    assert len(gateway.calls_to(ON_NOTIFY)) == 4


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_4xx_is_not_retried(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture, status: int
) -> None:
    abdm_gateway.session_token()
    gateway.script.append(status)
    message = sent(django_capture_on_commit_callbacks)
    assert message.state == GatewayMessage.State.FAILED
    assert message.last_error == f"HTTP {status}"
    assert len(gateway.calls_to(ON_NOTIFY)) == 1
    # A failed message is never sent again.
    deliver_gateway_message.delay(message.pk)
    assert len(gateway.calls_to(ON_NOTIFY)) == 1


def test_429_means_an_earlier_try_arrived_so_the_message_counts_as_sent(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture
) -> None:
    abdm_gateway.session_token()
    gateway.script.append(429)
    message = sent(django_capture_on_commit_callbacks)
    assert message.state == GatewayMessage.State.ACCEPTED
    assert len(gateway.calls_to(ON_NOTIFY)) == 1


def test_a_task_run_twice_sends_once(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture
) -> None:
    message = sent(django_capture_on_commit_callbacks)
    deliver_gateway_message.delay(message.pk)
    deliver_gateway_message.delay(message.pk)
    assert len(gateway.calls_to(ON_NOTIFY)) == 1


def test_an_unreachable_gateway_is_tried_again_later(
    gateway: FakeGateway, settings: SettingsWrapper
) -> None:
    gateway.stop()  # nothing listens on its port any more
    message = GatewayMessage.objects.create(
        request_id=uuid.uuid4(),
        direction=GatewayMessage.Direction.OUTBOUND,
        flow=Flow.ON_NOTIFY,
        path=ON_NOTIFY,
        state=GatewayMessage.State.QUEUED,
        body=BODY,
        body_digest=digest(BODY),
    )
    assert outbound.deliver(message.pk) == timedelta(seconds=2)
    message.refresh_from_db()
    assert message.state == GatewayMessage.State.QUEUED
    assert message.last_error == "ConnectError"
    assert message.next_attempt_at > message.created_at


def test_the_sweep_sends_a_message_whose_task_was_lost(gateway: FakeGateway) -> None:
    lost = GatewayMessage.objects.create(
        request_id=uuid.uuid4(),
        direction=GatewayMessage.Direction.OUTBOUND,
        flow=Flow.ON_NOTIFY,
        path=ON_NOTIFY,
        state=GatewayMessage.State.QUEUED,
        body=BODY,
        body_digest=digest(BODY),
        next_attempt_at=timezone.now() - timedelta(minutes=2),
    )
    fresh = GatewayMessage.objects.create(
        request_id=uuid.uuid4(),
        direction=GatewayMessage.Direction.OUTBOUND,
        flow=Flow.ON_NOTIFY,
        path=ON_NOTIFY,
        state=GatewayMessage.State.QUEUED,
        body=BODY,
        body_digest=digest(BODY),
    )
    assert send_overdue_messages.apply().get() == 1
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.state == GatewayMessage.State.ACCEPTED
    # A fresh row's own task is on its way: the sweep leaves it alone.
    assert fresh.state == GatewayMessage.State.QUEUED
    assert [c.headers["REQUEST-ID"] for c in gateway.calls_to(ON_NOTIFY)] == [str(lost.request_id)]


def test_the_sweep_gives_up_a_message_whose_last_try_died_with_its_worker(
    gateway: FakeGateway,
) -> None:
    long_ago = timezone.now() - LEASE - timedelta(minutes=1)
    dead = GatewayMessage.objects.create(
        request_id=uuid.uuid4(),
        direction=GatewayMessage.Direction.OUTBOUND,
        flow=Flow.ON_NOTIFY,
        path=ON_NOTIFY,
        state=GatewayMessage.State.SENDING,
        sending_since=long_ago,
        attempts=MAX_ATTEMPTS,
        body=BODY,
        body_digest=digest(BODY),
    )
    interrupted = GatewayMessage.objects.create(
        request_id=uuid.uuid4(),
        direction=GatewayMessage.Direction.OUTBOUND,
        flow=Flow.ON_NOTIFY,
        path=ON_NOTIFY,
        state=GatewayMessage.State.SENDING,
        sending_since=long_ago,
        attempts=1,
        body=BODY,
        body_digest=digest(BODY),
        next_attempt_at=long_ago,
    )
    send_overdue_messages.apply()
    dead.refresh_from_db()
    interrupted.refresh_from_db()
    assert dead.state == GatewayMessage.State.FAILED
    # One with tries left is taken over and sent, under its own request id.
    assert interrupted.state == GatewayMessage.State.ACCEPTED and interrupted.attempts == 2
    assert [c.headers["REQUEST-ID"] for c in gateway.calls_to(ON_NOTIFY)] == [
        str(interrupted.request_id)
    ]
