"""The shapes of the waiting room's answers that selectors build as plain dicts (the ticket
``snapshot``, the doctor's ``console``), declared for /api/schema/. The sockets send the same
frames: docs/waiting-room.md describes them."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

TICKET_STATUSES = "waiting, offered, called, in_consultation, completed, cancelled, no_show or left"


class TicketSnapshotSerializer(serializers.Serializer[Any]):
    """What the waiting-room page shows, computed now (the socket's ``snapshot`` frame)."""

    type = serializers.CharField(help_text="Always 'snapshot'")
    ticket = serializers.UUIDField()
    token = serializers.CharField(help_text="e.g. GM-042")
    status = serializers.CharField(help_text=TICKET_STATUSES)
    key = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=2,
        max_length=2,
        help_text="The place in the line: [priority, seq]",
    )
    position = serializers.IntegerField(
        allow_null=True, help_text="1 for the next patient; null once no longer waiting"
    )
    waiting = serializers.IntegerField(help_text="Patients waiting in the OPD")
    revision = serializers.IntegerField(
        help_text="The OPD's line as of this change number: the socket's queue changes at or "
        "below it are already counted (docs/waiting-room.md)"
    )
    doctors_on_duty = serializers.IntegerField()
    seconds_per_patient = serializers.IntegerField()
    estimated_wait_seconds = serializers.IntegerField(
        allow_null=True, help_text="Null with no doctor on duty"
    )
    call_expires_at = serializers.DateTimeField(allow_null=True)
    call_seconds_left = serializers.IntegerField(
        allow_null=True, help_text="While CALL NOW is showing"
    )
    opd_open = serializers.BooleanField()
    opens_at = serializers.DateTimeField(allow_null=True, help_text="While the OPD is closed")
    missed_calls = serializers.IntegerField()


class ConsoleOpdSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    code = serializers.CharField()
    name = serializers.CharField()
    on_duty = serializers.BooleanField()
    open = serializers.BooleanField()
    waiting = serializers.IntegerField(allow_null=True, help_text="Null when not on duty here")
    doctors_on_duty = serializers.IntegerField(
        allow_null=True, help_text="Null when not on duty here"
    )


class PatientLineSerializer(serializers.Serializer[Any]):
    """A waiting patient as the doctor sees them before accepting: no name."""

    token = serializers.CharField()
    age = serializers.IntegerField()
    sex = serializers.CharField(help_text="In the request's language")
    complaint = serializers.CharField()
    language = serializers.CharField()
    priority = serializers.CharField(allow_null=True, help_text="Why they are seen first, if so")
    priority_basis = serializers.ChoiceField(
        choices=["declared", "date_of_birth", "age", ""],
        help_text="What the priority rests on: the family's declaration, or the date of birth "
        "or age on record; empty without priority",
    )
    opd = serializers.CharField(help_text="The OPD's code")


class AttachmentSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    type = serializers.CharField(help_text="application/pdf, image/jpeg or image/png")
    size = serializers.IntegerField(help_text="Bytes")
    url = serializers.CharField(help_text="Where the doctor opens it (signed-in page)")


class CurrentPatientSerializer(PatientLineSerializer):
    """The patient offered to, called by or with the doctor."""

    ticket = serializers.UUIDField()
    status = serializers.CharField(help_text="offered, called or in_consultation")
    name = serializers.CharField()
    offer_expires_at = serializers.DateTimeField(allow_null=True)
    call_expires_at = serializers.DateTimeField(allow_null=True)
    attachments = AttachmentSerializer(many=True)


class ConsoleSummarySerializer(serializers.Serializer[Any]):
    """The doctor's console (the socket's ``console`` frame)."""

    type = serializers.CharField(help_text="Always 'console'")
    paused = serializers.BooleanField(help_text="After an unanswered offer, until resumed")
    opds = ConsoleOpdSerializer(many=True)
    next = PatientLineSerializer(many=True, help_text="The next few patients, in order")
    current = CurrentPatientSerializer(allow_null=True)
