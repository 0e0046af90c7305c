"""The family is told a signed prescription is ready: a link by SMS and e-mail, never the PDF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.core.signals import setting_changed
from django.test import override_settings

from consultations import services as prescriptions
from consultations.announcements import announce_prescription_ready
from consultations.models import Prescription
from consultations.selectors import consultation_for_doctor
from core.clock import india_today
from notifications.models import Notification

PARACETAMOL = {
    "name": "Paracetamol", "strength": "500 mg", "dosage_form": "tablet", "dose": "1 tablet",
    "frequency": "tds", "duration_days": 3, "route": "oral", "timing": "after_food",
}  # fmt: skip


def signed(ticket) -> Prescription:
    """A finalised prescription (its PDF task is not run: that is the documents' business)."""
    consultation = consultation_for_doctor(ticket.doctor, ticket.public_id)
    draft = prescriptions.save_draft(
        prescriptions.draft_for(consultation),
        data={"diagnosis": "Viral fever", "follow_up_on": india_today() + timedelta(days=5)},
        medicines=[PARACETAMOL],
    )
    return prescriptions.finalise(draft, doctor=ticket.doctor)


@pytest.fixture
def ready(visit) -> Prescription:
    account = visit.patient.account
    account.email = "sunita@example.in"
    account.save(update_fields=["email"])
    return signed(visit)


@pytest.mark.django_db
def test_it_texts_the_family_a_link_to_the_signed_prescription(
    ready, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        announce_prescription_ready(ready)
    (sms,) = sms_outbox
    account = ready.consultation.patient.account
    assert sms.to == account.mobile
    assert sms.reference == f"prescription-ready:{ready.public_id}:sms"
    # A number holds a family: the text names the member it is about.
    name = ready.consultation.patient.first_name
    assert name and name in ready.consultation.patient.name
    assert sms.body == (
        f"eSanjeevani: {name}'s e-prescription {ready.display_number} from Dr Asha Verma is "
        f"ready. Download: http://127.0.0.1:8000/prescriptions/{ready.public_id}/pdf/ "
        "(sign in needed)"
    )


@pytest.mark.django_db
def test_it_emails_a_link_but_never_the_prescription_itself(
    ready, sms_outbox, django_capture_on_commit_callbacks
):
    with (
        override_settings(PUBLIC_BASE_URL="https://esanjeevani.example.in/"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        announce_prescription_ready(ready)
    (email,) = mail.outbox
    assert email.to == ["sunita@example.in"]
    name = ready.consultation.patient.first_name
    assert email.subject == f"{name}'s e-prescription {ready.display_number} is ready"
    assert f"https://esanjeevani.example.in/prescriptions/{ready.public_id}/pdf/" in email.body
    assert "Viral fever" not in email.body
    assert email.attachments == []
    notification = Notification.objects.get(channel=Notification.Channel.EMAIL)
    assert email.extra_headers["Message-ID"] == f"<{notification.public_id}@localhost>"


@pytest.mark.django_db
def test_it_announces_a_prescription_once(ready, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        announce_prescription_ready(ready)
        again = announce_prescription_ready(ready)
    assert again == []
    assert len(sms_outbox) == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_it_sends_no_email_to_an_account_without_an_address(
    visit, sms_outbox, django_capture_on_commit_callbacks
):
    prescription = signed(visit)
    with django_capture_on_commit_callbacks(execute=True):
        created = announce_prescription_ready(prescription)
    assert [n.channel for n in created] == [Notification.Channel.SMS]
    assert mail.outbox == []


@pytest.mark.django_db
def test_it_announces_a_correction_as_a_new_version_and_not_the_old_one(
    ready, sms_outbox, django_capture_on_commit_callbacks
):
    doctor = ready.consultation.doctor
    correction = prescriptions.start_correction(ready, doctor=doctor)
    corrected = prescriptions.finalise(correction, doctor=doctor)
    ready.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert announce_prescription_ready(ready) == []
        announce_prescription_ready(corrected)
    (sms,) = sms_outbox
    assert f"{corrected.number}/2" in sms.body


@pytest.fixture
def compiled_catalogue() -> None:
    """The Hindi .mo, compiled if the .po is newer (as tests/core/test_i18n.py does)."""
    po_path = settings.BASE_DIR / "locale" / "hi" / "LC_MESSAGES" / "django.po"
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
        call_command("compilemessages", ignore_patterns=[".venv", "var"], verbosity=0)
        setting_changed.send(
            sender=type(settings), setting="LOCALE_PATHS", value=settings.LOCALE_PATHS, enter=True
        )


@pytest.mark.django_db
def test_it_writes_to_a_hindi_speaking_family_in_hindi(
    ready, sms_outbox, django_capture_on_commit_callbacks, compiled_catalogue
):
    account = ready.consultation.patient.account
    account.preferred_language = "hi"
    account.save(update_fields=["preferred_language"])
    with django_capture_on_commit_callbacks(execute=True):
        announce_prescription_ready(ready)
    (sms,) = sms_outbox
    assert sms.body.startswith("ई-संजीवनी")
    assert f"/prescriptions/{ready.public_id}/pdf/" in sms.body
    (email,) = mail.outbox
    assert "ई-प्रिस्क्रिप्शन" in email.subject
