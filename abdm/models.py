"""Every message between this HIP and ABDM's gateway, stored before it is sent or processed.

A ``GatewayMessage`` is one outbound request (sent by a Celery task after commit) or one inbound
callback (answered 202 at once, processed by a Celery task). The request id is unique per
direction, so a callback the gateway delivers twice is recorded once and processed once, and a
send task that runs twice posts once. A callback names the request it answers in
``response.requestId``; ``answers`` links the two.

State changes are compare-and-set updates on (state, attempts), like
``notifications.models.Notification``: only the worker holding the current claim can finish it.
Bodies are kept only while they are needed (an outbound body until the gateway accepted it);
the SHA-256 digest stays. Bodies may hold personal data: never logged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A claim older than this belongs to a worker that died (far longer than one POST can take).
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
RETRY_BASE_DELAY = timedelta(seconds=2)
RETRY_MAX_DELAY = timedelta(minutes=2)


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off after the ``attempts``-th failed try: 2 s, 4 s, 8 s, ... 2 min."""
    return min(RETRY_BASE_DELAY * (1 << max(attempts - 1, 0)), RETRY_MAX_DELAY)


def digest(body: Any) -> str:
    """SHA-256 of the body as JSON (keys sorted, compact): the same body gives the same digest."""
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


class Flow(models.TextChoices):
    # Gateway → HIP (callbacks at /api/v3/...)
    DISCOVER = "discover", _("Care-context discovery")
    LINK_INIT = "link-init", _("Link initialisation")
    LINK_CONFIRM = "link-confirm", _("Link confirmation")
    ON_GENERATE_TOKEN = "on-generate-token", _("Link token issued")
    ON_CARECONTEXT = "on-carecontext", _("Care contexts linked")
    CONSENT_NOTIFY = "consent-notify", _("Consent notification")
    HI_REQUEST = "hi-request", _("Health-information request")
    PROFILE_SHARE = "profile-share", _("Profile share")
    # HIP → gateway
    SESSION = "session", _("Gateway session")
    ON_DISCOVER = "on-discover", _("Discovery answer")
    ON_INIT = "on-init", _("Link initialisation answer")
    ON_CONFIRM = "on-confirm", _("Link confirmation answer")
    GENERATE_TOKEN = "generate-token", _("Link token request")
    LINK_CARECONTEXT = "link-carecontext", _("Care-context link")
    ON_NOTIFY = "on-notify", _("Consent acknowledgement")
    HI_ON_REQUEST = "hi-on-request", _("Health-information request acknowledgement")
    HI_NOTIFY = "hi-notify", _("Health-information transfer notification")
    ON_SHARE = "on-share", _("Profile share answer")
    BRIDGE_URL = "bridge-url", _("Bridge URL registration")


class GatewayMessageQuerySet(models.QuerySet["GatewayMessage"]):
    def claimable(self, now: datetime) -> GatewayMessageQuerySet:
        """Outbound and waiting, or claimed by a worker whose lease has run out."""
        waiting = Q(state=GatewayMessage.State.QUEUED, next_attempt_at__lte=now)
        abandoned = Q(state=GatewayMessage.State.SENDING, sending_since__lt=now - LEASE)
        return self.filter(
            waiting | abandoned,
            direction=GatewayMessage.Direction.OUTBOUND,
            attempts__lt=MAX_ATTEMPTS,
        )


