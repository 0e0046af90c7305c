"""The follow-up reminder: one SMS the day before the follow-up date, in the family's language."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import call_command
from django.core.signals import setting_changed
from django.utils import timezone, translation

from consultations import services as prescriptions
from consultations.models import Prescription
from consultations.reminders import remind_follow_ups, send_follow_up_reminders
from consultations.selectors import consultation_for_doctor
from core.clock import IST, india_today
from notifications.models import Notification
from tests.consultations.conftest import visit  # noqa: F401 - a fixture used below

pytestmark = pytest.mark.django_db

PARACETAMOL = {
    "name": "Paracetamol", "strength": "500 mg", "dosage_form": "tablet", "dose": "1 tablet",
    "frequency": "tds", "duration_days": 3, "route": "oral", "timing": "after_food",
}  # fmt: skip
PO_PATH = settings.BASE_DIR / "locale" / "hi" / "LC_MESSAGES" / "django.po"


def signed(ticket, follow_up_on: date) -> Prescription:
    consultation = consultation_for_doctor(ticket.doctor, ticket.public_id)
    draft = prescriptions.save_draft(
        prescriptions.draft_for(consultation),
        data={"diagnosis": "Viral fever", "follow_up_on": follow_up_on},
        medicines=[PARACETAMOL],
    )
    return prescriptions.finalise(draft, doctor=ticket.doctor)


def corrected(final: Prescription, **changes: object) -> Prescription:
    doctor = final.consultation.doctor
    draft = prescriptions.start_correction(final, doctor=doctor)
    prescriptions.save_draft(draft, data=changes, medicines=[PARACETAMOL])
    return prescriptions.finalise(Prescription.objects.get(pk=draft.pk), doctor=doctor)


@pytest.fixture
def follow_up_on() -> date:
    return india_today() + timedelta(days=7)


@pytest.fixture
def day_before(follow_up_on: date) -> date:
    return follow_up_on - timedelta(days=1)


@pytest.fixture
def reminders(sms_outbox, django_capture_on_commit_callbacks):
    """Run the job for a given day, sending what it queues; returns the SMS sent so far."""

    def run(today: date | None):
        with django_capture_on_commit_callbacks(execute=True):
            send_follow_up_reminders(today)
        return list(sms_outbox)

    return run


@pytest.fixture
def english(visit):  # noqa: F811 - the imported fixture
    account = visit.patient.account
    account.preferred_language = "en"
    account.save(update_fields=["preferred_language"])
    return visit


def test_it_reminds_the_day_before_the_follow_up(english, follow_up_on, day_before, reminders):
    prescription = signed(english, follow_up_on)
    (sms,) = reminders(day_before)
    assert sms.to == english.patient.account.mobile
    assert sms.body == (
        f"eSanjeevani: reminder, Sunita Devi has a follow-up consultation tomorrow, "
        f"{follow_up_on.day} {follow_up_on:%B %Y}, advised by Dr Asha Verma. "
        "Book it from your account: http://127.0.0.1:8000/"
    )
    notification = Notification.objects.get()
    assert notification.topic == "follow-up-reminder"
    assert notification.about == prescription.public_id


def test_it_does_not_remind_on_other_days(english, follow_up_on, reminders):
    signed(english, follow_up_on)
    for today in (follow_up_on - timedelta(days=2), follow_up_on, follow_up_on + timedelta(1)):
        assert reminders(today) == []


def test_it_reminds_once_however_often_the_job_runs(english, follow_up_on, day_before, reminders):
    signed(english, follow_up_on)
    reminders(day_before)
    assert len(reminders(day_before)) == 1
    assert Notification.objects.count() == 1


def test_it_does_not_remind_for_a_superseded_version(english, follow_up_on, reminders):
    signed_first = signed(english, follow_up_on)
    later = follow_up_on + timedelta(days=7)
    current = corrected(signed_first, follow_up_on=later)
    assert reminders(follow_up_on - timedelta(days=1)) == []
    (sms,) = reminders(later - timedelta(days=1))
    assert Notification.objects.get().about == current.public_id
    assert "Sunita Devi" in sms.body


def test_it_sends_no_second_reminder_for_a_correction_that_keeps_the_date(
    english, follow_up_on, day_before, reminders
):
    first = signed(english, follow_up_on)
    reminders(day_before)
    corrected(first, diagnosis="Dengue, suspected")
    assert len(reminders(day_before)) == 1


def test_it_takes_tomorrow_in_india_not_on_the_server_clock(
    english, follow_up_on, reminders, monkeypatch
):
    signed(english, follow_up_on)
    # 20:00 UTC is already 01:30 the next day in India: "tomorrow" is two UTC dates ahead.
    late_evening_utc = datetime.combine(
        follow_up_on - timedelta(days=2), datetime.min.time(), tzinfo=UTC
    ) + timedelta(hours=20)
    monkeypatch.setattr(timezone, "now", lambda: late_evening_utc)
    assert len(reminders(None)) == 1  # no date given: the job reads today's date in India


@pytest.fixture
def compiled_catalogue() -> None:
    """The Hindi .mo, compiled if the .po is newer (as tests/core/test_i18n.py does)."""
    mo_path = PO_PATH.with_suffix(".mo")
    if not mo_path.exists() or mo_path.stat().st_mtime < PO_PATH.stat().st_mtime:
        call_command("compilemessages", ignore_patterns=[".venv", "var"], verbosity=0)
        setting_changed.send(
            sender=type(settings), setting="LOCALE_PATHS", value=settings.LOCALE_PATHS, enter=True
        )


def test_it_writes_to_a_hindi_speaking_family_in_hindi(
    visit,  # noqa: F811 - the imported fixture
    follow_up_on,
    day_before,
    reminders,
    compiled_catalogue,
):
    account = visit.patient.account
    account.preferred_language = "hi"
    account.save(update_fields=["preferred_language"])
    signed(visit, follow_up_on)
    (sms,) = reminders(day_before)
    with translation.override("hi"):
        month = translation.gettext(f"{follow_up_on:%B}")
    assert sms.body.startswith("ई-संजीवनी")
    assert f"{follow_up_on.day} {month} {follow_up_on.year}" in sms.body
    assert "Sunita Devi" in sms.body


def test_it_is_scheduled_every_day_from_nine_in_the_morning_india_time():
    entry = settings.CELERY_BEAT_SCHEDULE["follow-up-reminders"]
    assert entry["task"] == remind_follow_ups.name
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert settings.CELERY_TIMEZONE == "UTC"
    first_run = datetime(2025, 1, 1, min(schedule.hour), min(schedule.minute), tzinfo=UTC)
    assert first_run.astimezone(IST).hour == 9
    assert schedule.day_of_week == set(range(7))


def test_it_is_known_to_the_worker():
    """The worker registers the tasks of each app's tasks.py (Celery's autodiscovery)."""
    check = (
        "import django; django.setup()\n"
        "from esanjeevani.celery import app\n"
        "app.loader.import_default_modules()\n"
        f"raise SystemExit(0 if {remind_follow_ups.name!r} in app.tasks else 1)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", check],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "esanjeevani.settings_test"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, f"not registered:\n{run.stdout}\n{run.stderr}"
