"""The printed prescription laid out as an A4 PDF, with a QR code to verify it.

Layout only: ``render`` takes what ``consultations.printed`` built (no database after that step)
and returns bytes. The output is ``invariant`` ReportLab, so rendering the same document twice
gives the same bytes. Text, fonts and Devanagari shaping are in ``pdf_text``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils import dateformat, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, SimpleDocTemplate, Spacer, Table, TableStyle

from consultations.pdf_text import LATIN, RULE, SHADE, Writer, register_fonts
from consultations.printed import PrintedMedicine, PrintedPrescription

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


def ist(moment: datetime) -> str:
    return f"{dateformat.format(moment, 'j F Y, H:i')} {_('IST')}"


def _header(w: Writer, rx: PrintedPrescription) -> Table:
    left = [
        w.para(_("eSanjeevani"), "title"),
        w.para(_("e-Prescription after a teleconsultation"), "bold"),
        w.para(f"{_('OPD')}: {rx.opd_name}"),
        w.para(f"{rx.facility_name} · {_('HFR ID')}: {rx.facility_hfr_id}"),
    ]
    qr = QrCodeWidget(rx.verification_url, barLevel="M", barBorder=2)
    qr.barWidth = qr.barHeight = QR_SIZE
    drawing = Drawing(QR_SIZE, QR_SIZE)
    drawing.add(qr)
    right = [drawing, w.para(_("Scan to check it is genuine"), "small")]
    table = Table([[left, right]], colWidths=[None, QR_SIZE + 4 * mm])
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "CENTER")])
    )
    return table


def _version_line(rx: PrintedPrescription) -> str:
    if rx.supersedes_number is not None:
        return _("Corrected version %(version)d, supersedes %(previous)s") % {
            "version": rx.version,
            "previous": rx.supersedes_number,
        }
    return _("Version %(version)d") % {"version": rx.version}


def _people(w: Writer, rx: PrintedPrescription) -> Table:
    age = rx.patient_age
    patient_block = [
        w.para(_("Patient"), "label"),
        w.para(rx.patient_name, "bold"),
        *w.pairs(
            [
                (_("Age"), ngettext("%(years)d year", "%(years)d years", age) % {"years": age}),
                (_("Sex"), rx.patient_sex),
                (_("Patient ID"), rx.patient_number),
                (_("ABHA number"), rx.abha_number),
            ]
        ),
    ]
    doctor_block = [
        w.para(_("Doctor"), "label"),
        w.para(rx.doctor_name, "bold"),
        *w.pairs(
            [
                (_("Qualification"), rx.qualification),
                (_("Registration number"), rx.registration_number),
                (_("Medical council"), rx.medical_council),
                (_("HPR ID"), rx.hpr_id),
            ]
        ),
    ]
    visit_block = [
        w.para(_("Prescription"), "label"),
        w.para(rx.number, "bold"),
        *w.pairs([(_("Date and time"), ist(rx.signed_at)), (_("Token"), rx.token)]),
        w.para(_version_line(rx)),
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


def _vitals(vitals: Mapping[str, Any]) -> str:
    parts = []
    if vitals.get("bp_systolic") and vitals.get("bp_diastolic"):
        label = _("Blood pressure")
        parts.append(f"{label} {vitals['bp_systolic']:g}/{vitals['bp_diastolic']:g} mmHg")
    for key, (label, unit) in VITALS.items():
        if vitals.get(key) is not None:
            parts.append(f"{label} {vitals[key]:g} {unit}")
    return "; ".join(parts)


def _medicines(
    w: Writer, lines: tuple[PrintedMedicine, ...], headings: Mapping[str, str]
) -> list[Flowable]:
    heading = w.para(_("Medicines (Rx)"), "heading")
    if not lines:
        return [heading, w.para(_("No medicines prescribed."))]
    columns = ["name", "dose", "frequency", "duration_days", "route", "timing", "instructions"]
    rows: list[list[Any]] = [[w.para(headings[name], "cell_head") for name in columns]]
    for line in lines:
        days = line.duration_days
        detail = " · ".join(part for part in (line.strength, line.dosage_form) if part)
        rows.append(
            [
                [w.para(line.name, "cell_head"), w.para(detail, "cell")],
                w.para(line.dose, "cell"),
                w.para(line.frequency, "cell"),
                w.para(
                    ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
                    if days
                    else "",
                    "cell",
                ),
                w.para(line.route, "cell"),
                w.para(line.timing, "cell"),
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


def _statements(w: Writer, rx: PrintedPrescription) -> list[Flowable]:
    signed = _(
        "Issued electronically by %(doctor)s (%(qualification)s), registration number "
        "%(registration)s, %(council)s, on %(when)s."
    ) % {
        "doctor": rx.doctor_name,
        "qualification": rx.qualification,
        "registration": rx.registration_number,
        "council": rx.medical_council,
        "when": ist(rx.signed_at),
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
        % {"url": rx.verification_url},
    ]
    return [
        Spacer(1, 4 * mm),
        w.para(signed, "bold"),
        Spacer(1, 2 * mm),
        *[w.para(text, "statement") for text in statements],
    ]


def _story(w: Writer, rx: PrintedPrescription) -> list[Flowable]:
    diagnosis = f"{rx.diagnosis} (ICD-10: {rx.icd10_code})" if rx.icd10_code else rx.diagnosis
    follow_up = dateformat.format(rx.follow_up_on, "j F Y") if rx.follow_up_on else ""

    return [
        _header(w, rx),
        Spacer(1, 3 * mm),
        _people(w, rx),
        *w.section(rx.headings["chief_complaints"], rx.chief_complaints),
        *w.section(rx.headings["history"], rx.history),
        *w.section(rx.headings["vitals"], _vitals(rx.vitals)),
        *w.section(rx.headings["examination"], rx.examination),
        *w.section(rx.headings["diagnosis"], diagnosis),
        *_medicines(w, rx.medicines, rx.medicine_headings),
        *w.section(rx.headings["investigations"], rx.investigations),
        *w.section(rx.headings["advice"], rx.advice),
        *w.section(rx.headings["follow_up_on"], follow_up),
        *w.section(rx.headings["referral"], rx.referral),
        *_statements(w, rx),
    ]


def render(rx: PrintedPrescription) -> bytes:
    """The printed prescription as PDF bytes, in its language."""
    register_fonts()
    buffer = io.BytesIO()
    with translation.override(rx.language):

        def footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
            canvas.saveState()
            canvas.setFont(LATIN, 7.5)
            canvas.setFillColor(RULE)
            canvas.drawRightString(
                A4[0] - PAGE_MARGIN, PAGE_MARGIN / 2, f"{rx.number} · {doc.page}"
            )
            canvas.restoreState()

        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=PAGE_MARGIN,
            rightMargin=PAGE_MARGIN,
            topMargin=PAGE_MARGIN,
            bottomMargin=PAGE_MARGIN,
            title=f"{_('Prescription')} {rx.number}",
            author=rx.doctor_name,
            subject=_("e-Prescription after a teleconsultation"),
            creator="eSanjeevani",
            lang=translation.get_language(),
            invariant=True,
        )
        document.build(_story(Writer(), rx), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
