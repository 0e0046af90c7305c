"""Stored notifications: sent exactly once, retried with back-off, every attempt recorded."""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from notifications import services
from notifications.delivery import deliver
from notifications.models import (
    LEASE,
    MAX_ATTEMPTS,
    Notification,
    NotificationAttempt,
    retry_delay,
)
from notifications.sms import BaseSmsBackend, SmsMessage
from notifications.tasks import deliver_notification, retry_due_notifications
from tests.sms import FakeGateway

MOBILE = "+919876543210"
Outcome = NotificationAttempt.Outcome


def notify(key: str = "test:1:sms", **overrides: Any) -> Notification | None:
    fields = {
        "key": key,
        "channel": Notification.Channel.SMS,
        "recipient": MOBILE,
        "body": "Your e-prescription is ready.",
        **overrides,
    }
    return services.notify(**fields)


def stored(key: str = "test:1:sms", **fields: Any) -> Notification:
    """A notification whose delivery task has not run."""
    return Notification.objects.create(
        idempotency_key=key,
        channel=fields.pop("channel", Notification.Channel.SMS),
        recipient=fields.pop("recipient", MOBILE),
        body=fields.pop("body", "Your e-prescription is ready."),
        **fields,
    )


def outcomes(notification: Notification) -> list[str]:
    return list(notification.attempt_log.values_list("outcome", flat=True))


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    fake = FakeGateway()
    with override_settings(
        SMS_BACKEND="notifications.sms.HttpGatewaySmsBackend",
        SMS_GATEWAY_URL=fake.url,
        SMS_GATEWAY_API_KEY="k3y",
        SMS_GATEWAY_TIMEOUT_SECONDS=0.5,
    ):
        yield fake
    fake.close()


@pytest.fixture
def retries_run_inline(monkeypatch):
    """In eager mode Celery re-runs a retried task at once (without the back-off wait) only
    when eager errors do not propagate."""
    # The app reads Django's CELERY_* settings: only keys with that prefix override them.
    monkeypatch.setitem(deliver_notification.app.conf, "CELERY_TASK_EAGER_PROPAGATES", value=False)


class SlowSmsBackend(BaseSmsBackend):
    """Holds each send for a moment, so concurrent workers overlap."""

    sent: ClassVar[list[SmsMessage]] = []

    def send(self, message: SmsMessage) -> None:
        time.sleep(0.3)
        self.sent.append(message)


# --- Idempotency ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_stores_and_sends_one_message_for_a_key_used_twice(
    sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = notify(body="First")
        second = notify(body="Second")
    assert first is not None
    assert second is None
    assert Notification.objects.count() == 1
    assert [(m.to, m.body) for m in sms_outbox] == [(MOBILE, "First")]
    first.refresh_from_db()
    assert first.status == Notification.Status.SENT
    assert first.sent_at is not None


