"""Consultations in the admin: read-only, for the national administrator's support work.

Clinical content is not shown here; support staff find a prescription by its number.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from consultations.models import Consultation, Prescription


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Consultation)
class ConsultationAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "opd", "started_at"]
    list_filter = ["opd"]
    # Never the patient: no administrator browses patients (see audit/admin.py).
    fields = readonly_fields = ("public_id", "ticket", "doctor", "opd", "started_at")
    show_full_result_count = False


@admin.register(Prescription)
class PrescriptionAdmin(ReadOnlyAdmin):
    list_display = ["number", "version", "status", "finalised_at", "pdf_rendered_at"]
    list_filter = ["status"]
    search_fields = ["=number"]
    fields = ["number", "version", "status", "finalised_at", "pdf_rendered_at", "pdf_sha256"]
    show_full_result_count = False
