"""The consultation record and e-prescription over the API.

Doctors write the draft (autosaved), finalise it and start corrections; patients' family
accounts read their finalised prescriptions. The serializers are the one validator the pages
use too.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPatientAccount, IsStaff, signed_in_user
from audit.models import AccessEvent
from audit.services import record_access
from consultations import selectors, services, validation
from consultations.limits import max_length, value_range
from consultations.models import Consultation, MedicineLine, Prescription
from core.api.schema import refusal
from core.clock import india_today
from core.errors import NotFound
from providers.models import Doctor
from providers.selectors import doctor_of

DURATION_DAYS = value_range(MedicineLine, "duration_days")


def _text(name: str) -> serializers.CharField:
    """A prescription's text, as long as the model allows (``consultations.limits``)."""
    return serializers.CharField(
        max_length=max_length(Prescription, name), required=False, allow_blank=True
    )


def _optional(name: str) -> serializers.CharField:
    """A medicine's optional text, as long as the model allows; empty when left out."""
    return serializers.CharField(
        max_length=max_length(MedicineLine, name), required=False, allow_blank=True, default=""
    )


class MedicineSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=max_length(MedicineLine, "name"))
    strength = _optional("strength")
    dosage_form = serializers.ChoiceField(choices=MedicineLine.DosageForm.choices)
    dose = _optional("dose")
    frequency = serializers.ChoiceField(
        choices=MedicineLine.Frequency.choices, required=False, allow_blank=True, default=""
    )
    duration_days = serializers.IntegerField(
        min_value=DURATION_DAYS[0],
        max_value=DURATION_DAYS[1],
        required=False,
        allow_null=True,
        default=None,
    )
    route = serializers.ChoiceField(
        choices=MedicineLine.Route.choices, required=False, default=MedicineLine.Route.ORAL
    )
    timing = serializers.ChoiceField(
        choices=MedicineLine.Timing.choices, required=False, default=MedicineLine.Timing.ANY
    )
    instructions = _optional("instructions")


class PrescriptionSerializer(serializers.Serializer[Any]):
    """A prescription: written by the doctor while a draft, read by everyone who may see it."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    number = serializers.CharField(source="display_number", read_only=True)
    version = serializers.IntegerField(read_only=True)
    status = serializers.CharField(read_only=True)
    finalised_at = serializers.DateTimeField(read_only=True, allow_null=True)
    chief_complaints = _text("chief_complaints")
    history = _text("history")
    vitals = serializers.JSONField(required=False)
    examination = _text("examination")
    diagnosis = _text("diagnosis")
    icd10_code = _text("icd10_code")
    investigations = _text("investigations")
    advice = _text("advice")
    follow_up_on = serializers.DateField(required=False, allow_null=True)
    referral = _text("referral")
    medicines = MedicineSerializer(many=True, required=False)
    pdf_url = serializers.SerializerMethodField()
    fhir_url = serializers.SerializerMethodField()

    def validate_icd10_code(self, value: str) -> str:
        try:
            return validation.clean_icd10(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_vitals(self, value: Any) -> dict[str, float]:
        try:
            return validation.clean_vitals(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_follow_up_on(self, value: Any) -> Any:
        if value is not None and value <= india_today():
            raise serializers.ValidationError(_("The follow-up date must be after today."))
        return value

    def validate_medicines(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > validation.MAX_MEDICINES:
            raise serializers.ValidationError(
                _("At most %(count)d medicines.") % {"count": validation.MAX_MEDICINES}
            )
        return value

    def get_pdf_url(self, prescription: Prescription) -> str | None:
        if prescription.is_draft:
            return None
        return f"/prescriptions/{prescription.public_id}/pdf/"

    def get_fhir_url(self, prescription: Prescription) -> str | None:
        if prescription.is_draft:
            return None
        return f"/prescriptions/{prescription.public_id}/fhir/"

    def to_representation(self, instance: Prescription) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["medicines"] = MedicineSerializer(instance.medicines.all(), many=True).data
        return data


class ConsultationPatientSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    age = serializers.IntegerField()
    sex = serializers.CharField(help_text="In the request's language")
    patient_id = serializers.CharField()
    abha_number = serializers.CharField(allow_null=True)


class ConsultationSerializer(serializers.Serializer[Any]):
    """What the doctor's form shows beside the video (built by ``_consultation_payload``)."""

    id = serializers.UUIDField()
    ticket = serializers.UUIDField()
    token = serializers.CharField()
    patient = ConsultationPatientSerializer()
    complaint = serializers.CharField()
    draft = PrescriptionSerializer(allow_null=True, help_text="Null once signed, until corrected")
    prescriptions = PrescriptionSerializer(many=True, help_text="Signed versions")
    earlier = PrescriptionSerializer(many=True, help_text="The patient's earlier prescriptions")


