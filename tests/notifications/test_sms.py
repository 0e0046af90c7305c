"""SMS backends, and the Celery task that sends through them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.test import override_settings

from notifications.sms import (
    ConsoleSmsBackend,
    FileSmsBackend,
    HttpGatewaySmsBackend,
    SmsDeliveryError,
    SmsMessage,
)
from notifications.tasks import send_sms
from tests.sms import FakeGateway

MESSAGE = SmsMessage(to="+919876543210", body="123456 is your code", reference="ref-1")


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    fake = FakeGateway()
    with override_settings(
        SMS_GATEWAY_URL=fake.url, SMS_GATEWAY_API_KEY="k3y", SMS_GATEWAY_TIMEOUT_SECONDS=2
    ):
        yield fake
    fake.close()


def test_the_file_backend_appends_one_json_line_per_message(tmp_path):
    path = tmp_path / "sms.jsonl"
    FileSmsBackend(str(path)).send(MESSAGE)
    FileSmsBackend(str(path)).send(SmsMessage(to="+919800000000", body="hi", reference="r2"))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["to"] for line in lines] == ["+919876543210", "+919800000000"]
    assert lines[0]["body"] == "123456 is your code"
    assert "sent_at" in lines[0]


def test_the_console_backend_shows_the_message_but_masks_the_number(capsys):
    ConsoleSmsBackend().send(MESSAGE)
    out = capsys.readouterr().out
    assert "123456 is your code" in out
    assert "9876543210" not in out
    assert "3210" in out


def test_the_gateway_backend_posts_with_the_key_and_an_idempotency_key(gateway):
    HttpGatewaySmsBackend().send(MESSAGE)
    (request,) = gateway.requests
    assert request["headers"]["Authorization"] == "Bearer k3y"
    assert request["headers"]["Idempotency-Key"] == "ref-1"
    assert request["json"] == {
        "sender": "ESANJV",
        "to": "+919876543210",
        "message": "123456 is your code",
        "reference": "ref-1",
    }


@pytest.mark.parametrize(
    ("status", "temporary"), [(500, True), (503, True), (429, True), (400, False)]
)
def test_the_gateway_backend_tells_temporary_from_permanent_failures(gateway, status, temporary):
    gateway.answers.append(status)
    with pytest.raises(SmsDeliveryError) as error:
        HttpGatewaySmsBackend().send(MESSAGE)
    assert error.value.temporary is temporary


def test_an_unreachable_gateway_is_a_temporary_failure():
    with (
        override_settings(
            SMS_GATEWAY_URL="http://127.0.0.1:9/none",
            SMS_GATEWAY_API_KEY="k",
            SMS_GATEWAY_TIMEOUT_SECONDS=1,
        ),
        pytest.raises(SmsDeliveryError) as error,
    ):
        HttpGatewaySmsBackend().send(MESSAGE)
    assert error.value.temporary is True


@pytest.fixture
def retries_run_inline(monkeypatch):
    """In eager mode Celery re-runs a retried task at once (without the back-off wait) only
    when eager errors do not propagate."""
    # The app reads Django's CELERY_* settings: only keys with that prefix override them.
    monkeypatch.setitem(send_sms.app.conf, "CELERY_TASK_EAGER_PROPAGATES", value=False)


@override_settings(SMS_BACKEND="notifications.sms.HttpGatewaySmsBackend")
def test_the_task_retries_a_gateway_that_fails_then_recovers(gateway, retries_run_inline):
    gateway.answers.extend([500, 502])
    send_sms.apply(args=(MESSAGE.to, MESSAGE.body, MESSAGE.reference), throw=False)
    assert len(gateway.requests) == 3
    assert {r["json"]["reference"] for r in gateway.requests} == {"ref-1"}


@override_settings(SMS_BACKEND="notifications.sms.HttpGatewaySmsBackend")
def test_the_task_does_not_retry_a_permanent_refusal(gateway, retries_run_inline):
    gateway.answers.append(400)
    send_sms.apply(args=(MESSAGE.to, MESSAGE.body, MESSAGE.reference), throw=False)
    assert len(gateway.requests) == 1
