"""Indian mobile numbers, parsed and normalised with ``phonenumbers``."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
INVALID_MOBILE = _("Enter a valid 10-digit Indian mobile number, e.g. 98765 43210.")


def normalise_indian_mobile(raw: str) -> str:
    """Return the number in E.164 (``+919876543210``) or raise ``ValidationError``."""
    text = (raw or "").strip()
    if not text or len(text) > 20:
        raise ValidationError(INVALID_MOBILE, code="invalid_mobile")
    try:
        number = phonenumbers.parse(text, "IN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(INVALID_MOBILE, code="invalid_mobile") from exc
    if (
        number.country_code != 91
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        raise ValidationError(INVALID_MOBILE, code="invalid_mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_mobile(e164: str) -> str:
    """``+919876543210`` → ``+91 98765 43210``."""
    return phonenumbers.format_number(
        phonenumbers.parse(e164, "IN"), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
