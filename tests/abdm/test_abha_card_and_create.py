"""The ABHA card and creating an ABHA with Aadhaar, through the pages, against the offline
gateway's ABHA service as a real process."""

from __future__ import annotations

import io
import logging
import time
from datetime import date

import pytest
from django.test import Client
from PIL import Image
from stdnum import luhn

from abdm.models import AbhaLinkEvent
from patients.models import Patient, Relationship, Sex
from tests.abdm_gateway.harness import Gateway
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

SUNITA = "91123456789015"
ANJALI_AADHAAR = "234567890124"  # the demo Aadhaar of the family's child (docs/abdm.md)
TEST_OTP = "123456"


def family_with_child() -> tuple[Patient, Patient]:
    holder = PatientFactory(name="Sunita Devi", sex=Sex.FEMALE, date_of_birth=date(1988, 3, 14))
    child = PatientFactory(
        account=holder.account,
        relationship=Relationship.CHILD,
        name="Anjali Kumari",
        date_of_birth=date(2016, 7, 21),
    )
    return holder, child


def signed_in(member: Patient) -> Client:
    client = Client()
    client.force_login(member.account)
    return client


def url(member: Patient, step: str = "") -> str:
    return f"/family/{member.public_id}/abha/{step}"


def is_png(content: bytes) -> bool:
    image = Image.open(io.BytesIO(content))
    return image.format == "PNG" and image.width > 100


def test_the_card_is_shown_after_linking_and_never_cached(abha_service: Gateway) -> None:
    holder, _child = family_with_child()
    client = signed_in(holder)
    client.post(url(holder, "link/"), {"method": "abha-number", "identifier": SUNITA})
    client.post(url(holder, "code/"), {"otp": TEST_OTP})
    client.post(url(holder, "link/confirm/"))

    page = client.get(url(holder, "card/")).content.decode()
    image = client.get(url(holder, "card.png"))

    assert url(holder, "card.png") in page and 'data-testid="abha-card"' in page
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert is_png(image.content)
    assert "no-store" in image["Cache-Control"]


def test_a_new_sign_in_confirms_with_a_code_before_the_card(abha_service: Gateway) -> None:
    holder, _child = family_with_child()
    holder.abha_number = SUNITA
    holder.save()
    client = signed_in(holder)

    page = client.get(url(holder, "card/")).content.decode()
    assert 'data-testid="abha-card"' not in page
    assert client.get(url(holder, "card.png")).status_code == 409
    asked = client.post(url(holder, "card/code/"))
    assert asked["Location"] == url(holder, "code/")
    verified = client.post(url(holder, "code/"), {"otp": TEST_OTP})

    assert verified["Location"] == url(holder, "card/")
    assert 'data-testid="abha-card"' in client.get(url(holder, "card/")).content.decode()
    assert is_png(client.get(url(holder, "card.png")).content)


def test_an_expired_abha_token_asks_for_a_code_again(abha_service: Gateway) -> None:
    abha_service.admin("abha", {"tokenTtlSeconds": 61})  # kept by us for 1 s: "a minute early"
    holder, _child = family_with_child()
    holder.abha_number = SUNITA
    holder.save()
    client = signed_in(holder)
    client.post(url(holder, "card/code/"))
    client.post(url(holder, "code/"), {"otp": TEST_OTP})
    abha_service.admin("abha", {"tokenTtlSeconds": 1800})
    time.sleep(1.1)

    assert 'data-testid="abha-card"' not in client.get(url(holder, "card/")).content.decode()
    assert client.get(url(holder, "card.png")).status_code == 409


def test_it_creates_an_abha_with_aadhaar_and_links_it(
    abha_service: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    holder, child = family_with_child()
    client = signed_in(holder)
    with caplog.at_level(logging.DEBUG):
        asked = client.post(url(child, "create/"), {"aadhaar": ANJALI_AADHAAR, "consent": "on"})
        assert asked["Location"] == url(child, "create/code/")
        wrong = client.post(url(child, "create/code/"), {"otp": "000000", "mobile": "9876543210"})
        assert "The code is not correct." in wrong.content.decode()
        created = client.post(
            url(child, "create/code/"), {"otp": TEST_OTP, "mobile": "98765 43210"}
        )

    assert created["Location"] == url(child, "card/")
    child.refresh_from_db()
    # Created now, or earlier in this gateway's life: the same Aadhaar gets its existing ABHA.
    assert len(child.abha_number) == 14 and child.abha_number.startswith("91")
    assert luhn.is_valid(child.abha_number)
    assert child.abha_address.startswith("anjali.kumari") and child.abha_address.endswith("@sbx")
    event = AbhaLinkEvent.objects.get(patient=child)
    assert (event.action, event.method, event.abha_number) == (
        "created",
        "aadhaar",
        child.abha_number,
    )
    assert is_png(client.get(url(child, "card.png")).content)
    assert ANJALI_AADHAAR not in caplog.text and child.abha_number not in caplog.text
    assert ANJALI_AADHAAR not in str(dict(client.session))


def test_an_aadhaar_number_that_fails_its_check_digit_never_reaches_abdm(
    abha_service: Gateway,
) -> None:
    holder, child = family_with_child()
    answer = signed_in(holder).post(
        url(child, "create/"), {"aadhaar": "234567890125", "consent": "on"}
    )
    assert answer.status_code == 200
    assert "Enter the 12-digit Aadhaar number as printed" in answer.content.decode()


def test_an_aadhaar_unknown_to_abdm_is_a_field_error(abha_service: Gateway) -> None:
    holder, child = family_with_child()
    answer = signed_in(holder).post(
        url(child, "create/"), {"aadhaar": "4567 8901 2341", "consent": "on"}
    )
    assert answer.status_code == 200
    assert "ABDM did not accept this Aadhaar number." in answer.content.decode()


def test_creating_needs_consent_and_no_abha_yet(abha_service: Gateway) -> None:
    holder, child = family_with_child()
    client = signed_in(holder)
    without = client.post(url(child, "create/"), {"aadhaar": ANJALI_AADHAAR})
    assert without.status_code == 200 and "This field is required." in without.content.decode()
    holder.abha_number = SUNITA
    holder.save()
    assert client.get(url(holder, "create/"))["Location"] == url(holder)


def test_the_create_code_page_without_a_request_goes_back_to_the_start(
    abha_service: Gateway,
) -> None:
    holder, child = family_with_child()
    answer = signed_in(holder).post(
        url(child, "create/code/"), {"otp": TEST_OTP, "mobile": "9876543210"}
    )
    assert answer["Location"] == url(child, "create/")
    child.refresh_from_db()
    assert child.abha_number == ""
