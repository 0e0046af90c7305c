"""A signed prescription for the PDF, verification and download tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from consultations import services
from consultations.models import Prescription
from consultations.selectors import consultation_for_doctor
from queues.models import Ticket

# 05:00 UTC is 10:30 in India.
SIGNED_AT = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)

PARACETAMOL = {
    "name": "Paracetamol", "strength": "500 mg", "dosage_form": "tablet", "dose": "1 tablet",
    "frequency": "tds", "duration_days": 3, "route": "oral", "timing": "after_food",
    "instructions": "Only if the fever is above 100 F",
}  # fmt: skip
ORS = {
    "name": "ORS", "strength": "21 g", "dosage_form": "powder", "dose": "1 sachet in 1 litre",
    "frequency": "sos", "duration_days": 5, "route": "oral", "timing": "any",
}  # fmt: skip

CONTENT = {
    "chief_complaints": "Fever for 3 days with body ache",
    "history": "Known asthmatic since childhood",
    "vitals": {"temperature_c": 38.4, "pulse": 96, "bp_systolic": 118, "bp_diastolic": 76},
    "examination": "Throat congested",
    "diagnosis": "Acute viral fever",
    "icd10_code": "B34.9",
    "investigations": "Complete blood count",
    "advice": "Drink plenty of fluids and rest",
    "follow_up_on": date(2026, 3, 17),
    "referral": "",
}


def sign(
    visit: Ticket,
    run_on_commit: Any,
    *,
    render: bool = False,
    medicines: list[dict[str, Any]] | None = None,
    **content: Any,
) -> Prescription:
    """Write and sign the visit's prescription. With ``render`` the task that renders the PDF
    runs (eagerly) as it would after the commit; without, the test calls it itself."""
    doctor = visit.doctor
    assert doctor is not None
    consultation = consultation_for_doctor(doctor, visit.public_id)
    draft = services.save_draft(
        services.draft_for(consultation),
        data={**CONTENT, **content},
        medicines=[PARACETAMOL, ORS] if medicines is None else medicines,
    )
    with run_on_commit(execute=render):
        services.finalise(draft, doctor=doctor, now=SIGNED_AT)
    return Prescription.objects.get(pk=draft.pk)


def correct(
    visit: Ticket, first: Prescription, run_on_commit: Any, *, render: bool = False
) -> Prescription:
    doctor = visit.doctor
    assert doctor is not None
    correction = services.start_correction(first, doctor=doctor)
    services.save_draft(
        correction, data={"diagnosis": "Dengue fever, suspected"}, medicines=[PARACETAMOL]
    )
    with run_on_commit(execute=render):
        services.finalise(correction, doctor=doctor, now=SIGNED_AT)
    return Prescription.objects.get(pk=correction.pk)
