"""The prescription form as the pages show it.

The fields carry the API's names (``medicines.0.dose``, ``vitals.pulse``), so one shape serves
the three ways a draft arrives: a browser without JavaScript posts the form, prescription.js
sends the same names as JSON, and the API's error envelope names the same fields back. Either
way ``consultations.api.PrescriptionSerializer`` checks the input: nothing here validates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consultations import selectors
from consultations.limits import max_length, value_range
from consultations.models import Consultation, MedicineLine, Prescription
from consultations.validation import MAX_MEDICINES, VITALS
from core.clock import india_today

TEXT_FIELDS = (
    "chief_complaints", "history", "examination", "diagnosis", "icd10_code", "investigations",
    "advice", "referral",
)  # fmt: skip
# As long as the model allows (the API's serializer takes the same limits).
TEXT_LIMITS = {name: max_length(Prescription, name) for name in TEXT_FIELDS}
LABELS: dict[str, str | Promise] = {
    "chief_complaints": _("Chief complaints"),
    "history": _("History"),
    "examination": _("Examination findings"),
    "diagnosis": _("Provisional diagnosis"),
    "icd10_code": _("ICD-10 code (optional)"),
    "investigations": _("Investigations advised"),
    "advice": _("Advice"),
    "follow_up_on": _("Follow-up date"),
    "referral": _("Referral"),
    "vitals": _("Vitals"),
    "medicines": _("Medicines"),
}
VITAL_LABELS: dict[str, str | Promise] = {
    "bp_systolic": _("Blood pressure, systolic (mmHg)"),
    "bp_diastolic": _("Blood pressure, diastolic (mmHg)"),
    "pulse": _("Pulse (per minute)"),
    "temperature_c": _("Temperature (°C)"),
    "spo2": _("SpO₂ (%)"),
    "respiratory_rate": _("Breaths per minute"),
    "weight_kg": _("Weight (kg)"),
    "height_cm": _("Height (cm)"),
    "blood_glucose_mg_dl": _("Blood glucose (mg/dL)"),
}
MEDICINE_LABELS: dict[str, str | Promise] = {
    "name": _("Medicine name"),
    "strength": _("Strength"),
    "dosage_form": _("Form"),
    "dose": _("Dose"),
    "frequency": _("How often"),
    "duration_days": _("For how many days"),
    "route": _("Route"),
    "timing": _("When, with food"),
    "instructions": _("Instructions"),
}
# What a new medicine row starts with; a row with none of its text filled in is left out.
MEDICINE_DEFAULTS = {
    "dosage_form": MedicineLine.DosageForm.TABLET,
    "route": MedicineLine.Route.ORAL,
    "timing": MedicineLine.Timing.ANY,
}
MEDICINE_TEXT = ("name", "strength", "dose", "duration_days", "instructions")
_MEDICINE_KEY = re.compile(r"^medicines\.(\d{1,2})\.([a-z_]+)$")


class PageField:
    """One input of the prescription, shaped like a bound Django form field, so that
    ``includes/field.html`` shows it with its label, help and errors like every other form."""

    widget_type = "input"

    def __init__(
        self,
        name: str,
        label: str | Promise,
        widget: forms.Widget,
        value: Any = "",
        errors: list[str] | None = None,
        *,
        help_text: str | Promise = "",
    ) -> None:
        self.name = name
        self.label = label
        self.widget = widget
        self.value = value
        self.errors = errors or []
        self.help_text = help_text
        self.auto_id = "rx-" + name.replace(".", "-")
        self.id_for_label = self.auto_id

    def __str__(self) -> str:
        return self.__html__()

    def __html__(self) -> SafeString:
        attrs = {"id": self.auto_id}
        described = [f"{self.auto_id}_helptext"] if self.help_text else []
        if self.errors:
            described.append(f"{self.auto_id}_errors")
            attrs["aria-invalid"] = "true"
        if described:
            attrs["aria-describedby"] = " ".join(described)
        return self.widget.render(self.name, self.value, attrs)


def _textarea(limit: int, rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "cols": 40, "maxlength": limit})


class MedicineRow:
    """One medicine: a numbered group of fields, with the row's own errors."""

    def __init__(
        self, index: int | str, line: Mapping[str, Any], errors: Mapping[str, list[str]]
    ) -> None:
        self.index = index
        self.number = index + 1 if isinstance(index, int) else ""
        prefix = f"medicines.{index}"
        self.auto_id = "rx-" + prefix.replace(".", "-")
        self.errors = list(errors.get(prefix, []))
        values = {**MEDICINE_DEFAULTS, **line}
        self.fields = [
            PageField(
                f"{prefix}.{name}",
                MEDICINE_LABELS[name],
                self._widget(name),
                _shown(values.get(name)),
                list(errors.get(f"{prefix}.{name}", [])),
            )
            for name in MEDICINE_LABELS
        ]

    @staticmethod
    def _widget(name: str) -> forms.Widget:
        attrs: dict[str, Any] = {"data-medicine-field": name}
        if name == "dosage_form":
            return forms.Select(attrs, choices=MedicineLine.DosageForm.choices)
        if name == "frequency":
            return forms.Select(
                attrs, choices=[("", _("Choose…")), *MedicineLine.Frequency.choices]
            )
        if name == "route":
            return forms.Select(attrs, choices=MedicineLine.Route.choices)
        if name == "timing":
            return forms.Select(attrs, choices=MedicineLine.Timing.choices)
        if name == "duration_days":
            low, high = value_range(MedicineLine, name)
            return forms.NumberInput({**attrs, "min": low, "max": high, "inputmode": "numeric"})
        limit = max_length(MedicineLine, name)
        return forms.TextInput({**attrs, "maxlength": limit, "autocomplete": "off"})


