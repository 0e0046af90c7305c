"""Who may open a shared record: ``selectors.attachment_for`` (the /files/ page only calls it)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from core.errors import NotFound
from queues import selectors
from queues.attachments import check_upload
from queues.models import Attachment
from queues.services.booking import book
from tests.factories import PatientFactory, StaffFactory, state

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def record(family, opd) -> Attachment:
    upload = check_upload(SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf"))
    book(account=family.account, patient=family, opd=opd, complaint="Fever", uploads=[upload])
    return Attachment.objects.get()


def test_it_gives_the_family_its_own_record(family, record):
    assert selectors.attachment_for(family.account, record.public_id) == record
    assert selectors.attachment_for(family.account, str(record.public_id)) == record


def test_it_gives_the_doctor_the_record_of_their_patient(
    opd, on_duty, record, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        doctor = on_duty(opd)  # the patient is offered to this doctor
    assert selectors.attachment_for(doctor.user, record.public_id) == record


@pytest.mark.parametrize("who", ["outsider", "other_doctor", "admin"])
def test_it_hides_the_record_from_everyone_else(doctor_user, record, who):
    user = {
        "outsider": lambda: PatientFactory().account,
        "other_doctor": lambda: doctor_user,  # a doctor this patient was never assigned to
        "admin": lambda: StaffFactory(role=Role.STATE_ADMIN, state=state("UP")),
    }[who]()
    with pytest.raises(NotFound):
        selectors.attachment_for(user, record.public_id)
    assert not selectors.attachments_for(user).exists()


@pytest.mark.parametrize("bad", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_or_malformed_id_is_not_found(family, record, bad):
    with pytest.raises(NotFound):
        selectors.attachment_for(family.account, bad)
