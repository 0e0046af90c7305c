"""Sending one stored notification: claim it, record the attempt, send, record the outcome.

Exactly once, and where that stops being true
---------------------------------------------
The claim is a compare-and-set (``pending`` -> ``sending``), so however many copies of the task
run, sequentially or at the same moment, one of them sends; the others find the row taken or
sent and do nothing. What no database can make atomic is the send itself together with the
``sent`` mark: a worker can die (or lose its database connection) after the gateway took the
message and before the row says so. Its lease then runs out, the row is claimed again and the
message is sent a second time. To close that window as far as the other side allows, every
resend carries the same reference: the SMS gateway gets the notification's idempotency key as
``Idempotency-Key``, so a gateway that honours it drops the duplicate; an e-mail keeps one
``Message-ID`` across tries, which most mail systems deduplicate on. A gateway that ignores the
key will deliver a second copy in that (seconds-wide) window. The same holds after a timeout:
we cannot know whether the gateway took the message, so we retry with the same key.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from core.logging import redact
from notifications.models import LEASE, MAX_ATTEMPTS, Notification, NotificationAttempt, retry_delay
from notifications.sms import SmsDeliveryError, SmsMessage, get_backend

logger = logging.getLogger(__name__)

# An SMTP server that accepts the connection and then stalls must not hold a claim forever:
# one send has to finish well within the lease.
EMAIL_TIMEOUT_SECONDS = 30
# The periodic sweep leaves a fresh pending row alone for this long: its own task is on its way.
OVERDUE_GRACE = timedelta(minutes=1)


class DeliveryFailure(Exception):
    """A send that did not go through. ``detail`` is ours and holds no personal data."""

    def __init__(self, detail: str, *, temporary: bool) -> None:
        super().__init__(detail)
        self.detail = detail[:200]
        self.temporary = temporary


@dataclass(frozen=True)
class Delivery:
    """What one run of the task did. ``retry_at`` is set when it should run again."""

    outcome: str  # an Attempt outcome, or "skipped" when there was nothing to do
    retry_at: datetime | None = None


SKIPPED = Delivery("skipped")


def deliver(notification_id: int, *, now: datetime | None = None) -> Delivery:
    """Send the notification if nobody has (or is); safe to call any number of times."""
    started = now or timezone.now()
    notification = Notification.claim(notification_id, now=started)
    if notification is None:
        return SKIPPED
    # A claim left by a dead worker: its attempt never got an outcome.
    notification.attempt_log.filter(finished_at=None).update(
        finished_at=started,
        outcome=NotificationAttempt.Outcome.INTERRUPTED,
        detail="claim expired before an outcome was recorded",
    )
    attempt = NotificationAttempt.objects.create(
        notification=notification,
        number=notification.attempt_log.count() + 1,
        started_at=started,
    )
    try:
        _send(notification)
    except DeliveryFailure as failure:
        return _failed(notification, attempt, failure)
    except Exception as exc:  # a bug or a misconfiguration: retried, then given up
        logger.exception("Notification %s: unexpected error while sending", notification.public_id)
        return _failed(notification, attempt, DeliveryFailure(type(exc).__name__, temporary=True))
    finished = timezone.now()
    _record(attempt, NotificationAttempt.Outcome.SENT, finished=finished)
    if not notification.mark_sent(now=finished):
        # Our lease ran out mid-send and another worker holds the row now: it will send again,
        # with the same idempotency key (see the module docstring).
        logger.warning("Notification %s: sent after its claim expired", notification.public_id)
    logger.info(
        "Notification %s sent by %s (attempt %d)",
        notification.public_id,
        notification.channel,
        notification.attempts,
    )
    return Delivery(NotificationAttempt.Outcome.SENT)


def _failed(
    notification: Notification, attempt: NotificationAttempt, failure: DeliveryFailure
) -> Delivery:
    finished = timezone.now()
    if failure.temporary and notification.attempts < MAX_ATTEMPTS:
        retry_at = finished + retry_delay(notification.attempts)
        _record(attempt, NotificationAttempt.Outcome.TEMPORARY_FAILURE, finished, failure.detail)
        notification.mark_for_retry(at=retry_at, error=failure.detail)
        logger.warning(
            "Notification %s not sent (attempt %d), retrying at %s: %s",
            notification.public_id,
            notification.attempts,
            retry_at.isoformat(),
            failure.detail,
        )
        return Delivery(NotificationAttempt.Outcome.TEMPORARY_FAILURE, retry_at=retry_at)
    detail = failure.detail if not failure.temporary else f"gave up: {failure.detail}"
    _record(attempt, NotificationAttempt.Outcome.PERMANENT_FAILURE, finished, detail)
    notification.mark_failed(error=detail[:200])
    logger.error("Notification %s failed for good: %s", notification.public_id, detail)
    return Delivery(NotificationAttempt.Outcome.PERMANENT_FAILURE)


def _record(
    attempt: NotificationAttempt, outcome: str, finished: datetime, detail: str = ""
) -> None:
    attempt.outcome = outcome
    attempt.finished_at = finished
    attempt.detail = detail[:200]
    attempt.save(update_fields=["outcome", "finished_at", "detail"])


def _send(notification: Notification) -> None:
    if notification.channel == Notification.Channel.SMS:
        _send_sms(notification)
    else:
        _send_email(notification)


def _send_sms(notification: Notification) -> None:
    message = SmsMessage(
        to=notification.recipient,
        body=notification.body,
        reference=notification.idempotency_key,
    )
    try:
        get_backend().send(message)
    except SmsDeliveryError as exc:
        raise DeliveryFailure(_safe(str(exc)), temporary=exc.temporary) from exc


def _send_email(notification: Notification) -> None:
    message = EmailMessage(
        subject=notification.subject,
        body=notification.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        # The same Message-ID on every try lets mail systems drop a resend.
        headers={"Message-ID": f"<{notification.public_id}@{_mail_domain()}>"},
        connection=get_connection(timeout=EMAIL_TIMEOUT_SECONDS),
    )
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _text in exc.recipients.values()]
        raise DeliveryFailure(
            f"SMTP refused the recipient ({', '.join(map(str, codes))})",
            temporary=any(code < 500 for code in codes),
        ) from exc
    except smtplib.SMTPResponseException as exc:
        # A message rejected outright (5xx) will be rejected again; anything else (4xx,
        # authentication, sender) is worth retrying while the operator looks.
        permanent = isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500
        raise DeliveryFailure(
            f"SMTP {type(exc).__name__} {exc.smtp_code}", temporary=not permanent
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailure(f"SMTP unavailable: {type(exc).__name__}", temporary=True) from exc


def _mail_domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


def _safe(text: str) -> str:
    """A failure description fit for the database and logs: no numbers or addresses."""
    return redact(text)[:200]


def overdue_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Notifications whose delivery task was lost (broker message, dead worker)."""
    now = now or timezone.now()
    overdue = Notification.objects.overdue(now, grace=OVERDUE_GRACE).order_by("next_attempt_at")
    return list(overdue.values_list("pk", flat=True)[:limit])


def give_up_abandoned(*, now: datetime | None = None) -> int:
    """Claims that expired after the last allowed attempt: nobody may retry them, so say so."""
    now = now or timezone.now()
    return Notification.objects.filter(
        status=Notification.Status.SENDING,
        sending_since__lt=now - LEASE,
        attempts__gte=MAX_ATTEMPTS,
    ).update(
        status=Notification.Status.FAILED, sending_since=None, last_error="gave up: interrupted"
    )
