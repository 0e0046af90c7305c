"""Booking over the API: uploads checked by content, refusals in the envelope, who sees what."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from queues.models import Attachment, Ticket
from tests.conftest import as_user
from tests.factories import PatientFactory
from tests.queues.conftest import make_opd

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def form(patient, opd, **extra):
    data = {"patient": str(patient.public_id), "opd": str(opd.public_id), "complaint": "Fever"}
    data.update(extra)
    return data


@pytest.fixture
def family_api(api, family):
    return as_user(api, family.account)


def test_it_books_with_records_and_the_doctor_can_open_them(
    family_api, family, opd, on_duty, client, django_capture_on_commit_callbacks
):
    files = [
        SimpleUploadedFile("old prescription.pdf", PDF, content_type="application/pdf"),
        SimpleUploadedFile("x-ray.png", png_bytes(), content_type="image/png"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = family_api.post(
            "/api/tickets/", form(family, opd, files=files), format="multipart"
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token"] == "TS-001"
    ticket = Ticket.objects.get(public_id=body["id"])
    assert sorted(a.content_type for a in ticket.attachments.all()) == [
        "application/pdf",
        "image/png",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        doctor = on_duty(opd)
    document = ticket.attachments.get(content_type="application/pdf")
    client.force_login(doctor.user)
    download = client.get(f"/files/{document.public_id}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment")


def test_the_family_can_open_its_own_records_and_outsiders_cannot(
    family_api, family, opd, client, doctor_user
):
    upload = SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf")
    family_api.post("/api/tickets/", form(family, opd, files=[upload]), format="multipart")
    document = Attachment.objects.get()
    client.force_login(family.account)
    assert client.get(f"/files/{document.public_id}/").status_code == 200
    client.force_login(PatientFactory().account)
    assert client.get(f"/files/{document.public_id}/").status_code == 404
    client.force_login(doctor_user)  # a doctor this patient was never assigned to
    assert client.get(f"/files/{document.public_id}/").status_code == 404


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("virus.pdf", b"MZ\x90\x00 not a pdf"),
        ("photo.png", b"\x89PNG\r\n\x1a\n broken image"),
        ("report.exe", PDF),
        ("empty.pdf", b""),
    ],
)
def test_it_refuses_files_that_are_not_what_they_claim(family_api, family, opd, name, content):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    response = family_api.post(
        "/api/tickets/", form(family, opd, files=[upload]), format="multipart"
    )
    assert response.status_code == 400
    assert "files" in response.json()["error"]["fields"]
    assert not Ticket.objects.exists()


@override_settings(ATTACHMENT_MAX_BYTES=1024)
def test_it_refuses_a_file_over_the_size_limit(family_api, family, opd):
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 2048, content_type="application/pdf")
    response = family_api.post("/api/tickets/", form(family, opd, files=[big]), format="multipart")
    assert response.status_code == 400
    assert not Ticket.objects.exists()


@override_settings(ATTACHMENT_MAX_BYTES=1024, ATTACHMENT_MAX_FILES=1)
def test_it_refuses_an_oversized_request_before_reading_it(family_api, family, opd):
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 600_000, content_type="application/pdf")
    response = family_api.post("/api/tickets/", form(family, opd, files=[big]), format="multipart")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_second_booking_answers_409_with_the_existing_token(family_api, family, opd):
    first = family_api.post("/api/tickets/", form(family, opd), format="multipart").json()
    response = family_api.post("/api/tickets/", form(family, opd), format="multipart")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "already_booked"
    assert error["token"] == first["token"]
    assert error["ticket"] == first["id"]


def test_a_closed_opd_answers_409_with_the_next_opening(family_api, family):
    closed = make_opd("CL", hours=None)
    response = family_api.post("/api/tickets/", form(family, closed), format="multipart")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "opd_closed"


def test_another_familys_member_is_not_found(family_api, family, opd):
    stranger = PatientFactory()
    response = family_api.post("/api/tickets/", form(stranger, opd), format="multipart")
    assert response.status_code == 404
    assert not Ticket.objects.exists()


def test_bad_ids_and_missing_fields_are_invalid(family_api, family, opd):
    response = family_api.post(
        "/api/tickets/", {"patient": "nope", "opd": str(opd.public_id)}, format="multipart"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"patient", "complaint"} <= set(fields)


def test_the_status_endpoint_is_the_polling_fallback(family_api, family, opd):
    ticket = family_api.post("/api/tickets/", form(family, opd), format="multipart").json()
    snapshot = family_api.get(f"/api/tickets/{ticket['id']}/").json()
    assert snapshot["type"] == "snapshot"
    assert snapshot["position"] == 1
    assert snapshot["token"] == "TS-001"


def test_outsiders_cannot_see_or_touch_a_ticket(api, family, opd, doctor_user, up_admin):
    as_user(api, family.account)
    ticket = api.post("/api/tickets/", form(family, opd), format="multipart").json()
    for path in (f"/api/tickets/{ticket['id']}/", f"/api/tickets/{ticket['id']}/cancel/"):
        as_user(api, PatientFactory().account)
        assert api.get(path).status_code in (404, 405)
        assert api.post(path).status_code in (404, 405)
        for staff in (doctor_user, up_admin):
            as_user(api, staff)
            assert api.get(path).status_code in (403, 405)
    assert Ticket.objects.get(public_id=ticket["id"]).status == Ticket.Status.WAITING


def test_opds_are_listed_for_a_family_member_with_whether_they_are_open(family_api, family, opd):
    listed = family_api.get(f"/api/opds/?patient={family.public_id}").json()
    mine = next(o for o in listed if o["id"] == str(opd.public_id))
    assert mine["open_now"] is True
    assert mine["bookable"] is True
    assert all(o["national"] or o["code"] != "GM" or "Uttar Pradesh" in o["name"] for o in listed)


def test_the_console_endpoints_are_for_doctors(api, family, up_admin):
    as_user(api, family.account)
    assert api.get("/api/console/").status_code == 403
    as_user(api, up_admin)
    assert api.get("/api/console/").status_code == 404  # staff without a doctor profile


def test_a_priority_claim_the_record_rules_out_is_refused_in_the_envelope(
    family_api, family, opd, sms_outbox
):
    boy = PatientFactory(
        account=family.account, relationship="child", sex="M", date_of_birth=date(2021, 6, 1)
    )
    response = family_api.post(
        "/api/tickets/", form(boy, opd, priority_reason="pregnant"), format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "priority_claim_refused"
    assert error["fields"] == {
        "priority_reason": ["Pregnancy cannot be claimed for a member recorded as male."]
    }
    assert not Ticket.objects.exists()
    assert sms_outbox == []


def test_priority_for_age_cannot_be_claimed_under_60(family_api, family, opd):
    response = family_api.post(
        "/api/tickets/", form(family, opd, priority_reason="senior"), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["priority_reason"] == [
        "Priority for age starts at 60 years, by the date of birth or age on record."
    ]
    assert not Ticket.objects.exists()


def test_a_declared_disability_is_booked_and_recorded_with_the_account(family_api, family, opd):
    response = family_api.post(
        "/api/tickets/", form(family, opd, priority_reason="disability"), format="json"
    )
    assert response.status_code == 201
    ticket = Ticket.objects.get(public_id=response.json()["id"])
    assert ticket.priority_reason == "disability"
    assert ticket.priority_declared_by == family.account
