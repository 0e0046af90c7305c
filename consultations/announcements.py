"""Telling the family that a signed prescription is ready: the last step of its way through the
code (sign → build → render → store → announce, ``consultations.documents``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from consultations.models import Prescription
from core.addressing import public_url, supported_language
from notifications.models import Notification
from notifications.services import notify

PRESCRIPTION_READY = "prescription-ready"


def announce_prescription_ready(prescription: Prescription) -> list[Notification]:
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
    with translation.override(supported_language(account.preferred_language)):
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
