"""The clinical record of a visit and its e-prescription.

A consultation belongs to one ticket (the visit). Its prescription is written as a draft that
saves as the doctor types; finalising makes it immutable and numbered. A correction is a new
version of the same number that supersedes the old one; both stay in the history.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import PublicIdModel
from patients.models import Patient
from providers.models import Doctor
from queues.models import Opd, Ticket


class Consultation(PublicIdModel):
    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="consultation")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consultations")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="consultations")
    opd = models.ForeignKey(Opd, on_delete=models.PROTECT, related_name="consultations")
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")

    def __str__(self) -> str:
        return f"{self.ticket} with {self.doctor}"


class PrescriptionCounter(models.Model):
    """Prescription numbers per year: finalising locks this one row."""

    year = models.PositiveSmallIntegerField(unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Prescription(PublicIdModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        FINAL = "final", _("Final")
        SUPERSEDED = "superseded", _("Superseded by a correction")

    consultation = models.ForeignKey(
        Consultation, on_delete=models.PROTECT, related_name="prescriptions"
    )
    version = models.PositiveSmallIntegerField(default=1)
    number = models.CharField(_("prescription number"), max_length=20, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )

    chief_complaints = models.TextField(_("chief complaints"), max_length=2000, blank=True)
    history = models.TextField(_("history"), max_length=4000, blank=True)
    vitals = models.JSONField(_("vitals"), default=dict, blank=True)
    examination = models.TextField(_("examination findings"), max_length=4000, blank=True)
    diagnosis = models.TextField(_("provisional diagnosis"), max_length=1000, blank=True)
    icd10_code = models.CharField(_("ICD-10 code"), max_length=8, blank=True)
    investigations = models.TextField(_("investigations advised"), max_length=2000, blank=True)
    advice = models.TextField(_("advice"), max_length=4000, blank=True)
    follow_up_on = models.DateField(_("follow-up date"), null=True, blank=True)
    referral = models.TextField(_("referral"), max_length=1000, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    finalised_at = models.DateTimeField(null=True, blank=True)
    verification_code = models.CharField(max_length=32, unique=True, null=True, blank=True)
    pdf = models.FileField(upload_to="prescriptions/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["consultation", "version"]
        verbose_name = _("prescription")
        verbose_name_plural = _("prescriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "version"], name="one_version_number_per_consultation"
            ),
            models.UniqueConstraint(
                fields=["consultation"],
                condition=Q(status="draft"),
                name="one_draft_per_consultation",
            ),
            models.UniqueConstraint(
                fields=["number", "version"],
                condition=~Q(number=""),
                name="unique_prescription_number_version",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | (~Q(number="") & Q(finalised_at__isnull=False)),
                name="final_prescription_is_numbered",
            ),
        ]

    def __str__(self) -> str:
        return self.display_number or f"draft {self.public_id}"

    @property
    def display_number(self) -> str:
        if not self.number:
            return ""
        return self.number if self.version == 1 else f"{self.number}/{self.version}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class MedicineLine(models.Model):
    class DosageForm(models.TextChoices):
        TABLET = "tablet", _("Tablet")
        CAPSULE = "capsule", _("Capsule")
        SYRUP = "syrup", _("Syrup")
        SUSPENSION = "suspension", _("Suspension")
        INJECTION = "injection", _("Injection")
        OINTMENT = "ointment", _("Ointment or cream")
        DROPS = "drops", _("Drops")
        INHALER = "inhaler", _("Inhaler")
        POWDER = "powder", _("Powder or sachet")
        OTHER = "other", _("Other")

    class Frequency(models.TextChoices):
        ONCE = "od", _("Once a day")
        TWICE = "bd", _("Twice a day")
        THRICE = "tds", _("Three times a day")
        FOUR = "qid", _("Four times a day")
        NIGHT = "hs", _("At bedtime")
        NEEDED = "sos", _("When needed")
        WEEKLY = "weekly", _("Once a week")
        STAT = "stat", _("Once, immediately")

    class Route(models.TextChoices):
        ORAL = "oral", _("By mouth")
        TOPICAL = "topical", _("On the skin")
        INHALED = "inhaled", _("Inhaled")
        EYE = "eye", _("In the eye")
        EAR = "ear", _("In the ear")
        NASAL = "nasal", _("In the nose")
        SUBLINGUAL = "sublingual", _("Under the tongue")
        INJECTION = "injection", _("By injection")
        OTHER = "other", _("Other")

    class Timing(models.TextChoices):
        BEFORE_FOOD = "before_food", _("Before food")
        AFTER_FOOD = "after_food", _("After food")
        WITH_FOOD = "with_food", _("With food")
        EMPTY_STOMACH = "empty_stomach", _("On an empty stomach")
        ANY = "any", _("Any time")

    prescription = models.ForeignKey(
        Prescription, on_delete=models.CASCADE, related_name="medicines"
    )
    position = models.PositiveSmallIntegerField()
    name = models.CharField(_("medicine"), max_length=120)
    strength = models.CharField(_("strength"), max_length=40, blank=True)
    dosage_form = models.CharField(_("form"), max_length=12, choices=DosageForm.choices)
    dose = models.CharField(_("dose"), max_length=60, blank=True)
    frequency = models.CharField(
        _("how often"), max_length=8, choices=Frequency.choices, blank=True
    )
    duration_days = models.PositiveSmallIntegerField(
        _("for how many days"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    route = models.CharField(_("route"), max_length=12, choices=Route.choices, default=Route.ORAL)
    timing = models.CharField(_("when"), max_length=14, choices=Timing.choices, default=Timing.ANY)
    instructions = models.CharField(_("instructions"), max_length=200, blank=True)

    class Meta:
        ordering = ["prescription", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["prescription", "position"], name="one_medicine_per_line"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.strength}".strip()
