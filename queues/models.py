"""OPDs, their hours, doctors on duty, and the tickets patients wait with.

PostgreSQL is the source of truth for the queue: a ticket's place is its ``(priority, seq)``
key, claims are compare-and-set updates, and constraints make double assignment impossible.
Redis only carries messages about changes.
"""

from __future__ import annotations

from datetime import time

from django.db import connection, models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.models import Language, LocalisedNameMixin, PublicIdModel, State
from patients.models import Patient
from providers.models import Doctor, Speciality


class Opd(LocalisedNameMixin, PublicIdModel):
    """An online OPD: a state's general or speciality clinic, or a national one."""

    code = models.CharField(
        _("token prefix"), max_length=4, help_text=_("Tokens read e.g. GM-042.")
    )
    name = models.CharField(_("name"), max_length=120)
    name_hi = models.CharField(_("name in Hindi"), max_length=120, blank=True)
    speciality = models.ForeignKey(
        Speciality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("speciality"),
        help_text=_("Empty for a general OPD."),
    )
    state = models.ForeignKey(
        State,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opds",
        verbose_name=_("state"),
        help_text=_("Empty for a national OPD serving every state."),
    )
    daily_token_limit = models.PositiveIntegerField(_("tokens per day"), default=500)
    waiting_room_size = models.PositiveIntegerField(
        _("waiting room size"),
        default=300,
        help_text=_("Most patients waiting at one time."),
    )
    call_window_seconds = models.PositiveSmallIntegerField(
        _("seconds to answer CALL NOW"), default=120
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["state__name", "name"]
        verbose_name = _("OPD")
        verbose_name_plural = _("OPDs")
        constraints = [
            models.UniqueConstraint(fields=["state", "code"], name="unique_opd_code_per_state"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(state__isnull=True), name="unique_national_opd_code"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_national(self) -> bool:
        return self.state_id is None


class OpdHours(models.Model):
    """Weekly opening hours in the OPD's local time (Indian Standard Time)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    opd = models.ForeignKey(Opd, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    opens_at = models.TimeField(_("opens at"), default=time(9, 0))
    closes_at = models.TimeField(_("closes at"), default=time(17, 0))

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__lt=models.F("closes_at")), name="opens_before_closing"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class OpdRevision(models.Model):
    """Per OPD: the revision of its waiting line, which grows by one with every ticket that
    joins or leaves it (docs/waiting-room.md, "Revisions").

    A change takes its revision in the transaction that makes it (``advance``), and the row
    stays locked until that transaction ends: revisions are committed in order, without gaps,
    and a snapshot read in one statement sees exactly the changes up to its revision. A row
    of its own, so that saving an OPD in the admin can never write an old revision back.
    """

    opd = models.OneToOneField(Opd, on_delete=models.CASCADE, primary_key=True, related_name="+")
    revision = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.opd_id} at revision {self.revision}"

    @classmethod
    def advance(cls, opd_id: int, by: int = 1) -> int:
        """Take the OPD's next ``by`` revisions; returns the last. Call it inside the
        transaction that makes the changes, as late as possible (it locks the OPD's row)."""
        if not connection.in_atomic_block:
            raise RuntimeError("A revision is taken in the transaction that makes the change.")
        with connection.cursor() as cursor:
            cursor.execute(_ADVANCE_SQL, [opd_id, by])
            row = cursor.fetchone()
        return int(row[0])


# PostgreSQL and SQLite (3.35+) alike: one statement, creating the row on the first change.
_ADVANCE_SQL = """
INSERT INTO queues_opdrevision (opd_id, revision) VALUES (%s, %s)
ON CONFLICT (opd_id) DO UPDATE SET revision = queues_opdrevision.revision + excluded.revision
RETURNING revision
"""


class OpdDay(models.Model):
    """Per OPD and day: the token counter. Booking locks this one row, nothing wider."""

    opd = models.ForeignKey(Opd, on_delete=models.CASCADE, related_name="days")
    service_date = models.DateField()
    tokens_issued = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["opd", "service_date"], name="one_counter_per_opd_day")
        ]

    def __str__(self) -> str:
        return f"{self.opd} {self.service_date}: {self.tokens_issued} tokens"


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


class Ticket(PublicIdModel):
    """A patient's token for one OPD on one day, and their place in its queue."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered to a doctor")
        CALLED = "called", _("Called")
        IN_CONSULTATION = "in_consultation", _("In consultation")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("Did not answer")
        LEFT = "left", _("Left the waiting room")

    class Priority(models.IntegerChoices):
        NORMAL = 0, _("Normal")
        PRIORITY = 1, _("Priority")

    class PriorityReason(models.TextChoices):
        NONE = "", _("None")
        SENIOR = "senior", _("Aged 60 or more")
        PREGNANT = "pregnant", _("Pregnant")
        DISABILITY = "disability", _("Person with disability")

    ACTIVE = (Status.WAITING, Status.OFFERED, Status.CALLED, Status.IN_CONSULTATION)
    HELD = (Status.OFFERED, Status.CALLED, Status.IN_CONSULTATION)

    opd = models.ForeignKey(Opd, on_delete=models.PROTECT, related_name="tickets")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="tickets")
    booked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    service_date = models.DateField()
    number = models.PositiveIntegerField()
    complaint = models.TextField(max_length=1000)
    language = models.ForeignKey(Language, on_delete=models.PROTECT, related_name="+")
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    priority_reason = models.CharField(
        max_length=12, choices=PriorityReason.choices, blank=True, default=""
    )
    # A claim only the family's word supports (pregnancy, disability): who declared it, and when.
    # Empty for priority by age, which rests on the date of birth on record.
    priority_declared_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("priority declared by"),
    )
    priority_declared_at = models.DateTimeField(_("priority declared at"), null=True, blank=True)
    # Place in the queue: lower first within a priority. Set from the token number; moved to
    # the head when a patient who missed CALL NOW is given a second chance.
    seq = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    booked_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    doctor = models.ForeignKey(
        Doctor,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        help_text="The doctor holding the ticket while offered, called or in consultation.",
    )
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    call_expires_at = models.DateTimeField(null=True, blank=True)
    missed_calls = models.PositiveSmallIntegerField(default=0)
    consult_started_at = models.DateTimeField(null=True, blank=True)
    consult_ended_at = models.DateTimeField(null=True, blank=True)
    passed_over_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="First time a doctor passed this ticket over to let a same-language doctor "
        "take it; the language preference never holds it longer than the configured cap.",
    )
    skipped_by = models.JSONField(
        default=list, blank=True, help_text="Doctors who skipped this ticket; not offered again."
    )
    patient_away_since = models.DateTimeField(null=True, blank=True)
    position_sms_sent = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(
                fields=["opd", "service_date", "number"], name="unique_token_per_opd_day"
            ),
            models.UniqueConstraint(
                fields=["patient", "opd"],
                condition=Q(status__in=["waiting", "offered", "called", "in_consultation"]),
                name="one_active_ticket_per_patient_per_opd",
            ),
            models.UniqueConstraint(
                fields=["doctor"],
                condition=Q(status__in=["offered", "called", "in_consultation"]),
                name="doctor_holds_one_ticket",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["offered", "called", "in_consultation"], doctor__isnull=False
                )
                | ~Q(status__in=["offered", "called", "in_consultation"]),
                name="held_ticket_has_doctor",
            ),
        ]
        indexes = [
            models.Index(
                fields=["opd", "-priority", "seq"],
                condition=Q(status="waiting"),
                name="waiting_order",
            ),
            models.Index(fields=["status", "offer_expires_at"], name="ticket_offer_deadline"),
            models.Index(fields=["status", "call_expires_at"], name="ticket_call_deadline"),
            models.Index(fields=["opd", "service_date"], name="ticket_opd_day"),
            # The estimated wait reads an OPD's most recent consultations on every snapshot.
            models.Index(
                fields=["opd", "-consult_ended_at"],
                condition=Q(status="completed"),
                name="recent_consultations",
            ),
        ]

    def __str__(self) -> str:
        return self.token

    @property
    def token(self) -> str:
        return f"{self.opd.code}-{self.number:03d}"

    @property
    def key(self) -> tuple[int, int]:
        """Place in the queue: higher priority first, then lower sequence."""
        return (self.priority, self.seq)

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class PresenceLease(models.Model):
    """A waiting-room page's word that its patient is there, good until ``expires_at``.

    One per open socket (``holder`` is the socket's random id) and one shared by the pages that
    poll instead (``holder`` is ``"poll"``); heartbeats renew them. A socket that closes takes
    its lease away; one whose web process died leaves it to expire. The patient is away once no
    lease of the ticket is alive: at the last goodbye, or when the sweeper finds them all
    expired (``queues.services.timers.mark_absent_patients``). In the database, not the cache:
    it must survive the death of any process, and a cache that cannot be reached.
    """

    POLL = "poll"

    ticket = models.ForeignKey("Ticket", on_delete=models.CASCADE, related_name="leases")
    holder = models.CharField(max_length=32)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "holder"], name="one_lease_per_holder"),
        ]
        indexes = [models.Index(fields=["expires_at"], name="lease_expiry")]

    def __str__(self) -> str:
        return f"{self.ticket_id} held by {self.holder} until {self.expires_at:%H:%M:%S}"


class TicketEvent(models.Model):
    """Every change of a ticket, with time and actor: feeds wait-time and no-show figures."""

    class Kind(models.TextChoices):
        BOOKED = "booked", _("booked")
        OFFERED = "offered", _("offered to a doctor")
        ACCEPTED = "accepted", _("accepted by the doctor")
        SKIPPED = "skipped", _("skipped by the doctor")
        OFFER_EXPIRED = "offer_expired", _("offer not answered by the doctor")
        DOCTOR_LOST = "doctor_lost", _("doctor disconnected")
        ANSWERED = "answered", _("patient answered CALL NOW")
        CALL_MISSED = "call_missed", _("CALL NOW not answered, back to the head")
        NO_SHOW = "no_show", _("no-show")
        COMPLETED = "completed", _("consultation ended")
        CANCELLED = "cancelled", _("cancelled")
        LEFT = "left", _("left the waiting room")
        CLOSED = "closed", _("OPD closed")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system acted (timers).",
    )
    doctor = models.ForeignKey(
        Doctor, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kind", "at"], name="ticket_event_kind_at")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class Attachment(PublicIdModel):
    """An earlier prescription or report the patient shared with the booking."""

    class Kind(models.TextChoices):
        PDF = "application/pdf", "PDF"
        JPEG = "image/jpeg", "JPEG"
        PNG = "image/png", "PNG"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    content_type = models.CharField(max_length=32, choices=Kind.choices)
    size = models.PositiveIntegerField()
    original_name = models.CharField(max_length=120)
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.original_name
