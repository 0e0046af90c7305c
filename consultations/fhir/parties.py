"""Who and where: the Patient, Practitioner, Organization and Encounter of a document."""

from __future__ import annotations

from functools import cached_property

from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.practitioner import Practitioner, PractitionerQualification
from fhir.resources.R4B.reference import Reference

from consultations.fhir.base import VersionResources
from consultations.fhir.codes import (
    ABHA_ADDRESS_SYSTEM,
    ABHA_NUMBER_SYSTEM,
    GENDER,
    HFR_SYSTEM,
    HPR_SYSTEM,
    MEDICAL_REGISTRATION_SYSTEM,
    NDHM_IDENTIFIER_TYPE,
    PATIENT_ID_SYSTEM,
    SERVICE_BASE,
    V2_0203,
    V3_ACT_CODE,
)
from consultations.fhir.elements import coding, concept, meta
from core.clock import IST
from patients.models import Sex
from providers.models import MedicalCouncil


class Parties(VersionResources):
    """The resources about people and places, the same in every document about them."""

    @cached_property
    def patient_resource(self) -> Patient:
        patient = self.patient
        identifiers = [
            Identifier(
                type=concept(V2_0203, "MR", "Medical record number"),
                system=PATIENT_ID_SYSTEM,
                value=patient.patient_number,
            )
        ]
        if patient.abha_number:
            identifiers.append(
                Identifier(
                    type=concept(NDHM_IDENTIFIER_TYPE, "HIN", "ABHA number"),
                    system=ABHA_NUMBER_SYSTEM,
                    value=patient.display_abha_number,
                )
            )
        if patient.abha_address:
            identifiers.append(
                Identifier(
                    type=concept(NDHM_IDENTIFIER_TYPE, "ABHA", "ABHA address"),
                    system=ABHA_ADDRESS_SYSTEM,
                    value=patient.abha_address,
                )
            )
        address = {"state": patient.state.name, "country": "IN"}
        if patient.district is not None:
            address["district"] = patient.district.name
        # A date of birth estimated from the age is only known to the year.
        born = (
            str(patient.date_of_birth.year)
            if patient.dob_is_estimated
            else patient.date_of_birth.isoformat()
        )
        return Patient.model_validate(
            {
                "id": self.patient_id,
                "meta": meta("Patient"),
                "identifier": identifiers,
                "name": [HumanName(text=patient.name)],
                "gender": GENDER.get(Sex(patient.sex), "unknown"),
                "birthDate": born,
                "address": [address],
            }
        )

    @cached_property
    def practitioner(self) -> Practitioner:
        doctor = self.doctor
        council = MedicalCouncil(doctor.medical_council)
        identifiers = [
            Identifier(
                type=concept(V2_0203, "MD", "Medical License number"),
                system=f"{MEDICAL_REGISTRATION_SYSTEM}/{council.value}",
                value=doctor.registration_number,
                assigner=Reference(display=str(council.label)),
            )
        ]
        if doctor.hpr_id:
            identifiers.append(
                Identifier(
                    type=concept(V2_0203, "PRN", "Provider number"),
                    system=HPR_SYSTEM,
                    value=doctor.hpr_id,
                )
            )
        return Practitioner(
            id=self.practitioner_id,
            meta=meta("Practitioner"),
            identifier=identifiers,
            name=[HumanName(text=doctor.name)],
            qualification=[PractitionerQualification(code=concept(text=doctor.qualification))]
            if doctor.qualification
            else None,
        )

    @cached_property
    def organization(self) -> Organization:
        facility = self.facility
        address = {"state": facility.state.name, "country": "IN"}
        if facility.district is not None:
            address["district"] = facility.district.name
        return Organization.model_validate(
            {
                "id": self.organization_id,
                "meta": meta("Organization"),
                "identifier": [
                    Identifier(
                        type=concept(V2_0203, "PRN", "Provider number"),
                        system=HFR_SYSTEM,
                        value=facility.hfr_id,
                    )
                ],
                "name": facility.name,
                "address": [address],
            }
        )

    @cached_property
    def encounter(self) -> Encounter:
        ticket = self.ticket
        started = ticket.consult_started_at or self.consultation.started_at
        ended = ticket.consult_ended_at
        # ``class`` is a Python keyword: the model takes it by its alias through a dict.
        return Encounter.model_validate(
            {
                "id": self.encounter_id,
                "meta": meta("Encounter"),
                "identifier": [
                    Identifier(
                        system=f"{SERVICE_BASE}/token",
                        value=f"{ticket.service_date.isoformat()}/{ticket.token}",
                    )
                ],
                "status": "finished" if ended else "in-progress",
                "class": coding(V3_ACT_CODE, "VR", "virtual"),
                "subject": self.patient_ref,
                "participant": [{"individual": self.practitioner_ref}],
                "period": Period(
                    start=started.astimezone(IST),
                    end=ended.astimezone(IST) if ended else None,
                ),
                "diagnosis": [{"condition": self.diagnosis_ref, "rank": 1}],
                "serviceProvider": self.organization_ref,
            }
        )