@pytest.mark.django_db
def test_it_enqueues_delivery_only_after_the_transaction_commits(
    sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        notify()
        assert sms_outbox == []
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_it_sends_once_when_the_task_runs_twice(sms_outbox):
    notification = stored()
    deliver_notification.apply(args=(notification.pk,))
    deliver_notification.apply(args=(notification.pk,))
    assert len(sms_outbox) == 1
    notification.refresh_from_db()
    assert notification.attempts == 1
    assert outcomes(notification) == [Outcome.SENT]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(SMS_BACKEND="tests.notifications.test_delivery.SlowSmsBackend")
def test_it_sends_once_when_two_workers_run_the_task_at_the_same_time():
    SlowSmsBackend.sent.clear()
    notification = stored()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            deliver_notification.apply(args=(notification.pk,))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert [m.reference for m in SlowSmsBackend.sent] == [notification.idempotency_key]
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert outcomes(notification) == [Outcome.SENT]


@pytest.mark.django_db
def test_it_does_nothing_for_a_notification_already_sent(sms_outbox):
    notification = stored(status=Notification.Status.SENT, attempts=1, sent_at=timezone.now())
    deliver_notification.apply(args=(notification.pk,))
    assert sms_outbox == []
    assert outcomes(notification) == []


@pytest.mark.django_db
def test_it_leaves_a_notification_alone_while_another_worker_holds_it(sms_outbox):
    notification = stored(
        status=Notification.Status.SENDING, attempts=1, sending_since=timezone.now()
    )
    deliver_notification.apply(args=(notification.pk,))
    retry_due_notifications.apply()
    assert sms_outbox == []
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENDING


# --- Gateway failures ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_retries_a_gateway_error_and_delivers_once(
    gateway, retries_run_inline, django_capture_on_commit_callbacks
):
    gateway.answers.append(500)
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify()
    assert notification is not None
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 2
    assert outcomes(notification) == [Outcome.TEMPORARY_FAILURE, Outcome.SENT]
    assert notification.attempt_log.get(number=1).detail == "gateway answered 500"
    # Both tries carry our key, so a gateway that got the first one drops the second.
    keys = [r["headers"]["Idempotency-Key"] for r in gateway.requests]
    assert keys == [notification.idempotency_key] * 2


@pytest.mark.django_db
def test_it_retries_a_gateway_that_times_out(
    gateway, retries_run_inline, django_capture_on_commit_callbacks
):
    gateway.answers.append("hang")
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify()
    assert notification is not None
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert outcomes(notification) == [Outcome.TEMPORARY_FAILURE, Outcome.SENT]
    assert notification.attempt_log.get(number=1).detail.startswith("gateway unreachable")
    keys = {r["headers"]["Idempotency-Key"] for r in gateway.requests}
    assert keys == {notification.idempotency_key}


@pytest.mark.django_db
def test_it_gives_up_on_a_refusal_without_retrying(
    gateway, retries_run_inline, django_capture_on_commit_callbacks
):
    gateway.answers.append(400)
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify()
    assert notification is not None
    retry_due_notifications.apply()
    assert len(gateway.requests) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.last_error == "gateway answered 400"
    assert outcomes(notification) == [Outcome.PERMANENT_FAILURE]


@pytest.mark.django_db
def test_it_backs_off_exponentially_after_a_temporary_failure(gateway):
    gateway.answers.extend([503, 503])
    notification = stored()
    before = timezone.now()
    first = deliver(notification.pk)
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert first.retry_at == notification.next_attempt_at
    assert before + timedelta(seconds=30) <= notification.next_attempt_at
    assert notification.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    between = timezone.now()
    second = deliver(notification.pk)
    assert second.retry_at is not None
    assert (
        between + timedelta(seconds=60) <= second.retry_at <= timezone.now() + timedelta(seconds=60)
    )
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 8, 9)] == [30, 60, 120, 1800, 1800]


@pytest.mark.django_db
def test_it_gives_up_after_the_last_allowed_attempt(gateway):
    gateway.answers.append(503)
    notification = stored(attempts=MAX_ATTEMPTS - 1)
    result = deliver(notification.pk)
    assert result.retry_at is None
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.last_error == "gave up: gateway answered 503"


@pytest.mark.django_db
def test_it_asks_celery_to_retry_after_the_back_off(gateway, monkeypatch):
    gateway.answers.append(500)
    notification = stored()
    requested: list[float] = []

    def retry(**options: Any) -> Exception:
        requested.append(options["countdown"])
        return RuntimeError("retry requested")

    monkeypatch.setattr(deliver_notification, "retry", retry)
    with pytest.raises(RuntimeError, match="retry requested"):
        deliver_notification.run(notification.pk)
    assert requested
    assert 25 <= requested[0] <= 30


@pytest.mark.django_db
def test_it_keeps_the_number_and_the_message_out_of_the_logs(gateway, caplog):
    gateway.answers.append(500)
    notification = stored(body="Your e-prescription RX2025-0000042 is ready.")
    with caplog.at_level(logging.INFO):
        deliver(notification.pk)
    assert "9876543210" not in caplog.text
    assert "RX2025-0000042" not in caplog.text
    assert str(notification.public_id) in caplog.text


