"""Many doctors claiming at once against real PostgreSQL: no patient to two doctors, no doctor
with two patients."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from queues.models import DoctorPresence, DutyShift, Ticket, TicketEvent
from queues.services.booking import queue_seq
from queues.services.dispatch import claim_next_ticket
from tests.factories import DoctorFactory, PatientFactory
from tests.queues.conftest import make_opd

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DOCTORS = 12
TICKETS = 240


def test_parallel_claims_never_double_assign():
    opd = make_opd("CC")
    patients = [PatientFactory() for _ in range(TICKETS)]
    today = timezone.localdate()
    Ticket.objects.bulk_create(
        [
            Ticket(
                opd=opd,
                patient=p,
                booked_by=p.account,
                service_date=today,
                number=n,
                seq=queue_seq(today, n),
                complaint="Fever",
                language=p.preferred_language,
            )
            for n, p in enumerate(patients, start=1)
        ]
    )
    doctors = []
    for _ in range(DOCTORS):
        doctor = DoctorFactory()
        DoctorPresence.objects.create(doctor=doctor, console_seen_at=timezone.now())
        DutyShift.objects.create(doctor=doctor, opd=opd)
        doctors.append(doctor)
    start = threading.Barrier(DOCTORS)
    errors: list[BaseException] = []
    held_violations: list[int] = []

    def work(doctor) -> None:
        try:
            start.wait()
            while True:
                ticket = claim_next_ticket(doctor)
                if ticket is None:
                    return
                held = Ticket.objects.filter(doctor=doctor, status__in=Ticket.HELD).count()
                if held != 1:
                    held_violations.append(held)
                # Finish at once so the doctor can claim again.
                Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.COMPLETED)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(d,)) for d in doctors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)  # about 10 s on a quiet machine; generous for a loaded CI
    assert not [t for t in threads if t.is_alive()], "claimers still running"
    assert not errors, errors
    assert held_violations == []
    offers = Counter(
        TicketEvent.objects.filter(kind=TicketEvent.Kind.OFFERED).values_list(
            "ticket_id", flat=True
        )
    )
    assert len(offers) == TICKETS
    assert max(offers.values()) == 1  # no patient offered twice
    assert Ticket.objects.filter(status=Ticket.Status.COMPLETED).count() == TICKETS
    per_doctor = TicketEvent.objects.values("doctor").annotate(n=Count("id"))
    assert len(per_doctor) > 1  # the work was shared
