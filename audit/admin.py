"""What the support team (the national administrator) does in the admin, all of it on the
access log:

- The access log itself: search by Patient ID, by a staff member's username, by date (the date
  drill-down, or ``?at__gte=YYYY-MM-DD``), filter by what and by role. Read-only: nothing can be
  added, changed or deleted here (nor anywhere: see models).
- Patients: a support lookup by exact Patient ID, and nothing to browse. No administrator lists
  patients: the list is empty until a whole Patient ID (12 digits) is searched for, and then
  shows that one patient without name, date of birth, ABHA or mobile number. There is no
  change, history or delete page, no filter and no other lookup. Every lookup that finds a
  patient is written to the access log, which is why the lookup lives here and not with
  ``patients`` (which sits below the log)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.selectors import admin_site_reach
from audit.models import AccessEvent
from audit.services import record_access
from patients.models import Patient


def national_staff(request: HttpRequest) -> bool:
    """The support team: the national administrator (or a superuser) on the admin site."""
    return admin_site_reach(request).every_state


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin[AccessEvent]):
    list_display = ["at", "patient_id", "who", "accessor_role", "action", "subject", "address"]
    list_filter = ["action", "accessor_role"]
    list_select_related = ["patient", "accessor"]
    list_display_links = None  # every column is in the list: nothing more to open
    date_hierarchy = "at"
    search_fields = ["=patient__patient_number"]  # replaced by get_search_results
    search_help_text = _("A Patient ID (12 digits) or a staff member's username, exactly.")
    show_full_result_count = False

    @admin.display(description=_("Patient ID"))
    def patient_id(self, event: AccessEvent) -> str:
        return event.patient.display_patient_number

    @admin.display(description=_("who"))
    def who(self, event: AccessEvent) -> str:
        if event.accessor_role == Role.PATIENT:
            return str(_("the family (its own account)"))  # never its mobile number
        return f"{event.accessor.username} ({event.accessor.full_name})"

    @admin.display(description=_("client address"))
    def address(self, event: AccessEvent) -> str:
        return event.client_address or "—"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AccessEvent], search_term: str
    ) -> tuple[QuerySet[AccessEvent], bool]:
        term = "".join(search_term.split())
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(patient__patient_number=term), False
        # Staff only: a family's account is named by its mobile number, which is not a key
        # to search the log by.
        return queryset.filter(accessor__username=term).exclude(accessor_role=Role.PATIENT), False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return national_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The list says it all; an event's own page would name the patient and the account.
        return obj is None and national_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
