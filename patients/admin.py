from __future__ import annotations

from django.contrib import admin

from patients.models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin[Patient]):
    """Support staff find a patient by Patient ID only; no browsing of names or numbers."""

    list_display = ["patient_number", "relationship", "state", "created_at", "archived_at"]
    search_fields = ["=patient_number"]
    list_filter = ["state"]
    readonly_fields = ["public_id", "patient_number", "account", "created_at", "updated_at"]
    show_full_result_count = False
