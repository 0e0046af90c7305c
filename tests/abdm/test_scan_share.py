"""Scan & Share end to end: the offline gateway plays the PHR app (``POST /_admin/share``), its
signed profile share reaches our bridge on a live server, the handler books a walk-in token
through the queue's booking service, and our on-share reaches the gateway, which shows what
the PHR app would (``GET /_admin/share/{requestId}``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from abdm.models import Flow, GatewayMessage, ProfileShare
from abdm.share_profile import counter_code, opd_for_counter, share_url
from accounts.models import Role, User
from notifications.sms import SmsMessage
from patients.models import Patient, Relationship
from queues.models import Opd, Ticket
from tests.abdm_gateway.harness import HIP_ID, Gateway
from tests.factories import PatientAccountFactory, PatientFactory, StaffFactory, state
from tests.queues.conftest import make_opd

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SUNITA = "sunita.devi@sbx"  # abha_data.py: 91-1234-5678-9015, F, 14-03-1988, 9876543210
SUNITA_NUMBER = "91123456789015"
SUNITA_MOBILE = "+919876543210"


@pytest.fixture
def bridged(real_gateway: Gateway, live_server: LiveServer) -> Iterator[Gateway]:
    real_gateway.register_bridge(real_gateway.token(), live_server.url)
    yield real_gateway
    real_gateway.admin("faults", {"duplicate": False})


@pytest.fixture
def opd() -> Opd:
    return make_opd("WK")


def share(gateway: Gateway, context: str, address: str = SUNITA) -> str:
    answer = gateway.admin("share", {"abhaAddress": address, "hipId": HIP_ID, "context": context})
    return str(answer["requestId"])


def answered(gateway: Gateway, request_id: str, timeout: float = 20) -> dict[str, Any]:
    """What the PHR app shows, once the HIP's on-share has reached the gateway."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = gateway.admin(f"share/{request_id}")
        if shown["status"] != "PENDING":
            return dict(shown)
        time.sleep(0.05)
    raise AssertionError(f"share {request_id} was not answered")


def test_a_new_person_is_registered_and_gets_a_token_in_the_counters_opd(
    bridged: Gateway, opd: Opd, sms_outbox: list[SmsMessage]
) -> None:
    shown = answered(bridged, share(bridged, "UP-WK"))

    assert shown["status"] == "SUCCESS" and shown["error"] is None
    assert shown["tokenNumber"] == "WK-001"
    assert 0 < int(shown["expiry"]) <= 24 * 3600
    account = User.objects.get(mobile=SUNITA_MOBILE)
    assert account.role == Role.PATIENT
    (patient,) = Patient.objects.filter(account=account)
    assert (patient.name, patient.sex, patient.date_of_birth) == (
        "Sunita Devi",
        "F",
        date(1988, 3, 14),
    )
    assert (patient.abha_number, patient.abha_address) == (SUNITA_NUMBER, SUNITA)
    assert patient.relationship == Relationship.SELF
    assert patient.state.code == "UP" and patient.district and patient.district.name == "Lucknow"
    (ticket,) = Ticket.objects.filter(patient=patient)
    assert ticket.opd == opd and ticket.token == "WK-001" and ticket.booked_by == account
    # The family is told by SMS, and sees the token in its waiting room like any booking.
    assert [m.to for m in sms_outbox] == [SUNITA_MOBILE] and "WK-001" in sms_outbox[0].body
    family = Client()
    family.force_login(account)
    page = family.get(reverse("queues:waiting", args=[ticket.public_id]))
    assert page.status_code == 200 and "WK-001" in page.content.decode()
    record = ProfileShare.objects.get()
    assert record.ticket == ticket and record.matched_by == ProfileShare.MatchedBy.CREATED
    assert record.answer is not None and record.answer.flow == Flow.ON_SHARE
    assert record.answer.state in {GatewayMessage.State.ACCEPTED, GatewayMessage.State.ANSWERED}


def test_a_patient_whose_record_holds_the_abha_is_matched_not_registered_again(
    bridged: Gateway, opd: Opd
) -> None:
    # Registered by a son, on his number: the ABHA on record decides, not the mobile.
    son = PatientAccountFactory(mobile="+919811100011")
    mother = PatientFactory(
        account=son, relationship=Relationship.PARENT, name="Sunita Devi", abha_number=SUNITA_NUMBER
    )

    shown = answered(bridged, share(bridged, "up-wk"))

    assert shown["status"] == "SUCCESS"
    (ticket,) = Ticket.objects.all()
    assert ticket.patient == mother and ticket.booked_by == son
    assert Patient.objects.count() == 1 and not User.objects.filter(mobile=SUNITA_MOBILE).exists()
    assert ProfileShare.objects.get().matched_by == ProfileShare.MatchedBy.ABHA


def test_a_family_member_without_an_abha_is_matched_by_mobile_name_sex_and_year(
    bridged: Gateway, opd: Opd
) -> None:
    family = PatientAccountFactory(mobile=SUNITA_MOBILE)
    sunita = PatientFactory(
        account=family, name="sunita  DEVI", sex="F", date_of_birth=date(1988, 6, 1)
    )

    assert answered(bridged, share(bridged, "UP-WK"))["status"] == "SUCCESS"

    sunita.refresh_from_db()
    assert (sunita.abha_number, sunita.abha_address) == (SUNITA_NUMBER, SUNITA)
    assert Patient.objects.count() == 1 and Ticket.objects.get().patient == sunita


