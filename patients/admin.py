"""Patients in the admin: a support lookup by exact Patient ID, and nothing to browse.

No administrator lists patients: the list is empty until a whole Patient ID (12 digits) is
searched for, and then shows that one patient without name, date of birth, ABHA or mobile
number. There is no change, history or delete page, no filter and no other lookup. Every
lookup that finds a patient is written to the access log (``audit``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from audit.admin import national_staff
from audit.models import AccessEvent
from audit.services import record_access
from patients.models import Patient

PATIENT_ID_DIGITS = 12


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin[Patient]):
    list_display = ["patient_id", "relationship", "state", "created_at", "archived_at"]
    list_display_links = None
    list_select_related = ["state"]
    search_fields = ["=patient_number"]  # replaced by get_search_results
    search_help_text = _("A whole Patient ID (12 digits). Every lookup is in the access log.")
    show_full_result_count = False
    actions = None

    @admin.display(description=_("Patient ID"))
    def patient_id(self, patient: Patient) -> str:
        return patient.display_patient_number

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Patient], search_term: str
    ) -> tuple[QuerySet[Patient], bool]:
        digits = "".join(search_term.split())
        if len(digits) != PATIENT_ID_DIGITS or not digits.isdigit():
            return queryset.none(), False
        if request.path == reverse("admin:autocomplete"):
            return queryset.none(), False  # its answer would name the patient
        found = list(queryset.filter(patient_number=digits))
        record_access(request, AccessEvent.Action.ADMIN_LOOKUP, found)
        return queryset.filter(pk__in=[patient.pk for patient in found]), False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return False  # no filtering by name, date of birth, account...

    def has_module_permission(self, request: HttpRequest) -> bool:
        return national_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and national_staff(request)  # the lookup list only, no patient page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
