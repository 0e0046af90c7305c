"""Every limit of the prescription is written once, on the model: the page, the API and the
model refuse the same over-long value, each naming the field (issue 10: one definition per
rule). ICD-10 codes are at most 8 characters (``J06.9``, or ``S72.001A`` with the longest
extension ``validation.ICD10_RE`` accepts): the model's 8, not the 12 the form and API had."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework import serializers

from consultations import api as consultations_api
from consultations import forms
from consultations.limits import max_length, value_range
from consultations.models import MedicineLine, Prescription
from consultations.validation import ICD10_RE
from tests.conftest import as_user
from tests.consultations.test_pages import form, page_url

pytestmark = pytest.mark.django_db

TOO_LONG_CODE = "J06.91234"  # 9 characters


def test_the_longest_code_the_rules_accept_fits_the_model():
    longest = "S72.001A"
    assert ICD10_RE.fullmatch(longest)
    assert max_length(Prescription, "icd10_code") == len(longest) == 8


@pytest.mark.parametrize("name", forms.TEXT_FIELDS)
def test_the_form_and_the_api_take_the_model_s_text_limits(name):
    limit = max_length(Prescription, name)
    assert forms.TEXT_LIMITS[name] == limit
    field = consultations_api.PrescriptionSerializer().fields[name]
    assert isinstance(field, serializers.CharField)
    assert field.max_length == limit


@pytest.mark.parametrize("name", ["name", "strength", "dose", "instructions"])
def test_a_medicine_s_limits_come_from_the_model(name):
    limit = max_length(MedicineLine, name)
    field = consultations_api.MedicineSerializer().fields[name]
    assert isinstance(field, serializers.CharField)
    assert field.max_length == limit
    widget = forms.MedicineRow._widget(name)
    assert widget.attrs["maxlength"] == limit


def test_the_duration_range_comes_from_the_model():
    field = consultations_api.MedicineSerializer().fields["duration_days"]
    assert isinstance(field, serializers.IntegerField)
    assert (field.min_value, field.max_value) == value_range(MedicineLine, "duration_days")
    assert value_range(MedicineLine, "duration_days") == (1, 365)
    widget = forms.MedicineRow._widget("duration_days")
    assert (widget.attrs["min"], widget.attrs["max"]) == (1, 365)


def test_the_model_refuses_an_over_long_code(visit):
    draft = Prescription.objects.get(consultation__ticket=visit)
    draft.icd10_code = TOO_LONG_CODE
    with pytest.raises(ValidationError) as refused:
        draft.full_clean()
    assert list(refused.value.message_dict) == ["icd10_code"]


def test_the_api_refuses_an_over_long_code(api, visit):
    response = as_user(api, visit.doctor.user).put(
        f"/api/consultations/{visit.public_id}/draft/",
        {"icd10_code": TOO_LONG_CODE},
        format="json",
    )
    assert response.status_code == 400
    messages = response.json()["error"]["fields"]["icd10_code"]
    assert messages == ["Ensure this field has no more than 8 characters."]


def test_the_page_refuses_an_over_long_code_beside_the_field(client: Client, visit):
    client.force_login(visit.doctor.user)
    page = client.get(page_url(visit)).content.decode()
    assert re.search(r'<input[^>]*maxlength="8"[^>]*name="icd10_code"', page) or re.search(
        r'<input[^>]*name="icd10_code"[^>]*maxlength="8"', page
    )
    response = client.post(page_url(visit), form(icd10_code=TOO_LONG_CODE))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="rx-icd10_code_errors"' in page
    assert "Ensure this field has no more than 8 characters." in page
    assert Prescription.objects.get(consultation__ticket=visit).icd10_code == ""
