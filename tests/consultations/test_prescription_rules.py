"""Writing, finalising and correcting a prescription: the rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consultations import services
from consultations.models import Prescription
from consultations.selectors import consultation_for_doctor
from core.clock import india_today
from core.errors import Conflict, Invalid
from tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

PARACETAMOL = {
    "name": "Paracetamol", "strength": "500 mg", "dosage_form": "tablet", "dose": "1 tablet",
    "frequency": "tds", "duration_days": 3, "route": "oral", "timing": "after_food",
}  # fmt: skip


def written(visit, **overrides):
    consultation = consultation_for_doctor(visit.doctor, visit.public_id)
    data = {"chief_complaints": "Fever for 3 days", "diagnosis": "Viral fever", **overrides}
    medicines = overrides.pop("medicines", [PARACETAMOL])
    data.pop("medicines", None)
    return services.save_draft(services.draft_for(consultation), data=data, medicines=medicines)


def test_finalising_numbers_and_freezes_the_prescription(visit, django_capture_on_commit_callbacks):
    draft = written(visit)
    with django_capture_on_commit_callbacks(execute=True):
        final = services.finalise(draft, doctor=visit.doctor)
    assert final.status == Prescription.Status.FINAL
    assert final.display_number.startswith("RX")
    assert final.verification_code
    with pytest.raises(Conflict):
        services.save_draft(final, data={"diagnosis": "Changed"}, medicines=[])


def test_a_medicine_without_dose_or_duration_cannot_be_signed(visit):
    draft = written(visit, medicines=[{**PARACETAMOL, "dose": "", "duration_days": None}])
    with pytest.raises(Invalid) as error:
        services.finalise(draft, doctor=visit.doctor)
    assert error.value.code == "incomplete"
    assert "medicines.0" in error.value.fields
    assert Prescription.objects.get(pk=draft.pk).status == Prescription.Status.DRAFT


def test_a_follow_up_in_the_past_cannot_be_signed(visit):
    draft = written(visit, follow_up_on=india_today() - timedelta(days=1))
    with pytest.raises(Invalid) as error:
        services.finalise(draft, doctor=visit.doctor)
    assert "follow_up_on" in error.value.fields


def test_only_the_consultations_doctor_can_sign(visit):
    draft = written(visit)
    with pytest.raises(Invalid) as error:
        services.finalise(draft, doctor=DoctorFactory())
    assert error.value.code == "not_your_patient"


def test_a_correction_supersedes_and_both_stay(visit, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.finalise(written(visit), doctor=visit.doctor)
    correction = services.start_correction(first, doctor=visit.doctor)
    assert correction.version == 2
    assert [m.name for m in correction.medicines.all()] == ["Paracetamol"]
    services.save_draft(
        correction, data={"diagnosis": "Dengue, suspected"}, medicines=[PARACETAMOL]
    )
    with django_capture_on_commit_callbacks(execute=True):
        second = services.finalise(Prescription.objects.get(pk=correction.pk), doctor=visit.doctor)
    first.refresh_from_db()
    assert first.status == Prescription.Status.SUPERSEDED
    assert second.number == first.number
    assert second.display_number == f"{first.number}/2"
    assert second.supersedes == first