def test_two_patients_with_the_abha_and_neither_on_its_mobile_are_not_guessed(
    bridged: Gateway, opd: Opd
) -> None:
    for mobile in ("+919811100011", "+919811100022"):
        PatientFactory(account__mobile=mobile, abha_number=SUNITA_NUMBER)

    shown = answered(bridged, share(bridged, "UP-WK"))

    assert shown["status"] == "FAILED" and shown["error"]["code"] == "patient_ambiguous"
    assert not Ticket.objects.exists()


def test_sharing_again_the_same_day_answers_the_same_token_and_books_nothing_more(
    bridged: Gateway, opd: Opd, sms_outbox: list[SmsMessage]
) -> None:
    first = answered(bridged, share(bridged, "UP-WK"))
    Ticket.objects.update(status=Ticket.Status.COMPLETED)  # seen already; shared once more

    again = answered(bridged, share(bridged, "UP-WK"))

    assert first["tokenNumber"] == again["tokenNumber"] == "WK-001"
    assert Ticket.objects.count() == 1 and len(sms_outbox) == 1
    assert ProfileShare.objects.filter(status=ProfileShare.Status.SUCCESS).count() == 2


def test_a_share_after_an_online_booking_answers_that_booking_s_token(
    bridged: Gateway, opd: Opd
) -> None:
    PatientFactory(account__mobile=SUNITA_MOBILE, abha_address=SUNITA)
    assert answered(bridged, share(bridged, "UP-WK"))["tokenNumber"] == "WK-001"
    ProfileShare.objects.all().delete()  # as if WK-001 had been booked in the app

    assert answered(bridged, share(bridged, "UP-WK"))["tokenNumber"] == "WK-001"
    assert Ticket.objects.count() == 1


def test_a_share_the_gateway_delivers_twice_books_one_token(
    bridged: Gateway, opd: Opd, sms_outbox: list[SmsMessage]
) -> None:
    bridged.admin("faults", {"duplicate": True})
    request_id = share(bridged, "UP-WK")

    assert answered(bridged, request_id)["tokenNumber"] == "WK-001"

    deadline = time.monotonic() + 10
    history: list[dict[str, Any]] = []
    while len(history) < 2 and time.monotonic() < deadline:
        history = next(d for d in bridged.deliveries() if d["requestId"] == request_id)["history"]
        time.sleep(0.05)
    assert [(a["status"], a["duplicate"]) for a in history] == [(202, False), (202, True)]
    assert Ticket.objects.count() == 1 and ProfileShare.objects.count() == 1
    assert len(sms_outbox) == 1


def test_a_closed_opd_answers_failed_and_registers_nobody(bridged: Gateway) -> None:
    make_opd("EV", hours=None)  # no opening hours: never open

    shown = answered(bridged, share(bridged, "UP-EV"))

    assert shown["status"] == "FAILED" and shown["tokenNumber"] is None
    assert shown["error"]["code"] == "opd_closed" and shown["error"]["message"]
    assert not Ticket.objects.exists() and not Patient.objects.exists()
    assert not User.objects.filter(mobile=SUNITA_MOBILE).exists()
    record = ProfileShare.objects.get()
    assert record.status == ProfileShare.Status.FAILED and record.error_code == "opd_closed"


def test_a_full_opd_answers_failed(bridged: Gateway) -> None:
    make_opd("WK", daily_token_limit=0)

    shown = answered(bridged, share(bridged, "UP-WK"))

    assert shown["status"] == "FAILED" and shown["error"]["code"] == "opd_full"
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("context", ["UP-XX", "BR-WK", "WK"])
def test_a_counter_code_that_names_no_opd_answers_failed(
    bridged: Gateway, opd: Opd, context: str
) -> None:
    shown = answered(bridged, share(bridged, context))

    assert shown["status"] == "FAILED" and shown["error"]["code"] == "unknown_counter"
    assert not Ticket.objects.exists() and not Patient.objects.exists()


# --- The counter's QR code ---------------------------------------------------------------------


def test_counter_codes_name_a_state_s_opd_or_a_national_one_for_this_hip_only(
    settings: SettingsWrapper,
) -> None:
    settings.ABDM_HIP_ID = HIP_ID
    up, national = make_opd("WK"), make_opd("WKN", state_code=None)

    assert (counter_code(up), counter_code(national)) == ("UP-WK", "IN-WKN")
    assert opd_for_counter(HIP_ID, " up-wk ") == up
    assert opd_for_counter(HIP_ID, "IN-WKN") == national
    assert opd_for_counter("IN0910000002", "UP-WK") is None  # another HIP's counter


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_state_administrator_prints_the_qr_code_of_their_state_s_opd(
    settings: SettingsWrapper,
) -> None:
    settings.ABDM_HIP_ID = HIP_ID
    opd = make_opd("WK")
    admin = signed_in(StaffFactory(role=Role.STATE_ADMIN, state=state("UP")))

    listing = admin.get(reverse("abdm_pages:share-counters")).content.decode()
    page = admin.get(reverse("abdm_pages:share-counter", args=[opd.public_id]))

    assert "UP-WK" in listing
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and share_url(opd).replace("&", "&amp;") in html
    assert f"hip-id={HIP_ID}&counter-id=UP-WK" in share_url(opd)


def test_the_qr_code_page_is_refused_to_other_states_patients_and_doctors() -> None:
    opd = make_opd("WK")
    url = reverse("abdm_pages:share-counter", args=[opd.public_id])
    other_state = signed_in(StaffFactory(role=Role.STATE_ADMIN, state=state("BR")))
    patient = signed_in(PatientAccountFactory())
    doctor = signed_in(StaffFactory(role=Role.DOCTOR))

    assert other_state.get(url).status_code == 404
    assert "UP-WK" not in other_state.get(reverse("abdm_pages:share-counters")).content.decode()
    assert patient.get(url).status_code == 403
    assert doctor.get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the staff sign-in
