"""Linking a family member's ABHA through the pages, against the offline gateway's ABHA service
as a real process (its demo people, test OTP 123456; docs/abdm.md "The offline ABHA service")."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from abdm.models import AbhaLinkEvent
from patients.models import Patient, Relationship, Sex
from tests.abdm_gateway.harness import Gateway, free_port
from tests.factories import DoctorFactory, PatientFactory

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db

SUNITA = "91123456789015"
RAMESH = "91234567890129"
KAMLA = "91345678901231"
TEST_OTP = "123456"


def sunita() -> Patient:
    """The demo family's holder: her record matches the ABHA exactly."""
    return PatientFactory(name="Sunita Devi", sex=Sex.FEMALE, date_of_birth=date(1988, 3, 14))


def relative(holder: Patient, **fields: object) -> Patient:
    return PatientFactory(
        **{"account": holder.account, "relationship": Relationship.SPOUSE, **fields}
    )


def signed_in(member: Patient) -> Client:
    client = Client()
    client.force_login(member.account)
    return client


def url(member: Patient, step: str = "") -> str:
    return f"/family/{member.public_id}/abha/{step}"


def ask_code(client: Client, member: Patient, method: str, identifier: str) -> Response:
    return client.post(url(member, "link/"), {"method": method, "identifier": identifier})


def link(client: Client, member: Patient, method: str, identifier: str) -> str:
    """Up to the comparison page; its HTML."""
    sent = ask_code(client, member, method, identifier)
    assert sent.status_code == 302 and sent["Location"] == url(member, "code/")
    verified = client.post(url(member, "code/"), {"otp": TEST_OTP})
    assert verified.status_code == 302 and verified["Location"] == url(member, "link/confirm/")
    page = client.get(url(member, "link/confirm/"))
    assert page.status_code == 200
    return page.content.decode()


def test_it_links_by_abha_number_after_showing_that_the_abha_matches(
    abha_service: Gateway,
) -> None:
    member = sunita()
    client = signed_in(member)
    page = link(client, member, "abha-number", "91-1234-5678-9015")
    assert "91-1234-5678-9015" in page
    assert 'data-testid="abha-matches"' in page and 'data-testid="difference"' not in page

    confirmed = client.post(url(member, "link/confirm/"))

    assert confirmed.status_code == 302 and confirmed["Location"] == "/family/"
    member.refresh_from_db()
    assert (member.abha_number, member.abha_address) == (SUNITA, "sunita.devi@sbx")
    event = AbhaLinkEvent.objects.get(patient=member)
    assert (event.action, event.actor, event.method) == ("linked", member.account, "abha-number")
    family = client.get("/family/").content.decode()
    assert "91-1234-5678-9015" in family and url(member) in family


def test_it_links_by_abha_address_and_shows_the_name_spelt_differently(
    abha_service: Gateway,
) -> None:
    holder = sunita()
    ramesh = relative(holder, name="Ramesh Kumar", sex=Sex.MALE, date_of_birth=date(1985, 11, 2))
    client = signed_in(holder)

    page = link(client, ramesh, "abha-address", "Ramesh.K@sbx")

    assert page.count('data-testid="difference"') == 1
    assert "Ramesh Kumaar" in page and "Ramesh Kumar" in page
    assert 'data-testid="abha-differences"' in page
    client.post(url(ramesh, "link/confirm/"))
    ramesh.refresh_from_db()
    assert (ramesh.abha_number, ramesh.abha_address) == (RAMESH, "ramesh.k@sbx")
    assert AbhaLinkEvent.objects.get(patient=ramesh).method == "abha-address"


def test_it_links_by_a_mobile_with_one_abha_and_shows_the_year_of_birth_that_differs(
    abha_service: Gateway,
) -> None:
    holder = sunita()
    kamla = relative(
        holder,
        name="Kamla Devi",
        relationship=Relationship.PARENT_IN_LAW,
        date_of_birth=date(1958, 1, 1),
    )
    client = signed_in(holder)

    page = link(client, kamla, "mobile", "98111 22233")

    assert page.count('data-testid="difference"') == 1
    assert "1957" in page and "1958" in page
    client.post(url(kamla, "link/confirm/"))
    kamla.refresh_from_db()
    assert kamla.abha_number == KAMLA


