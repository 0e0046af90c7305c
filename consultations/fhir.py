"""A signed prescription as FHIR R4 document Bundles in the shape of ABDM's NRCeS profiles.

Two documents can be built from one finalised (or superseded) prescription:

* ``op_consult_bundle``: an **OPConsultRecord** (Composition type SNOMED 371530004) holding the
  whole visit: chief complaints, history, examination and reported vitals, investigations,
  medicines, follow-up and advice, referral, and the signed PDF (a DocumentReference).
* ``prescription_bundle``: a **PrescriptionRecord** (Composition type SNOMED 440545006) with one
  section of MedicationRequests and the signed PDF as a Binary.

The PDF goes in only once it is stored and still matches its recorded SHA-256 (rendering is a
Celery task): until then the same version exports without it.

``document_bundle`` is what a patient downloads: the OPConsultRecord, because it is a superset
of the PrescriptionRecord (same MedicationRequests, same ids) and also carries the diagnosis,
investigations, follow-up and referral a receiving doctor needs.

Every resource is built with the ``fhir.resources.R4B`` models, so the structure is checked as
it is built; codes and profiles are not checked by that library (see DOMAIN.md).

Identity: resource ids are UUID5s over our public UUIDs and the resource type, so exporting the
same prescription twice gives byte-identical JSON. Patient, Practitioner, Organization and
Encounter ids come from the patient, doctor, facility and consultation, so they are the same in
every document about them; everything else comes from the prescription version. Each entry's
``fullUrl`` is ``urn:uuid:<id>`` and every reference points at one of them. A correction
(version 2 onwards) is ``amended`` and ``relatesTo`` (``replaces``) the superseded version's
Composition by identifier, as that Composition is not inside this Bundle.

The document is a snapshot of the signed record, except that the Patient, Practitioner,
Organization and Encounter are read as they are now (we keep no copy of them as signed): the
Encounter is ``in-progress`` until the call has ended. The active language does not matter: the
labels used (dosage forms, routes, councils) are always rendered in English.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Any

from django.utils import translation
from django.utils.html import escape
from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.appointment import Appointment, AppointmentParticipant
from fhir.resources.R4B.attachment import Attachment
from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.composition import (
    Composition,
    CompositionAttester,
    CompositionRelatesTo,
    CompositionSection,
)
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.documentreference import (
    DocumentReference,
    DocumentReferenceContent,
    DocumentReferenceContext,
)
from fhir.resources.R4B.dosage import Dosage
from fhir.resources.R4B.duration import Duration
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.narrative import Narrative
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.practitioner import Practitioner, PractitionerQualification
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.timing import Timing, TimingRepeat

from consultations.models import MedicineLine, Prescription
from core.clock import IST
from patients.models import Sex
from providers.models import MedicalCouncil

logger = logging.getLogger(__name__)


# --- Our identifier systems -----------------------------------------------------------------
SERVICE_BASE = "https://esanjeevani.example.in"
PATIENT_ID_SYSTEM = f"{SERVICE_BASE}/patient-id"
PRESCRIPTION_NUMBER_SYSTEM = f"{SERVICE_BASE}/prescription-number"
# A Bundle's identifier names one document: the two documents of one prescription share its
# number, so each kind of document gets its own system.
OP_CONSULT_RECORD_SYSTEM = f"{SERVICE_BASE}/fhir/op-consult-record"
PRESCRIPTION_RECORD_SYSTEM = f"{SERVICE_BASE}/fhir/prescription-record"
MEDICAL_REGISTRATION_SYSTEM = f"{SERVICE_BASE}/medical-registration"  # + "/<council code>"
# Fixed forever: changing it changes every exported id.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{SERVICE_BASE}/fhir")

# --- ABDM registries --------------------------------------------------------------------------
ABHA_NUMBER_SYSTEM = "https://healthid.ndhm.gov.in"
ABHA_ADDRESS_SYSTEM = "https://healthid.ndhm.gov.in/abha-address"
HPR_SYSTEM = "https://doctor.ndhm.gov.in"
HFR_SYSTEM = "https://facility.ndhm.gov.in"

# --- Profiles and code systems ----------------------------------------------------------------
NRCES_PROFILE = "https://nrces.in/ndhm/fhir/r4/StructureDefinition/"
NDHM_IDENTIFIER_TYPE = "https://nrces.in/ndhm/fhir/r4/CodeSystem/ndhm-identifier-type-code"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LIST_EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
UCUM = "http://unitsofmeasure.org"
RFC3986 = "urn:ietf:rfc:3986"
XHTML = "http://www.w3.org/1999/xhtml"

OP_CONSULT_RECORD = ("371530004", "Clinical consultation report")
PRESCRIPTION_RECORD = ("440545006", "Prescription record")
SECTION_CHIEF_COMPLAINTS = ("422843007", "Chief complaint section")
SECTION_MEDICAL_HISTORY = ("371529009", "History and physical report")
SECTION_PHYSICAL_EXAMINATION = ("425044008", "Physical exam section")
SECTION_INVESTIGATION_ADVICE = ("721963009", "Order document")
SECTION_MEDICATIONS = ("721912009", "Medication summary document")
SECTION_FOLLOW_UP = ("736271009", "Outpatient care plan")
SECTION_REFERRAL = ("306206005", "Referral note")
SECTION_DOCUMENT_REFERENCE = ("371530004", "Clinical consultation report")
REFERRAL_CATEGORY = ("3457005", "Patient referral")

GENDER = {Sex.FEMALE: "female", Sex.MALE: "male", Sex.OTHER: "other"}

# frequency -> (times, per period, unit, Timing.repeat.when)
FREQUENCY_TIMING: dict[str, tuple[int, int, str, str | None]] = {
    MedicineLine.Frequency.ONCE: (1, 1, "d", None),
    MedicineLine.Frequency.TWICE: (2, 1, "d", None),
    MedicineLine.Frequency.THRICE: (3, 1, "d", None),
    MedicineLine.Frequency.FOUR: (4, 1, "d", None),
    MedicineLine.Frequency.NIGHT: (1, 1, "d", "HS"),
    MedicineLine.Frequency.WEEKLY: (1, 1, "wk", None),
}

ROUTE_SNOMED: dict[str, tuple[str, str]] = {
    MedicineLine.Route.ORAL: ("26643006", "Oral route"),
    MedicineLine.Route.TOPICAL: ("6064005", "Topical route"),
    MedicineLine.Route.INHALED: ("447694001", "Respiratory tract route"),
    MedicineLine.Route.EYE: ("54485002", "Ophthalmic route"),
    MedicineLine.Route.EAR: ("10547007", "Otic route"),
    MedicineLine.Route.NASAL: ("46713006", "Nasal route"),
    MedicineLine.Route.SUBLINGUAL: ("37839007", "Sublingual route"),
}


@dataclass(frozen=True)
class Vital:
    loinc: str
    display: str
    unit: str
    ucum: str
    category: str = "vital-signs"


# Our vitals (consultations.validation.VITALS) in LOINC; blood pressure is one panel.
VITALS: dict[str, Vital] = {
    "pulse": Vital("8867-4", "Heart rate", "beats/minute", "/min"),
    "temperature_c": Vital("8310-5", "Body temperature", "°C", "Cel"),
    "spo2": Vital("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%"),
    "respiratory_rate": Vital("9279-1", "Respiratory rate", "breaths/minute", "/min"),
    "weight_kg": Vital("29463-7", "Body weight", "kg", "kg"),
    "height_cm": Vital("8302-2", "Body height", "cm", "cm"),
    "blood_glucose_mg_dl": Vital(
        "2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", "mg/dL", category="laboratory"
    ),
}
BLOOD_PRESSURE = Vital("85354-9", "Blood pressure panel with all children optional", "", "")
SYSTOLIC = Vital("8480-6", "Systolic blood pressure", "mmHg", "mm[Hg]")
DIASTOLIC = Vital("8462-4", "Diastolic blood pressure", "mmHg", "mm[Hg]")

EXPORTABLE = (Prescription.Status.FINAL, Prescription.Status.SUPERSEDED)


class RecordKind(StrEnum):
    OP_CONSULT = "OPConsultRecord"
    PRESCRIPTION = "PrescriptionRecord"


def op_consult_bundle(prescription: Prescription) -> dict[str, Any]:
    """The visit as an NRCeS OPConsultRecord document Bundle (JSON-ready dict)."""
    return _bundle(prescription, RecordKind.OP_CONSULT)


def prescription_bundle(prescription: Prescription) -> dict[str, Any]:
    """The medicines alone as an NRCeS PrescriptionRecord document Bundle (JSON-ready dict)."""
    return _bundle(prescription, RecordKind.PRESCRIPTION)


def document_bundle(prescription: Prescription) -> dict[str, Any]:
    """The document a patient downloads (``application/fhir+json``): the OPConsultRecord."""
    return op_consult_bundle(prescription)


def resource_id(public_id: uuid.UUID, resource_type: str, *parts: str) -> str:
    """A stable id: the same row and resource type always give the same UUID."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join([str(public_id), resource_type, *parts])))


