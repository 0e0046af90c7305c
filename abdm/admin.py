"""ABDM gateway traffic for national administrators: read-only, without bodies (they may name
patients and their care); the request ids, flows, states, timings and digests are enough to
follow a call and its callback. Scan & Share's trail likewise: which share became which token."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from abdm.models import GatewayMessage, ProfileShare


def _may_see(request: HttpRequest) -> bool:
    user = request.user
    # The account model lives in an app below this one, but its role is only read here.
    return bool(
        user.is_active
        and user.is_staff
        and (user.is_superuser or getattr(user, "is_national_admin", False) is True)
    )


@admin.register(GatewayMessage)
class GatewayMessageAdmin(admin.ModelAdmin[GatewayMessage]):
    list_display = ("created_at", "direction", "flow", "state", "attempts", "request_id")
    list_filter = ("direction", "flow", "state")
    search_fields = ("=request_id", "=answers_request_id")
    fields = readonly_fields = (
        "request_id", "direction", "flow", "path", "hip_id", "state", "body_digest",
        "answers", "answers_request_id", "attempts", "next_attempt_at", "last_error",
        "created_at", "sent_at", "accepted_at", "answered_at",
    )  # fmt: skip
    ordering = ("-created_at",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_see(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_see(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ProfileShare)
class ProfileShareAdmin(admin.ModelAdmin[ProfileShare]):
    list_display = ("created_at", "context", "status", "error_code", "matched_by", "ticket")
    list_filter = ("status", "matched_by", "error_code")
    search_fields = ("=message__request_id", "=context")
    fields = readonly_fields = (
        "message", "answer", "hip_id", "context", "opd", "patient", "ticket", "matched_by",
        "status", "error_code", "created_at",
    )  # fmt: skip
    ordering = ("-created_at",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_see(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_see(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
