"""The prescription PDF: what it says (English by text extraction, Hindi by OCR, since shaped
Devanagari does not survive extraction), its QR code, and storing it exactly once."""

from __future__ import annotations

import io
import shutil
import subprocess
import threading
from pathlib import Path
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate

from consultations import announcements, documents, services
from consultations.documents import render_pdf
from consultations.models import Prescription
from consultations.pdf_text import LATIN, markup, register_fonts
from consultations.verify import verification_url
from tests.consultations.prescribing import correct, sign
from tests.pdfs import first_page_png, qr_payload, tool

pytestmark = pytest.mark.django_db

HINDI_ADVICE = "दिन में तीन बार खाना खाने के बाद"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def layout_text(pdf: bytes) -> str:
    """The text with each table row on one line, as a reader sees it."""
    result = subprocess.run(
        [tool("pdftotext", "poppler-utils"), "-layout", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode()


def text(pdf: bytes) -> str:
    """The extracted text, with line breaks (column widths decide them) as plain spaces."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def ocr_hindi(pdf: bytes, directory: Path) -> str:
    result = subprocess.run(
        [
            tool("tesseract", "tesseract-ocr-hin"),
            str(first_page_png(pdf, directory)),
            "-",
            "-l",
            "hin",
        ],
        capture_output=True,
        check=True,
    )
    return result.stdout.decode()


def prefers_hindi(visit) -> None:
    account = visit.patient.account
    account.preferred_language = "hi"
    account.save(update_fields=["preferred_language"])


def test_it_prints_the_patient(visit, django_capture_on_commit_callbacks):
    pdf = text(render_pdf(sign(visit, django_capture_on_commit_callbacks)))
    patient = visit.patient
    assert "Sunita Devi" in pdf
    assert "Age: 35 years" in pdf  # born 17 May 1990, signed 10 March 2026
    assert "Sex: Female" in pdf
    assert f"Patient ID: {patient.display_patient_number}" in pdf
    assert "ABHA" not in pdf


def test_it_prints_the_abha_number_when_the_patient_has_one(
    visit, django_capture_on_commit_callbacks
):
    visit.patient.abha_number = "91123456789012"
    visit.patient.save(update_fields=["abha_number"])
    pdf = text(render_pdf(sign(visit, django_capture_on_commit_callbacks)))
    assert "ABHA number: 91-1234-5678-9012" in pdf


def test_it_prints_the_doctors_registration_number_and_council(
    visit, django_capture_on_commit_callbacks
):
    doctor = visit.doctor
    doctor.hpr_id = "asha.verma@hpr.abdm"
    doctor.save(update_fields=["hpr_id"])
    pdf = text(render_pdf(sign(visit, django_capture_on_commit_callbacks)))
    assert "Dr Asha Verma" in pdf
    assert "Qualification: MBBS" in pdf
    assert "Registration number: UPMC-45821" in pdf
    assert "Medical council: Uttar Pradesh Medical Council" in pdf
    assert "HPR ID: asha.verma@hpr.abdm" in pdf


def test_it_prints_the_facility_opd_and_token(visit, django_capture_on_commit_callbacks):
    pdf = text(render_pdf(sign(visit, django_capture_on_commit_callbacks)))
    facility = visit.doctor.facility
    assert f"HFR ID: {facility.hfr_id}" in pdf
    assert facility.name in pdf
    assert f"OPD: {visit.opd.name}" in pdf
    assert f"Token: {visit.token}" in pdf


def test_it_prints_the_time_of_signing_in_ist(visit, django_capture_on_commit_callbacks):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    pdf = text(render_pdf(prescription))
    assert "Date and time: 10 March 2026, 10:30 IST" in pdf  # signed 05:00 UTC
    assert prescription.display_number in pdf
    assert "Version 1" in pdf


def test_it_prints_the_clinical_record(visit, django_capture_on_commit_callbacks):
    pdf = text(render_pdf(sign(visit, django_capture_on_commit_callbacks)))
    for expected in [
        "Chief complaints",
        "Fever for 3 days with body ache",
        "Known asthmatic since childhood",
        "Blood pressure 118/76 mmHg",
        "Temperature 38.4 °C",
        "Throat congested",
        "Provisional diagnosis",
        "Acute viral fever (ICD-10: B34.9)",
        "Complete blood count",
        "Drink plenty of fluids and rest",
        "Follow-up date",
        "17 March 2026",
    ]:
        assert expected in pdf


def test_it_lays_medicines_out_as_table_rows(visit, django_capture_on_commit_callbacks):
    lines = layout_text(render_pdf(sign(visit, django_capture_on_commit_callbacks))).splitlines()
    header = next(line for line in lines if "Medicine" in line and "Dose" in line)
    for column in ["How often", "Route", "When", "Instructions"]:
        assert column in header
    paracetamol = next(line for line in lines if line.lstrip().startswith("Paracetamol"))
    cells = ["1 tablet", "Three times a", "3 days", "By mouth", "After food", "Only if the"]
    positions = [paracetamol.index(cell) for cell in cells]
    assert positions == sorted(positions)
    ors = next(line for line in lines if line.lstrip().startswith("ORS"))
    for cell in ["1 sachet in 1", "When needed", "5 days", "Any time"]:
        assert cell in ors
    assert "500 mg · Tablet" in "\n".join(lines)


def test_it_carries_the_telemedicine_guidelines_statements(
    visit, django_capture_on_commit_callbacks
):
    pdf = text(render_pdf(sign(visit, django_capture_on_commit_callbacks)))
    assert "teleconsultation, under the Telemedicine Practice Guidelines, 2020" in pdf
    assert "not valid for medicines in Schedule X" in pdf
    assert "narcotic drugs or psychotropic substances" in pdf
    assert "registration number UPMC-45821, Uttar Pradesh Medical Council" in pdf


def test_it_says_a_correction_supersedes_the_earlier_version(
    visit, django_capture_on_commit_callbacks
):
    first = sign(visit, django_capture_on_commit_callbacks)
    second = correct(visit, first, django_capture_on_commit_callbacks)
    pdf = text(render_pdf(second))
    assert f"Corrected version 2, supersedes {first.display_number}" in pdf
    assert "Dengue fever, suspected" in pdf


def test_it_links_the_qr_code_to_the_verification_page(
    visit, django_capture_on_commit_callbacks, tmp_path
):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    assert qr_payload(render_pdf(prescription), tmp_path) == verification_url(prescription)
    assert verification_url(prescription).startswith("http://127.0.0.1:8000/verify/")


def test_it_prints_a_hindi_familys_free_text_correctly_shaped(
    visit, django_capture_on_commit_callbacks, tmp_path
):
    prefers_hindi(visit)
    prescription = sign(visit, django_capture_on_commit_callbacks, advice=HINDI_ADVICE)
    words = ocr_hindi(render_pdf(prescription), tmp_path).split()
    # Unshaped, the i-sign lands after its letter and दिन reads दनि.
    for word in ["दिन", "में", "तीन", "बार", "खाना", "खाने", "बाद"]:
        assert word in words


def test_it_labels_a_hindi_familys_prescription_in_hindi(
    visit, django_capture_on_commit_callbacks, tmp_path
):
    prefers_hindi(visit)
    ocr = ocr_hindi(render_pdf(sign(visit, django_capture_on_commit_callbacks)), tmp_path)
    assert "ई-संजीवनी" in ocr
    assert "मरीज़ आईडी" in ocr or "मरीज आईडी" in ocr


def test_it_would_notice_unshaped_hindi(tmp_path):
    """The control for the OCR tests: the same words set without shaping do not read back."""
    register_fonts()
    buffer = io.BytesIO()
    style = ParagraphStyle("unshaped", fontName=LATIN, fontSize=9.5, leading=13, shaping=0)
    SimpleDocTemplate(buffer, pagesize=A4).build([Paragraph(markup(HINDI_ADVICE), style)])
    words = ocr_hindi(buffer.getvalue(), tmp_path).split()
    assert "दिन" not in words


def test_it_renders_the_same_bytes_each_time(visit, django_capture_on_commit_callbacks):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    assert render_pdf(prescription) == render_pdf(prescription)


def test_it_does_not_render_a_draft(visit, django_capture_on_commit_callbacks):
    first = sign(visit, django_capture_on_commit_callbacks)
    draft = services.start_correction(first, doctor=visit.doctor)
    with pytest.raises(ValueError, match="draft"):
        render_pdf(draft)


def test_it_says_which_font_is_missing(visit, django_capture_on_commit_callbacks, settings):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    settings.PDF_FONT_DIR = "/nonexistent/fonts"
    with pytest.raises(ImproperlyConfigured, match="fonts-noto-core"):
        render_pdf(prescription)


# --- Storing the document: render_and_store ------------------------------------------------


def stored_files(prescription: Prescription, media: Path) -> list[Path]:
    return sorted((media / "prescriptions").glob(f"{prescription.public_id}*"))


def test_it_stores_the_pdf_under_a_stable_name(visit, django_capture_on_commit_callbacks):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    documents.render_and_store(prescription.pk)
    prescription.refresh_from_db()
    assert prescription.pdf.name == f"prescriptions/{prescription.public_id}-v1.pdf"
    assert prescription.pdf_rendered_at is not None
    assert documents.has_stored_pdf(prescription)


def test_it_renders_once_when_the_task_runs_twice(
    visit, django_capture_on_commit_callbacks, settings
):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    with mock.patch.object(documents, "render_pdf", wraps=render_pdf) as rendering:
        documents.render_and_store(prescription.pk)
        first = Prescription.objects.get(pk=prescription.pk)
        documents.render_and_store(prescription.pk)
    second = Prescription.objects.get(pk=prescription.pk)
    assert rendering.call_count == 1
    assert (second.pdf.name, second.pdf_sha256) == (first.pdf.name, first.pdf_sha256)
    assert second.pdf_rendered_at == first.pdf_rendered_at
    assert len(stored_files(prescription, settings.MEDIA_ROOT)) == 1


def test_a_file_cut_short_by_a_killed_worker_is_replaced_not_left_beside(
    visit, django_capture_on_commit_callbacks, settings
):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    stable = Path(settings.MEDIA_ROOT) / documents.pdf_name(prescription)
    stable.parent.mkdir(parents=True, exist_ok=True)
    stable.write_bytes(b"%PDF-1.4\n%cut short")  # what a worker killed mid-write leaves
    documents.render_and_store(prescription.pk)
    prescription.refresh_from_db()
    assert prescription.pdf.name == documents.pdf_name(prescription)
    assert documents.has_stored_pdf(prescription)
    assert stored_files(prescription, settings.MEDIA_ROOT) == [stable]


def test_it_asks_for_the_notification_on_every_run(
    visit, django_capture_on_commit_callbacks, monkeypatch
):
    """The notification service keeps its own idempotency key: a run that died after storing
    the PDF but before asking must still ask."""
    prescription = sign(visit, django_capture_on_commit_callbacks)
    notify = mock.Mock()
    monkeypatch.setattr(announcements, "announce_prescription_ready", notify)
    documents.render_and_store(prescription.pk)
    documents.render_and_store(prescription.pk)
    assert [call.args[0].pk for call in notify.call_args_list] == [prescription.pk] * 2


def test_it_renders_a_superseded_version_too(visit, django_capture_on_commit_callbacks):
    first = sign(visit, django_capture_on_commit_callbacks)
    correct(visit, first, django_capture_on_commit_callbacks)
    documents.render_and_store(first.pk)
    first.refresh_from_db()
    assert first.status == Prescription.Status.SUPERSEDED
    assert documents.has_stored_pdf(first)


def test_it_renders_again_when_the_stored_file_is_lost(
    visit, django_capture_on_commit_callbacks, settings
):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    documents.render_and_store(prescription.pk)
    prescription.refresh_from_db()
    Path(prescription.pdf.path).unlink()
    documents.render_and_store(prescription.pk)
    again = Prescription.objects.get(pk=prescription.pk)
    assert documents.has_stored_pdf(again)
    assert again.pdf_sha256 == prescription.pdf_sha256
    assert len(stored_files(prescription, settings.MEDIA_ROOT)) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_stores_one_file_when_two_workers_render_at_once(
    visit, django_capture_on_commit_callbacks, settings, monkeypatch
):
    prescription = sign(visit, django_capture_on_commit_callbacks)
    # Committed for real here, so the eager task already rendered: start again from nothing.
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
    Prescription.objects.filter(pk=prescription.pk).update(
        pdf="", pdf_sha256="", pdf_rendered_at=None
    )
    both_rendered = threading.Barrier(2)
    one_at_a_time = threading.Lock()

    def render_then_wait(rx: Prescription) -> bytes:
        with one_at_a_time:
            data = render_pdf(rx)
        both_rendered.wait(timeout=60)
        return data

    monkeypatch.setattr(documents, "render_pdf", render_then_wait)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            documents.render_and_store(prescription.pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert errors == []
    stored = Prescription.objects.get(pk=prescription.pk)
    assert documents.has_stored_pdf(stored)
    files = stored_files(prescription, settings.MEDIA_ROOT)
    assert [f"prescriptions/{path.name}" for path in files] == [stored.pdf.name]
