"""The signed prescription as an A4 PDF, in the family's language, with a QR code to verify it.

The document depends only on the signed prescription (the patient's age on the day of signing,
``invariant`` ReportLab output), so rendering it twice gives the same bytes. Text, fonts and
Devanagari shaping are in ``pdf_text``.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from django.db import models
from django.utils import dateformat, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, SimpleDocTemplate, Spacer, Table, TableStyle

from consultations.models import MedicineLine, Prescription
from consultations.pdf_text import LATIN, RULE, SHADE, Writer, register_fonts
from consultations.verify import verification_url
from core.clock import IST

PDF_LANGUAGES = ("en", "hi")
PAGE_MARGIN = 14 * mm
QR_SIZE = 32 * mm

VITALS: dict[str, tuple[Any, str]] = {
    "pulse": (gettext_lazy("Pulse"), "/min"),
    "temperature_c": (gettext_lazy("Temperature"), "°C"),
    "spo2": (gettext_lazy("SpO2"), "%"),
    "respiratory_rate": (gettext_lazy("Respiratory rate"), "/min"),
    "weight_kg": (gettext_lazy("Weight"), "kg"),
    "height_cm": (gettext_lazy("Height"), "cm"),
    "blood_glucose_mg_dl": (gettext_lazy("Blood glucose"), "mg/dL"),
}


def document_language(prescription: Prescription) -> str:
    language = prescription.consultation.patient.account.preferred_language
    return language if language in PDF_LANGUAGES else "en"


def signed_at(prescription: Prescription) -> datetime:
    """When the doctor signed, in Indian Standard Time."""
    if prescription.finalised_at is None:
        raise ValueError("A draft prescription has no document.")
    return prescription.finalised_at.astimezone(IST)


def ist(prescription: Prescription) -> str:
    return f"{dateformat.format(signed_at(prescription), 'j F Y, H:i')} {_('IST')}"


def field_label(model: type[models.Model], name: str) -> str:
    """A field's own (translated) name, as the forms show it."""
    return capfirst(str(getattr(model._meta.get_field(name), "verbose_name", name)))


def _header(w: Writer, prescription: Prescription) -> Table:
    consultation = prescription.consultation
    facility = consultation.doctor.facility
    left = [
        w.para(_("eSanjeevani"), "title"),
        w.para(_("e-Prescription after a teleconsultation"), "bold"),
        w.para(f"{_('OPD')}: {consultation.opd.display_name}"),
        w.para(f"{facility.name} · {_('HFR ID')}: {facility.hfr_id}"),
    ]
    qr = QrCodeWidget(verification_url(prescription), barLevel="M", barBorder=2)
    qr.barWidth = qr.barHeight = QR_SIZE
    drawing = Drawing(QR_SIZE, QR_SIZE)
    drawing.add(qr)
    right = [drawing, w.para(_("Scan to check it is genuine"), "small")]
    table = Table([[left, right]], colWidths=[None, QR_SIZE + 4 * mm])
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "CENTER")])
    )
    return table


def _version_line(prescription: Prescription) -> str:
    if prescription.supersedes_id is not None and prescription.supersedes is not None:
        return _("Corrected version %(version)d, supersedes %(previous)s") % {
            "version": prescription.version,
            "previous": prescription.supersedes.display_number,
        }
    return _("Version %(version)d") % {"version": prescription.version}


def _people(w: Writer, prescription: Prescription) -> Table:
    consultation = prescription.consultation
    patient = consultation.patient
    doctor = consultation.doctor
    age = patient.age_on(signed_at(prescription).date())
    patient_block = [
        w.para(_("Patient"), "label"),
        w.para(patient.name, "bold"),
        *w.pairs(
            [
                (_("Age"), ngettext("%(years)d year", "%(years)d years", age) % {"years": age}),
                (_("Sex"), patient.get_sex_display()),
                (_("Patient ID"), patient.display_patient_number),
                (_("ABHA number"), patient.display_abha_number),
            ]
        ),
    ]
    doctor_block = [
        w.para(_("Doctor"), "label"),
        w.para(doctor.name, "bold"),
        *w.pairs(
            [
                (_("Qualification"), doctor.qualification),
                (_("Registration number"), doctor.registration_number),
                (_("Medical council"), doctor.get_medical_council_display()),
                (_("HPR ID"), doctor.hpr_id or ""),
            ]
        ),
    ]
    visit_block = [
        w.para(_("Prescription"), "label"),
        w.para(prescription.display_number, "bold"),
        *w.pairs(
            [(_("Date and time"), ist(prescription)), (_("Token"), consultation.ticket.token)]
        ),
        w.para(_version_line(prescription)),
    ]
    table = Table([[patient_block, doctor_block, visit_block]], colWidths=["32%", "36%", "32%"])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("LINEBEFORE", (1, 0), (-1, -1), 0.6, RULE),
                ("BACKGROUND", (0, 0), (-1, -1), SHADE),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def _vitals(vitals: dict[str, Any]) -> str:
    parts = []
    if vitals.get("bp_systolic") and vitals.get("bp_diastolic"):
        label = _("Blood pressure")
        parts.append(f"{label} {vitals['bp_systolic']:g}/{vitals['bp_diastolic']:g} mmHg")
    for key, (label, unit) in VITALS.items():
        if vitals.get(key) is not None:
            parts.append(f"{label} {vitals[key]:g} {unit}")
    return "; ".join(parts)


