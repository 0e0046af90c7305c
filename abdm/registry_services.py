"""Checking doctors' HPR ids and facilities' HFR ids against ABDM's registries.

The outcome is kept on the provider (``providers.services.record_*_check``, plain values: providers
does not know abdm). Entry points: the admin actions on Doctor and Facility (``abdm.admin``) and
``manage.py verify_registries``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone

from abdm import http, registries
from providers import services as providers
from providers.models import Doctor, Facility, RegistryStatus

logger = logging.getLogger(__name__)


class RegistryUnavailable(Exception):
    """The registry could not be asked (down, or refused us): nothing was recorded for the rest."""


def verify_doctor(doctor: Doctor) -> RegistryStatus:
    """Ask the HPR about the doctor's HPR id and keep the answer. A doctor without one is left
    unchecked."""
    if not doctor.hpr_id:
        return RegistryStatus.UNCHECKED
    try:
        status = registries.professional_status(doctor.hpr_id)
    except (http.ServiceUnavailable, http.ServiceRefused) as exc:
        raise RegistryUnavailable(str(exc)) from exc
    providers.record_hpr_check(
        doctor_id=doctor.pk, hpr_id=doctor.hpr_id, status=status, at=timezone.now()
    )
    logger.info("HPR check of doctor %s: %s", doctor.public_id, status.value)
    return status


def verify_facility(facility: Facility) -> RegistryStatus:
    try:
        status = registries.facility_status(facility.hfr_id)
    except (http.ServiceUnavailable, http.ServiceRefused) as exc:
        raise RegistryUnavailable(str(exc)) from exc
    providers.record_hfr_check(
        facility_id=facility.pk, hfr_id=facility.hfr_id, status=status, at=timezone.now()
    )
    logger.info("HFR check of facility %s: %s", facility.public_id, status.value)
    return status


def verify_doctors(doctors: Iterable[Doctor]) -> Counter[RegistryStatus]:
    """Check each doctor that has an HPR id; the count of each outcome."""
    return Counter(verify_doctor(d) for d in doctors if d.hpr_id)


def verify_facilities(facilities: Iterable[Facility]) -> Counter[RegistryStatus]:
    return Counter(verify_facility(f) for f in facilities)


def doctors_with_hpr_id() -> QuerySet[Doctor]:
    return Doctor.objects.exclude(hpr_id=None).exclude(hpr_id="").order_by("pk")


def all_facilities() -> QuerySet[Facility]:
    return Facility.objects.order_by("pk")
