"""What a signed prescription's PDF prints, read from the database in one step.

``build`` is the last step of the prescription's way that reads a row (sign → **build** → render →
store → announce, ``consultations.documents``): it returns plain values, so the layout
(``consultations.pdf``) can neither query nor change what is printed. Values a family reads in its
own language (sex, medical council, how often, route, the OPD's name) are taken in the document's
language here; the layout's own words are translated by the layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import models
from django.utils import translation
from django.utils.text import capfirst

from consultations.models import MedicineLine, Prescription
from consultations.verify import verification_url
from core.clock import IST

PDF_LANGUAGES = ("en", "hi")


@dataclass(frozen=True)
class PrintedMedicine:
    name: str
    strength: str
    dosage_form: str
    dose: str
    frequency: str
    duration_days: int
    route: str
    timing: str
    instructions: str


@dataclass(frozen=True)
class PrintedPrescription:
    """Everything the PDF prints, and the language it prints it in."""

    language: str
    # The models' own (translated) names for their fields, the headings the forms show too.
    headings: Mapping[str, str]
    medicine_headings: Mapping[str, str]
    number: str
    version: int
    supersedes_number: str | None
    signed_at: datetime  # in Indian Standard Time
    verification_url: str
    opd_name: str
    facility_name: str
    facility_hfr_id: str
    token: str
    patient_name: str
    patient_age: int  # on the day of signing, so a later rendering prints the same
    patient_sex: str
    patient_number: str
    abha_number: str
    doctor_name: str
    qualification: str
    registration_number: str
    medical_council: str
    hpr_id: str
    chief_complaints: str
    history: str
    vitals: Mapping[str, Any]
    examination: str
    diagnosis: str
    icd10_code: str
    medicines: tuple[PrintedMedicine, ...]
    investigations: str
    advice: str
    follow_up_on: date | None
    referral: str


def document_language(prescription: Prescription) -> str:
    """The family's language when the PDF can be printed in it, else English."""
    language = prescription.consultation.patient.account.preferred_language
    return language if language in PDF_LANGUAGES else "en"


def build(prescription: Prescription) -> PrintedPrescription:
    """The signed prescription as it is printed. Reads the consultation, its people and its
    medicines (select and prefetch them to keep this to the queries that loaded the row)."""
    if prescription.finalised_at is None:
        raise ValueError("A draft prescription has no document.")
    signed_at = prescription.finalised_at.astimezone(IST)
    language = document_language(prescription)
    consultation = prescription.consultation
    patient = consultation.patient
    doctor = consultation.doctor
    facility = doctor.facility
    supersedes = prescription.supersedes if prescription.supersedes_id is not None else None
    with translation.override(language):
        return PrintedPrescription(
            language=language,
            headings=field_labels(Prescription),
            medicine_headings=field_labels(MedicineLine),
            number=prescription.display_number,
            version=prescription.version,
            supersedes_number=supersedes.display_number if supersedes is not None else None,
            signed_at=signed_at,
            verification_url=verification_url(prescription),
            opd_name=consultation.opd.display_name,
            facility_name=facility.name,
            facility_hfr_id=facility.hfr_id,
            token=consultation.ticket.token,
            patient_name=patient.name,
            patient_age=patient.age_on(signed_at.date()),
            patient_sex=str(patient.get_sex_display()),
            patient_number=patient.display_patient_number,
            abha_number=patient.display_abha_number,
            doctor_name=doctor.name,
            qualification=doctor.qualification,
            registration_number=doctor.registration_number,
            medical_council=str(doctor.get_medical_council_display()),
            hpr_id=doctor.hpr_id or "",
            chief_complaints=prescription.chief_complaints,
            history=prescription.history,
            vitals=dict(prescription.vitals or {}),
            examination=prescription.examination,
            diagnosis=prescription.diagnosis,
            icd10_code=prescription.icd10_code,
            medicines=tuple(_medicine(line) for line in prescription.medicines.all()),
            investigations=prescription.investigations,
            advice=prescription.advice,
            follow_up_on=prescription.follow_up_on,
            referral=prescription.referral,
        )


def field_labels(model: type[models.Model]) -> dict[str, str]:
    """Each field's own name, in the active language."""
    return {
        field.name: capfirst(str(getattr(field, "verbose_name", field.name)))
        for field in model._meta.get_fields()
    }


def _medicine(line: MedicineLine) -> PrintedMedicine:
    return PrintedMedicine(
        name=line.name,
        strength=line.strength,
        dosage_form=str(line.get_dosage_form_display()),
        dose=line.dose,
        frequency=str(line.get_frequency_display()),
        duration_days=line.duration_days or 0,
        route=str(line.get_route_display()),
        timing=str(line.get_timing_display()),
        instructions=line.instructions,
    )
