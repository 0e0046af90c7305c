"""Patients. One account (a mobile number) holds a family: the holder and dependants."""

from __future__ import annotations

from datetime import date

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.clock import india_today
from core.models import District, Language, PublicIdModel, State
from patients.identifiers import format_abha_number, format_patient_number


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    OTHER = "O", _("Other")


class Relationship(models.TextChoices):
    SELF = "self", _("Self (account holder)")
    SPOUSE = "spouse", _("Husband or wife")
    CHILD = "child", _("Son or daughter")
    PARENT = "parent", _("Father or mother")
    PARENT_IN_LAW = "parent_in_law", _("Father-in-law or mother-in-law")
    SIBLING = "sibling", _("Brother or sister")
    GRANDPARENT = "grandparent", _("Grandparent")
    GRANDCHILD = "grandchild", _("Grandchild")
    OTHER = "other", _("Other relative or dependant")


class Patient(PublicIdModel):
    account = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="family_members", verbose_name=_("account")
    )
    patient_number = models.CharField(_("Patient ID"), max_length=12, unique=True)
    relationship = models.CharField(
        _("relationship to account holder"), max_length=20, choices=Relationship.choices
    )
    name = models.CharField(_("name"), max_length=100)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"))
    dob_is_estimated = models.BooleanField(_("date of birth estimated from age"), default=False)
    state = models.ForeignKey(State, on_delete=models.PROTECT, verbose_name=_("state"))
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("district")
    )
    preferred_language = models.ForeignKey(
        Language, on_delete=models.PROTECT, verbose_name=_("preferred language")
    )
    # Not unique across accounts: an elderly parent may be registered by two children.
    abha_number = models.CharField(_("ABHA number"), max_length=14, blank=True, default="")
    abha_address = models.CharField(_("ABHA address"), max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(relationship="self"),
                name="one_account_holder_per_family",
            ),
        ]
        indexes = [models.Index(fields=["account", "archived_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_patient_number})"

    @property
    def display_patient_number(self) -> str:
        return format_patient_number(self.patient_number)

    @property
    def display_abha_number(self) -> str:
        return format_abha_number(self.abha_number) if self.abha_number else ""

    @property
    def first_name(self) -> str:
        """The name a family calls the member by, for messages to an account that holds a
        whole family: the first word that is not an initial or a title ("K. Ramesh" and
        "Smt. Sunita Devi" are Ramesh and Sunita)."""
        words = self.name.split()
        for word in words:
            if not word.endswith(".") and len(word) > 1:
                return word
        return words[0] if words else ""

    @property
    def is_account_holder(self) -> bool:
        return self.relationship == Relationship.SELF

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def age_years(self) -> int:
        return self.age_on(india_today())
