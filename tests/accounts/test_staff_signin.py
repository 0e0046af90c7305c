"""Doctors and administrators: username, argon2 password, optional TOTP, lock-out."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User
from tests.factories import STAFF_PASSWORD, DoctorFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db


def login(api, username: str, password: str = STAFF_PASSWORD, otp: str | None = None, **extra):
    payload = {"username": username, "password": password}
    if otp is not None:
        payload["otp"] = otp
    return api.post("/api/auth/staff/login/", payload, format="json", **extra)


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def doctor() -> User:
    return DoctorFactory(user__username="dr.meera", registration_number="UPMC-77001").user


def test_it_hashes_staff_passwords_with_argon2(doctor):
    assert doctor.password.startswith("argon2")


def test_it_signs_in_a_doctor_and_returns_a_token(api, doctor):
    response = login(api, "dr.meera")
    assert response.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    profile = api.get("/api/doctors/me/").json()
    assert profile["registration_number"] == "UPMC-77001"


def test_it_accepts_the_username_in_any_case(api, doctor):
    assert login(api, "  Dr.Meera ").status_code == 200


def test_it_refuses_a_wrong_password_without_saying_which_part_was_wrong(api, doctor):
    wrong_password = login(api, "dr.meera", "not the password")
    unknown_user = login(api, "dr.nobody", "not the password")
    assert wrong_password.status_code == unknown_user.status_code == 400
    assert wrong_password.json() == unknown_user.json()
    assert wrong_password.json()["error"]["code"] == "invalid_credentials"


def test_a_patient_account_cannot_use_staff_sign_in(api):
    holder = PatientFactory()
    response = login(api, holder.account.username, "anything")
    assert response.status_code == 400


def test_it_locks_out_a_username_at_the_guessers_address_after_five_failures(api, doctor):
    for _ in range(5):
        login(api, "dr.meera", "wrong", REMOTE_ADDR="10.1.0.1")
    response = login(api, "dr.meera", REMOTE_ADDR="10.1.0.1")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "locked_out"
    assert int(response["Retry-After"]) > 0


@override_settings(STAFF_LOGIN_MAX_FAILURES_PER_CLIENT=8)
def test_it_locks_out_an_address_guessing_many_usernames(api, doctor):
    for n in range(8):
        login(api, f"someone{n}", "wrong", REMOTE_ADDR="10.2.0.1")
    assert login(api, "dr.meera", REMOTE_ADDR="10.2.0.1").status_code == 429
    assert login(api, "dr.meera", REMOTE_ADDR="10.2.0.2").status_code == 200


def test_it_asks_for_the_authenticator_code_when_enrolled(api, doctor):
    device = TOTPDevice.objects.create(user=doctor, name="phone", confirmed=True)
    without = login(api, "dr.meera")
    assert without.status_code == 400
    assert without.json()["error"]["code"] == "otp_required"
    wrong = login(api, "dr.meera", otp="000000" if current_code(device) != "000000" else "111111")
    assert wrong.json()["error"]["code"] == "otp_invalid"
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    assert login(api, "dr.meera", otp=current_code(device)).status_code == 200


def test_an_unconfirmed_device_is_not_required(api, doctor):
    TOTPDevice.objects.create(user=doctor, name="phone", confirmed=False)
    assert login(api, "dr.meera").status_code == 200


def test_it_refuses_missing_fields(api):
    response = api.post("/api/auth/staff/login/", {"username": "x"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["error"]["fields"]


def test_staff_page_sign_in_with_authenticator(client: Client, doctor):
    device = TOTPDevice.objects.create(user=doctor, name="phone", confirmed=True)
    response = client.post("/staff/signin/", {"username": "dr.meera", "password": STAFF_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/staff/signin/code/"
    assert client.get("/staff/").status_code == 302  # not signed in yet
    response = client.post("/staff/signin/code/", {"otp": current_code(device)})
    assert response["Location"] == "/staff/"
    page = client.get("/staff/")
    assert page.status_code == 200
    assert "UPMC-77001" in page.content.decode()


def test_staff_page_enrols_an_authenticator(client: Client):
    admin = StaffFactory(username="admin.test", role=Role.NATIONAL_ADMIN)
    client.force_login(admin)
    client.post("/staff/security/", {"action": "start"})
    device = TOTPDevice.objects.get(user=admin)
    assert device.confirmed is False
    client.post("/staff/security/", {"action": "confirm", "otp": current_code(device)})
    device.refresh_from_db()
    assert device.confirmed is True
    client.logout()
    response = client.post("/staff/signin/", {"username": "admin.test", "password": STAFF_PASSWORD})
    assert response["Location"] == "/staff/signin/code/"


def test_wrong_password_on_the_page_shows_an_error(client: Client, doctor):
    response = client.post("/staff/signin/", {"username": "dr.meera", "password": "nope"})
    assert response.status_code == 200
    assert "username or password is not right" in response.content.decode()


def test_a_few_typos_at_a_hospital_do_not_lock_out_its_other_doctors(api, doctor):
    for n in range(6):
        login(api, f"colleague{n}", "typo", REMOTE_ADDR="10.3.0.1")
    assert login(api, "dr.meera", REMOTE_ADDR="10.3.0.1").status_code == 200
