"""The two documents of a signed prescription, each a Composition and its entries in a Bundle."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from django.utils import translation
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.composition import (
    Composition,
    CompositionAttester,
    CompositionRelatesTo,
    CompositionSection,
)
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.resource import Resource

from consultations.fhir.clinical import Clinical
from consultations.fhir.codes import (
    LIST_EMPTY_REASON,
    OP_CONSULT_RECORD,
    OP_CONSULT_RECORD_SYSTEM,
    PRESCRIPTION_RECORD,
    PRESCRIPTION_RECORD_SYSTEM,
    RFC3986,
    SECTION_CHIEF_COMPLAINTS,
    SECTION_DOCUMENT_REFERENCE,
    SECTION_FOLLOW_UP,
    SECTION_INVESTIGATION_ADVICE,
    SECTION_MEDICAL_HISTORY,
    SECTION_MEDICATIONS,
    SECTION_PHYSICAL_EXAMINATION,
    SECTION_REFERRAL,
)
from consultations.fhir.elements import concept, meta, narrative, resource_id, snomed, text_lines
from consultations.fhir.parties import Parties
from consultations.fhir.signed_pdf import SignedPdf
from consultations.models import Prescription

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


def record_bundles(
    prescription: Prescription, kinds: Sequence[RecordKind]
) -> dict[RecordKind, dict[str, Any]]:
    """Several documents of one prescription, built by one builder (the shared resources and
    the PDF read once): what an ABDM health-information transfer sends."""
    if prescription.status not in EXPORTABLE or prescription.finalised_at is None:
        raise ValueError("Only a signed prescription can be exported; this one is a draft.")
    with translation.override("en"):
        builder = Builder(prescription, prescription.finalised_at)
        return {
            kind: builder.bundle(kind).model_dump(mode="json", exclude_none=True) for kind in kinds
        }


def document_bundle(prescription: Prescription) -> dict[str, Any]:
    """The document a patient downloads (``application/fhir+json``): the OPConsultRecord."""
    return op_consult_bundle(prescription)


def composition_id(prescription: Prescription, kind: RecordKind) -> str:
    return resource_id(prescription.public_id, "Composition", kind.value)


def _bundle(prescription: Prescription, kind: RecordKind) -> dict[str, Any]:
    if prescription.status not in EXPORTABLE or prescription.finalised_at is None:
        raise ValueError("Only a signed prescription can be exported; this one is a draft.")
    # Labels (dosage forms, routes...) are translated: the export is always in English.
    with translation.override("en"):
        bundle = Builder(prescription, prescription.finalised_at).bundle(kind)
    return bundle.model_dump(mode="json", exclude_none=True)


class Builder(Parties, Clinical, SignedPdf):
    """Builds the resources of one prescription version (shared ones once, cached)."""

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
            meta=meta("DocumentBundle", versionId=str(self.rx.version), lastUpdated=self.signed_at),
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
            meta=meta(kind.value, versionId=str(self.rx.version), lastUpdated=self.signed_at),
            language="en-IN",
            identifier=Identifier(system=RFC3986, value=f"urn:uuid:{this_id}"),
            status="amended" if self.rx.supersedes_id is not None else "final",
            type=snomed(type_code),
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
            code=snomed(code),
            text=narrative(*paragraphs) if any(paragraphs) else None,
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
                self._section(SECTION_MEDICAL_HISTORY, "History", [], *text_lines(rx.history))
            )
        if rx.examination.strip() or vitals:
            sections.append(
                self._section(
                    SECTION_PHYSICAL_EXAMINATION,
                    "Examination and vitals",
                    vitals,
                    *text_lines(rx.examination),
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
            section.text = narrative("No medicines prescribed.", *text_lines(self.rx.advice))
            if not binary:
                section.emptyReason = concept(LIST_EMPTY_REASON, "nilknown", "Nil Known")
        composition = self._composition(
            RecordKind.PRESCRIPTION, PRESCRIPTION_RECORD, "Prescription", [section]
        )
        return composition, [*self._context(), *medications, *binary]

    def _plan_text(self) -> list[str]:
        paragraphs = []
        if self.rx.follow_up_on:
            paragraphs.append(f"Follow up on {self.rx.follow_up_on:%d %b %Y}.")
        return [*paragraphs, *text_lines(self.rx.advice)]