def test_a_mobile_with_several_abhas_asks_which_one_is_the_members(
    abha_service: Gateway,
) -> None:
    holder = sunita()
    ramesh = relative(holder, name="Ramesh Kumaar", sex=Sex.MALE, date_of_birth=date(1985, 11, 2))
    client = signed_in(holder)
    ask_code(client, ramesh, "mobile", "9876543210")

    verified = client.post(url(ramesh, "code/"), {"otp": TEST_OTP})

    assert verified["Location"] == url(ramesh, "link/choose/")
    choices = client.get(url(ramesh, "link/choose/")).content.decode()
    assert "Sunita Devi" in choices and "Ramesh Kumaar" in choices
    chosen = client.post(url(ramesh, "link/choose/"), {"abha_number": RAMESH})
    assert chosen["Location"] == url(ramesh, "link/confirm/")
    page = client.get(url(ramesh, "link/confirm/")).content.decode()
    assert "91-2345-6789-0129" in page and 'data-testid="abha-matches"' in page
    client.post(url(ramesh, "link/confirm/"))
    ramesh.refresh_from_db()
    assert ramesh.abha_number == RAMESH


def test_a_wrong_code_is_a_form_error_and_the_third_one_asks_for_a_new_code(
    abha_service: Gateway,
) -> None:
    member = sunita()
    client = signed_in(member)
    ask_code(client, member, "abha-number", SUNITA)

    wrong = client.post(url(member, "code/"), {"otp": "000000"})

    assert wrong.status_code == 200
    assert "The code is not correct." in wrong.content.decode()
    client.post(url(member, "code/"), {"otp": "000000"})
    client.post(url(member, "code/"), {"otp": "000000"})
    dead = client.post(url(member, "code/"), {"otp": TEST_OTP}, follow=True)
    assert dead.status_code == 200
    assert "Please ask for a new code." in dead.content.decode()
    member.refresh_from_db()
    assert member.abha_number == ""


def test_an_expired_code_says_so(abha_service: Gateway) -> None:
    abha_service.admin("abha", {"otpTtlSeconds": 0})
    member = sunita()
    client = signed_in(member)
    ask_code(client, member, "abha-number", SUNITA)

    answer = client.post(url(member, "code/"), {"otp": TEST_OTP}, follow=True)

    assert answer.status_code == 200
    assert "The code has expired. Please ask for a new code." in answer.content.decode()


def test_an_unknown_abha_number_is_a_field_error(abha_service: Gateway) -> None:
    member = sunita()
    answer = ask_code(signed_in(member), member, "abha-number", "91-9999-9999-9990")
    assert answer.status_code == 200
    assert "ABDM has no ABHA with this ABHA number." in answer.content.decode()


def test_a_malformed_identifier_never_reaches_abdm(abha_service: Gateway) -> None:
    member = sunita()
    answer = ask_code(signed_in(member), member, "abha-address", "1bad address")
    assert answer.status_code == 200
    assert "An ABHA address looks like name@abdm" in answer.content.decode()


def test_a_refused_connection_is_a_clear_error(
    abha_service: Gateway, settings: SettingsWrapper
) -> None:
    settings.ABDM_ABHA_URL = f"http://127.0.0.1:{free_port()}/abha/api/v3"
    member = sunita()
    answer = ask_code(signed_in(member), member, "abha-number", SUNITA)
    assert answer.status_code == 200
    assert "The ABHA service cannot be reached just now." in answer.content.decode()


