"""What was found and what was ordered: conditions, vitals, medicines, investigations,
referral and follow-up."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Any

from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.appointment import Appointment, AppointmentParticipant
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest

from consultations.fhir.base import VersionResources
from consultations.fhir.codes import (
    BLOOD_PRESSURE,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    DIASTOLIC,
    ICD10,
    LOINC,
    OBSERVATION_CATEGORY,
    PRESCRIPTION_NUMBER_SYSTEM,
    REFERRAL_CATEGORY,
    SYSTOLIC,
    UCUM,
    VITALS,
    Vital,
)
from consultations.fhir.elements import (
    concept,
    dosage_for,
    lower_first,
    meta,
    snomed,
    text_lines,
)
from consultations.models import MedicineLine


class Clinical(VersionResources):
    """The resources of the visit itself, with ids from the prescription version."""

    def _condition(self, key: str, code: CodeableConcept, **extra: Any) -> Condition:
        return Condition(
            id=self._id("Condition", key),
            meta=meta("Condition"),
            clinicalStatus=concept(CONDITION_CLINICAL, "active", "Active"),
            code=code,
            subject=self.patient_ref,
            encounter=self.encounter_ref,
            recordedDate=self.signed_at,
            recorder=self.practitioner_ref,
            **extra,
        )

    @cached_property
    def chief_complaints(self) -> Condition:
        text = self.rx.chief_complaints.strip()
        return self._condition("chief-complaints", concept(text=text))

    @cached_property
    def diagnosis(self) -> Condition:
        rx = self.rx
        code = concept(ICD10, rx.icd10_code, text=rx.diagnosis.strip())
        return self._condition(
            "diagnosis",
            code,
            category=[concept(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")],
            verificationStatus=concept(CONDITION_VERIFICATION, "provisional", "Provisional"),
        )

    def vitals(self) -> list[Resource]:
        readings = self.rx.vitals or {}
        observations: list[Resource] = []
        systolic, diastolic = readings.get("bp_systolic"), readings.get("bp_diastolic")
        if systolic is not None or diastolic is not None:
            components = [
                ObservationComponent(code=concept(LOINC, vital.loinc, vital.display),
                                     valueQuantity=self._quantity(value, vital))
                for vital, value in ((SYSTOLIC, systolic), (DIASTOLIC, diastolic))
                if value is not None
            ]  # fmt: skip
            observations.append(self._observation("bp", BLOOD_PRESSURE, component=components))
        for name, vital in VITALS.items():
            value = readings.get(name)
            if value is not None:
                observations.append(
                    self._observation(name, vital, valueQuantity=self._quantity(value, vital))
                )
        return observations

    @staticmethod
    def _quantity(value: float, vital: Vital) -> Quantity:
        return Quantity(value=Decimal(str(value)), unit=vital.unit, system=UCUM, code=vital.ucum)

    def _observation(self, key: str, vital: Vital, **value: Any) -> Observation:
        return Observation(
            id=self._id("Observation", key),
            status="final",
            category=[concept(OBSERVATION_CATEGORY, vital.category)],
            code=concept(LOINC, vital.loinc, vital.display, text=vital.display),
            subject=self.patient_ref,
            encounter=self.encounter_ref,
            effectiveDateTime=self.signed_at,
            performer=[self.patient_ref],
            note=[Annotation(text="Reported by the patient during a teleconsultation.")],
            **value,
        )

    # --- What was ordered ---------------------------------------------------------------------

    @cached_property
    def medication_requests(self) -> list[MedicationRequest]:
        return [self._medication_request(line) for line in self.medicines]

    def _medication_request(self, line: MedicineLine) -> MedicationRequest:
        form = lower_first(line.get_dosage_form_display())
        name = " ".join(part for part in (line.name, line.strength, form) if part)
        return MedicationRequest(
            id=self._id("MedicationRequest", str(line.position)),
            meta=meta("MedicationRequest"),
            status="active",
            intent="order",
            groupIdentifier=Identifier(
                system=PRESCRIPTION_NUMBER_SYSTEM, value=self.rx.display_number
            ),
            medicationCodeableConcept=concept(text=name),
            subject=self.patient_ref,
            encounter=self.encounter_ref,
            authoredOn=self.signed_at,
            requester=self.practitioner_ref,
            reasonReference=[self.diagnosis_ref],
            dosageInstruction=[dosage_for(line)],
        )

    def _service_request(
        self, key: str, text: str, category: tuple[str, str] | None = None
    ) -> ServiceRequest:
        return ServiceRequest(
            id=self._id("ServiceRequest", key),
            meta=meta("ServiceRequest"),
            status="active",
            intent="order",
            category=[snomed(category)] if category else None,
            code=concept(text=text),
            subject=self.patient_ref,
            encounter=self.encounter_ref,
            authoredOn=self.signed_at,
            requester=self.practitioner_ref,
            reasonReference=[self.diagnosis_ref],
        )

    def investigations(self) -> list[Resource]:
        """One ServiceRequest per line the doctor wrote."""
        return [
            self._service_request(f"investigation-{index}", line)
            for index, line in enumerate(text_lines(self.rx.investigations))
        ]

    def referral(self) -> ServiceRequest:
        return self._service_request("referral", self.rx.referral.strip(), REFERRAL_CATEGORY)

    def follow_up(self) -> Appointment:
        """Proposed for the follow-up day, whatever the hour: a period of that date."""
        day = self.rx.follow_up_on
        return Appointment.model_validate(
            {
                "id": self._id("Appointment", "follow-up"),
                "meta": meta("Appointment"),
                "status": "proposed",
                "description": "Follow-up teleconsultation",
                "reasonReference": [self.diagnosis_ref],
                "created": self.signed_at,
                "requestedPeriod": [{"start": day, "end": day}],
                "participant": [
                    AppointmentParticipant(
                        actor=self.patient_ref,
                        required="required",
                        status="needs-action",
                    ),
                    AppointmentParticipant(
                        actor=self.practitioner_ref,
                        required="required",
                        status="needs-action",
                    ),
                ],
            }
        )
