from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import User


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
