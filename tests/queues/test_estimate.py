"""The estimated wait a patient sees: from the OPD's own most recent consultations, in order."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

import pytest
from django.utils import timezone

from core.clock import IST
from queues.models import Opd, Ticket
from queues.services.booking import book
from tests.conftest import as_user
from tests.factories import PatientFactory
from tests.queues.conftest import make_opd

pytestmark = pytest.mark.django_db

_numbers = count(900)


def consulted(opd: Opd, *, ended: datetime, minutes: float) -> Ticket:
    """A finished consultation of ``minutes`` that ended at ``ended``."""
    patient = PatientFactory()
    number = next(_numbers)
    started = ended - timedelta(minutes=minutes)
    return Ticket.objects.create(
        opd=opd,
        patient=patient,
        booked_by=patient.account,
        service_date=started.astimezone(IST).date(),
        number=number,
        complaint="Fever",
        language=patient.preferred_language,
        seq=number,
        status=Ticket.Status.COMPLETED,
        booked_at=started - timedelta(minutes=5),
        status_changed_at=ended,
        consult_started_at=started,
        consult_ended_at=ended,
    )


def what_the_patient_sees(api, opd: Opd) -> dict[str, object]:
    """Book a token and read the waiting room's polling fallback, as the page would."""
    patient = PatientFactory()
    ticket = book(account=patient.account, patient=patient, opd=opd, complaint="Cough")
    response = as_user(api, patient.account).get(f"/api/tickets/{ticket.public_id}/")
    assert response.status_code == 200, response.content
    snapshot: dict[str, object] = response.json()
    return snapshot


def test_it_uses_the_most_recent_consultations_of_the_opd(api):
    opd = make_opd("ES")
    now = timezone.now()
    # Earlier today the doctors took a quarter of an hour per patient; the last 20 took five
    # minutes each. Only the recent ones say how fast the queue moves now.
    for i in range(30):
        consulted(opd, ended=now - timedelta(minutes=100 + i), minutes=15)
    for i in range(20):
        consulted(opd, ended=now - timedelta(minutes=1 + i), minutes=5)
    assert what_the_patient_sees(api, opd)["seconds_per_patient"] == 300


def test_old_and_other_opds_consultations_do_not_move_the_estimate(api):
    opd, other = make_opd("ES"), make_opd("OT")
    now = timezone.now()
    for i in range(3):
        consulted(opd, ended=now - timedelta(minutes=10 + i), minutes=4)
    for i in range(10):
        consulted(opd, ended=now - timedelta(hours=3, minutes=5 + i), minutes=30)  # too old
        consulted(other, ended=now - timedelta(minutes=5 + i), minutes=25)
    assert what_the_patient_sees(api, opd)["seconds_per_patient"] == 240


def test_until_three_recent_consultations_it_assumes_the_configured_length(api, settings):
    settings.QUEUE_DEFAULT_CONSULT_SECONDS = 420
    opd = make_opd("ES")
    consulted(opd, ended=timezone.now() - timedelta(minutes=3), minutes=2)
    consulted(opd, ended=timezone.now() - timedelta(minutes=2), minutes=2)
    assert what_the_patient_sees(api, opd)["seconds_per_patient"] == 420


def test_calls_shorter_than_a_minute_never_promise_less_than_a_minute_each(api):
    opd = make_opd("ES")
    for i in range(5):
        consulted(opd, ended=timezone.now() - timedelta(minutes=i + 1), minutes=0.3)
    snapshot = what_the_patient_sees(api, opd)
    assert snapshot["seconds_per_patient"] == 60
