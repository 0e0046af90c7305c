"""Reference data every app shares: states and UTs, districts, languages.

Loaded by migrations from the CSV files in ``core/data/``; more districts arrive through
``manage.py import_districts``.
"""

from __future__ import annotations

import uuid

from django.db import models
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
