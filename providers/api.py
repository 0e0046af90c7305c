"""Doctors and facilities over the API, scoped by ``providers.selectors``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView

from accounts.permissions import IsAdministrator, IsStaff, signed_in_user
from core.api.schema import refusal
from core.errors import NotFound
from core.models import Language
from providers.models import Doctor, Facility, Speciality
from providers.selectors import doctors_for, facilities_for


class FacilitySerializer(serializers.ModelSerializer[Facility]):
    id = serializers.UUIDField(source="public_id")
    state = serializers.CharField(source="state.code")
    district = serializers.IntegerField(
        source="district.lgd_code",
        default=None,
        allow_null=True,
        read_only=True,
        help_text="The district's LGD code; null when the facility has none recorded",
    )

    class Meta:
        model = Facility
        fields = ["id", "name", "state", "district", "hfr_id"]


class DoctorSerializer(serializers.ModelSerializer[Doctor]):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="user.full_name")
    specialities: serializers.SlugRelatedField[Speciality] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    languages: serializers.SlugRelatedField[Language] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    home_state = serializers.CharField(source="home_state.code")
    facility = FacilitySerializer()

    class Meta:
        model = Doctor
        fields = [
            "id",
            "name",
            "qualification",
            "medical_council",
            "registration_number",
            "hpr_id",
            "specialities",
            "languages",
            "home_state",
            "facility",
        ]


@extend_schema(summary="Doctors an administrator oversees (a state's, or all for national)")
class DoctorList(ListAPIView):  # type: ignore[type-arg]
    serializer_class = DoctorSerializer
    permission_classes = [IsAdministrator]

    def get_queryset(self) -> Any:
        return doctors_for(signed_in_user(self.request))


@extend_schema(
    summary="The signed-in doctor's own profile",
    responses={
        200: DoctorSerializer,
        404: refusal("This account has no doctor profile (an administrator's)."),
    },
)
class MyDoctorProfile(RetrieveAPIView):  # type: ignore[type-arg]
    serializer_class = DoctorSerializer
    permission_classes = [IsStaff]

    def get_object(self) -> Doctor:
        user = signed_in_user(self.request)
        doctor = doctors_for(user).filter(user=user).first()
        if doctor is None:
            raise NotFound(_("This account has no doctor profile."))
        return doctor


@extend_schema(summary="Facilities an administrator oversees")
class FacilityList(ListAPIView):  # type: ignore[type-arg]
    serializer_class = FacilitySerializer
    permission_classes = [IsAdministrator]

    def get_queryset(self) -> Any:
        return facilities_for(signed_in_user(self.request))
