"""Stored notifications for national administrators: read-only, with the delivery log, and a
way to send a failed message again once its cause is fixed. The text of a message is not shown:
it names the family member it is about, and no administrator browses patients."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.models import Notification, NotificationAttempt
from notifications.tasks import deliver_notification


def _may_see(request: HttpRequest) -> bool:
    """Messages carry health details of patients from every state: national level only."""
    user = request.user
    # The account model lives in an app above this one: its role is read, not imported.
    return bool(
        user.is_active
        and user.is_staff
        and (user.is_superuser or getattr(user, "is_national_admin", False) is True)
    )


class NotificationAttemptInline(admin.TabularInline[NotificationAttempt, Notification]):
    model = NotificationAttempt
    fields = readonly_fields = ("number", "started_at", "finished_at", "outcome", "detail")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = [
        "public_id",
        "topic",
        "channel",
        "masked_recipient",
        "status",
        "attempts",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "channel", "topic"]
    search_fields = ["=public_id", "=idempotency_key", "=about"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "public_id",
        "idempotency_key",
        "topic",
        "about",
        "channel",
        "masked_recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "sending_since",
        "sent_at",
        "last_error",
        "created_at",
    )
    inlines = [NotificationAttemptInline]
    actions = ["send_again"]

    @admin.display(description=_("recipient"))
    def masked_recipient(self, notification: Notification) -> str:
        return notification.masked_recipient

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_see(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_see(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_see(request)  # for the action; every field is read-only

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Send the selected failed messages again"))
    def send_again(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        with transaction.atomic():
            failed = list(
                queryset.filter(status=Notification.Status.FAILED).values_list("pk", flat=True)
            )
            # A fresh allowance of attempts; the log keeps the earlier ones.
            Notification.objects.filter(pk__in=failed).update(
                status=Notification.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
            )
            for pk in failed:
                transaction.on_commit(partial(deliver_notification.delay, pk), robust=True)
        self.message_user(
            request,
            ngettext(
                "%(count)d message will be sent again.",
                "%(count)d messages will be sent again.",
                len(failed),
            )
            % {"count": len(failed)},
            messages.SUCCESS,
        )
