"""Reference data every app shares: states and UTs, districts, languages; and the outbox of
work that committed changes imply (``OutboxMessage``, see ``core.outbox``).

Reference data is loaded by migrations from the CSV files in ``core/data/``; more districts
arrive through ``manage.py import_districts``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class PublicIdModel(models.Model):
    """Rows that leave the server carry a random UUID; integer keys stay internal."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


class LocalisedNameMixin:
    name: str
    name_hi: str

    @property
    def display_name(self) -> str:
        if get_language() == "hi" and self.name_hi:
            return self.name_hi
        return self.name


class State(LocalisedNameMixin, models.Model):
    class Kind(models.TextChoices):
        STATE = "state", _("State")
        UNION_TERRITORY = "ut", _("Union Territory")

    lgd_code = models.PositiveSmallIntegerField(_("LGD code"), unique=True)
    code = models.CharField(_("code"), max_length=2, unique=True)
    iso_code = models.CharField(_("ISO 3166-2 code"), max_length=6, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_hi = models.CharField(_("name in Hindi"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices)

    class Meta:
        ordering = ["name"]
        verbose_name = _("state or union territory")
        verbose_name_plural = _("states and union territories")

    def __str__(self) -> str:
        return self.name


class District(LocalisedNameMixin, models.Model):
    state = models.ForeignKey(
        State, on_delete=models.PROTECT, related_name="districts", verbose_name=_("state")
    )
    lgd_code = models.PositiveIntegerField(_("LGD code"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_hi = models.CharField(_("name in Hindi"), max_length=100, blank=True)

    class Meta:
        ordering = ["state__name", "name"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return f"{self.name}, {self.state.name}"


class Language(models.Model):
    code = models.CharField(_("code"), max_length=3, unique=True)
    name = models.CharField(_("name"), max_length=50)
    native_name = models.CharField(_("native name"), max_length=50)

    class Meta:
        ordering = ["name"]
        verbose_name = _("language")
        verbose_name_plural = _("languages")

    def __str__(self) -> str:
        return self.name


class OutboxMessage(models.Model):
    """A Celery task that a committed change implies (render a signed prescription's PDF and
    announce it), written in the same transaction as the change.

    It is sent after the commit; until its task marks it done, ``core.outbox.relay`` (beat)
    sends it again, with back-off, so neither a broker outage at commit time nor a lost broker
    message nor a worker killed mid-task can strand the work. Tasks are idempotent: a message
    sent twice does its work once.
    """

    # e.g. "render-prescription:42": one message per piece of work, however often it is asked.
    key = models.CharField(max_length=200, unique=True)
    task = models.CharField(max_length=200)  # a registered Celery task name
    args = models.JSONField(
        default=list
    )  # its positional arguments (internal ids, no personal data)
    created_at = models.DateTimeField(default=timezone.now)
    # Sends by the relay (the first send, after the commit, is not counted).
    relays = models.PositiveSmallIntegerField(default=0)
    # When the relay sends it (again) if its task has not marked it done by then.
    relay_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    gave_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            models.Index(
                fields=["relay_at"],
                condition=Q(done_at__isnull=True, gave_up_at__isnull=True),
                name="outbox_waiting",
            )
        ]

    def __str__(self) -> str:
        return self.key
