"""OPD settings for administrators: a state's administrator edits that state's OPDs (hours,
token limit, waiting-room size, CALL NOW window); the national administrator edits all."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest

from accounts.models import Role, User
from core.models import State
from queues.models import Opd, OpdHours
from queues.services.dispatch import forget_cached_hours


def _admin_user(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_active and user.is_staff else None


def _may_edit(request: HttpRequest, opd: Opd | None) -> bool:
    user = _admin_user(request)
    if user is None:
        return False
    if user.is_superuser or user.role == Role.NATIONAL_ADMIN:
        return True
    if user.role != Role.STATE_ADMIN or user.state_id is None:
        return False
    return opd is None or opd.state_id == user.state_id


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
        user = _admin_user(request)
        if user is None:
            return opds.none()
        if user.is_superuser or user.role == Role.NATIONAL_ADMIN:
            return opds
        if user.role == Role.STATE_ADMIN and user.state_id is not None:
            return opds.filter(state_id=user.state_id)
        return opds.none()

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
        user = _admin_user(request)
        if (
            db_field.name == "state"
            and user is not None
            and user.role == Role.STATE_ADMIN
            and user.state_id is not None
        ):
            kwargs["queryset"] = State.objects.filter(pk=user.state_id)
            kwargs["required"] = True
            kwargs["empty_label"] = None
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Opd, form: Any, change: bool) -> None:
        user = _admin_user(request)
        if user is not None and user.role == Role.STATE_ADMIN:
            obj.state_id = user.state_id  # a state's administrator works on their state only
        super().save_model(request, obj, form, change)
        forget_cached_hours()
