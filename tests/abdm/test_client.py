"""The ABDM client against the real offline gateway (``abdm_gateway/``, its own process): the
gateway's admission rules judge our headers, its sessions and JWKS are the ones we cache and
refresh, its fault switches make the 5xx we retry. One condition the gateway cannot produce (it
refuses every token it issued) uses the stand-in ``tests/abdm/fake_gateway.py``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.core.cache import cache
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from abdm import gateway as client
from abdm import outbound
from abdm.client import Flow, GatewayMessage, send
from abdm.models import LEASE, MAX_ATTEMPTS, digest
from abdm.tasks import deliver_gateway_message, send_overdue_messages
from esanjeevani.celery import app as celery_app
from tests.abdm.fake_gateway import FakeGateway
from tests.abdm_gateway.harness import CLIENT_ID, OTHER_HIP_ID, Gateway

pytestmark = pytest.mark.django_db

ON_NOTIFY = "/consent/v3/request/hip/on-notify"
# No "response": the gateway accepts a reply only to a request it sent (tested inbound).
BODY = {"acknowledgement": {"status": "ok", "consentId": "c-1"}}

Capture = Callable[..., Any]


def sent(capture: Capture, *, hip: bool = True) -> GatewayMessage:
    with capture(execute=True):
        message = send(Flow.ON_NOTIFY, ON_NOTIFY, dict(BODY), hip=hip)
    message.refresh_from_db()
    return message


def queued(**fields: Any) -> GatewayMessage:
    return GatewayMessage.objects.create(
        **{
            "request_id": uuid.uuid4(),
            "direction": GatewayMessage.Direction.OUTBOUND,
            "flow": Flow.ON_NOTIFY,
            "path": ON_NOTIFY,
            "state": GatewayMessage.State.QUEUED,
            "body": BODY,
            "body_digest": digest(BODY),
            **fields,
        }
    )


def reused_by_gateway(gateway: Gateway, message: GatewayMessage) -> bool:
    """Whether the gateway admitted a call under the message's REQUEST-ID (it answers 429)."""
    headers = gateway.headers(gateway.token(), **{"REQUEST-ID": str(message.request_id)})
    return gateway.call(ON_NOTIFY, BODY, headers)[0] == 429


def test_the_gateway_admits_our_headers_and_one_cached_session_serves_every_call(
    real_gateway: Gateway, django_capture_on_commit_callbacks: Capture
) -> None:
    first = sent(django_capture_on_commit_callbacks)
    token = cache.get(client.SESSION_CACHE_KEY)
    second = sent(django_capture_on_commit_callbacks, hip=False)

    # Accepted 202 means the gateway found the request id a UUID, the TIMESTAMP inside its
    # window, X-CM-ID its own and X-HIP-ID one of our client's.
    assert first.state == second.state == GatewayMessage.State.ACCEPTED
    assert first.attempts == second.attempts == 1
    assert reused_by_gateway(real_gateway, first) and reused_by_gateway(real_gateway, second)
    # One session, issued by the gateway to our client, kept in the cache for both calls.
    assert cache.get(client.SESSION_CACHE_KEY) == token
    key = jwt.PyJWKClient(real_gateway.base + client.CERTS_PATH).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"])
    assert claims["clientId"] == CLIENT_ID


def test_a_session_the_gateway_has_let_expire_is_replaced_after_its_401(
    real_gateway: Gateway, django_capture_on_commit_callbacks: Capture
) -> None:
    real_gateway.admin("settings", {"tokenTtlSeconds": 1})
    short = client.session_token()
    # Too short-lived to cache: each call fetches its own session.
    assert cache.get(client.SESSION_CACHE_KEY) is None
    real_gateway.admin("settings", {"tokenTtlSeconds": 1200})
    time.sleep(1.5)
    # A cached token that outlived its session (a clock ahead, a long cache): the gateway says
    # 401, the client fetches a new session and the call goes through.
    cache.set(client.SESSION_CACHE_KEY, short, timeout=60)

    message = sent(django_capture_on_commit_callbacks)

    assert message.state == GatewayMessage.State.ACCEPTED and message.attempts == 1
    renewed = cache.get(client.SESSION_CACHE_KEY)
    assert renewed and renewed != short


