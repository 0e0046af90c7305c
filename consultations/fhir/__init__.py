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

from consultations.fhir.codes import (
    ABHA_ADDRESS_SYSTEM,
    ABHA_NUMBER_SYSTEM,
    BLOOD_PRESSURE,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    DIASTOLIC,
    FREQUENCY_TIMING,
    GENDER,
    HFR_SYSTEM,
    HPR_SYSTEM,
    ICD10,
    ID_NAMESPACE,
    LIST_EMPTY_REASON,
    LOINC,
    MEDICAL_REGISTRATION_SYSTEM,
    NDHM_IDENTIFIER_TYPE,
    NRCES_PROFILE,
    OBSERVATION_CATEGORY,
    OP_CONSULT_RECORD,
    OP_CONSULT_RECORD_SYSTEM,
    PATIENT_ID_SYSTEM,
    PRESCRIPTION_NUMBER_SYSTEM,
    PRESCRIPTION_RECORD,
    PRESCRIPTION_RECORD_SYSTEM,
    REFERRAL_CATEGORY,
    RFC3986,
    ROUTE_SNOMED,
    SECTION_CHIEF_COMPLAINTS,
    SECTION_DOCUMENT_REFERENCE,
    SECTION_FOLLOW_UP,
    SECTION_INVESTIGATION_ADVICE,
    SECTION_MEDICAL_HISTORY,
    SECTION_MEDICATIONS,
    SECTION_PHYSICAL_EXAMINATION,
    SECTION_REFERRAL,
    SERVICE_BASE,
    SNOMED,
    SYSTOLIC,
    UCUM,
    V2_0203,
    V3_ACT_CODE,
    VITALS,
    XHTML,
    Vital,
)
from consultations.fhir.document import (
    EXPORTABLE,
    RecordKind,
    composition_id,
    document_bundle,
    op_consult_bundle,
    prescription_bundle,
    record_bundles,
)
from consultations.fhir.elements import dosage_for, resource_id

__all__ = [
    "ABHA_ADDRESS_SYSTEM",
    "ABHA_NUMBER_SYSTEM",
    "BLOOD_PRESSURE",
    "CONDITION_CATEGORY",
    "CONDITION_CLINICAL",
    "CONDITION_VERIFICATION",
    "DIASTOLIC",
    "EXPORTABLE",
    "FREQUENCY_TIMING",
    "GENDER",
    "HFR_SYSTEM",
    "HPR_SYSTEM",
    "ICD10",
    "ID_NAMESPACE",
    "LIST_EMPTY_REASON",
    "LOINC",
    "MEDICAL_REGISTRATION_SYSTEM",
    "NDHM_IDENTIFIER_TYPE",
    "NRCES_PROFILE",
    "OBSERVATION_CATEGORY",
    "OP_CONSULT_RECORD",
    "OP_CONSULT_RECORD_SYSTEM",
    "PATIENT_ID_SYSTEM",
    "PRESCRIPTION_NUMBER_SYSTEM",
    "PRESCRIPTION_RECORD",
    "PRESCRIPTION_RECORD_SYSTEM",
    "REFERRAL_CATEGORY",
    "RFC3986",
    "ROUTE_SNOMED",
    "SECTION_CHIEF_COMPLAINTS",
    "SECTION_DOCUMENT_REFERENCE",
    "SECTION_FOLLOW_UP",
    "SECTION_INVESTIGATION_ADVICE",
    "SECTION_MEDICAL_HISTORY",
    "SECTION_MEDICATIONS",
    "SECTION_PHYSICAL_EXAMINATION",
    "SECTION_REFERRAL",
    "SERVICE_BASE",
    "SNOMED",
    "SYSTOLIC",
    "UCUM",
    "V2_0203",
    "V3_ACT_CODE",
    "VITALS",
    "XHTML",
    "RecordKind",
    "Vital",
    "composition_id",
    "document_bundle",
    "dosage_for",
    "op_consult_bundle",
    "prescription_bundle",
    "record_bundles",
    "resource_id",
]