def composition_id(prescription: Prescription, kind: RecordKind) -> str:
    return resource_id(prescription.public_id, "Composition", kind.value)


def _bundle(prescription: Prescription, kind: RecordKind) -> dict[str, Any]:
    if prescription.status not in EXPORTABLE or prescription.finalised_at is None:
        raise ValueError("Only a signed prescription can be exported; this one is a draft.")
    # Labels (dosage forms, routes...) are translated: the export is always in English.
    with translation.override("en"):
        bundle = _Builder(prescription, prescription.finalised_at).bundle(kind)
    return bundle.model_dump(mode="json", exclude_none=True)


# --- Small constructors -----------------------------------------------------------------------


def _coding(system: str, code: str, display: str | None = None) -> Coding:
    return Coding(system=system, code=code, display=display)


def _concept(
    system: str | None = None, code: str | None = None, display: str | None = None, *,
    text: str | None = None,
) -> CodeableConcept:  # fmt: skip
    coding = [_coding(system, code, display)] if system and code else None
    return CodeableConcept(coding=coding, text=text)


def _snomed(code: tuple[str, str]) -> CodeableConcept:
    return _concept(SNOMED, code[0], code[1], text=code[1])


def _meta(profile: str | None, **extra: Any) -> Meta:
    return Meta(profile=[f"{NRCES_PROFILE}{profile}"] if profile else None, **extra)