def test_after_the_gateway_retires_its_key_the_old_session_is_refused_and_renewed(
    own_gateway: Gateway, django_capture_on_commit_callbacks: Capture
) -> None:
    sent(django_capture_on_commit_callbacks)
    old = cache.get(client.SESSION_CACHE_KEY)
    old_kid = jwt.get_unverified_header(old)["kid"]
    own_gateway.admin("keys/rotate", {})
    own_gateway.admin("keys/retire", {"kid": old_kid})

    message = sent(django_capture_on_commit_callbacks)

    assert message.state == GatewayMessage.State.ACCEPTED
    assert reused_by_gateway(own_gateway, message)
    new = cache.get(client.SESSION_CACHE_KEY)
    assert jwt.get_unverified_header(new)["kid"] != old_kid


def test_a_wrong_secret_fails_the_message_without_retrying(
    real_gateway: Gateway, django_capture_on_commit_callbacks: Capture, settings: SettingsWrapper
) -> None:
    settings.ABDM_CLIENT_SECRET = "not-the-secret"
    message = sent(django_capture_on_commit_callbacks)
    assert message.state == GatewayMessage.State.FAILED
    assert message.last_error == "HTTP 401" and message.attempts == 1


@pytest.mark.parametrize(
    ("setting", "value", "status"),
    [
        ("ABDM_HIP_ID", OTHER_HIP_ID, 403),  # another client's HIP
        ("ABDM_HIP_ID", "IN09NOSUCH", 400),  # no such HIP
        ("ABDM_CM_ID", "x", 400),  # not this consent manager
    ],
)
def test_a_header_the_gateway_refuses_fails_the_message_without_retrying(
    real_gateway: Gateway,
    django_capture_on_commit_callbacks: Capture,
    settings: SettingsWrapper,
    setting: str,
    value: str,
    status: int,
) -> None:
    client.session_token()  # the session first (X-CM-ID is checked there too)
    setattr(settings, setting, value)
    message = sent(django_capture_on_commit_callbacks)
    assert message.state == GatewayMessage.State.FAILED
    assert message.last_error == f"HTTP {status}" and message.attempts == 1
    # Refused calls are not remembered by the gateway: the request id is still free.
    assert not reused_by_gateway(real_gateway, message)


def test_injected_5xx_is_retried_with_back_off_under_the_same_request_id(
    real_gateway: Gateway,
) -> None:
    message = queued()
    client.session_token()  # the session first, so the faults hit the call
    real_gateway.admin("faults", {"fail_5xx_next": 2})

    first = outbound.deliver(message.pk)
    second = outbound.deliver(message.pk)
    third = outbound.deliver(message.pk)

    assert first == timedelta(seconds=2) and second == timedelta(seconds=4) and third is None
    message.refresh_from_db()
    assert message.state == GatewayMessage.State.ACCEPTED and message.attempts == 3
    assert reused_by_gateway(real_gateway, message)


def test_a_request_id_the_gateway_has_seen_is_refused_429_and_counts_as_sent(
    real_gateway: Gateway,
) -> None:
    message = queued()
    # An earlier try reached the gateway but its answer was lost.
    assert not reused_by_gateway(real_gateway, message)

    assert outbound.deliver(message.pk) is None

    message.refresh_from_db()
    assert message.state == GatewayMessage.State.ACCEPTED and message.attempts == 1


