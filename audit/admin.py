"""The access log for the national administrator: search by Patient ID, by a staff member's
username, by date (the date drill-down, or ``?at__gte=YYYY-MM-DD``), filter by what and by
role. Read-only: nothing can be added, changed or deleted here (nor anywhere: see models)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.selectors import admin_site_reach
from audit.models import AccessEvent


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
