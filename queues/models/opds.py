"""Online OPDs: their hours, the revision of their waiting line, and the day's token counter."""

from __future__ import annotations

from datetime import time

from django.db import connection, models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import LocalisedNameMixin, PublicIdModel, State
from providers.models import Speciality


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
