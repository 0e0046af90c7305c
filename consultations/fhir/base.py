"""The base of the document builder: one prescription version, its ids and references."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from functools import cached_property

from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from consultations.fhir.elements import resource_id
from consultations.models import Prescription
from core.clock import IST

# The package's logger, as when it was one module.
logger = logging.getLogger("consultations.fhir")


class VersionResources:
    """What every part of a document refers to: the prescription version, the people and
    places around it, their stable ids and references (the parts are mixins of this)."""

    def __init__(self, prescription: Prescription, signed_at: datetime) -> None:
        self.rx = prescription
        self.consultation = prescription.consultation
        self.patient = self.consultation.patient
        self.doctor = self.consultation.doctor
        self.facility = self.doctor.facility
        self.ticket = self.consultation.ticket
        self.signed_at = signed_at.astimezone(IST)
        # Sorted here, not by the database: a prefetched list (many documents at once) serves.
        self.medicines = sorted(prescription.medicines.all(), key=lambda line: line.position)
        self.pdf = self._read_pdf()

    # --- ids and references -----------------------------------------------------------------------

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

    # --- The signed PDF, read once ----------------------------------------------------------------

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
