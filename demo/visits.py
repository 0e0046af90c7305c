"""Past OPD visits of one patient, each seen by a doctor and closed with a signed prescription:
the demo family's own records (``seed_demo``), which it can then share through ABDM, and the
ABDM bench's patient with a hundred of them (``bench.abdm``)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from consultations.models import Consultation, Prescription
from core.clock import IST
from demo.prescriptions import write_prescriptions
from patients.models import Patient
from providers.models import Doctor
from queues.models import Opd, Ticket, TicketEvent
from queues.services.booking import queue_seq

COMPLAINTS = (
    "Fever and body ache for two days",
    "Cough and cold for a week",
    "Burning in the stomach after meals",
    "Headache and dizziness",
    "Itching rash on both arms",
    "Follow-up for blood pressure",
)
# Tokens far above a day's real bookings, so a demo visit never takes a live token's number.
FIRST_NUMBER = 90_000


def signed_visits(
    patient: Patient, *, opd: Opd, doctor: Doctor, days: Sequence[date], rng: random.Random
) -> list[Prescription]:
    """Within the caller's transaction: one completed visit per day in ``days`` (10:00 IST and a
    few minutes later), its consultation and its final prescription. Returns the prescriptions."""
    visits: list[tuple[Ticket, datetime, datetime, datetime]] = []
    for index, day in enumerate(days):
        booked = datetime.combine(day, time(9, 30), tzinfo=IST)
        started = booked + timedelta(minutes=30 + rng.randint(0, 20))
        ended = started + timedelta(minutes=rng.randint(5, 12))
        number = FIRST_NUMBER + index
        ticket = Ticket(
            opd=opd,
            patient=patient,
            booked_by=patient.account,
            service_date=day,
            number=number,
            complaint=rng.choice(COMPLAINTS),
            language=patient.preferred_language,
            seq=queue_seq(day, number),
            status=Ticket.Status.COMPLETED,
            booked_at=booked,
            status_changed_at=ended,
            doctor=doctor,
            consult_started_at=started,
            consult_ended_at=ended,
        )
        visits.append((ticket, booked, started, ended))
    Ticket.objects.bulk_create([visit[0] for visit in visits])
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(ticket=ticket, kind=kind, at=moment, doctor=who)
            for ticket, booked, started, ended in visits
            for kind, moment, who in (
                (TicketEvent.Kind.BOOKED, booked, None),
                (TicketEvent.Kind.ANSWERED, started, doctor),
                (TicketEvent.Kind.COMPLETED, ended, doctor),
            )
        ]
    )
    consultations = Consultation.objects.bulk_create(
        [
            Consultation(
                ticket=ticket,
                patient=patient,
                doctor=doctor,
                opd=opd,
                started_at=started,
            )
            for ticket, _booked, started, _ended in visits
        ]
    )
    return write_prescriptions(consultations, rng, signed_share=1.0)
