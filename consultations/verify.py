"""The public page a prescription's QR code opens: is this prescription genuine?

The QR code carries ``/verify/<token>/``, where the token is the prescription's random
verification code signed with the server's key: it cannot be guessed, and a forged or altered
token is refused before the database is asked. The page needs no sign-in, so it shows only what a
pharmacist needs to dispense: never the diagnosis, the history, the patient's full name or ABHA.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe

from consultations.models import MedicineLine, Prescription
from core.addressing import public_url
from core.clock import IST

SIGNING_SALT = "prescription-verify"


def _signer() -> signing.Signer:
    return signing.Signer(salt=SIGNING_SALT)


def verification_token(prescription: Prescription) -> str:
    if not prescription.verification_code:
        raise ValueError("Only a signed prescription has a verification reference.")
    return _signer().sign(prescription.verification_code)


def verification_url(prescription: Prescription) -> str:
    """The absolute address printed in the prescription's QR code."""
    token = verification_token(prescription)
    return public_url(reverse("consultations:verify", kwargs={"token": token}))


def prescription_by_token(token: str) -> Prescription | None:
    """The signed prescription a token names; None for a forged, altered or unknown token."""
    try:
        code = _signer().unsign(token)
    except signing.BadSignature:
        return None
    return (
        Prescription.objects.exclude(status=Prescription.Status.DRAFT)
        .select_related("consultation__patient", "consultation__doctor__user")
        .prefetch_related("medicines")
        .filter(verification_code=code)
        .first()
    )


@dataclass(frozen=True)
class DispensingLine:
    medicine: str
    dose: str
    frequency: str
    duration: str


@dataclass(frozen=True)
class PharmacistView:
    """Everything the public page may show, and nothing else."""

    number: str
    version: int
    issued_at: datetime
    superseded: bool
    current_number: str
    patient_initials: str
    patient_age: int
    patient_sex: str
    doctor_name: str
    registration_number: str
    medical_council: str
    medicines: list[DispensingLine]


def initials(name: str) -> str:
    return " ".join(f"{word[0].upper()}." for word in name.split() if word[:1].isalnum())


def _line(medicine: MedicineLine) -> DispensingLine:
    form = str(medicine.get_dosage_form_display())
    duration = medicine.duration_days or 0
    return DispensingLine(
        medicine=" ".join(part for part in (medicine.name, medicine.strength, form) if part),
        dose=medicine.dose,
        frequency=str(medicine.get_frequency_display()),
        duration=(
            ngettext("%(count)d day", "%(count)d days", duration) % {"count": duration}
            if duration
            else ""
        ),
    )


def pharmacist_view(prescription: Prescription) -> PharmacistView:
    consultation = prescription.consultation
    patient = consultation.patient
    doctor = consultation.doctor
    if prescription.finalised_at is None:
        raise ValueError("A draft has nothing to verify.")
    issued_at = prescription.finalised_at.astimezone(IST)
    current = prescription
    if prescription.status == Prescription.Status.SUPERSEDED:
        current = (
            Prescription.objects.filter(
                consultation_id=prescription.consultation_id, status=Prescription.Status.FINAL
            )
            .order_by("-version")
            .first()
            or prescription
        )
    return PharmacistView(
        number=prescription.display_number,
        version=prescription.version,
        issued_at=issued_at,
        superseded=prescription.status == Prescription.Status.SUPERSEDED,
        current_number=current.display_number,
        patient_initials=initials(patient.name),
        patient_age=patient.age_on(issued_at.date()),
        patient_sex=str(patient.get_sex_display()),
        doctor_name=doctor.name,
        registration_number=doctor.registration_number,
        medical_council=str(doctor.get_medical_council_display()),
        medicines=[_line(line) for line in prescription.medicines.all()],
    )


@require_safe
def verify_page(request: HttpRequest, token: str) -> HttpResponse:
    prescription = prescription_by_token(token)
    if prescription is None:
        raise Http404(_("No such prescription."))
    response = render(request, "consultations/verify.html", {"rx": pharmacist_view(prescription)})
    # A pharmacist must see the current state (a correction may come later); never index it.
    patch_cache_control(response, no_store=True)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
