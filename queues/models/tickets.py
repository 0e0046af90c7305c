"""The tickets patients wait with, their events, presence leases and attachments."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.models import Language, PublicIdModel
from patients.models import Patient
from providers.models import Doctor
from queues.models.opds import Opd


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

    # --- State changes: every change of status is a compare-and-set through ``transition``,
    # --- which records the change as a TicketEvent. Broadcasting it is the caller's (a service).

    def transition(
        self,
        status: str,
        *,
        event: str,
        at: datetime,
        source: Collection[str] | None = None,
        held_by: Doctor | None = None,
        only_if: Q | None = None,
        actor: User | None = None,
        detail: dict[str, Any] | None = None,
        **changes: Any,
    ) -> bool:
        """Move the ticket to ``status`` if it is still in one of ``source`` (by default every
        status that may lead there, see ``TRANSITIONS``), is held by ``held_by`` (when given)
        and matches ``only_if``; ``False`` if another process changed it first.

        One UPDATE sets the status and the fields the new status needs (``_stamps``), plus
        ``changes``; the winner records the ``event`` (its doctor: the one holding the ticket
        after the change, else the one who held it before) and sees the changes on this
        instance.
        """
        allowed = TRANSITIONS[status]
        sources = allowed if source is None else frozenset(source)
        if not sources <= allowed:
            raise ValueError(f"A ticket does not go from {sorted(sources)} to {status}.")
        fields = {**_stamps(status, at), **changes}
        candidates = Ticket.objects.filter(pk=self.pk, status__in=sources)
        if held_by is not None:
            candidates = candidates.filter(doctor=held_by)
        if only_if is not None:
            candidates = candidates.filter(only_if)
        if candidates.update(**fields) != 1:
            return False
        before = held_by.pk if held_by is not None else self.doctor_id
        for name, value in fields.items():
            setattr(self, name, value)
        if held_by is not None and "doctor" not in fields:
            self.doctor = held_by
        TicketEvent.objects.create(
            ticket=self,
            kind=event,
            at=at,
            actor=actor,
            doctor_id=self.doctor_id if self.doctor_id is not None else before,
            detail=detail if detail is not None else {},
        )
        return True


_S = Ticket.Status

# The statuses a ticket may come from, by the status it goes to.
TRANSITIONS: dict[str, frozenset[str]] = {
    _S.WAITING: frozenset({_S.OFFERED, _S.CALLED}),
    _S.OFFERED: frozenset({_S.WAITING}),
    _S.CALLED: frozenset({_S.OFFERED}),
    _S.IN_CONSULTATION: frozenset({_S.CALLED}),
    _S.COMPLETED: frozenset({_S.IN_CONSULTATION}),
    _S.CANCELLED: frozenset({_S.WAITING, _S.OFFERED, _S.CALLED}),
    _S.NO_SHOW: frozenset({_S.CALLED}),
    _S.LEFT: frozenset({_S.WAITING}),
}


def _stamps(status: str, at: datetime) -> dict[str, Any]:
    """The fields a ticket entering ``status`` at ``at`` gets, whoever moves it there: a
    ticket nobody holds has no doctor and no deadline; a consultation's start and end times."""
    fields: dict[str, Any] = {"status": status, "status_changed_at": at}
    if status in (_S.WAITING, _S.CANCELLED, _S.NO_SHOW, _S.LEFT):
        fields.update(doctor=None, offer_expires_at=None, call_expires_at=None)
    elif status == _S.CALLED:
        fields.update(offer_expires_at=None)
    elif status == _S.IN_CONSULTATION:
        fields.update(call_expires_at=None, consult_started_at=at)
    elif status == _S.COMPLETED:
        fields.update(consult_ended_at=at)
    return fields


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
