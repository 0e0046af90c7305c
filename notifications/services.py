"""Telling patients things by SMS and e-mail.

Two paths:

- ``notify()`` stores the message (idempotency key, rendered body) and delivers it exactly
  once through Celery, with retries and a record of every attempt: e-prescriptions, reminders.
- ``queue_sms()`` sends at once and stores nothing: one-time sign-in codes must never reach the
  database, and waiting-room news is worthless a few minutes later. A code is handed to the
  broker inside the request's transaction (no broker, no code, a 503); news after the commit,
  best-effort.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from core.outages import is_outage
from notifications.models import Notification
from notifications.tasks import deliver_notification, send_sms

if TYPE_CHECKING:
    from accounts.models import User
    from consultations.models import Prescription

logger = logging.getLogger(__name__)

PRESCRIPTION_READY = "prescription-ready"


def queue_sms(*, to: str, body: str, required: bool = False) -> str:
    """Hand an SMS to the broker; returns the message reference. Nothing is stored: use it for
    one-time codes and other short-lived news.

    - News (the default) goes once the caller's transaction commits, best-effort: with the
      broker unreachable it is lost (and logged), and the change it announced stands.
    - ``required=True`` (a sign-in code) is handed over at once, inside the caller's
      transaction: an unreachable broker fails the request (503) and rolls back what it wrote,
      so nobody is told a code is on its way that never will be. Call it last in the
      transaction.
    """
    reference = uuid.uuid4().hex
    if required:
        send_sms.delay(to, body, reference)
    else:
        transaction.on_commit(partial(_send_news, to, body, reference), robust=True)
    return reference


def _send_news(to: str, body: str, reference: str) -> None:
    try:
        send_sms.delay(to, body, reference)
    except Exception as exc:
        if not is_outage(exc):
            raise
        logger.warning("SMS %s not sent, the broker is unreachable: %s", reference, exc)


def notify(
    *,
    key: str,
    channel: str,
    recipient: str,
    body: str,
    subject: str = "",
    topic: str = "",
    about: uuid.UUID | None = None,
) -> Notification | None:
    """Store a message under ``key`` and send it after the current transaction commits.

    A key seen before does nothing and returns ``None``: the first message with that key is the
    one sent, whatever this call's body says. Never pass a one-time code here (``queue_sms``).
    """
    if not recipient:
        raise ValueError("A notification needs a recipient.")
    notification, created = Notification.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "channel": channel,
            "recipient": recipient,
            "body": body,
            "subject": subject,
            "topic": topic,
            "about": about,
        },
    )
    if not created:
        return None
    pk = notification.pk
    # robust: a broker outage must not fail the caller's request after its data is committed;
    # the every-minute sweep (retry_due_notifications) sends the message once the broker is back.
    transaction.on_commit(partial(_deliver_after_commit, pk), robust=True)
    return notification


def _deliver_after_commit(pk: int) -> None:
    try:
        deliver_notification.delay(pk)
    except Exception as exc:
        if not is_outage(exc):
            raise
        logger.warning("Notification %s stored, its sending waits for the broker: %s", pk, exc)


def language_of(account: User) -> str:
    """The account's language if the service speaks it, else the default."""
    try:
        return translation.get_supported_language_variant(account.preferred_language or "")
    except LookupError:
        return settings.LANGUAGE_CODE


def public_url(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def notify_prescription_ready(prescription: Prescription) -> list[Notification]:
    """Tell the family that a signed prescription's PDF can be downloaded: an SMS to the
    account's mobile, and an e-mail if the account has an address.

    Only a link is sent, behind sign-in: the PDF is health data and is never attached. Once per
    prescription version and channel (a correction is a new version and is announced again).
    Returns the notifications created by this call.
    """
    if prescription.status != prescription.Status.FINAL:
        return []  # superseded before its PDF was ready: announce only the current version
    consultation = prescription.consultation
    account = consultation.patient.account
    url = public_url(
        reverse("consultations:pdf", kwargs={"prescription_id": prescription.public_id})
    )
    details = {
        "number": prescription.display_number,
        "doctor": consultation.doctor.name,
        "patient": consultation.patient.first_name,
        "url": url,
    }
    key = f"{PRESCRIPTION_READY}:{prescription.public_id}"
    created: list[Notification | None] = []
    with translation.override(language_of(account)):
        if account.mobile:
            sms = _(
                "eSanjeevani: %(patient)s's e-prescription %(number)s from %(doctor)s is "
                "ready. Download: %(url)s (sign in needed)"
            )
            created.append(
                notify(
                    key=f"{key}:sms",
                    channel=Notification.Channel.SMS,
                    recipient=account.mobile,
                    body=sms % details,
                    topic=PRESCRIPTION_READY,
                    about=prescription.public_id,
                )
            )
        if account.email:
            subject = _("%(patient)s's e-prescription %(number)s is ready") % details
            body = _(
                "Namaste,\n\n"
                "%(patient)s's e-prescription %(number)s from %(doctor)s is ready.\n\n"
                "Download it after signing in with your mobile number:\n"
                "%(url)s\n\n"
                "For your privacy the prescription is not attached to this e-mail.\n\n"
                "eSanjeevani"
            )
            created.append(
                notify(
                    key=f"{key}:email",
                    channel=Notification.Channel.EMAIL,
                    recipient=account.email,
                    subject=subject,
                    body=body % details,
                    topic=PRESCRIPTION_READY,
                    about=prescription.public_id,
                )
            )
    return [notification for notification in created if notification is not None]
