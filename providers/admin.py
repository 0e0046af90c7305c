from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin

from providers.models import Doctor, Facility, Speciality

# Actions that apps above this one offer on doctors and facilities (abdm adds "check in ABDM's
# registry" in its AppConfig.ready): providers does not know them.
doctor_actions: list[Callable[..., Any]] = []
facility_actions: list[Callable[..., Any]] = []


@admin.register(Speciality)
class SpecialityAdmin(admin.ModelAdmin[Speciality]):
    list_display = ["name", "code"]


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin[Facility]):
    list_display = ["name", "state", "district", "hfr_id", "hfr_status", "hfr_verified_at"]
    list_filter = ["state", "hfr_status"]
    search_fields = ["name", "hfr_id"]
    readonly_fields = ["hfr_status", "hfr_verified_at"]
    actions = facility_actions


@admin.register(Doctor)
class DoctorAdmin(admin.ModelAdmin[Doctor]):
    list_display = [
        "name", "registration_number", "medical_council", "home_state", "facility",
        "hpr_id", "hpr_status", "hpr_verified_at",
    ]  # fmt: skip
    list_filter = ["home_state", "medical_council", "hpr_status", "specialities"]
    search_fields = ["user__full_name", "registration_number", "hpr_id"]
    filter_horizontal = ["specialities", "languages"]
    autocomplete_fields = ["user", "facility"]
    readonly_fields = ["hpr_status", "hpr_verified_at"]
    actions = doctor_actions
