"""Doctors and facilities over the API, scoped by ``providers.selectors``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from core.errors import NotFound
from providers.models import Doctor, Facility
from providers.selectors import doctors_for, facilities_for


class IsStaff(BasePermission):
    message = _("Only doctors and administrators can do this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user.is_authenticated and not user.is_patient)


class IsAdministrator(BasePermission):
    message = _("Only administrators can do this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_administrator)


class FacilitySerializer(serializers.ModelSerializer[Facility]):
    id = serializers.UUIDField(source="public_id")
    state = serializers.CharField(source="state.code")
    district = serializers.IntegerField(source="district.lgd_code", default=None)

    class Meta:
        model = Facility
        fields = ["id", "name", "state", "district", "hfr_id"]


class DoctorSerializer(serializers.ModelSerializer[Doctor]):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="user.full_name")
    specialities = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    languages = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    home_state = serializers.CharField(source="home_state.code")
    facility = FacilitySerializer()

    class Meta:
        model = Doctor
        fields = [
            "id", "name", "qualification", "medical_council", "registration_number", "hpr_id",
            "specialities", "languages", "home_state", "facility",
        ]


@extend_schema(summary="Doctors an administrator oversees (a state's, or all for national)")
class DoctorList(ListAPIView):  # type: ignore[type-arg]
    serializer_class = DoctorSerializer
    permission_classes = [IsAdministrator]

    def get_queryset(self) -> Any:
        return doctors_for(self.request.user)  # type: ignore[arg-type]


@extend_schema(summary="The signed-in doctor's own profile")
class MyDoctorProfile(RetrieveAPIView):  # type: ignore[type-arg]
    serializer_class = DoctorSerializer
    permission_classes = [IsStaff]

    def get_object(self) -> Doctor:
        user = self.request.user
        doctor = doctors_for(user).filter(user=user).first()  # type: ignore[arg-type]
        if doctor is None:
            raise NotFound(_("This account has no doctor profile."))
        return doctor


@extend_schema(summary="Facilities an administrator oversees")
class FacilityList(ListAPIView):  # type: ignore[type-arg]
    serializer_class = FacilitySerializer
    permission_classes = [IsAdministrator]

    def get_queryset(self) -> Any:
        return facilities_for(self.request.user)  # type: ignore[arg-type]
