"""Accounts in the admin: staff only. A patient's account is its mobile number, so patient
accounts are not listed, found, opened or offered anywhere in the admin (the user list, its
search and filters, the doctor form's autocomplete, raw-id pop-ups, API tokens, TOTP devices);
support finds a patient by Patient ID (audit/admin.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Field, QuerySet
from django.forms import TypedChoiceField
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.admin import AuthTokenAdmin
from knox.models import AuthToken

from accounts.models import STAFF_ROLES, Role, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    ordering = ["username"]
    list_display = ["username", "full_name", "role", "state", "is_active", "is_staff"]
    list_filter = ["role", "state", "is_active", "is_staff"]
    search_fields = ["username", "full_name"]
    readonly_fields = ["public_id", "last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("public_id", "username", "password")}),
        (_("Profile"), {"fields": ("full_name", "email", "mobile", "preferred_language")}),
        (_("Role"), {"fields": ("role", "state")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "password1", "password2", "role", "state", "full_name")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).exclude(role=Role.PATIENT)

    def formfield_for_choice_field(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> TypedChoiceField | None:
        if db_field.name == "role":  # patient accounts are made by signing in with a code
            kwargs["choices"] = [(role.value, role.label) for role in STAFF_ROLES]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


admin.site.unregister(AuthToken)
admin.site.unregister(TOTPDevice)


@admin.register(AuthToken)
class StaffAuthTokenAdmin(AuthTokenAdmin):  # type: ignore[misc]
    """API tokens of staff accounts only."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuthToken]:
        tokens: QuerySet[AuthToken] = super().get_queryset(request)
        return tokens.exclude(user__role=Role.PATIENT)


@admin.register(TOTPDevice)
class StaffTOTPDeviceAdmin(TOTPDeviceAdmin):  # type: ignore[misc]
    def get_queryset(self, request: HttpRequest) -> QuerySet[TOTPDevice]:
        devices: QuerySet[TOTPDevice] = super().get_queryset(request)
        return devices.exclude(user__role=Role.PATIENT)
