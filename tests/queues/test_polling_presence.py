"""Presence by polling (the waiting room's fallback without a socket, or a page without
JavaScript): each poll renews a lease, and the patient is away once polls stop long enough."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from queues.models import Ticket
from queues.services.booking import book
from queues.services.timers import sweep
from tests.conftest import as_user
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_a_page_that_stops_polling_is_away_once_its_lease_lapses(api, client, opd, settings):
    settings.QUEUE_PATIENT_LEASE_SECONDS = 90
    patient = PatientFactory()
    ticket = book(account=patient.account, patient=patient, opd=opd, complaint="Fever")
    family = as_user(api, patient.account)
    polled = timezone.now()
    assert family.get(f"/api/tickets/{ticket.public_id}/").status_code == 200

    sweep(now=polled + timedelta(seconds=80))
    ticket.refresh_from_db()
    assert ticket.patient_away_since is None

    sweep(now=polled + timedelta(seconds=100))
    ticket.refresh_from_db()
    assert ticket.patient_away_since is not None
    assert ticket.patient_away_since - polled < timedelta(seconds=92)  # since the lapse

    client.force_login(patient.account)
    assert client.get(f"/waiting/{ticket.public_id}/").status_code == 200  # back
    ticket.refresh_from_db()
    assert (ticket.status, ticket.patient_away_since) == (Ticket.Status.WAITING, None)