def test_the_task_retries_5xx_until_the_gateway_accepts(
    real_gateway: Gateway, django_capture_on_commit_callbacks: Capture, monkeypatch: Any
) -> None:
    # In-process, as a worker would: each retry runs the task again (without the countdown).
    monkeypatch.setitem(celery_app.conf, "CELERY_TASK_EAGER_PROPAGATES", value=False)
    client.session_token()
    real_gateway.admin("faults", {"fail_5xx_next": 3})
    with django_capture_on_commit_callbacks(execute=False):
        message = send(Flow.ON_NOTIFY, ON_NOTIFY, dict(BODY))
    deliver_gateway_message.apply(args=(message.pk,))
    message.refresh_from_db()
    assert message.state == GatewayMessage.State.ACCEPTED and message.attempts == 4
    assert reused_by_gateway(real_gateway, message)


def test_a_path_the_gateway_does_not_serve_fails_404_without_retrying(
    real_gateway: Gateway, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = send(Flow.ON_NOTIFY, "/consent/v3/no-such-path", dict(BODY))
    message.refresh_from_db()
    assert message.state == GatewayMessage.State.FAILED and message.last_error == "HTTP 404"
    # A failed message is never sent again.
    deliver_gateway_message.delay(message.pk)
    message.refresh_from_db()
    assert message.attempts == 1


def test_a_task_run_twice_sends_once(
    real_gateway: Gateway, django_capture_on_commit_callbacks: Capture
) -> None:
    message = sent(django_capture_on_commit_callbacks)
    deliver_gateway_message.delay(message.pk)
    deliver_gateway_message.delay(message.pk)
    message.refresh_from_db()
    assert message.state == GatewayMessage.State.ACCEPTED and message.attempts == 1


def test_an_unreachable_gateway_is_tried_again_later(own_gateway: Gateway) -> None:
    own_gateway.stop()  # nothing listens on its port any more
    message = queued()
    assert outbound.deliver(message.pk) == timedelta(seconds=2)
    message.refresh_from_db()
    assert message.state == GatewayMessage.State.QUEUED
    assert message.last_error == "ConnectError"
    assert message.next_attempt_at > message.created_at


def test_the_sweep_sends_a_message_whose_task_was_lost(real_gateway: Gateway) -> None:
    lost = queued(next_attempt_at=timezone.now() - timedelta(minutes=2))
    fresh = queued()
    assert send_overdue_messages.apply().get() == 1
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.state == GatewayMessage.State.ACCEPTED
    assert reused_by_gateway(real_gateway, lost)
    # A fresh row's own task is on its way: the sweep leaves it alone.
    assert fresh.state == GatewayMessage.State.QUEUED
    assert not reused_by_gateway(real_gateway, fresh)


def test_the_sweep_gives_up_a_message_whose_last_try_died_with_its_worker(
    real_gateway: Gateway,
) -> None:
    long_ago = timezone.now() - LEASE - timedelta(minutes=1)
    sending = GatewayMessage.State.SENDING
    dead = queued(state=sending, sending_since=long_ago, attempts=MAX_ATTEMPTS)
    interrupted = queued(
        state=sending, sending_since=long_ago, attempts=1, next_attempt_at=long_ago
    )
    send_overdue_messages.apply()
    dead.refresh_from_db()
    interrupted.refresh_from_db()
    assert dead.state == GatewayMessage.State.FAILED
    assert not reused_by_gateway(real_gateway, dead)
    # One with tries left is taken over and sent, under its own request id.
    assert interrupted.state == GatewayMessage.State.ACCEPTED and interrupted.attempts == 2
    assert reused_by_gateway(real_gateway, interrupted)


def test_a_second_401_fails_the_message_without_a_third_session(
    gateway: FakeGateway, django_capture_on_commit_callbacks: Capture
) -> None:
    # The stand-in: it refuses even the session it has just issued (credentials withdrawn).
    sent(django_capture_on_commit_callbacks)
    gateway.accepts_tokens = False
    message = sent(django_capture_on_commit_callbacks)

    assert len(gateway.calls_to("/gateway/v3/sessions")) == 2
    assert len(gateway.calls_to(ON_NOTIFY)) == 3
    assert message.state == GatewayMessage.State.FAILED
    assert message.last_error == "HTTP 401"