def _narrative(*paragraphs: str) -> Narrative:
    body = "".join(f"<p>{escape(text)}</p>" for text in paragraphs if text)
    return Narrative(status="generated", div=f'<div xmlns="{XHTML}">{body}</div>')


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _plural_days(days: int) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def dosage_for(line: MedicineLine) -> Dosage:
    """How to take one medicine: readable text, and the same as structured timing (labels in
    the active language; the bundles build it in English)."""
    frequency = line.frequency
    repeat: dict[str, Any] = {}
    if frequency in FREQUENCY_TIMING:
        times, period, unit, when = FREQUENCY_TIMING[frequency]
        repeat.update(frequency=times, period=Decimal(period), periodUnit=unit)
        if when:
            repeat["when"] = [when]
    elif frequency == MedicineLine.Frequency.STAT:
        repeat["count"] = 1
    if line.duration_days:
        repeat["boundsDuration"] = Duration(
            value=Decimal(line.duration_days), unit="days", system=UCUM, code="d"
        )

    food = line.timing if line.timing != MedicineLine.Timing.ANY else ""
    additional = [
        _concept(text=text)
        for text in (line.get_timing_display() if food else "", line.instructions.strip())
        if text
    ]
    route_code = ROUTE_SNOMED.get(line.route)
    route = (
        _concept(SNOMED, route_code[0], route_code[1], text=line.get_route_display())
        if route_code
        else _concept(text=line.get_route_display())
    )

    said = [
        line.dose,
        _lower_first(line.get_frequency_display()) if frequency else "",
        _lower_first(line.get_timing_display()) if food else "",
        f"for {_plural_days(line.duration_days)}" if line.duration_days else "",
        _lower_first(line.get_route_display()),
    ]
    text = ", ".join(part for part in said if part)
    if line.instructions.strip():
        text = f"{text}. {line.instructions.strip()}"
    return Dosage(
        sequence=1,
        text=text[:1].upper() + text[1:],
        additionalInstruction=additional or None,
        timing=Timing(repeat=TimingRepeat(**repeat)) if repeat else None,
        asNeededBoolean=True if frequency == MedicineLine.Frequency.NEEDED else None,
        route=route,
    )


