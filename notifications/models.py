"""Messages to patients that must arrive exactly once: stored before they are sent.

A ``Notification`` is created with a unique idempotency key in the same transaction as the
event it announces, and delivered by a Celery task after commit. Delivery claims the row with a
compare-and-set, so a task that runs twice (or two workers at once) sends it once; a claim is a
lease, so a worker killed mid-send does not strand the message. Every try is a
``NotificationAttempt``.

One-time sign-in codes never come here: they go through ``notifications.services.queue_sms``,
which keeps nothing in the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import PublicIdModel

# A claim older than this is taken to belong to a worker that died. It must be far longer than
# one send can take (SMS gateway timeout, SMTP timeout) or a slow send would be repeated.
LEASE = timedelta(minutes=5)
# After this many tries a message is given up (temporary failures included).
MAX_ATTEMPTS = 10
RETRY_BASE_DELAY = timedelta(seconds=30)
RETRY_MAX_DELAY = timedelta(minutes=30)


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off after the ``attempts``-th failed try: 30 s, 1 min, 2 min, ... 30 min."""
    exponent = max(attempts - 1, 0)
    return min(RETRY_BASE_DELAY * (1 << exponent), RETRY_MAX_DELAY)


class NotificationQuerySet(models.QuerySet["Notification"]):
    def claimable(self, now: datetime) -> NotificationQuerySet:
        """Waiting to be sent, or claimed by a worker whose lease has run out."""
        waiting = Q(status=Notification.Status.PENDING)
        abandoned = Q(status=Notification.Status.SENDING, sending_since__lt=now - LEASE)
        return self.filter(waiting | abandoned, attempts__lt=MAX_ATTEMPTS)

    def overdue(self, now: datetime, *, grace: timedelta) -> NotificationQuerySet:
        """Rows whose own task should have run by now: its broker message was lost, or the
        worker died holding the claim. ``grace`` keeps fresh rows (their task is on its way)
        out."""
        late = Q(status=Notification.Status.PENDING, next_attempt_at__lt=now - grace)
        abandoned = Q(status=Notification.Status.SENDING, sending_since__lt=now - LEASE)
        return self.filter(late | abandoned, attempts__lt=MAX_ATTEMPTS)


class Notification(PublicIdModel):
    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("E-mail")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    # e.g. "prescription-ready:<prescription public id>:sms": a second notify() with the same
    # key finds this row and sends nothing. Also given to the SMS gateway (Idempotency-Key).
    idempotency_key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=5, choices=Channel.choices)
    # The mobile number (E.164) or e-mail address, fixed when the message is created: delivery
    # happens later in another process, perhaps after retries, and must reach the address the
    # message was written for. Personal data: never logged, and masked in the admin.
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    # Rendered in the recipient's language when the row is created.
    body = models.TextField()
    # What the message is about, without tying this app to the others' models:
    # e.g. topic "prescription-ready" and the prescription's public id.
    topic = models.CharField(max_length=40, blank=True)
    about = models.UUIDField(null=True, blank=True)

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set when a worker claims the row; the claim lapses after LEASE.
    sending_since = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Our own short description of the last failure (never the gateway's text verbatim, which
    # may quote the recipient).
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["topic", "about"]),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.topic or 'message'} {self.public_id}"

    @property
    def masked_recipient(self) -> str:
        if self.channel == self.Channel.EMAIL:
            name, _at, domain = self.recipient.partition("@")
            return f"{name[:1]}•••@{domain}"
        return f"••••••{self.recipient[-4:]}"

    # --- State changes: each a compare-and-set on (status, attempts), so only the worker that
    # --- holds the current claim can finish it.

    @classmethod
    def claim(cls, pk: int, *, now: datetime) -> Notification | None:
        """Take the row for sending; ``None`` if it is sent, failed, or someone else holds it."""
        claimed = (
            cls.objects.filter(pk=pk)
            .claimable(now)
            .update(status=cls.Status.SENDING, sending_since=now, attempts=F("attempts") + 1)
        )
        if claimed != 1:
            return None
        return cls.objects.get(pk=pk)

    def _finish(self, **changes: object) -> bool:
        updated = Notification.objects.filter(
            pk=self.pk, status=self.Status.SENDING, attempts=self.attempts
        ).update(**changes)
        return updated == 1

    def mark_sent(self, *, now: datetime) -> bool:
        return self._finish(status=self.Status.SENT, sent_at=now, sending_since=None, last_error="")

    def mark_for_retry(self, *, at: datetime, error: str) -> bool:
        return self._finish(
            status=self.Status.PENDING, next_attempt_at=at, sending_since=None, last_error=error
        )

    def mark_failed(self, *, error: str) -> bool:
        return self._finish(status=self.Status.FAILED, sending_since=None, last_error=error)


class NotificationAttempt(models.Model):
    class Outcome(models.TextChoices):
        SENT = "sent", _("Sent")
        TEMPORARY_FAILURE = "temporary_failure", _("Temporary failure, retried")
        PERMANENT_FAILURE = "permanent_failure", _("Permanent failure")
        # The worker died (or lost its lease) before recording an outcome: the gateway may or
        # may not have taken the message.
        INTERRUPTED = "interrupted", _("Interrupted, outcome unknown")

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=17, choices=Outcome.choices, blank=True)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["notification", "number"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        constraints = [
            models.UniqueConstraint(fields=["notification", "number"], name="one_attempt_per_claim")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.outcome or 'in progress'}"
