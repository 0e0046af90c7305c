"""Summary (rollup) tables behind the state and national dashboards.

Every row belongs to one *slice*: an OPD and a service day (IST). A slice is recomputed whole
from the raw tables (tickets, prescriptions, notifications, duty shifts) whenever anything in it
changes (``dashboards.rollups``), so a dashboard reads a few rows per OPD and day, however many
consultations the service has ever held.

``state`` is the patient's state for patient counts (a state's dashboard covers its residents,
in its own OPDs and in national speciality OPDs), and for doctor rows the OPD's state, or the
doctor's home state for a national OPD.

Nothing here identifies a patient: only counts and sums.
"""

from __future__ import annotations

from django.db import models

from core.models import District, State
from providers.models import Doctor
from queues.models import Opd


class SliceRow(models.Model):
    day = models.DateField()
    opd = models.ForeignKey(Opd, on_delete=models.CASCADE, related_name="+")
    state = models.ForeignKey(State, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} {self.opd_id} {self.day}"


class DayStats(SliceRow):
    """One OPD, one day, the patients of one state."""

    booked = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    no_show = models.PositiveIntegerField(default=0)
    left = models.PositiveIntegerField(default=0)
    # Wait: booking to the start of the consultation, for consultations that started.
    wait_count = models.PositiveIntegerField(default=0)
    wait_seconds = models.BigIntegerField(default=0)
    wait_histogram = models.JSONField(default=list)  # counts per dashboards.buckets.WAIT
    # Duration: start to end of completed consultations.
    consult_count = models.PositiveIntegerField(default=0)
    consult_seconds = models.BigIntegerField(default=0)
    consult_histogram = models.JSONField(default=list)  # counts per dashboards.buckets.CONSULT
    prescriptions = models.PositiveIntegerField(default=0)
    notifications_sent = models.PositiveIntegerField(default=0)
    notifications_failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "opd", "state"], name="daystats_slice_key")
        ]
        indexes = [models.Index(fields=["state", "day"], name="daystats_state_day")]


class HourStats(SliceRow):
    """Bookings by hour of the day (IST), for the busiest-hours heat map."""

    hour = models.PositiveSmallIntegerField()
    booked = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "opd", "state", "hour"], name="hourstats_slice_key"
            )
        ]
        indexes = [models.Index(fields=["state", "day"], name="hourstats_state_day")]


class DistrictStats(SliceRow):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="+")
    booked = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "opd", "state", "district"], name="districtstats_slice_key"
            )
        ]
        indexes = [models.Index(fields=["state", "day"], name="districtstats_state_day")]


class DemographyStats(SliceRow):
    """By sex and age band (dashboards.buckets.AGE_BANDS) on the day of the booking."""

    sex = models.CharField(max_length=1)
    age_band = models.CharField(max_length=8)
    booked = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "opd", "state", "sex", "age_band"],
                name="demographystats_slice_key",
            )
        ]
        indexes = [models.Index(fields=["state", "day"], name="demographystats_state_day")]


class DoctorDayStats(SliceRow):
    """A doctor's day in one OPD: time on duty and time in consultation (utilisation)."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="+")
    consultations = models.PositiveIntegerField(default=0)
    consult_seconds = models.BigIntegerField(default=0)
    on_duty_seconds = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "opd", "doctor"], name="doctordaystats_slice_key"
            )
        ]
        indexes = [models.Index(fields=["state", "day"], name="doctordaystats_state_day")]


class RollupCursor(models.Model):
    """How far the incremental refresh has read the raw tables (one row)."""

    name = models.CharField(max_length=32, unique=True)
    read_up_to = models.DateTimeField()
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.read_up_to.isoformat()}"
