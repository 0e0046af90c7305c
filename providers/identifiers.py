"""ABDM registry identifiers for providers (see ../shared/context/DOMAIN.md).

HPR IDs come as a handle (``name@hpr.abdm``) or a 14-digit number starting 71; HFR IDs as
``IN`` + the 2-digit LGD state code + 8 digits. Both patterns are inferred from observed IDs,
so they are kept here in one place.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

HPR_HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9._]{2,49}@hpr\.abdm$")
HPR_NUMBER_RE = re.compile(r"^71\d{12}$")
HFR_ID_RE = re.compile(r"^IN\d{10}$")


def normalise_hpr_id(raw: str) -> str:
    value = (raw or "").strip().lower()
    digits = re.sub(r"[\s-]", "", value)
    if HPR_NUMBER_RE.fullmatch(digits):
        return digits
    if HPR_HANDLE_RE.fullmatch(value):
        return value
    raise ValidationError(
        _("An HPR ID looks like name@hpr.abdm or a 14-digit number starting with 71."),
        code="invalid_hpr_id",
    )


def validate_hpr_id(value: str) -> None:
    normalise_hpr_id(value)


def validate_hfr_id(value: str) -> None:
    normalise_hfr_id(value)


def normalise_hfr_id(raw: str) -> str:
    value = (raw or "").strip().upper()
    if not HFR_ID_RE.fullmatch(value):
        raise ValidationError(
            _("An HFR ID is IN followed by 10 digits, e.g. IN0910000001."), code="invalid_hfr_id"
        )
    return value
