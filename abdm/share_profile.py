"""What a Scan & Share brings (``profile.patient`` of ``/api/v3/hip/patient/share``), read and
checked once, and the counter codes printed on the facility's QR (docs/abdm.md, "Scan & Share").

A counter code names one OPD of this HIP: ``<state code>-<OPD code>`` for a state's OPD
(``UP-GM``), ``IN-<OPD code>`` for a national one (``IN-PSY``), after ISO 3166-2. The service
is one HIP (``ABDM_HIP_ID``) with many OPDs, so ``metaData.hipId`` names us and
``metaData.context`` the OPD.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.mobile import normalise_indian_mobile
from core.clock import india_today
from core.errors import Invalid
from patients.identifiers import normalise_abha_address, normalise_abha_number
from patients.models import Sex
from patients.validators import check_date_of_birth, clean_person_name
from queues.models import Opd

NATIONAL_PREFIX = "IN"


def counter_code(opd: Opd) -> str:
    return f"{opd.state.code if opd.state else NATIONAL_PREFIX}-{opd.code}".upper()


def opd_for_counter(hip_id: str, context: str) -> Opd | None:
    """The OPD a share names, or None (another HIP, a code that names no OPD)."""
    if hip_id.strip() != settings.ABDM_HIP_ID:
        return None
    prefix, dash, code = context.strip().upper().partition("-")
    if not dash or not code:
        return None
    opds = Opd.objects.select_related("state").filter(code__iexact=code)
    if prefix == NATIONAL_PREFIX:
        return opds.filter(state=None).first()
    return opds.filter(state__code=prefix).first()


def share_url(opd: Opd) -> str:
    """What the counter's QR encodes: ABDM's share-profile link with our HIP id and the code."""
    query = urlencode({"hip-id": settings.ABDM_HIP_ID, "counter-id": counter_code(opd)})
    return f"{settings.ABDM_SHARE_PROFILE_URL}?{query}"


@dataclass(frozen=True)
class SharedProfile:
    abha_number: str  # 14 digits, or empty
    abha_address: str
    name: str
    sex: str
    date_of_birth: date
    dob_is_estimated: bool
    mobile: str  # E.164, or empty when absent or not an Indian mobile
    state_lgd: int | None
    district_lgd: int | None

    @property
    def year_of_birth(self) -> int:
        return self.date_of_birth.year


def _incomplete(message: str) -> Invalid:
    return Invalid(message, code="profile_incomplete")


def _number(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _birth_date(patient: dict[str, Any]) -> tuple[date, bool]:
    year = _number(patient.get("yearOfBirth"))
    month, day = _number(patient.get("monthOfBirth")), _number(patient.get("dayOfBirth"))
    if year is None:
        raise _incomplete(_("The shared profile has no year of birth."))
    estimated = not (month and day)
    try:
        born = date(year, 1, 1) if estimated else date(year, month or 1, day or 1)
        check_date_of_birth(born, india_today())
    except (ValueError, ValidationError):
        raise _incomplete(_("The shared profile's date of birth is not valid.")) from None
    return born, estimated


def _mobile(value: Any) -> str:
    try:
        return normalise_indian_mobile(str(value or ""))
    except ValidationError:
        return ""


def _address_codes(address: Any) -> tuple[int | None, int | None]:
    if not isinstance(address, dict):
        return None, None
    return _number(address.get("stateCode")), _number(address.get("districtCode"))


def read_profile(patient: Any) -> SharedProfile:
    """The profile's fields in our terms, or ``Invalid`` (code ``profile_incomplete``)."""
    if not isinstance(patient, dict):
        raise _incomplete(_("The share carries no patient profile."))
    try:
        abha_address = normalise_abha_address(str(patient.get("abhaAddress") or ""))
        raw_number = str(patient.get("abhaNumber") or "")
        abha_number = normalise_abha_number(raw_number) if raw_number else ""
        name = clean_person_name(str(patient.get("name") or ""))
    except ValidationError as error:
        raise _incomplete(" ".join(error.messages)) from None
    sex = str(patient.get("gender") or "").upper()
    if sex not in Sex.values:
        raise _incomplete(_("The shared profile's gender is not M, F or O."))
    born, estimated = _birth_date(patient)
    state_lgd, district_lgd = _address_codes(patient.get("address"))
    return SharedProfile(
        abha_number=abha_number,
        abha_address=abha_address,
        name=name,
        sex=sex,
        date_of_birth=born,
        dob_is_estimated=estimated,
        mobile=_mobile(patient.get("phoneNumber")),
        state_lgd=state_lgd,
        district_lgd=district_lgd,
    )
