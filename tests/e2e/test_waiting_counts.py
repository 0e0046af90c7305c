"""The waiting page in a browser counts every queue change once: opened, and reloaded, during a
burst of bookings and cancellations by other families, it ends showing the true position and
count (what the server's own snapshot says), without waiting for a periodic resync."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from datetime import date

import pytest
from playwright.sync_api import expect

from patients.models import Patient
from tests.e2e.processes import LiveApp
from tests.e2e.support import SmsInbox, national, sign_in_patient
from tests.e2e.test_waiting_room import (
    LIVE_MS,
    OpenPage,
    api_post,
    api_token,
    book_for,
    family,
    general_opd_open_round_the_clock,
)
from tests.factories import PatientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROUNDS = 15


def api_get(app: LiveApp, path: str, token: str) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        app.url + path, headers={"Authorization": f"Token {token}", "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        body: dict[str, object] = json.loads(response.read())
        return body


def api_book(app: LiveApp, token: str, patient: Patient, opd_id: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        app.url + "/api/tickets/",
        data=json.dumps(
            {"patient": str(patient.public_id), "opd": opd_id, "complaint": "Fever"}
        ).encode(),
        method="POST",
        headers={
            "Authorization": f"Token {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 201, response.status


def test_the_page_counts_each_change_once_through_a_burst(
    open_page: OpenPage, sms: SmsInbox, live_app: LiveApp
) -> None:
    opd = general_opd_open_round_the_clock()
    ahead = [family(f"Ahead {i}") for i in range(ROUNDS)]
    ahead_tickets = [(book_for(p, opd), api_token(p.account)) for p in ahead]
    holder = family("Sunita Devi")
    ticket = book_for(holder, opd)
    holder_token = api_token(holder.account)
    newcomers = [PatientFactory(account__preferred_language="en") for _ in range(ROUNDS)]
    seniors = [PatientFactory(date_of_birth=date(1950, 1, 1)) for _ in range(ROUNDS // 3)]
    joining = [(p, api_token(p.account)) for p in newcomers + seniors]
    opd_id = str(opd.public_id)

    def burst() -> None:
        """Families ahead cancel from their phones, newcomers book behind, seniors ahead."""
        for round_ in range(ROUNDS):
            earlier, token = ahead_tickets[round_]
            api_post(live_app, f"/api/tickets/{earlier.public_id}/cancel/", token)
            api_book(live_app, joining[round_][1], joining[round_][0], opd_id)
            if round_ % 3 == 0:
                senior, token = joining[ROUNDS + round_ // 3]
                api_book(live_app, token, senior, opd_id)
            time.sleep(0.05)

    page = open_page()
    sign_in_patient(page, sms, national(str(holder.account.mobile)))
    page.goto(f"/waiting/{ticket.public_id}/")
    expect(page.locator("[data-connection]")).to_have_text("Live updates are on.")
    changes = threading.Thread(target=burst)
    changes.start()
    time.sleep(0.6)
    page.reload()  # a fresh connection and snapshot in the middle of the burst
    expect(page.locator("[data-connection]")).to_have_text("Live updates are on.")
    changes.join(timeout=60)
    assert not changes.is_alive()

    truth = api_get(live_app, f"/api/tickets/{ticket.public_id}/", holder_token)
    expect(page.get_by_test_id("position")).to_have_text(str(truth["position"]), timeout=LIVE_MS)
    expect(page.locator("[data-waiting]")).to_have_text(str(truth["waiting"]), timeout=LIVE_MS)