class PrescriptionForm:
    """The prescription's fields, grouped as the page shows them, with the values and errors
    to show (``errors`` maps the API's field names to messages)."""

    def __init__(
        self,
        values: Mapping[str, Any],
        errors: Mapping[str, list[str]] | None = None,
        *,
        today: date,
    ) -> None:
        self.values = values
        self.errors: Mapping[str, list[str]] = errors or {}
        # What a doctor writes first comes first: complaints, diagnosis, medicines, advice and
        # follow-up. Vitals and the rest follow, folded away unless they hold something.
        self.complaints = [self._text("chief_complaints"), self._text("history")]
        self.diagnosis = [self._text("diagnosis", rows=2), self._icd10()]
        self.medicines = [
            MedicineRow(index, line, self.errors)
            for index, line in enumerate(values.get("medicines") or [])
        ]
        # An empty row to write in: the first one when there is none yet (shown to everyone);
        # after saved ones, for pages without JavaScript (which adds rows itself).
        self.new_medicine = MedicineRow(len(self.medicines), {}, {})
        self.medicine_template = MedicineRow("__i__", {}, {})
        self.plan = [self._text("advice"), self._follow_up(today)]
        vitals = values.get("vitals") or {}
        self.vitals = self._vitals(vitals)
        self.more = [
            self._text("examination"),
            self._text("investigations", rows=2),
            self._text("referral", rows=2),
        ]
        self.vitals_errors = self._errors("vitals")
        self.medicines_errors = self._errors("medicines")
        # The folded part opens when it holds anything, so nothing written or wrong is hidden.
        self.more_open = bool(vitals or self.vitals_errors) or any(
            field.value or field.errors for field in self.more
        )

    def _icd10(self) -> PageField:
        return PageField(
            "icd10_code",
            LABELS["icd10_code"],
            forms.TextInput(
                {
                    "maxlength": TEXT_LIMITS["icd10_code"],
                    "autocomplete": "off",
                    "spellcheck": "false",
                }
            ),
            self.values.get("icd10_code", ""),
            self._errors("icd10_code"),
            help_text=_("For example J06.9"),
        )

    def _follow_up(self, today: date) -> PageField:
        return PageField(
            "follow_up_on",
            LABELS["follow_up_on"],
            forms.DateInput({"type": "date", "min": (today + timedelta(days=1)).isoformat()}),
            self.values.get("follow_up_on") or "",
            self._errors("follow_up_on"),
        )

    @staticmethod
    def _vitals(vitals: Mapping[str, Any]) -> list[PageField]:
        return [
            PageField(
                f"vitals.{name}",
                VITAL_LABELS[name],
                forms.NumberInput(
                    {"min": f"{low:g}", "max": f"{high:g}", "step": "any", "inputmode": "decimal"}
                ),
                _shown(vitals.get(name)),
            )
            for name, (low, high) in VITALS.items()
        ]

    def _errors(self, name: str) -> list[str]:
        return list(self.errors.get(name, []))

    def _text(self, name: str, rows: int = 3) -> PageField:
        return PageField(
            name,
            LABELS[name],
            _textarea(TEXT_LIMITS[name], rows),
            self.values.get(name, ""),
            self._errors(name),
        )

    def summary(self) -> list[dict[str, str]]:
        """Every error, with what it is about and where on the page its field is."""
        return [
            {"anchor": _anchor(key), "label": str(_label(key)), "message": message}
            for key, messages in self.errors.items()
            for message in messages
        ]


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _anchor(key: str) -> str:
    """The id of the field (or group) an error is about, as PageField and MedicineRow make it."""
    if key in LABELS or key.startswith("medicines."):
        return "rx-" + key.replace(".", "-")
    return "rx-errors"


