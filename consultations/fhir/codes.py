"""The identifier systems, profiles and codes of the FHIR export (fixed: changing one changes
every exported document)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from consultations.models import MedicineLine
from patients.models import Sex

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