def _medicines(w: Writer, lines: list[MedicineLine]) -> list[Flowable]:
    heading = w.para(_("Medicines (Rx)"), "heading")
    if not lines:
        return [heading, w.para(_("No medicines prescribed."))]
    columns = ["name", "dose", "frequency", "duration_days", "route", "timing", "instructions"]
    rows: list[list[Any]] = [
        [w.para(field_label(MedicineLine, name), "cell_head") for name in columns]
    ]
    for line in lines:
        days = line.duration_days or 0
        detail = " · ".join(
            part for part in (line.strength, str(line.get_dosage_form_display())) if part
        )
        rows.append(
            [
                [w.para(line.name, "cell_head"), w.para(detail, "cell")],
                w.para(line.dose, "cell"),
                w.para(line.get_frequency_display(), "cell"),
                w.para(
                    ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
                    if days
                    else "",
                    "cell",
                ),
                w.para(line.get_route_display(), "cell"),
                w.para(line.get_timing_display(), "cell"),
                w.para(line.instructions, "cell"),
            ]
        )
    widths = [x * mm for x in (42, 23, 24, 17, 20, 20, 30)]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("GRID", (0, 0), (-1, -1), 0.5, RULE),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return [heading, table]


def _statements(w: Writer, prescription: Prescription) -> list[Flowable]:
    doctor = prescription.consultation.doctor
    signed = _(
        "Issued electronically by %(doctor)s (%(qualification)s), registration number "
        "%(registration)s, %(council)s, on %(when)s."
    ) % {
        "doctor": doctor.name,
        "qualification": doctor.qualification,
        "registration": doctor.registration_number,
        "council": doctor.get_medical_council_display(),
        "when": ist(prescription),
    }
    statements = [
        _(
            "This prescription was issued after a teleconsultation, under the Telemedicine "
            "Practice Guidelines, 2020."
        ),
        _(
            "It is not valid for medicines in Schedule X of the Drugs and Cosmetics Rules, 1945, "
            "nor for narcotic drugs or psychotropic substances under the NDPS Act, 1985."
        ),
        _(
            "The diagnosis is provisional and made without a physical examination. If you get "
            "worse, see a doctor in person. In an emergency call 112 or 108."
        ),
        _("Check that it is genuine by scanning the QR code or at %(url)s")
        % {"url": verification_url(prescription)},
    ]
    return [
        Spacer(1, 4 * mm),
        w.para(signed, "bold"),
        Spacer(1, 2 * mm),
        *[w.para(text, "statement") for text in statements],
    ]


def _story(w: Writer, prescription: Prescription) -> list[Flowable]:
    diagnosis = prescription.diagnosis
    if prescription.icd10_code:
        diagnosis = f"{diagnosis} (ICD-10: {prescription.icd10_code})"
    follow_up = (
        dateformat.format(prescription.follow_up_on, "j F Y") if prescription.follow_up_on else ""
    )

    def label(name: str) -> str:
        return field_label(Prescription, name)

    return [
        _header(w, prescription),
        Spacer(1, 3 * mm),
        _people(w, prescription),
        *w.section(label("chief_complaints"), prescription.chief_complaints),
        *w.section(label("history"), prescription.history),
        *w.section(label("vitals"), _vitals(prescription.vitals or {})),
        *w.section(label("examination"), prescription.examination),
        *w.section(label("diagnosis"), diagnosis),
        *_medicines(w, list(prescription.medicines.all())),
        *w.section(label("investigations"), prescription.investigations),
        *w.section(label("advice"), prescription.advice),
        *w.section(label("follow_up_on"), follow_up),
        *w.section(label("referral"), prescription.referral),
        *_statements(w, prescription),
    ]


def render_pdf(prescription: Prescription) -> bytes:
    """The signed prescription as PDF bytes."""
    signed_at(prescription)  # a draft has no document
    register_fonts()
    buffer = io.BytesIO()
    with translation.override(document_language(prescription)):
        number = prescription.display_number

        def footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
            canvas.saveState()
            canvas.setFont(LATIN, 7.5)
            canvas.setFillColor(RULE)
            canvas.drawRightString(A4[0] - PAGE_MARGIN, PAGE_MARGIN / 2, f"{number} · {doc.page}")
            canvas.restoreState()

        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=PAGE_MARGIN,
            rightMargin=PAGE_MARGIN,
            topMargin=PAGE_MARGIN,
            bottomMargin=PAGE_MARGIN,
            title=f"{_('Prescription')} {number}",
            author=prescription.consultation.doctor.name,
            subject=_("e-Prescription after a teleconsultation"),
            creator="eSanjeevani",
            lang=translation.get_language(),
            invariant=True,
        )
        document.build(_story(Writer(), prescription), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