NOT_YOUR_CONSULTATION = refusal(
    "No such consultation in your care, or no doctor profile (`not_found`)."
)
ALREADY_FINAL = refusal("Already signed: start a correction to change it (`finalised`).")


def _doctor(request: Request) -> Doctor:
    doctor = doctor_of(signed_in_user(request))
    if doctor is None:
        raise NotFound(_("This account has no doctor profile."))
    return doctor


def _consultation_payload(consultation: Consultation, draft: Prescription | None) -> dict[str, Any]:
    ticket = consultation.ticket
    patient = consultation.patient
    return {
        "id": str(consultation.public_id),
        "ticket": str(ticket.public_id),
        "token": ticket.token,
        "patient": {
            "name": patient.name,
            "age": patient.age_years,
            "sex": str(patient.get_sex_display()),
            "patient_id": patient.display_patient_number,
            "abha_number": patient.display_abha_number or None,
        },
        "complaint": ticket.complaint,
        "draft": PrescriptionSerializer(draft).data if draft else None,
        "prescriptions": PrescriptionSerializer(
            consultation.prescriptions.exclude(status=Prescription.Status.DRAFT), many=True
        ).data,
        "earlier": PrescriptionSerializer(
            selectors.earlier_prescriptions(consultation), many=True
        ).data,
    }


class ConsultationView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="A consultation in the doctor's care, with its draft prescription",
        responses={200: ConsultationSerializer, 404: NOT_YOUR_CONSULTATION},
    )
    def get(self, request: Request, ticket_id: str) -> Response:
        consultation = selectors.consultation_for_doctor(_doctor(request), ticket_id)
        record_access(
            request,
            AccessEvent.Action.CONSULTATION,
            consultation.patient,
            subject=consultation.public_id,
        )
        return Response(_consultation_payload(consultation, selectors.draft_of(consultation)))


class DraftView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Save the draft prescription (autosave; the whole draft each time)",
        request=PrescriptionSerializer,
        responses={200: PrescriptionSerializer, 404: NOT_YOUR_CONSULTATION, 409: ALREADY_FINAL},
    )
    def put(self, request: Request, ticket_id: str) -> Response:
        consultation = selectors.consultation_for_doctor(_doctor(request), ticket_id)
        serializer = PrescriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        medicines = data.pop("medicines", [])
        draft = services.save_draft(
            services.draft_for(consultation), data=data, medicines=medicines
        )
        return Response(PrescriptionSerializer(draft).data)


class FinaliseView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Sign the draft: it becomes final and numbered and goes to the patient",
        request=None,
        responses={
            200: PrescriptionSerializer,
            400: refusal("`incomplete`: `fields` names each missing part."),
            404: NOT_YOUR_CONSULTATION,
            409: ALREADY_FINAL,
        },
    )
    def post(self, request: Request, ticket_id: str) -> Response:
        doctor = _doctor(request)
        consultation = selectors.consultation_for_doctor(doctor, ticket_id)
        final = services.finalise(services.draft_for(consultation), doctor=doctor)
        return Response(PrescriptionSerializer(final).data)


class CorrectionView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        summary="Start a correction: a new draft version that will supersede this one",
        request=None,
        responses={
            200: PrescriptionSerializer,
            409: refusal("Only the current version can be corrected (`not_current`)."),
        },
    )
    def post(self, request: Request, prescription_id: str) -> Response:
        doctor = _doctor(request)
        prescription = selectors.prescription_for(signed_in_user(request), prescription_id)
        draft = services.start_correction(prescription, doctor=doctor)
        return Response(PrescriptionSerializer(draft).data)


class MyPrescriptions(APIView):
    permission_classes = [IsPatientAccount]

    @extend_schema(
        summary="The family's prescriptions", responses={200: PrescriptionSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        prescriptions = list(
            selectors.prescriptions_for(signed_in_user(request)).order_by("-finalised_at")[:100]
        )
        record_access(
            request,
            AccessEvent.Action.PRESCRIPTION,
            [prescription.consultation.patient for prescription in prescriptions],
        )
        return Response(PrescriptionSerializer(prescriptions, many=True).data)


class PrescriptionDetail(APIView):
    @extend_schema(
        summary="One prescription (the family's, or the doctor's own patient's)",
        responses={200: PrescriptionSerializer},
    )
    def get(self, request: Request, prescription_id: str) -> Response:
        prescription = selectors.prescription_for(signed_in_user(request), prescription_id)
        record_access(
            request,
            AccessEvent.Action.PRESCRIPTION,
            prescription.consultation.patient,
            subject=prescription.public_id,
        )
        return Response(PrescriptionSerializer(prescription).data)
