from __future__ import annotations

from django.contrib import admin

from providers.models import Doctor, Facility, Speciality


@admin.register(Speciality)
class SpecialityAdmin(admin.ModelAdmin[Speciality]):
    list_display = ["name", "code"]


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin[Facility]):
    list_display = ["name", "state", "district", "hfr_id"]
    list_filter = ["state"]
    search_fields = ["name", "hfr_id"]


@admin.register(Doctor)
class DoctorAdmin(admin.ModelAdmin[Doctor]):
    list_display = ["name", "registration_number", "medical_council", "home_state", "facility"]
    list_filter = ["home_state", "medical_council", "specialities"]
    search_fields = ["user__full_name", "registration_number", "hpr_id"]
    filter_horizontal = ["specialities", "languages"]
    autocomplete_fields = ["user", "facility"]
