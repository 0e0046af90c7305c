"""Each limit is written once: the model's field, or one named input bound, shared by the page's
form and the API's serializer (issue 10: one definition per rule)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from accounts.api import StaffLoginSerializer
from accounts.forms import StaffPasswordForm
from accounts.models import User
from patients.api import FamilyMemberSerializer
from patients.forms import FamilyMemberForm
from patients.models import Patient
from patients.validators import NAME_MAX_LENGTH, clean_person_name


def max_length(field: Any) -> int:
    return int(field.max_length)


def test_a_member_s_limits_are_the_model_s():
    assert Patient._meta.get_field("name").max_length == NAME_MAX_LENGTH
    assert max_length(FamilyMemberForm.base_fields["name"]) == NAME_MAX_LENGTH
    address = Patient._meta.get_field("abha_address").max_length
    assert max_length(FamilyMemberForm.base_fields["abha_address"]) == address
    assert max_length(FamilyMemberSerializer().fields["abha_address"]) == address
    assert max_length(FamilyMemberForm.base_fields["abha_number"]) == max_length(
        FamilyMemberSerializer().fields["abha_number"]
    )


def test_a_name_over_the_limit_is_refused_with_the_limit_in_the_message():
    with pytest.raises(ValidationError) as refused:
        clean_person_name("a" * (NAME_MAX_LENGTH + 1))
    assert refused.value.messages == ["A name can have at most 100 characters."]
    assert clean_person_name("  ".join(["a" * 10] * 9)) == " ".join(["a" * 10] * 9)


def test_the_staff_sign_in_limits_are_shared_and_the_username_s_is_the_model_s():
    username = User._meta.get_field("username").max_length
    assert max_length(StaffPasswordForm.base_fields["username"]) == username
    assert max_length(StaffLoginSerializer().fields["username"]) == username
    assert max_length(StaffPasswordForm.base_fields["password"]) == max_length(
        StaffLoginSerializer().fields["password"]
    )
