"""What a prescription must hold: checked loosely while it is a draft, fully to finalise."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

ICD10_RE = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")
MAX_MEDICINES = 20

# name: (lowest, highest) plausible value; a value outside is a typing mistake.
VITALS: dict[str, tuple[float, float]] = {
    "bp_systolic": (50, 260),
    "bp_diastolic": (30, 160),
    "pulse": (20, 250),
    "temperature_c": (30, 45),
    "spo2": (50, 100),
    "respiratory_rate": (4, 80),
    "weight_kg": (0.3, 300),
    "height_cm": (20, 250),
    "blood_glucose_mg_dl": (20, 900),
}


def clean_icd10(code: str) -> str:
    code = (code or "").strip().upper()
    if code and not ICD10_RE.fullmatch(code):
        raise ValueError(_("An ICD-10 code looks like J06.9 or A09."))
    return code


def clean_vitals(raw: Any) -> dict[str, float]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise ValueError(_("Vitals must be given as named values."))
    clean: dict[str, float] = {}
    problems = []
    for name, value in raw.items():
        if name not in VITALS:
            problems.append(_("Unknown vital sign: %(name)s.") % {"name": str(name)[:30]})
            continue
        if value in (None, ""):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            problems.append(_("%(name)s must be a number.") % {"name": name})
            continue
        low, high = VITALS[name]
        if not low <= number <= high:
            problems.append(
                _("%(name)s must be between %(low)s and %(high)s.")
                % {"name": name, "low": f"{low:g}", "high": f"{high:g}"}
            )
            continue
        clean[name] = number
    if problems:
        raise ValueError(" ".join(problems))
    return clean


def finalise_problems(
    data: dict[str, Any], medicines: list[dict[str, Any]], today: date
) -> dict[str, list[str]]:
    """Everything a prescription needs before it can be signed, by field."""
    problems: dict[str, list[str]] = {}
    if not (data.get("chief_complaints") or "").strip():
        problems["chief_complaints"] = [_("Write the chief complaints.")]
    if not (data.get("diagnosis") or "").strip():
        problems["diagnosis"] = [_("Write the provisional diagnosis.")]
    follow_up = data.get("follow_up_on")
    if follow_up is not None and follow_up <= today:
        problems["follow_up_on"] = [_("The follow-up date must be after today.")]
    if not medicines and not (data.get("advice") or "").strip():
        problems["medicines"] = [_("Prescribe at least one medicine, or write advice.")]
    for index, medicine in enumerate(medicines):
        missing = []
        if not medicine.get("dose"):
            missing.append(_("the dose"))
        if not medicine.get("frequency"):
            missing.append(_("how often"))
        if not medicine.get("duration_days"):
            missing.append(_("for how many days"))
        if missing:
            problems[f"medicines.{index}"] = [
                _("%(medicine)s needs %(missing)s.")
                % {
                    "medicine": medicine.get("name") or _("This medicine"),
                    "missing": ", ".join(missing),
                }
            ]
    return problems
