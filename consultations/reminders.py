"""The follow-up reminder: an SMS the day before the follow-up date the doctor wrote.

Rules:

- Only the current version of a prescription counts (status ``final``): drafts were never
  signed, and a superseded version's follow-up date is no longer the doctor's advice.
- "Tomorrow" is the next calendar day in India (IST), whatever the server's clock zone.
- Once per prescription chain and date: the key is the prescription number (shared by all
  versions of one prescription) and the date. A correction that keeps the date sends no second
  reminder; one that moves the date gets a reminder for the new date.
- Celery beat runs the job hourly from 09:00 to 18:00 IST (see ``CELERY_BEAT_SCHEDULE``): the
  key makes the repeats free, and they catch a beat outage at 09:00 or a prescription signed
  later in the day for a next-day follow-up. Nobody is texted at night.
"""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import formats, translation
from django.utils.translation import gettext as _

from consultations.models import Prescription
from core.addressing import public_url, supported_language
from core.clock import india_today
from notifications.models import Notification
from notifications.services import notify

FOLLOW_UP_REMINDER = "follow-up-reminder"


def due_for_reminder(today: date) -> list[Prescription]:
    """Signed, current prescriptions whose follow-up is the day after ``today`` (IST)."""
    return list(
        Prescription.objects.filter(
            status=Prescription.Status.FINAL,
            follow_up_on=today + timedelta(days=1),
            consultation__patient__archived_at=None,
            consultation__patient__account__is_active=True,
        )
        .exclude(consultation__patient__account__mobile=None)
        .select_related("consultation__patient__account", "consultation__doctor__user")
        .order_by("pk")
    )


def send_follow_up_reminders(today: date | None = None) -> list[Notification]:
    """Queue tomorrow's reminders; returns those not queued before (running twice sends
    nothing new)."""
    today = today or india_today()
    created = []
    for prescription in due_for_reminder(today):
        notification = _remind(prescription)
        if notification is not None:
            created.append(notification)
    return created


def _remind(prescription: Prescription) -> Notification | None:
    consultation = prescription.consultation
    patient = consultation.patient
    account = patient.account
    follow_up_on = prescription.follow_up_on
    if follow_up_on is None or not account.mobile:  # both excluded by the query
        return None
    with translation.override(supported_language(account.preferred_language)):
        body = _(
            "eSanjeevani: reminder, %(patient)s has a follow-up consultation tomorrow, "
            "%(date)s, advised by %(doctor)s. Book it from your account: %(url)s"
        ) % {
            "patient": patient.name,
            "date": formats.date_format(follow_up_on, "j F Y"),
            "doctor": consultation.doctor.name,
            "url": public_url("/"),
        }
    return notify(
        key=f"follow-up:{prescription.number}:{follow_up_on.isoformat()}",
        channel=Notification.Channel.SMS,
        recipient=account.mobile,
        body=body,
        topic=FOLLOW_UP_REMINDER,
        about=prescription.public_id,
    )


def _remind_follow_ups() -> int:
    return len(send_follow_up_reminders())


# Beat's entry point. Not a decorator, so the function keeps its type for mypy; for the worker
# to know the task, consultations/tasks.py must import this module.
remind_follow_ups = shared_task(
    name="consultations.reminders.remind_follow_ups", ignore_result=True
)(_remind_follow_ups)
