"""ABDM gateway traffic for national administrators: read-only, without bodies (they may name
patients and their care); the request ids, flows, states, timings and digests are enough to
follow a call and its callback. Scan & Share's trail likewise: which share became which token.
Also the actions that check doctors' HPR ids and facilities' HFR ids
in ABDM's registries, offered on providers' admin pages."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from abdm import registry_services
from abdm.models import GatewayMessage, ProfileShare
from consultations.admin import ReadOnlyAdmin
from providers.admin import doctor_actions, facility_actions
from providers.models import Doctor, Facility, RegistryStatus


def _may_see(request: HttpRequest) -> bool:
    user = request.user
    # The account model lives in an app below this one, but its role is only read here.
    return bool(
        user.is_active
        and user.is_staff
        and (user.is_superuser or getattr(user, "is_national_admin", False) is True)
    )


class NationalReadOnly(ReadOnlyAdmin):
    """Read-only (consultations' ReadOnlyAdmin), and seen by national administrators only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_see(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_see(request)


@admin.register(GatewayMessage)
class GatewayMessageAdmin(NationalReadOnly):
    list_display = ("created_at", "direction", "flow", "state", "attempts", "request_id")
    list_filter = ("direction", "flow", "state")
    search_fields = ("=request_id", "=answers_request_id")
    fields = readonly_fields = (
        "request_id", "direction", "flow", "path", "hip_id", "state", "body_digest",
        "answers", "answers_request_id", "attempts", "next_attempt_at", "last_error",
        "created_at", "sent_at", "accepted_at", "answered_at",
    )  # fmt: skip
    ordering = ("-created_at",)


@admin.register(ProfileShare)
class ProfileShareAdmin(NationalReadOnly):
    list_display = ("created_at", "context", "status", "error_code", "matched_by", "ticket")
    list_filter = ("status", "matched_by", "error_code")
    search_fields = ("=message__request_id", "=context")
    fields = readonly_fields = (
        "message", "answer", "hip_id", "context", "opd", "patient", "ticket", "matched_by",
        "status", "error_code", "created_at",
    )  # fmt: skip
    ordering = ("-created_at",)


# --- Checking providers in ABDM's registries: actions offered on providers' admin pages ----------
def _report(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, counts: Counter[RegistryStatus]
) -> None:
    for status in (RegistryStatus.VERIFIED, RegistryStatus.NOT_FOUND, RegistryStatus.INACTIVE):
        if counts[status]:
            level = messages.SUCCESS if status == RegistryStatus.VERIFIED else messages.WARNING
            modeladmin.message_user(
                request,
                _("%(label)s: %(count)d") % {"label": status.label, "count": counts[status]},
                level,
            )


@admin.action(description=_("Check the HPR ID in ABDM's registry"), permissions=["change"])
def verify_hpr(
    modeladmin: admin.ModelAdmin[Doctor], request: HttpRequest, queryset: QuerySet[Doctor]
) -> None:
    try:
        counts = registry_services.verify_doctors(queryset)
    except registry_services.RegistryUnavailable:
        modeladmin.message_user(request, UNAVAILABLE, messages.ERROR)
        return
    unchecked = queryset.filter(Q(hpr_id=None) | Q(hpr_id="")).count()
    if unchecked:
        modeladmin.message_user(
            request, _("Without an HPR ID, not checked: %(count)d") % {"count": unchecked}
        )
    _report(modeladmin, request, counts)


@admin.action(description=_("Check the HFR ID in ABDM's registry"), permissions=["change"])
def verify_hfr(
    modeladmin: admin.ModelAdmin[Facility], request: HttpRequest, queryset: QuerySet[Facility]
) -> None:
    try:
        counts = registry_services.verify_facilities(queryset)
    except registry_services.RegistryUnavailable:
        modeladmin.message_user(request, UNAVAILABLE, messages.ERROR)
        return
    _report(modeladmin, request, counts)


UNAVAILABLE = _(
    "ABDM's registry cannot be reached just now; nothing was recorded. Try again later."
)


def offer_registry_checks() -> None:
    """Called from ``AbdmConfig.ready``: the actions join providers' admin pages."""
    for actions, action in ((doctor_actions, verify_hpr), (facility_actions, verify_hfr)):
        if action not in actions:
            actions.append(action)
