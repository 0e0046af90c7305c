"""The signed prescription as a document (being written): PDF with QR code, then notifications."""

from __future__ import annotations


def render_and_store(prescription_id: int) -> None:
    """Render once and store the PDF, then notify the patient."""
