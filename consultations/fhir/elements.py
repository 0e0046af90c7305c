"""Small FHIR elements: codings, concepts, narratives, stable ids, and a medicine's dosage."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.utils.html import escape
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.dosage import Dosage
from fhir.resources.R4B.duration import Duration
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.narrative import Narrative
from fhir.resources.R4B.timing import Timing, TimingRepeat

from consultations.fhir.codes import (
    FREQUENCY_TIMING,
    ID_NAMESPACE,
    NRCES_PROFILE,
    ROUTE_SNOMED,
    SNOMED,
    UCUM,
    XHTML,
)
from consultations.models import MedicineLine


def resource_id(public_id: uuid.UUID, resource_type: str, *parts: str) -> str:
    """A stable id: the same row and resource type always give the same UUID."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join([str(public_id), resource_type, *parts])))


def coding(system: str, code: str, display: str | None = None) -> Coding:
    return Coding(system=system, code=code, display=display)


def concept(
    system: str | None = None, code: str | None = None, display: str | None = None, *,
    text: str | None = None,
) -> CodeableConcept:  # fmt: skip
    codings = [coding(system, code, display)] if system and code else None
    return CodeableConcept(coding=codings, text=text)


def snomed(code: tuple[str, str]) -> CodeableConcept:
    return concept(SNOMED, code[0], code[1], text=code[1])


def meta(profile: str | None, **extra: Any) -> Meta:
    return Meta(profile=[f"{NRCES_PROFILE}{profile}"] if profile else None, **extra)


def narrative(*paragraphs: str) -> Narrative:
    body = "".join(f"<p>{escape(text)}</p>" for text in paragraphs if text)
    return Narrative(status="generated", div=f'<div xmlns="{XHTML}">{body}</div>')


def text_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def plural_days(days: int) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def dosage_for(line: MedicineLine) -> Dosage:
    """How to take one medicine: readable text, and the same as structured timing (labels in
    the active language; the bundles build it in English)."""
    frequency = line.frequency
    repeat: dict[str, Any] = {}
    if frequency in FREQUENCY_TIMING:
        times, period, unit, when = FREQUENCY_TIMING[frequency]
        repeat.update(frequency=times, period=Decimal(period), periodUnit=unit)
        if when:
            repeat["when"] = [when]
    elif frequency == MedicineLine.Frequency.STAT:
        repeat["count"] = 1
    if line.duration_days:
        repeat["boundsDuration"] = Duration(
            value=Decimal(line.duration_days), unit="days", system=UCUM, code="d"
        )

    food = line.timing if line.timing != MedicineLine.Timing.ANY else ""
    additional = [
        concept(text=text)
        for text in (line.get_timing_display() if food else "", line.instructions.strip())
        if text
    ]
    route_code = ROUTE_SNOMED.get(line.route)
    route = (
        concept(SNOMED, route_code[0], route_code[1], text=line.get_route_display())
        if route_code
        else concept(text=line.get_route_display())
    )

    said = [
        line.dose,
        lower_first(line.get_frequency_display()) if frequency else "",
        lower_first(line.get_timing_display()) if food else "",
        f"for {plural_days(line.duration_days)}" if line.duration_days else "",
        lower_first(line.get_route_display()),
    ]
    text = ", ".join(part for part in said if part)
    if line.instructions.strip():
        text = f"{text}. {line.instructions.strip()}"
    return Dosage(
        sequence=1,
        text=text[:1].upper() + text[1:],
        additionalInstruction=additional or None,
        timing=Timing(repeat=TimingRepeat(**repeat)) if repeat else None,
        asNeededBoolean=True if frequency == MedicineLine.Frequency.NEEDED else None,
        route=route,
    )
