"""OPD settings for administrators: a state's administrator edits that state's OPDs (hours,
token limit, waiting-room size, CALL NOW window); the national administrator edits all."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from accounts.selectors import admin_site_reach
from core.models import State
from queues.models import Opd, OpdHours
from queues.services.dispatch import forget_cached_hours


def _may_edit(request: HttpRequest, opd: Opd | None) -> bool:
    """The OPDs of the states the administrator reaches (``accounts.selectors``); a national
    OPD (no state) is the national administrator's."""
    reach = admin_site_reach(request)
    return reach.administers if opd is None else reach.covers(opd.state_id)


class OpdHoursInline(admin.TabularInline[OpdHours, Opd]):
    model = OpdHours
    extra = 1

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_edit(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_edit(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_edit(request, obj)


@admin.register(Opd)
class OpdAdmin(admin.ModelAdmin[Opd]):
    list_display = [
        "name",
        "code",
        "state",
        "speciality",
        "daily_token_limit",
        "waiting_room_size",
        "is_active",
    ]
    list_filter = ["is_active", "speciality", "state"]
    search_fields = ["name", "code"]
    readonly_fields = ["public_id"]
    inlines = [OpdHoursInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Opd]:
        opds = super().get_queryset(request).select_related("state", "speciality")
        return admin_site_reach(request).filter(opds, "state")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_edit(request, None)

    def has_view_permission(self, request: HttpRequest, obj: Opd | None = None) -> bool:
        return _may_edit(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Opd | None = None) -> bool:
        return _may_edit(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _may_edit(request, None)

    def has_delete_permission(self, request: HttpRequest, obj: Opd | None = None) -> bool:
        return False  # OPDs carry history: deactivate instead

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        reach = admin_site_reach(request)
        if db_field.name == "state" and reach.state_id is not None:
            kwargs["queryset"] = State.objects.filter(pk=reach.state_id)
            kwargs["required"] = True
            kwargs["empty_label"] = None
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Opd, form: Any, change: bool) -> None:
        reach = admin_site_reach(request)
        if reach.state_id is not None:
            obj.state_id = reach.state_id  # a state's administrator works on their state only
        super().save_model(request, obj, form, change)
        forget_cached_hours()
