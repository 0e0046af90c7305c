"""The signed prescription's way through the code, in one pass: load it, build what is printed,
render it, store it, announce it.

    render_and_store            (the Celery task and the outbox relay start here)
      _signed                   load the row with everything printed
      ensure_stored             unless the stored file is still the recorded one:
        render_pdf                printed.build   what is printed: the last database read
                                  pdf.render      layout only, bytes
        _store                    write, then claim the row
      announcements.announce_prescription_ready

Each step is called from here and calls nothing back. Celery may run the task twice (a retry, a
worker killed after the work but before the ack, the outbox relay), and the download page
renders a missing PDF itself (``ensure_stored``): whoever stores first wins a compare-and-set on
the row, and a loser removes the file it wrote, so one prescription version has one stored PDF.
Write, then claim: the file goes under a name fixed by the prescription version, so a run that
dies between writing and claiming (the database went away, the worker was killed) leaves a file
the next run claims, or replaces when it was cut short; never a stray.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction
from django.utils import timezone

from consultations import announcements, pdf, printed
from consultations.models import Prescription
from consultations.signals import prescription_finalised
from core import outbox

logger = logging.getLogger(__name__)


def render_key(prescription_id: int) -> str:
    """The outbox key of a signed prescription's document and announcement."""
    return f"render-prescription:{prescription_id}"


def render_and_store(prescription_id: int) -> None:
    """Render once and store the PDF, then ask for the patient's notifications and announce
    the signed record to the apps that listen (``signals.prescription_finalised``: ABDM links
    it to the patient's ABHA); the outbox message is done when they are recorded, in one
    transaction, so a worker killed half-way leaves it to be done again, never half done."""
    prescription = _signed(prescription_id)
    if prescription is None:
        logger.warning("Prescription %s is not signed: no document to render", prescription_id)
        outbox.complete(render_key(prescription_id))
        return
    stored = ensure_stored(prescription)
    with transaction.atomic():
        # Idempotent on its side: asked again after a re-run, it sends nothing twice.
        announcements.announce_prescription_ready(stored)
        # Robust: a listener that fails (ABDM) never holds back the family's prescription; its
        # own work is idempotent, so a run repeated after a crash adds nothing.
        for receiver, error in prescription_finalised.send_robust(
            sender=Prescription, prescription=stored
        ):
            if isinstance(error, Exception):
                logger.error(
                    "%s failed for prescription %s: %s", receiver, stored.pk, type(error).__name__
                )
        outbox.complete(render_key(prescription_id))


def ensure_stored(prescription: Prescription) -> Prescription:
    """The prescription with its PDF stored, rendering it if it is not (a superseded version
    too: it stays in the history)."""
    if prescription.is_draft:
        raise ValueError("A draft prescription has no document.")
    if has_stored_pdf(prescription):
        return prescription
    return _store(prescription, render_pdf(prescription))


def render_pdf(prescription: Prescription) -> bytes:
    """The signed prescription as PDF bytes: what is printed, then its layout. It depends only
    on the signed prescription, so rendering it twice gives the same bytes."""
    return pdf.render(printed.build(prescription))


def _store(prescription: Prescription, data: bytes) -> Prescription:
    """Write the file under its stable name, then claim the row for it (compare-and-set on the
    file the row recorded); the row as stored, with the relations the announcement reads."""
    digest = hashlib.sha256(data).hexdigest()
    storage = prescription.pdf.storage
    name = pdf_name(prescription)
    written = None
    if _digest(storage, name) != digest:
        # Rendering is deterministic, so an equal file under the stable name is this one, left
        # by a run that did not get to claim it. A different one is a file cut short (a worker
        # killed mid-write): nobody can use it, and saving beside it would leave it behind.
        storage.delete(name)
        written = name = storage.save(name, ContentFile(data))
    previous = prescription.pdf.name or ""
    try:
        stored = Prescription.objects.filter(
            pk=prescription.pk, pdf=previous, pdf_sha256=prescription.pdf_sha256
        ).update(pdf=name, pdf_sha256=digest, pdf_rendered_at=timezone.now())
        current = Prescription.objects.select_related(
            "consultation__patient__account", "consultation__doctor__user"
        ).get(pk=prescription.pk)
    except BaseException:
        # The stable name is claimed by the next run; any other name nobody would look for.
        if written and written != pdf_name(prescription):
            _discard(storage, written)
        raise
    if not stored:
        if written and current.pdf.name != written:
            storage.delete(written)  # another worker stored its copy first
    elif previous and previous != name:
        storage.delete(previous)  # the recorded file was lost or damaged; this replaces it
    return current


def _signed(prescription_id: int) -> Prescription | None:
    """The signed prescription with everything ``printed.build`` reads, in two queries."""
    return (
        Prescription.objects.exclude(status=Prescription.Status.DRAFT)
        .select_related(
            "consultation__patient__account",
            "consultation__doctor__user",
            "consultation__doctor__facility",
            "consultation__opd",
            "consultation__ticket__opd",
            "supersedes",
        )
        .prefetch_related("medicines")
        .filter(pk=prescription_id)
        .first()
    )


def pdf_name(prescription: Prescription) -> str:
    return f"prescriptions/{prescription.public_id}-v{prescription.version}.pdf"


def has_stored_pdf(prescription: Prescription) -> bool:
    """The PDF is stored and still the file that was recorded."""
    name = prescription.pdf.name
    if not name or not prescription.pdf_sha256:
        return False
    return _digest(prescription.pdf.storage, name) == prescription.pdf_sha256


def _digest(storage: Storage, name: str) -> str | None:
    try:
        with storage.open(name, "rb") as stored:
            return hashlib.file_digest(stored, "sha256").hexdigest()
    except FileNotFoundError:
        return None


def _discard(storage: Storage, name: str) -> None:
    try:
        storage.delete(name)
    except OSError:
        logger.warning("Could not remove the unclaimed prescription file %s", name)
