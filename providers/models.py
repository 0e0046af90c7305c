"""Doctors, the facilities they work from, and their specialities."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.models import District, Language, LocalisedNameMixin, PublicIdModel, State
from providers.identifiers import validate_hfr_id, validate_hpr_id


class MedicalCouncil(models.TextChoices):
    NMC = "NMC", _("National Medical Commission (Indian Medical Register)")
    AP = "AP", _("Andhra Pradesh Medical Council")
    AS = "AS", _("Assam Medical Council")
    BR = "BR", _("Bihar Medical Council")
    CG = "CG", _("Chhattisgarh Medical Council")
    DL = "DL", _("Delhi Medical Council")
    GA = "GA", _("Goa Medical Council")
    GJ = "GJ", _("Gujarat Medical Council")
    HR = "HR", _("Haryana Medical Council")
    HP = "HP", _("Himachal Pradesh Medical Council")
    JK = "JK", _("Jammu and Kashmir Medical Council")
    JH = "JH", _("Jharkhand Medical Council")
    KA = "KA", _("Karnataka Medical Council")
    KL = "KL", _("Travancore-Cochin Medical Council (Kerala)")
    MP = "MP", _("Madhya Pradesh Medical Council")
    MH = "MH", _("Maharashtra Medical Council")
    OD = "OD", _("Odisha Council of Medical Registration")
    PB = "PB", _("Punjab Medical Council")
    RJ = "RJ", _("Rajasthan Medical Council")
    TN = "TN", _("Tamil Nadu Medical Council")
    TS = "TS", _("Telangana State Medical Council")
    UP = "UP", _("Uttar Pradesh Medical Council")
    UK = "UK", _("Uttarakhand Medical Council")
    WB = "WB", _("West Bengal Medical Council")
    OTHER = "OTHER", _("Other state medical council")


class RegistryStatus(models.TextChoices):
    """What ABDM's registry (HPR for a doctor, HFR for a facility) said at the last check."""

    UNCHECKED = "", _("Not checked")
    VERIFIED = "verified", _("Verified")
    NOT_FOUND = "not_found", _("Not found in the registry")
    INACTIVE = "inactive", _("Suspended or inactive")


class Speciality(LocalisedNameMixin, models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_hi = models.CharField(_("name in Hindi"), max_length=100, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("speciality")
        verbose_name_plural = _("specialities")

    def __str__(self) -> str:
        return self.name


class Facility(PublicIdModel):
    """A health facility registered in ABDM's Health Facility Registry (HFR)."""

    name = models.CharField(_("name"), max_length=200)
    state = models.ForeignKey(State, on_delete=models.PROTECT, verbose_name=_("state"))
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("district")
    )
    hfr_id = models.CharField(_("HFR ID"), max_length=12, unique=True, validators=[validate_hfr_id])
    hfr_status = models.CharField(
        _("HFR check"), max_length=12, choices=RegistryStatus.choices, blank=True, default=""
    )
    hfr_verified_at = models.DateTimeField(_("HFR checked at"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")

    def __str__(self) -> str:
        return self.name


class Doctor(PublicIdModel):
    user = models.OneToOneField(
        User, on_delete=models.PROTECT, related_name="doctor", verbose_name=_("account")
    )
    qualification = models.CharField(
        _("qualification"), max_length=120, help_text=_("e.g. MBBS, MD (General Medicine)")
    )
    medical_council = models.CharField(
        _("medical council"), max_length=5, choices=MedicalCouncil.choices
    )
    registration_number = models.CharField(
        _("registration number"),
        max_length=30,
        help_text=_(
            "Printed on every prescription, as the Telemedicine Practice Guidelines require."
        ),
    )
    hpr_id = models.CharField(
        _("HPR ID"),
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_hpr_id],
    )
    hpr_status = models.CharField(
        _("HPR check"), max_length=12, choices=RegistryStatus.choices, blank=True, default=""
    )
    hpr_verified_at = models.DateTimeField(_("HPR checked at"), null=True, blank=True)
    specialities = models.ManyToManyField(
        Speciality, related_name="doctors", verbose_name=_("specialities")
    )
    languages = models.ManyToManyField(
        Language, related_name="doctors", verbose_name=_("languages spoken")
    )
    home_state = models.ForeignKey(
        State, on_delete=models.PROTECT, related_name="doctors", verbose_name=_("home state")
    )
    facility = models.ForeignKey(
        Facility, on_delete=models.PROTECT, related_name="doctors", verbose_name=_("facility")
    )

    class Meta:
        ordering = ["user__full_name"]
        verbose_name = _("doctor")
        verbose_name_plural = _("doctors")
        constraints = [
            models.UniqueConstraint(
                fields=["medical_council", "registration_number"],
                name="unique_registration_per_council",
            ),
            models.CheckConstraint(
                condition=~models.Q(registration_number=""), name="registration_number_required"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.user.full_name