class RefusingEmailBackend(BaseEmailBackend):
    """An SMTP server that answers each message with the next of ``answers``."""

    answers: ClassVar[list[Exception | None]] = []

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        mail.outbox.extend(email_messages)
        return len(email_messages)


@pytest.mark.django_db
@override_settings(EMAIL_BACKEND="tests.notifications.test_delivery.RefusingEmailBackend")
def test_it_retries_an_email_the_mail_server_could_not_take(
    retries_run_inline, django_capture_on_commit_callbacks
):
    RefusingEmailBackend.answers[:] = [smtplib.SMTPServerDisconnected("gone")]
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(channel=Notification.Channel.EMAIL, recipient="a@example.in")
    assert notification is not None
    assert len(mail.outbox) == 1
    assert outcomes(notification) == [Outcome.TEMPORARY_FAILURE, Outcome.SENT]


@pytest.mark.django_db
@override_settings(EMAIL_BACKEND="tests.notifications.test_delivery.RefusingEmailBackend")
def test_it_gives_up_on_an_address_the_mail_server_refuses(
    retries_run_inline, django_capture_on_commit_callbacks
):
    refused = {"a@example.in": (550, b"5.1.1 a@example.in: no such user")}
    RefusingEmailBackend.answers[:] = [smtplib.SMTPRecipientsRefused(refused)]
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(channel=Notification.Channel.EMAIL, recipient="a@example.in")
    assert notification is not None
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.last_error == "SMTP refused the recipient (550)"
    assert mail.outbox == []


# --- Lost tasks -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_resends_a_notification_left_sending_by_a_killed_worker(sms_outbox):
    claimed_at = timezone.now() - LEASE - timedelta(seconds=1)
    notification = stored(status=Notification.Status.SENDING, attempts=1, sending_since=claimed_at)
    NotificationAttempt.objects.create(notification=notification, number=1, started_at=claimed_at)
    retry_due_notifications.apply()
    retry_due_notifications.apply()
    assert len(sms_outbox) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert outcomes(notification) == [Outcome.INTERRUPTED, Outcome.SENT]


@pytest.mark.django_db
def test_it_resends_a_notification_whose_task_message_was_lost(sms_outbox):
    stored(next_attempt_at=timezone.now() - timedelta(minutes=5))
    fresh = stored("test:fresh:sms")  # its own task is on its way
    retry_due_notifications.apply()
    assert len(sms_outbox) == 1
    fresh.refresh_from_db()
    assert fresh.status == Notification.Status.PENDING


@pytest.mark.django_db
def test_it_lets_a_national_administrator_send_a_failed_message_again(
    client, national_admin, sms_outbox, django_capture_on_commit_callbacks
):
    failed = stored(
        status=Notification.Status.FAILED, attempts=1, last_error="gateway answered 400"
    )
    now = timezone.now()
    NotificationAttempt.objects.create(
        notification=failed,
        number=1,
        started_at=now,
        finished_at=now,
        outcome=Outcome.PERMANENT_FAILURE,
    )
    national_admin.is_staff = True
    national_admin.save(update_fields=["is_staff"])
    client.force_login(national_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:notifications_notification_changelist"),
            {"action": "send_again", "_selected_action": [failed.pk]},
        )
    assert response.status_code == 302
    assert len(sms_outbox) == 1
    assert outcomes(failed) == [Outcome.PERMANENT_FAILURE, Outcome.SENT]


@pytest.mark.django_db
def test_it_shows_notifications_to_national_administrators_only(client, up_admin):
    up_admin.is_staff = True
    up_admin.save(update_fields=["is_staff"])
    client.force_login(up_admin)
    response = client.get(reverse("admin:notifications_notification_changelist"))
    assert response.status_code == 403
