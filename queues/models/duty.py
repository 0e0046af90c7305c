"""Doctors on duty for OPDs, and their live state."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from providers.models import Doctor
from queues.models.opds import Opd


class DutyShift(models.Model):
    """A doctor on duty for one OPD, from going on duty until going off."""

    class EndReason(models.TextChoices):
        SIGNED_OFF = "signed_off", _("went off duty")
        DISCONNECTED = "disconnected", _("console disconnected")

    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="shifts")
    opd = models.ForeignKey(Opd, on_delete=models.PROTECT, related_name="shifts")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["doctor", "opd"], condition=Q(ended_at=None), name="one_open_shift_per_opd"
            ),
        ]
        indexes = [models.Index(fields=["opd"], condition=Q(ended_at=None), name="open_shifts")]

    def __str__(self) -> str:
        return f"{self.doctor} on {self.opd} from {self.started_at:%Y-%m-%d %H:%M}"


class DoctorPresence(models.Model):
    """A doctor's live state: console heartbeat, pause, and when they last got a patient."""

    doctor = models.OneToOneField(
        Doctor, on_delete=models.CASCADE, primary_key=True, related_name="presence"
    )
    console_seen_at = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.doctor}: seen {self.console_seen_at}"
