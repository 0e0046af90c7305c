"""What happens in a video visit: who joined and connected when, and the in-call chat.

A call room belongs to one ticket (the consultation) and is open while the ticket is called
or in consultation; its address is the ticket's random public id.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.models import PublicIdModel
from queues.models import Ticket


class Side(models.TextChoices):
    PATIENT = "patient", _("Patient")
    DOCTOR = "doctor", _("Doctor")


class CallEvent(models.Model):
    class Kind(models.TextChoices):
        JOINED = "joined", _("joined the call")
        LEFT = "left", _("left the call")
        CONNECTED = "connected", _("media connected")
        RECONNECTED = "reconnected", _("media reconnected")
        FAILED = "failed", _("media connection failed")
        ENDED = "ended", _("call ended")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="call_events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    side = models.CharField(max_length=8, choices=Side.choices)
    at = models.DateTimeField(default=timezone.now)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kind", "at"], name="call_event_kind_at")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.side} {self.kind}"


class ChatMessage(PublicIdModel):
    """Text sent during the call; kept with the consultation."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="chat_messages")
    side = models.CharField(max_length=8, choices=Side.choices)
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=1000)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return f"{self.side} at {self.sent_at:%H:%M}"
