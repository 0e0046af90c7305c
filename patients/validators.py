from __future__ import annotations

import unicodedata
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from patients.models import Patient

MAX_AGE_YEARS = 120
NAME_MAX_LENGTH: int = Patient._meta.get_field("name").max_length or 100
# As typed: runs of spaces collapse before a name is measured against NAME_MAX_LENGTH.
NAME_INPUT_MAX_LENGTH = 2 * NAME_MAX_LENGTH
_NAME_PUNCTUATION = set(" .'-")


def clean_person_name(raw: str) -> str:
    """Names in any Indian script: letters and their vowel signs, spaces, . ' -"""
    name = " ".join((raw or "").split())
    if not name:
        raise ValidationError(_("Enter the name."), code="required")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            _("A name can have at most %(count)d characters.") % {"count": NAME_MAX_LENGTH},
            code="max_length",
        )
    has_letter = False
    for char in name:
        category = unicodedata.category(char)
        if category.startswith("L"):
            has_letter = True
        elif not (category.startswith("M") or char in _NAME_PUNCTUATION):
            raise ValidationError(
                _("A name can only have letters, spaces, dots, apostrophes and hyphens."),
                code="invalid_name",
            )
    if not has_letter:
        raise ValidationError(_("Enter the name."), code="invalid_name")
    return name


def check_date_of_birth(born: date, today: date) -> None:
    if born > today:
        raise ValidationError(_("The date of birth cannot be in the future."), code="future")
    if today.year - born.year > MAX_AGE_YEARS:
        raise ValidationError(
            _("The date of birth cannot be more than %(years)d years ago.")
            % {"years": MAX_AGE_YEARS},
            code="too_old",
        )


def estimated_birth_date(age_years: int, today: date) -> date:
    """Someone aged ``age_years`` today, for when only the age is known."""
    try:
        return today.replace(year=today.year - age_years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - age_years, day=28)
