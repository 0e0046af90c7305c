"""Identifiers a patient carries: our Patient ID and ABDM's ABHA number and address.

See ../shared/context/DOMAIN.md: the ABHA number is 14 digits shown ``XX-XXXX-XXXX-XXXX``; no
check digit is published, but real numbers pass Luhn, so a Luhn failure is only a warning.
"""

from __future__ import annotations

import re
import secrets

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import luhn

# An ABHA number as typed, with dashes or spaces (91-1234-5678-9012); stored as its 14 digits.
ABHA_NUMBER_INPUT_MAX_LENGTH = 20
ABHA_ADDRESS_RE = re.compile(r"^(?![0-9.])[a-z0-9]+(?:\.[a-z0-9]+)?@(?:abdm|sbx)$")
ABHA_CHECKSUM_WARNING = _(
    "This ABHA number fails the usual check. Please compare it with the ABHA card."
)


def normalise_abha_number(raw: str) -> str:
    digits = re.sub(r"[\s-]", "", raw or "")
    if not re.fullmatch(r"\d{14}", digits):
        raise ValidationError(
            _("An ABHA number has 14 digits, e.g. 91-1234-5678-9012."), code="invalid_abha"
        )
    return digits


def abha_number_passes_checksum(digits: str) -> bool:
    return bool(luhn.is_valid(digits))


def format_abha_number(digits: str) -> str:
    return f"{digits[:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:]}"


def normalise_abha_address(raw: str) -> str:
    address = (raw or "").strip().lower()
    name = address.split("@", 1)[0]
    if not ABHA_ADDRESS_RE.fullmatch(address) or not 3 <= len(name) <= 32:
        raise ValidationError(
            _(
                "An ABHA address looks like name@abdm: 3 to 32 letters or digits with at most one "
                "dot, not starting with a digit or a dot."
            ),
            code="invalid_abha_address",
        )
    return address


def new_patient_number() -> str:
    """Twelve digits, the last a Luhn check digit so a mistyped Patient ID is caught."""
    body = str(secrets.randbelow(9 * 10**10) + 10**10)
    return body + luhn.calc_check_digit(body)


def format_patient_number(number: str) -> str:
    return f"{number[:4]}-{number[4:8]}-{number[8:]}"
