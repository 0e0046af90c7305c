"""Booking input is defined once (queues/booking_input.py): the page's form and the API's
serializer take the same limits and checks, and each answers in its own shape."""

from __future__ import annotations

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from rest_framework import serializers

from queues.api import BookingSerializer
from queues.booking_input import COMPLAINT_MAX_LENGTH, COMPLAINT_MIN_LENGTH
from queues.forms import BookingForm
from queues.models import Ticket
from tests.conftest import as_user

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name: str = "report.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def test_the_complaint_limit_is_the_model_s():
    assert Ticket._meta.get_field("complaint").max_length == COMPLAINT_MAX_LENGTH
    serializer = BookingSerializer().fields["complaint"]
    assert isinstance(serializer, serializers.CharField)
    assert (serializer.min_length, serializer.max_length) == (
        COMPLAINT_MIN_LENGTH,
        COMPLAINT_MAX_LENGTH,
    )
    form = BookingForm.base_fields["complaint"]
    assert isinstance(form, forms.CharField)
    assert (form.min_length, form.max_length) == (COMPLAINT_MIN_LENGTH, COMPLAINT_MAX_LENGTH)


@pytest.mark.parametrize("complaint", ["ab", "x" * (COMPLAINT_MAX_LENGTH + 1)])
def test_both_doors_refuse_a_complaint_out_of_bounds(
    client: Client, api, family, opd, complaint: str
):
    client.force_login(family.account)
    page = client.post(
        f"/book/{family.public_id}/", {"opd": str(opd.public_id), "complaint": complaint}
    )
    assert page.status_code == 200
    assert 'id="id_complaint_error' in page.content.decode()
    answer = as_user(api, family.account).post(
        "/api/tickets/",
        {"patient": str(family.public_id), "opd": str(opd.public_id), "complaint": complaint},
        format="multipart",
    )
    assert answer.status_code == 400
    assert "complaint" in answer.json()["error"]["fields"]
    assert not Ticket.objects.exists()


@override_settings(ATTACHMENT_MAX_FILES=1)
def test_both_doors_refuse_too_many_files_with_the_same_message(client: Client, api, family, opd):
    client.force_login(family.account)
    page = client.post(
        f"/book/{family.public_id}/",
        {
            "opd": str(opd.public_id),
            "complaint": "Fever",
            "documents": [pdf("a.pdf"), pdf("b.pdf")],
        },
    )
    assert "At most 1 files." in page.content.decode()
    answer = as_user(api, family.account).post(
        "/api/tickets/",
        {
            "patient": str(family.public_id),
            "opd": str(opd.public_id),
            "complaint": "Fever",
            "files": [pdf("a.pdf"), pdf("b.pdf")],
        },
        format="multipart",
    )
    assert answer.json()["error"]["fields"]["files"] == ["At most 1 files."]
    assert not Ticket.objects.exists()


def test_the_api_names_the_refused_file_and_the_page_shows_it_under_the_field(
    client: Client, api, family, opd
):
    bad = b"MZ\x90\x00 not a pdf"
    client.force_login(family.account)
    page = client.post(
        f"/book/{family.public_id}/",
        {
            "opd": str(opd.public_id),
            "complaint": "Fever",
            "documents": [SimpleUploadedFile("virus.pdf", bad)],
        },
    ).content.decode()
    assert "Only PDF, JPEG or PNG files can be attached." in page
    assert "virus.pdf: " not in page
    answer = as_user(api, family.account).post(
        "/api/tickets/",
        {
            "patient": str(family.public_id),
            "opd": str(opd.public_id),
            "complaint": "Fever",
            "files": [SimpleUploadedFile("virus.pdf", bad)],
        },
        format="multipart",
    )
    assert answer.json()["error"]["fields"]["files"] == [
        "virus.pdf: Only PDF, JPEG or PNG files can be attached."
    ]
