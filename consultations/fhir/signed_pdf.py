"""The signed PDF inside a document: a DocumentReference or a Binary."""

from __future__ import annotations

import base64
import hashlib

from fhir.resources.R4B.attachment import Attachment
from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.documentreference import (
    DocumentReference,
    DocumentReferenceContent,
    DocumentReferenceContext,
)

from consultations.fhir.base import VersionResources
from consultations.fhir.codes import PRESCRIPTION_RECORD
from consultations.fhir.elements import meta, snomed
from core.clock import IST


class SignedPdf(VersionResources):
    """The PDF as it goes into a document, once it is stored and matches its hash."""

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
            meta=meta("Binary"),
            contentType="application/pdf",
            securityContext=self.patient_ref,
            data=base64.b64encode(pdf),
        )

    def document_reference(self, pdf: bytes) -> DocumentReference:
        return DocumentReference(
            id=self._id("DocumentReference", "pdf"),
            meta=meta("DocumentReference"),
            status="current",
            docStatus="final",
            type=snomed(PRESCRIPTION_RECORD),
            subject=self.patient_ref,
            date=self.signed_at,
            author=[self.practitioner_ref],
            custodian=self.organization_ref,
            content=[DocumentReferenceContent(attachment=self._pdf_attachment(pdf))],
            context=DocumentReferenceContext(encounter=[self.encounter_ref]),
        )
