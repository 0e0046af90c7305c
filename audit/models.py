"""The access log: who opened or downloaded which patient's records, when and from where.

Append-only. The model refuses to change or delete a row (``save`` of a stored row, ``delete``,
and the queryset's ``update``/``delete``), and on PostgreSQL a trigger refuses ``UPDATE`` and
``DELETE`` on the table whatever the client (migration ``0002_append_only_guard``). Neither
stops the table's owner from dropping the trigger or truncating the table: against that, copy
the log to a store the service cannot write to.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from patients.models import Patient


class AppendOnly(Exception):
    """Raised on any attempt to change or delete an access event."""


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise AppendOnly("The access log is append-only: events are never changed or deleted.")


class AccessEventQuerySet(models.QuerySet["AccessEvent"]):
    update = _refuse
    delete = _refuse
    bulk_update = _refuse
    update_or_create = _refuse


class AccessEvent(models.Model):
    class Action(models.TextChoices):
        CONSULTATION = "consultation", _("opened the consultation record")
        CALL = "call", _("saw the patient's details and earlier prescriptions in a video call")
        ATTACHMENT = "attachment", _("downloaded a record shared with a booking")
        PDF = "pdf", _("downloaded a prescription (PDF)")
        FHIR = "fhir", _("downloaded a health record (FHIR)")
        PRESCRIPTION = "prescription", _("read a prescription")
        HISTORY = "history", _("opened the list of consultations and prescriptions")
        ADMIN_LOOKUP = "admin_lookup", _("looked the patient up by Patient ID (support)")

    at = models.DateTimeField(_("accessed at"), default=timezone.now, db_index=True)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("patient")
    )
    accessor = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("who")
    )
    # The role at the time: an account's role may change later, the record must not.
    accessor_role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    action = models.CharField(_("what"), max_length=20, choices=Action.choices)
    subject = models.UUIDField(
        _("record"),
        null=True,
        blank=True,
        help_text=_("The public id of the consultation, prescription, record or ticket."),
    )
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)

    objects: ClassVar[models.Manager[AccessEvent]] = AccessEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("access event")
        verbose_name_plural = _("access log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-at"], name="audit_by_patient"),
            models.Index(fields=["accessor", "-at"], name="audit_by_accessor"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.at:%Y-%m-%d %H:%M})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse()
