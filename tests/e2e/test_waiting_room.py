"""The waiting room in a browser: a patient books, waits, is called and sees the doctor.

Every test creates its rows first (OPD hours, doctor, families, the tokens booked before the
patient arrives) and opens the browser after: see ``Browsing`` in conftest. What other people
do while the browser is open (a patient cancelling, a doctor on the phone app) goes through the
live app's API with their own account's token, as their phone would.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from datetime import date, time, timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from playwright.sync_api import Page, expect

from accounts.models import User
from core.clock import india_today
from patients.models import Patient, Relationship, Sex
from providers.models import Doctor
from queues.models import Opd, OpdHours, Ticket
from queues.services.booking import book
from tests.e2e.processes import LiveApp
from tests.e2e.support import SmsInbox, enter_staff_password, national, sign_in_patient
from tests.e2e.visits import in_consultation
from tests.factories import STAFF_PASSWORD, DoctorFactory, PatientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

OpenPage = Callable[..., Page]

# A live update reaches the page within the hub's broadcast interval (0.5 s) plus a round trip.
LIVE_MS = 5_000
# waiting.js falls back to polling after three failed connections (backoff ~2 s + ~4 s, with
# jitter), then asks every 5 s.
POLLING_STARTS_MS = 15_000
POLL_MS = 5_000

# A browser whose network drops every WebSocket: each one closes as soon as it is opened
# (code 1006, what a browser reports when a proxy or firewall kills the upgrade).
FAILING_WEBSOCKET_JS = """
(() => {
  window.__socketAttempts = 0;
  class FailingWebSocket extends EventTarget {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;
    constructor(url) {
      super();
      window.__socketAttempts += 1;
      this.url = url;
      this.readyState = FailingWebSocket.CONNECTING;
      setTimeout(() => {
        this.readyState = FailingWebSocket.CLOSED;
        this.dispatchEvent(new CloseEvent("close", { code: 1006, wasClean: false }));
      }, 20);
    }
    send() {
      throw new DOMException("The socket is not open.", "InvalidStateError");
    }
    close() {}
  }
  window.WebSocket = FailingWebSocket;
})();
"""

SOCKET_CLOSE_CODE_JS = """
(path) => new Promise((resolve) => {
  const socket = new WebSocket(`ws://${location.host}${path}`);
  socket.addEventListener("close", (event) => resolve(event.code));
})
"""


# Parsing is done, deferred and module scripts have not run yet: blank the estimate there.
BLANK_THE_ESTIMATE_JS = """
document.addEventListener("readystatechange", () => {
  const estimate = document.querySelector("[data-eta]");
  if (document.readyState === "interactive" && estimate) estimate.textContent = "?";
});
"""


def general_opd_open_round_the_clock(state_code: str = "UP") -> Opd:
    """The state's general OPD (created by a data migration), open all day, every day."""
    opd = Opd.objects.get(state__code=state_code, code="GM")
    opd.hours.all().delete()
    OpdHours.objects.bulk_create(
        [
            OpdHours(opd=opd, weekday=day, opens_at=time(0, 0), closes_at=time.max)
            for day in range(7)
        ]
    )
    return opd


def family(name: str) -> Patient:
    return PatientFactory(name=name, account__preferred_language="en")


def book_for(patient: Patient, opd: Opd, complaint: str = "Fever for two days") -> Ticket:
    return book(account=patient.account, patient=patient, opd=opd, complaint=complaint)


def api_token(account: User) -> str:
    """What the family's phone app holds after signing in."""
    _instance, token = AuthToken.objects.create(user=account)
    return str(token)