class GatewayMessage(models.Model):
    class Direction(models.TextChoices):
        OUTBOUND = "out", _("To the gateway")
        INBOUND = "in", _("From the gateway")

    class State(models.TextChoices):
        # Outbound: queued → sending → accepted (202) → answered (its callback came) | failed.
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Being sent")
        ACCEPTED = "accepted", _("Accepted by the gateway")
        ANSWERED = "answered", _("Answered")
        # Inbound: received → processing → processed | failed; a second answer to a request
        # that was already answered is kept as a duplicate and not processed.
        RECEIVED = "received", _("Received")
        PROCESSING = "processing", _("Being processed")
        PROCESSED = "processed", _("Processed")
        DUPLICATE = "duplicate", _("Duplicate, not processed")
        FAILED = "failed", _("Failed")

    TERMINAL = frozenset({State.ANSWERED, State.PROCESSED, State.DUPLICATE, State.FAILED})

    request_id = models.UUIDField()
    direction = models.CharField(max_length=3, choices=Direction.choices)
    flow = models.CharField(max_length=20, choices=Flow.choices)
    # The gateway path (outbound) or our callback path (inbound), without the base URL.
    path = models.CharField(max_length=200)
    # X-HIP-ID of an outbound call that names a HIP; empty otherwise.
    hip_id = models.CharField(max_length=50, blank=True)
    state = models.CharField(max_length=10, choices=State.choices)
    body = models.JSONField(null=True, blank=True)
    # Extra headers of an outbound call (X-LINK-TOKEN), dropped with the body once accepted.
    headers = models.JSONField(default=dict, blank=True)
    body_digest = models.CharField(max_length=64)
    # The request this callback answers, found by ``response.requestId``; the id itself is kept
    # too, for a callback whose request is not (or not yet) ours.
    answers = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="answered_by"
    )
    answers_request_id = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sending_since = models.DateTimeField(null=True, blank=True)
    # Our own short description (HTTP status, exception class), never the gateway's body.
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    objects = GatewayMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("gateway message")
        verbose_name_plural = _("gateway messages")
        constraints = [
            models.UniqueConstraint(
                fields=["direction", "request_id"], name="abdm_message_request_id_once"
            ),
        ]
        indexes = [
            models.Index(fields=["direction", "state", "next_attempt_at"]),
            models.Index(fields=["answers_request_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.flow} {self.request_id}"

    # --- State changes: compare-and-set on the state (and attempts while a claim is held).

    def transition(self, frm: Iterable[str], to: str, **changes: Any) -> bool:
        """Move to ``to`` only from one of ``frm`` (and, for a claimed message, only under the
        claim this object holds). ``False``: someone else moved it first; nothing changed."""
        updated = GatewayMessage.objects.filter(
            pk=self.pk, state__in=list(frm), attempts=self.attempts
        ).update(state=to, **changes)
        if updated == 1:
            self.state = to
            for name, value in changes.items():
                setattr(self, name, value)
        return updated == 1

    @classmethod
    def claim_for_sending(cls, pk: int, *, now: datetime) -> GatewayMessage | None:
        # Not filtered on next_attempt_at: the task that runs is the scheduled try (the sweep
        # uses ``claimable``); the state and the lease keep two workers from sending together.
        waiting = Q(state=cls.State.QUEUED)
        abandoned = Q(state=cls.State.SENDING, sending_since__lt=now - LEASE)
        claimed = cls.objects.filter(
            waiting | abandoned,
            pk=pk,
            direction=cls.Direction.OUTBOUND,
            attempts__lt=MAX_ATTEMPTS,
        ).update(
            state=cls.State.SENDING,
            sending_since=now,
            sent_at=now,
            attempts=F("attempts") + 1,
        )
        return cls.objects.get(pk=pk) if claimed == 1 else None

    @classmethod
    def claim_for_processing(cls, pk: int) -> GatewayMessage | None:
        claimed = cls.objects.filter(
            pk=pk, direction=cls.Direction.INBOUND, state=cls.State.RECEIVED
        ).update(state=cls.State.PROCESSING, attempts=F("attempts") + 1)
        return cls.objects.get(pk=pk) if claimed == 1 else None

    def mark_accepted(self, *, now: datetime) -> bool:
        # The body is no longer needed once the gateway has it; the digest stays.
        return self.transition(
            [self.State.SENDING], self.State.ACCEPTED, accepted_at=now, sending_since=None,
            body=None, headers={}, last_error="",
        )  # fmt: skip

    def mark_for_retry(self, *, at: datetime, error: str) -> bool:
        return self.transition(
            [self.State.SENDING], self.State.QUEUED, next_attempt_at=at, sending_since=None,
            last_error=error,
        )  # fmt: skip

    def mark_failed(self, *, error: str) -> bool:
        return self.transition(
            [self.State.SENDING, self.State.PROCESSING], self.State.FAILED,
            sending_since=None, last_error=error,
        )  # fmt: skip

    def mark_processed(self, *, now: datetime) -> bool:
        return self.transition([self.State.PROCESSING], self.State.PROCESSED, answered_at=now)

    @classmethod
    def mark_answered(cls, request_id: Any, *, now: datetime) -> bool:
        """The outbound request ``request_id`` got its callback. A callback may overtake
        the 202 (out of order), so any non-terminal state moves to answered, once."""
        updated = cls.objects.filter(
            direction=cls.Direction.OUTBOUND,
            request_id=request_id,
            state__in=[cls.State.QUEUED, cls.State.SENDING, cls.State.ACCEPTED],
        ).update(
            state=cls.State.ANSWERED, answered_at=now, sending_since=None, body=None, headers={}
        )
        return updated == 1


class ProfileShare(models.Model):
    """One Scan & Share at a counter (``abdm/share.py``): who shared, at which OPD, what they
    were answered. The trace of a walk-in token: the share's callback, the patient it matched or
    created, the ticket, and our on-share answer."""

    class Status(models.TextChoices):
        SUCCESS = "success", _("Token issued")
        FAILED = "failed", _("Refused")

    class MatchedBy(models.TextChoices):
        ABHA = "abha", _("ABHA number or address on record")
        MOBILE = "mobile", _("Family mobile, name, sex and year of birth")
        CREATED = "created", _("New patient")

    message = models.OneToOneField(
        GatewayMessage, on_delete=models.PROTECT, related_name="profile_share"
    )
    answer = models.OneToOneField(
        GatewayMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hip_id = models.CharField(max_length=50)
    context = models.CharField(max_length=64)
    abha_address = models.CharField(max_length=64, blank=True)
    opd = models.ForeignKey(
        "queues.Opd", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ticket = models.ForeignKey(
        "queues.Ticket", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    matched_by = models.CharField(max_length=8, choices=MatchedBy.choices, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    # The stable code of a refusal (e.g. opd_closed), as sent in the on-share's error.
    error_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("profile share")
        verbose_name_plural = _("profile shares")
        indexes = [models.Index(fields=["opd", "patient", "status"])]

    def __str__(self) -> str:
        return f"share {self.message_id} {self.status}"


class AbhaLinkEvent(models.Model):
    """A family member's ABHA linked, unlinked or created from our pages: who, when, which ABHA.

    Append-only by use (nothing updates or deletes these rows). The ABHA number is kept because
    the member's own field is emptied by an unlink; no OTP, token or Aadhaar number is stored.
    """

    class Action(models.TextChoices):
        LINKED = "linked", _("linked an existing ABHA")
        CREATED = "created", _("created an ABHA with Aadhaar and linked it")
        UNLINKED = "unlinked", _("unlinked the ABHA")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="+", verbose_name=_("patient")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("who"),
    )
    action = models.CharField(_("what"), max_length=10, choices=Action.choices)
    abha_number = models.CharField(_("ABHA number"), max_length=14, blank=True)
    abha_address = models.CharField(_("ABHA address"), max_length=64, blank=True)
    # How the ABHA was proven the member's: abha-number, abha-address, mobile or aadhaar.
    method = models.CharField(_("verified by"), max_length=16, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("ABHA link event")
        verbose_name_plural = _("ABHA link events")

    def __str__(self) -> str:
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"


# The M2 records (care contexts, consents, transfers) live in their own module.
from abdm.records import (  # noqa: E402
    CareContext,
    Consent,
    HealthInformationRequest,
    HiType,
    LinkRequest,
    LinkToken,
    Share,
)

__all__ = [
    "CareContext",
    "Consent",
    "Flow",
    "GatewayMessage",
    "HealthInformationRequest",
    "HiType",
    "LinkRequest",
    "LinkToken",
    "Share",
]