def _label(key: str) -> str | Promise:
    if key in LABELS:
        return LABELS[key]
    match = re.fullmatch(r"medicines\.(\d+)(?:\.([a-z_]+))?", key)
    if match is None:
        return ""
    number = int(match.group(1)) + 1
    field = match.group(2)
    if field in MEDICINE_LABELS:
        return _("Medicine %(number)d, %(field)s") % {
            "number": number,
            "field": MEDICINE_LABELS[field],
        }
    return _("Medicine %(number)d") % {"number": number}


# --- What the form holds, and what a browser posted ---------------------------------------------


def values_of(prescription: Prescription) -> dict[str, Any]:
    """A saved prescription in the form's (and the API's) shape."""
    values: dict[str, Any] = {name: getattr(prescription, name) for name in TEXT_LIMITS}
    values["follow_up_on"] = (
        prescription.follow_up_on.isoformat() if prescription.follow_up_on else ""
    )
    values["vitals"] = dict(prescription.vitals or {})
    values["medicines"] = [
        {name: getattr(line, name) for name in MEDICINE_LABELS}
        for line in prescription.medicines.all()
    ]
    return values


def posted(data: QueryDict) -> dict[str, Any]:
    """The form as a browser without JavaScript posts it, in the API's JSON shape."""
    values: dict[str, Any] = {name: data.get(name, "") for name in TEXT_LIMITS}
    values["follow_up_on"] = data.get("follow_up_on") or None
    vitals = {name: str(data.get(f"vitals.{name}", "")).strip() for name in VITALS}
    values["vitals"] = {name: value for name, value in vitals.items() if value}
    rows: dict[int, dict[str, Any]] = {}
    for key in data:
        match = _MEDICINE_KEY.match(key)
        if match and match.group(2) in MEDICINE_LABELS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = str(data[key]).strip()
    medicines = []
    for index in sorted(rows)[: MAX_MEDICINES + 1]:
        line = rows[index]
        if not any(line.get(name) for name in MEDICINE_TEXT):
            continue  # an untouched row (the form always offers an empty one)
        line["duration_days"] = line.get("duration_days") or None
        medicines.append(line)
    values["medicines"] = medicines
    return values


# --- What the form's template needs ------------------------------------------------------------


def form_context(
    consultation: Consultation,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, list[str]] | None = None,
    message: str = "",
) -> dict[str, Any]:
    """The context of ``consultations/prescription_form.html``: the saved prescription, or what
    was posted with its errors."""
    prescription = selectors.current_prescription(consultation)
    ticket = consultation.ticket
    return {
        "consultation": consultation,
        "ticket": ticket,
        "patient": consultation.patient,
        "prescription": prescription,
        "editable": prescription.is_draft,
        "form": PrescriptionForm(
            values if values is not None else values_of(prescription),
            errors,
            today=india_today(),
        ),
        "message": message,
        "signed": consultation.prescriptions.exclude(status=Prescription.Status.DRAFT).order_by(
            "-version"
        ),
        "earlier": selectors.earlier_prescriptions(consultation),
        "strings": script_strings(),
    }


def script_strings() -> dict[str, str]:
    """What prescription.js says, translated here in the page's language."""
    return {
        "saving": gettext("Saving…"),
        "saved": gettext("Saved {time}"),
        "not_saved": gettext("Not saved: {errors}"),
        "offline": gettext(
            "Not saved: no connection. Your changes are kept in this browser and will be sent "
            "when the connection is back."
        ),
        "signed_out": gettext("Not saved: you are signed out. Sign in again, then reload."),
        "restored": gettext("Your unsaved changes from before the reload are back."),
        "failed": gettext("Something went wrong. Please try again."),
        "signing": gettext("Signing…"),
        "signed": gettext("Prescription {number} is signed and on its way to the patient."),
        "correcting": gettext(
            "Correction started (version {version}). Change what is wrong, then sign again."
        ),
        "medicine": gettext("Medicine {number}"),
    }