class _Builder:
    """Builds the resources of one prescription version (shared ones once, cached)."""

    def __init__(self, prescription: Prescription, signed_at: datetime) -> None:
        self.rx = prescription
        self.consultation = prescription.consultation
        self.patient = self.consultation.patient
        self.doctor = self.consultation.doctor
        self.facility = self.doctor.facility
        self.ticket = self.consultation.ticket
        self.signed_at = signed_at.astimezone(IST)
        self.medicines = list(prescription.medicines.order_by("position"))
        self.pdf = self._read_pdf()

    # --- ids and references -------------------------------------------------------------------

    def _id(self, resource_type: str, *parts: str) -> str:
        return resource_id(self.rx.public_id, resource_type, *parts)

    @staticmethod
    def url(resource: Resource) -> str:
        return f"urn:uuid:{resource.id}"

    def ref(self, resource: Resource, display: str | None = None) -> Reference:
        return Reference(reference=self.url(resource), display=display)

    # The shared resources refer to one another (Encounter <-> diagnosis), so references are
    # made from ids, without building the resource referred to.
    @staticmethod
    def _ref(resource_id: str, display: str | None = None) -> Reference:
        return Reference(reference=f"urn:uuid:{resource_id}", display=display)

    @cached_property
    def patient_id(self) -> str:
        return resource_id(self.patient.public_id, "Patient")

    @cached_property
    def practitioner_id(self) -> str:
        return resource_id(self.doctor.public_id, "Practitioner")

    @cached_property
    def organization_id(self) -> str:
        return resource_id(self.facility.public_id, "Organization")

    @cached_property
    def encounter_id(self) -> str:
        return resource_id(self.consultation.public_id, "Encounter")

    @cached_property
    def diagnosis_id(self) -> str:
        return self._id("Condition", "diagnosis")

    @property
    def patient_ref(self) -> Reference:
        return self._ref(self.patient_id, self.patient.name)

    @property
    def practitioner_ref(self) -> Reference:
        return self._ref(self.practitioner_id, self.doctor.name)

    @property
    def organization_ref(self) -> Reference:
        return self._ref(self.organization_id, self.facility.name)

    @property
    def encounter_ref(self) -> Reference:
        return self._ref(self.encounter_id)

    @property
    def diagnosis_ref(self) -> Reference:
        return self._ref(self.diagnosis_id)

    # --- The Bundle ---------------------------------------------------------------------------

    def bundle(self, kind: RecordKind) -> Bundle:
        composition, resources = (
            self.op_consult() if kind is RecordKind.OP_CONSULT else self.prescription_record()
        )
        entries = [composition, *resources]
        system = {
            RecordKind.OP_CONSULT: OP_CONSULT_RECORD_SYSTEM,
            RecordKind.PRESCRIPTION: PRESCRIPTION_RECORD_SYSTEM,
        }[kind]
        return Bundle(
            id=self._id("Bundle", kind.value),
            meta=_meta(
                "DocumentBundle", versionId=str(self.rx.version), lastUpdated=self.signed_at
            ),
            identifier=Identifier(system=system, value=self.rx.display_number),
            type="document",
            timestamp=self.signed_at,
            entry=[BundleEntry(fullUrl=self.url(entry), resource=entry) for entry in entries],
        )

    def _composition(
        self, kind: RecordKind, type_code: tuple[str, str], title: str,
        sections: list[CompositionSection],
    ) -> Composition:  # fmt: skip
        this_id = composition_id(self.rx, kind)
        relates_to = None
        if self.rx.supersedes is not None:
            previous = composition_id(self.rx.supersedes, kind)
            relates_to = [
                CompositionRelatesTo(
                    code="replaces",
                    targetIdentifier=Identifier(system=RFC3986, value=f"urn:uuid:{previous}"),
                )
            ]
        return Composition(
            id=this_id,
            meta=_meta(kind.value, versionId=str(self.rx.version), lastUpdated=self.signed_at),
            language="en-IN",
            identifier=Identifier(system=RFC3986, value=f"urn:uuid:{this_id}"),
            status="amended" if self.rx.supersedes_id is not None else "final",
            type=_snomed(type_code),
            subject=self.patient_ref,
            encounter=self.encounter_ref,
            date=self.signed_at,
            author=[self.practitioner_ref],
            title=f"{title} {self.rx.display_number}",
            attester=[
                CompositionAttester(
                    mode="legal",
                    time=self.signed_at,
                    party=self.practitioner_ref,
                )
            ],
            custodian=self.organization_ref,
            relatesTo=relates_to,
            section=sections,
        )

    def _section(
        self, code: tuple[str, str], title: str, entries: Sequence[Resource],
        *paragraphs: str,
    ) -> CompositionSection:  # fmt: skip
        return CompositionSection(
            title=title,
            code=_snomed(code),
            text=_narrative(*paragraphs) if any(paragraphs) else None,
            entry=[self.ref(entry) for entry in entries] or None,
        )

    def _context(self) -> list[Resource]:
        """What every document carries besides its sections."""
        return [
            self.patient_resource,
            self.practitioner,
            self.organization,
            self.encounter,
            self.diagnosis,
        ]

    def op_consult(self) -> tuple[Composition, list[Resource]]:
        rx = self.rx
        complaints = [self.chief_complaints]
        vitals = self.vitals()
        investigations = self.investigations()
        medications = self.medication_requests
        follow_up = [self.follow_up()] if rx.follow_up_on else []
        referral = [self.referral()] if rx.referral.strip() else []
        document = [self.document_reference(self.pdf)] if self.pdf else []

        sections = [self._section(SECTION_CHIEF_COMPLAINTS, "Chief complaints", complaints)]
        if rx.history.strip():
            sections.append(
                self._section(SECTION_MEDICAL_HISTORY, "History", [], *_lines(rx.history))
            )
        if rx.examination.strip() or vitals:
            sections.append(
                self._section(
                    SECTION_PHYSICAL_EXAMINATION,
                    "Examination and vitals",
                    vitals,
                    *_lines(rx.examination),
                )
            )
        if investigations:
            sections.append(
                self._section(
                    SECTION_INVESTIGATION_ADVICE, "Investigations advised", investigations
                )
            )
        if medications:
            sections.append(self._section(SECTION_MEDICATIONS, "Medicines", medications))
        if follow_up or rx.advice.strip():
            sections.append(
                self._section(
                    SECTION_FOLLOW_UP, "Follow-up and advice", follow_up, *self._plan_text()
                )
            )
        if referral:
            sections.append(self._section(SECTION_REFERRAL, "Referral", referral))
        if document:
            sections.append(
                self._section(SECTION_DOCUMENT_REFERENCE, "Signed prescription", document)
            )
        composition = self._composition(
            RecordKind.OP_CONSULT, OP_CONSULT_RECORD, "Consultation record", sections
        )
        resources = [
            *self._context(), *complaints, *vitals, *investigations, *medications, *follow_up,
            *referral, *document,
        ]  # fmt: skip
        return composition, resources

    def prescription_record(self) -> tuple[Composition, list[Resource]]:
        medications = self.medication_requests
        binary = [self.binary(self.pdf)] if self.pdf else []
        section = self._section(PRESCRIPTION_RECORD, "Prescription", [*medications, *binary])
        if not medications:
            section.text = _narrative("No medicines prescribed.", *_lines(self.rx.advice))
            if not binary:
                section.emptyReason = _concept(LIST_EMPTY_REASON, "nilknown", "Nil Known")
        composition = self._composition(
            RecordKind.PRESCRIPTION, PRESCRIPTION_RECORD, "Prescription", [section]
        )
        return composition, [*self._context(), *medications, *binary]

    def _plan_text(self) -> list[str]:
        paragraphs = []
        if self.rx.follow_up_on:
            paragraphs.append(f"Follow up on {self.rx.follow_up_on:%d %b %Y}.")
        return [*paragraphs, *_lines(self.rx.advice)]

    # --- Who and where ------------------------------------------------------------------------

    @cached_property
    def patient_resource(self) -> Patient:
        patient = self.patient
        identifiers = [
            Identifier(
                type=_concept(V2_0203, "MR", "Medical record number"),
                system=PATIENT_ID_SYSTEM,
                value=patient.patient_number,
            )
        ]
        if patient.abha_number:
            identifiers.append(
                Identifier(
                    type=_concept(NDHM_IDENTIFIER_TYPE, "HIN", "ABHA number"),
                    system=ABHA_NUMBER_SYSTEM,
                    value=patient.display_abha_number,
                )
            )
        if patient.abha_address:
            identifiers.append(
                Identifier(
                    type=_concept(NDHM_IDENTIFIER_TYPE, "ABHA", "ABHA address"),
                    system=ABHA_ADDRESS_SYSTEM,
                    value=patient.abha_address,
                )
            )
        address = {"state": patient.state.name, "country": "IN"}
        if patient.district is not None:
            address["district"] = patient.district.name
        # A date of birth estimated from the age is only known to the year.
        born = (
            str(patient.date_of_birth.year)
            if patient.dob_is_estimated
            else patient.date_of_birth.isoformat()
        )
        return Patient.model_validate(
            {
                "id": self.patient_id,
                "meta": _meta("Patient"),
                "identifier": identifiers,
                "name": [HumanName(text=patient.name)],
                "gender": GENDER.get(Sex(patient.sex), "unknown"),
                "birthDate": born,
                "address": [address],
            }
        )

    @cached_property
    def practitioner(self) -> Practitioner:
        doctor = self.doctor
        council = MedicalCouncil(doctor.medical_council)
        identifiers = [
            Identifier(
                type=_concept(V2_0203, "MD", "Medical License number"),
                system=f"{MEDICAL_REGISTRATION_SYSTEM}/{council.value}",
                value=doctor.registration_number,
                assigner=Reference(display=str(council.label)),
            )
        ]
        if doctor.hpr_id:
            identifiers.append(
                Identifier(
                    type=_concept(V2_0203, "PRN", "Provider number"),
                    system=HPR_SYSTEM,
                    value=doctor.hpr_id,
                )
            )
        return Practitioner(
            id=self.practitioner_id,
            meta=_meta("Practitioner"),
            identifier=identifiers,
            name=[HumanName(text=doctor.name)],
            qualification=[PractitionerQualification(code=_concept(text=doctor.qualification))]
            if doctor.qualification
            else None,
        )

    @cached_property
    def organization(self) -> Organization:
        facility = self.facility
        address = {"state": facility.state.name, "country": "IN"}
        if facility.district is not None:
            address["district"] = facility.district.name
        return Organization.model_validate(
            {
                "id": self.organization_id,
                "meta": _meta("Organization"),
                "identifier": [
                    Identifier(
                        type=_concept(V2_0203, "PRN", "Provider number"),
                        system=HFR_SYSTEM,
                        value=facility.hfr_id,
                    )
                ],
                "name": facility.name,
                "address": [address],
            }
        )

    @cached_property
    def encounter(self) -> Encounter:
        ticket = self.ticket
        started = ticket.consult_started_at or self.consultation.started_at
        ended = ticket.consult_ended_at
        # ``class`` is a Python keyword: the model takes it by its alias through a dict.
        return Encounter.model_validate(
            {
                "id": self.encounter_id,
                "meta": _meta("Encounter"),
                "identifier": [
                    Identifier(
                        system=f"{SERVICE_BASE}/token",
                        value=f"{ticket.service_date.isoformat()}/{ticket.token}",
                    )
                ],
                "status": "finished" if ended else "in-progress",
                "class": _coding(V3_ACT_CODE, "VR", "virtual"),
                "subject": self.patient_ref,
                "participant": [{"individual": self.practitioner_ref}],
                "period": Period(
                    start=started.astimezone(IST),
                    end=ended.astimezone(IST) if ended else None,
                ),
                "diagnosis": [{"condition": self.diagnosis_ref, "rank": 1}],
                "serviceProvider": self.organization_ref,
            }
        )

    # --- What was found -----------------------------------------------------------------------

    def _condition(self, key: str, code: CodeableConcept, **extra: Any) -> Condition:
        return Condition(
            id=self._id("Condition", key),
            meta=_meta("Condition"),
            clinicalStatus=_concept(CONDITION_CLINICAL, "active", "Active"),
            code=code,
            subject=self.patient_ref,
            encounter=self.encounter_ref,
            recordedDate=self.signed_at,
            recorder=self.practitioner_ref,
            **extra,
        )

    @cached_property
    def chief_complaints(self) -> Condition:
        text = self.rx.chief_complaints.strip()
        return self._condition("chief-complaints", _concept(text=text))

    @cached_property
    def diagnosis(self) -> Condition:
        rx = self.rx
        code = _concept(ICD10, rx.icd10_code, text=rx.diagnosis.strip())
        return self._condition(
            "diagnosis",
            code,
            category=[_concept(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")],
            verificationStatus=_concept(CONDITION_VERIFICATION, "provisional", "Provisional"),
        )

    def vitals(self) -> list[Resource]:
        readings = self.rx.vitals or {}
        observations: list[Resource] = []
        systolic, diastolic = readings.get("bp_systolic"), readings.get("bp_diastolic")
        if systolic is not None or diastolic is not None:
            components = [
                ObservationComponent(code=_concept(LOINC, vital.loinc, vital.display),
                                     valueQuantity=self._quantity(value, vital))
                for vital, value in ((SYSTOLIC, systolic), (DIASTOLIC, diastolic))
                if value is not None
            ]  # fmt: skip
            observations.append(self._observation("bp", BLOOD_PRESSURE, component=components))
        for name, vital in VITALS.items():
            value = readings.get(name)
            if value is not None:
                observations.append(
                    self._observation(name, vital, valueQuantity=self._quantity(value, vital))
                )
        return observations

    @staticmethod
    def _quantity(value: float, vital: Vital) -> Quantity:
        return Quantity(value=Decimal(str(value)), unit=vital.unit, system=UCUM, code=vital.ucum)

    def _observation(self, key: str, vital: Vital, **value: Any) -> Observation:
        return Observation(
            id=self._id("Observation", key),
            status="final",
            category=[_concept(OBSERVATION_CATEGORY, vital.category)],
            code=_concept(LOINC, vital.loinc, vital.display, text=vital.display),
            subject=self.patient_ref,
            encounter=self.encounter_ref,
            effectiveDateTime=self.signed_at,
            performer=[self.patient_ref],
            note=[Annotation(text="Reported by the patient during a teleconsultation.")],
            **value,
        )

    # --- What was ordered ---------------------------------------------------------------------

    @cached_property
    def medication_requests(self) -> list[MedicationRequest]:
        return [self._medication_request(line) for line in self.medicines]

    def _medication_request(self, line: MedicineLine) -> MedicationRequest:
        form = _lower_first(line.get_dosage_form_display())
        name = " ".join(part for part in (line.name, line.strength, form) if part)
        return MedicationRequest(
            id=self._id("MedicationRequest", str(line.position)),
            meta=_meta("MedicationRequest"),
            status="active",
            intent="order",
            groupIdentifier=Identifier(
                system=PRESCRIPTION_NUMBER_SYSTEM, value=self.rx.display_number
            ),
            medicationCodeableConcept=_concept(text=name),
            subject=self.patient_ref,
            encounter=self.encounter_ref,
            authoredOn=self.signed_at,
            requester=self.practitioner_ref,
            reasonReference=[self.diagnosis_ref],
            dosageInstruction=[dosage_for(line)],
        )

    def _service_request(
        self, key: str, text: str, category: tuple[str, str] | None = None
    ) -> ServiceRequest:
        return ServiceRequest(
            id=self._id("ServiceRequest", key),
            meta=_meta("ServiceRequest"),
            status="active",
            intent="order",
            category=[_snomed(category)] if category else None,
            code=_concept(text=text),
            subject=self.patient_ref,
            encounter=self.encounter_ref,
            authoredOn=self.signed_at,
            requester=self.practitioner_ref,
            reasonReference=[self.diagnosis_ref],
        )

    def investigations(self) -> list[Resource]:
        """One ServiceRequest per line the doctor wrote."""
        return [
            self._service_request(f"investigation-{index}", line)
            for index, line in enumerate(_lines(self.rx.investigations))
        ]

    def referral(self) -> ServiceRequest:
        return self._service_request("referral", self.rx.referral.strip(), REFERRAL_CATEGORY)

    def follow_up(self) -> Appointment:
        """Proposed for the follow-up day, whatever the hour: a period of that date."""
        day = self.rx.follow_up_on
        return Appointment.model_validate(
            {
                "id": self._id("Appointment", "follow-up"),
                "meta": _meta("Appointment"),
                "status": "proposed",
                "description": "Follow-up teleconsultation",
                "reasonReference": [self.diagnosis_ref],
                "created": self.signed_at,
                "requestedPeriod": [{"start": day, "end": day}],
                "participant": [
                    AppointmentParticipant(
                        actor=self.patient_ref,
                        required="required",
                        status="needs-action",
                    ),
                    AppointmentParticipant(
                        actor=self.practitioner_ref,
                        required="required",
                        status="needs-action",
                    ),
                ],
            }
        )

    # --- The signed PDF -----------------------------------------------------------------------

    def _read_pdf(self) -> bytes | None:
        """The stored PDF, if it is still the file whose SHA-256 was recorded when stored."""
        if not self.rx.pdf or not self.rx.pdf_sha256:
            return None
        try:
            with self.rx.pdf.open("rb") as handle:
                data: bytes = handle.read()
        except FileNotFoundError:
            logger.warning("Prescription %s: the stored PDF is missing", self.rx.pk)
            return None
        if hashlib.sha256(data).hexdigest() != self.rx.pdf_sha256:
            logger.warning("Prescription %s: the stored PDF does not match its hash", self.rx.pk)
            return None
        return data

    def _pdf_attachment(self, pdf: bytes) -> Attachment:
        return Attachment(
            contentType="application/pdf",
            language="en-IN",
            data=base64.b64encode(pdf),
            size=len(pdf),
            # FHIR's Attachment.hash is SHA-1 by definition: an integrity check, not security.
            hash=base64.b64encode(hashlib.sha1(pdf, usedforsecurity=False).digest()),
            title=f"Prescription {self.rx.display_number}.pdf",
            creation=(self.rx.pdf_rendered_at or self.signed_at).astimezone(IST),
        )

    def binary(self, pdf: bytes) -> Binary:
        return Binary(
            id=self._id("Binary", "pdf"),
            meta=_meta("Binary"),
            contentType="application/pdf",
            securityContext=self.patient_ref,
            data=base64.b64encode(pdf),
        )

    def document_reference(self, pdf: bytes) -> DocumentReference:
        return DocumentReference(
            id=self._id("DocumentReference", "pdf"),
            meta=_meta("DocumentReference"),
            status="current",
            docStatus="final",
            type=_snomed(PRESCRIPTION_RECORD),
            subject=self.patient_ref,
            date=self.signed_at,
            author=[self.practitioner_ref],
            custodian=self.organization_ref,
            content=[DocumentReferenceContent(attachment=self._pdf_attachment(pdf))],
            context=DocumentReferenceContext(encounter=[self.encounter_ref]),
        )