def test_a_5xx_from_abdm_is_a_clear_error(abha_service: Gateway) -> None:
    member = sunita()
    client = signed_in(member)
    abha_service.admin("faults", {"fail_5xx_next": 1})  # the session call gets a 503

    answer = ask_code(client, member, "abha-number", SUNITA)

    assert answer.status_code == 200
    assert "The ABHA service cannot be reached just now." in answer.content.decode()
    # ... and the next try goes through.
    assert ask_code(client, member, "abha-number", SUNITA).status_code == 302


def test_an_abha_already_linked_to_another_member_of_the_family_is_refused(
    abha_service: Gateway,
) -> None:
    holder = sunita()
    holder.abha_number = SUNITA
    holder.save()
    daughter = relative(holder, relationship=Relationship.CHILD, name="Anjali Kumari")
    client = signed_in(holder)
    link(client, daughter, "abha-number", SUNITA)

    answer = client.post(url(daughter, "link/confirm/"))

    assert answer.status_code == 200
    assert "This ABHA is already linked to another member of your family." in (
        answer.content.decode()
    )
    daughter.refresh_from_db()
    assert daughter.abha_number == ""
    assert not AbhaLinkEvent.objects.filter(patient=daughter).exists()


def test_it_unlinks(abha_service: Gateway) -> None:
    member = sunita()
    member.abha_number, member.abha_address = SUNITA, "sunita.devi@sbx"
    member.save()
    client = signed_in(member)
    assert "91-1234-5678-9015" in client.get(url(member, "unlink/")).content.decode()

    answer = client.post(url(member, "unlink/"))

    assert answer["Location"] == "/family/"
    member.refresh_from_db()
    assert (member.abha_number, member.abha_address) == ("", "")
    event = AbhaLinkEvent.objects.get(patient=member)
    assert (event.action, event.abha_number) == ("unlinked", SUNITA)


def test_another_family_staff_and_strangers_cannot_open_a_members_abha_pages(
    abha_service: Gateway,
) -> None:
    member = sunita()
    outsider = signed_in(PatientFactory())
    doctor = Client()
    doctor.force_login(DoctorFactory().user)
    for step in ("", "link/", "code/", "link/confirm/", "unlink/", "card/", "card.png", "create/"):
        assert outsider.get(url(member, step)).status_code == 404, step
        assert doctor.get(url(member, step))["Location"] == "/staff/", step
        assert Client().get(url(member, step))["Location"].startswith("/signin/"), step
    assert outsider.post(url(member, "link/"), {"method": "mobile"}).status_code == 404
    assert outsider.post(url(member, "unlink/")).status_code == 404


def test_codes_are_limited_per_member(abha_service: Gateway, settings: SettingsWrapper) -> None:
    settings.ABHA_OTP_MAX_PER_MEMBER_PER_HOUR = 2
    member = sunita()
    client = signed_in(member)
    assert ask_code(client, member, "abha-number", SUNITA).status_code == 302
    assert ask_code(client, member, "abha-number", SUNITA).status_code == 302

    third = ask_code(client, member, "abha-number", SUNITA)

    assert third.status_code == 200
    assert "Too many ABHA codes were asked for." in third.content.decode()


def test_codes_are_limited_per_account(abha_service: Gateway, settings: SettingsWrapper) -> None:
    settings.ABHA_OTP_MAX_PER_ACCOUNT_PER_HOUR = 1
    holder = sunita()
    other = relative(holder)
    client = signed_in(holder)
    assert ask_code(client, holder, "abha-number", SUNITA).status_code == 302

    answer = ask_code(client, other, "abha-number", RAMESH)

    assert "Too many ABHA codes were asked for." in answer.content.decode()


def test_no_identifier_or_token_reaches_the_logs(
    abha_service: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    member = sunita()
    client = signed_in(member)
    with caplog.at_level(logging.DEBUG):
        link(client, member, "abha-number", SUNITA)
        ask_code(client, member, "mobile", "9876543210")
    logged = caplog.text
    for secret in (SUNITA, "9876543210", "sunita.devi", "Sunita", TEST_OTP):
        assert secret not in logged