def api_post(
    app: LiveApp, path: str, token: str, payload: dict[str, object] | None = None
) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        app.url + path,
        data=json.dumps(payload or {}).encode(),
        method="POST",
        headers={
            "Authorization": f"Token {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200, response.status
        body: dict[str, object] = json.loads(response.read())
        return body


def sign_in_doctor(page: Page, doctor: Doctor) -> None:
    enter_staff_password(page, doctor.user.username, STAFF_PASSWORD)
    expect(page).to_have_url(re.compile(r"/staff/$"))


def mark_document(page: Page) -> None:
    """A flag that disappears if the page reloads: live updates must need no reload."""
    page.evaluate("window.__sameDocument = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


def test_patient_books_waits_and_is_called(
    open_page: OpenPage, sms: SmsInbox, live_app: LiveApp
) -> None:
    opd = general_opd_open_round_the_clock()
    doctor = DoctorFactory(user__full_name="Dr. Meera Nair")
    first = family("Ramesh Yadav")
    first_ticket = book_for(first, opd, "Headache since morning")
    first_token = api_token(first.account)
    holder = family("Sunita Devi")
    PatientFactory(
        account=holder.account,
        relationship=Relationship.CHILD,
        name="Aarav Kumar",
        sex=Sex.MALE,
        date_of_birth=date(2017, 6, 2),
    )

    patient = open_page()
    sign_in_patient(patient, sms, national(str(holder.account.mobile)))
    patient.goto("/book/")
    expect(patient.get_by_role("heading", level=1)).to_have_text("Who needs to see a doctor?")
    patient.get_by_role("link", name=re.compile(r"^Aarav Kumar")).click()
    expect(patient.get_by_role("heading", level=1)).to_have_text(
        "Book a consultation for Aarav Kumar"
    )
    patient.get_by_role(
        "radio", name=re.compile(r"^Uttar Pradesh General OPD \(open now\)")
    ).check()
    patient.get_by_label("What is the problem?").fill("Fever and cough for three days")
    patient.get_by_role("button", name="Get a token").click()

    expect(patient).to_have_url(re.compile(r"/waiting/[0-9a-f-]{36}/$"))
    expect(patient.get_by_role("status")).to_contain_text("Your token is GM-002.")
    expect(patient.get_by_test_id("token")).to_have_text("GM-002")
    expect(patient.get_by_test_id("position")).to_have_text("2")
    expect(patient.locator("[data-connection]")).to_have_text("Live updates are on.")
    call_now = patient.get_by_test_id("call-now")
    expect(call_now).to_be_hidden()
    mark_document(patient)

    console = open_page()
    sign_in_doctor(console, doctor)
    console.goto("/console/")
    expect(console.locator("[data-connection]")).to_have_text("Live updates are on.")
    console.get_by_role("checkbox", name=re.compile(r"^Uttar Pradesh General OPD")).check()
    console.get_by_test_id("save-duty").click()

    # On duty: the first patient is offered to the doctor, which moves ours to the front.
    current = console.get_by_test_id("current-patient")
    expect(current).to_contain_text(first_ticket.token)
    expect(patient.get_by_test_id("position")).to_have_text("1", timeout=LIVE_MS)
    console.get_by_test_id("accept").click()
    expect(console.get_by_test_id("waiting-for-patient")).to_be_visible()

    # The first patient gives up their token from their phone; the doctor is free again.
    cancelled = api_post(live_app, f"/api/tickets/{first_ticket.public_id}/cancel/", first_token)
    assert cancelled["status"] == Ticket.Status.CANCELLED

    expect(current).to_contain_text("GM-002")
    expect(current).to_contain_text("Aarav Kumar")
    expect(current).to_contain_text("Fever and cough for three days")
    expect(patient.locator("[data-status-text]")).to_have_text(
        "A doctor is about to call you. Stay on this page.", timeout=LIVE_MS
    )
    console.get_by_test_id("accept").click()

    # CALL NOW, with the seconds left running down, without a reload.
    expect(call_now).to_be_visible(timeout=LIVE_MS)
    expect(patient.locator("[data-status-text]")).to_have_text(
        "The doctor is ready. Press CALL NOW."
    )
    countdown = patient.locator("[data-countdown]")
    expect(countdown).to_have_text(re.compile(r"^\d+$"))
    seconds_left = int(countdown.inner_text())
    assert 100 < seconds_left <= opd.call_window_seconds, seconds_left
    expect(countdown).not_to_have_text(str(seconds_left), timeout=3_000)
    assert int(countdown.inner_text()) < seconds_left
    expect(console.get_by_test_id("waiting-for-patient")).to_be_visible()

    assert_not_reloaded(patient)

    # CALL NOW takes the patient into the video call (the call itself: test_call.py).
    waiting_room = patient.url
    call_now.click()
    expect(patient).to_have_url(re.compile(r"/call/[0-9a-f-]{36}/$"), timeout=LIVE_MS)
    expect(console.get_by_test_id("in-consultation")).to_have_text("In consultation.")
    expect(console.get_by_test_id("open-call")).to_be_visible()

    console.get_by_role("button", name="End consultation").click()
    expect(patient.locator("[data-ended-text]")).to_have_text(
        "The consultation has ended.", timeout=LIVE_MS
    )
    # No dead end: what comes next (the prescription, once signed) is right there.
    expect(patient.get_by_test_id("visit-outcome")).to_contain_text(
        "Your prescription is being prepared."
    )
    expect(console.get_by_test_id("current-patient")).to_have_count(0)
    expect(console.locator("#current-heading + p")).to_have_text("No patient right now.")
    patient.goto(waiting_room)
    expect(patient.locator("[data-status-text]")).to_have_text("Your consultation has ended.")
    expect(patient.get_by_test_id("visit-outcome")).to_be_visible()
    expect(patient.get_by_role("heading", name="You are with the doctor")).to_be_hidden()


def test_waiting_room_falls_back_to_polling(
    open_page: OpenPage, sms: SmsInbox, live_app: LiveApp
) -> None:
    opd = general_opd_open_round_the_clock()
    first = family("Ramesh Yadav")
    first_ticket = book_for(first, opd)
    first_token = api_token(first.account)
    holder = family("Sunita Devi")
    ticket = book_for(holder, opd)
    doctor_token = api_token(DoctorFactory().user)

    patient = open_page()
    patient.context.add_init_script(FAILING_WEBSOCKET_JS)
    status_checks: list[str] = []
    patient.on(
        "request",
        lambda request: (
            status_checks.append(request.url)
            if request.url.endswith(f"/api/tickets/{ticket.public_id}/")
            else None
        ),
    )
    sign_in_patient(patient, sms, national(str(holder.account.mobile)))
    patient.goto(f"/waiting/{ticket.public_id}/")
    expect(patient.get_by_test_id("token")).to_have_text("GM-002")
    expect(patient.get_by_test_id("position")).to_have_text("2")
    mark_document(patient)

    expect(patient.locator("[data-connection]")).to_have_text(
        "Live updates are unavailable; checking every few seconds.", timeout=POLLING_STARTS_MS
    )
    assert patient.evaluate("window.__socketAttempts") >= 3

    api_post(live_app, f"/api/tickets/{first_ticket.public_id}/cancel/", first_token)

    expect(patient.get_by_test_id("position")).to_have_text("1", timeout=POLL_MS + 3_000)
    expect(patient.locator("[data-waiting]")).to_have_text("1")
    assert status_checks, "the page never asked /api/tickets/<id>/"

    # A doctor (on their phone app) comes on duty and takes our patient: CALL NOW shows up by
    # polling too, and answering goes over HTTP.
    api_post(live_app, "/api/console/duty/", doctor_token, {"opds": [str(opd.public_id)]})
    api_post(live_app, f"/api/console/tickets/{ticket.public_id}/accept/", doctor_token)
    call_now = patient.get_by_test_id("call-now")
    expect(call_now).to_be_visible(timeout=POLL_MS + 3_000)
    expect(patient.locator("[data-countdown]")).to_have_text(re.compile(r"^\d+$"))
    assert_not_reloaded(patient)
    call_now.click()
    expect(patient).to_have_url(re.compile(rf"/call/{ticket.public_id}/$"))


def test_an_outsider_cannot_open_anothers_waiting_room(open_page: OpenPage, sms: SmsInbox) -> None:
    opd = general_opd_open_round_the_clock()
    owner = family("Ramesh Yadav")
    ticket = book_for(owner, opd)
    outsider = family("Kavita Sharma")
    waiting_room = f"/waiting/{ticket.public_id}/"
    socket_path = f"/ws/waiting/{ticket.public_id}/"

    anonymous = open_page()
    anonymous.goto("/")
    assert anonymous.evaluate(SOCKET_CLOSE_CODE_JS, socket_path) == 4401

    page = open_page()
    sign_in_patient(page, sms, national(str(outsider.account.mobile)))
    response = page.goto(waiting_room)
    assert response is not None
    assert response.status == 404
    expect(page.get_by_test_id("token")).to_have_count(0)
    expect(page.get_by_role("main")).not_to_contain_text(ticket.token)
    assert page.evaluate(SOCKET_CLOSE_CODE_JS, socket_path) == 4404
    polled = page.request.get(f"/api/tickets/{ticket.public_id}/")
    assert polled.status == 404
    assert ticket.token not in polled.text()


def consultations_of(opd: Opd, seconds: int, count: int = 3) -> None:
    """``count`` consultations of the OPD that ended in the last hour, each ``seconds`` long:
    the estimate's seconds per patient."""
    ended = timezone.now() - timedelta(minutes=5)
    for index in range(count):
        patient = PatientFactory()
        Ticket.objects.create(
            opd=opd,
            patient=patient,
            booked_by=patient.account,
            service_date=india_today(),
            number=900 + index,
            seq=900 + index,
            complaint="Cough",
            language=patient.preferred_language,
            status=Ticket.Status.COMPLETED,
            consult_started_at=ended - timedelta(seconds=seconds),
            consult_ended_at=ended,
        )


@pytest.mark.parametrize(
    ("switch_to", "one_minute"), [(None, "about 1 minute"), ("हिंदी", "लगभग 1 मिनट")]
)
def test_the_estimated_wait_reads_the_same_before_and_after_live_updates(
    open_page: OpenPage, sms: SmsInbox, switch_to: str | None, one_minute: str
) -> None:
    opd = general_opd_open_round_the_clock()
    consultations_of(opd, seconds=60)
    in_consultation(opd, DoctorFactory())  # one doctor on duty, busy: the next wait is 60 s
    holder = family("Ramesh Yadav")
    ticket = book_for(holder, opd)

    patient = open_page()
    sign_in_patient(patient, sms, national(str(holder.account.mobile)))
    if switch_to:
        patient.get_by_role("button", name=switch_to).click()
    first_render = patient.request.get(f"/waiting/{ticket.public_id}/").text()
    assert re.search(rf"<dd data-eta>{one_minute}</dd>", first_render), first_render

    # The same page with its first render blanked before any script runs, so what shows
    # next is what waiting.js wrote.
    patient.add_init_script(BLANK_THE_ESTIMATE_JS)
    patient.goto(f"/waiting/{ticket.public_id}/")
    expect(patient.locator("[data-eta]")).not_to_have_text("?", timeout=LIVE_MS)
    expect(patient.locator("[data-eta]")).to_have_text(one_minute)
