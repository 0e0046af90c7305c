"""Staff sign-in lock-out policy: guessing slows down, nobody can lock a doctor out.

README "Staff sign-in lock-out policy": a username locks at the guesser's address only; from
anywhere it backs off (delays that double, capped); the doctor's known device (a complete sign-in
before) is exempt; and every step (password, authenticator code) is under the same rules.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import devices, lockout
from accounts.models import User
from tests.factories import STAFF_PASSWORD, DoctorFactory

pytestmark = pytest.mark.django_db

HOME = "10.8.0.1"  # the doctor's hospital


def login(
    api: APIClient,
    password: str = STAFF_PASSWORD,
    *,
    address: str = HOME,
    username: str = "dr.meera",
    device: str | None = None,
    otp: str | None = None,
) -> Any:
    payload = {"username": username, "password": password}
    if device is not None:
        payload["device"] = device
    if otp is not None:
        payload["otp"] = otp
    return api.post("/api/auth/staff/login/", payload, format="json", REMOTE_ADDR=address)


def hammer(api: APIClient, times: int, *, username: str = "dr.meera") -> list[int]:
    """Wrong passwords from as many addresses elsewhere; the status codes they got."""
    return [
        login(api, "wrong", address=f"203.0.113.{n}", username=username).status_code
        for n in range(times)
    ]


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """What the doctor's authenticator app shows (a fresh code, not one about to change)."""
    while device.step - time.time() % device.step < 2:
        time.sleep(0.05)
    code = totp(device.bin_key, step=device.step, t0=device.t0, drift=steps_ahead)
    return f"{code:06d}"


def wrong_code(device: TOTPDevice) -> str:
    right = {
        f"{totp(device.bin_key, step=device.step, t0=device.t0, drift=n):06d}"
        for n in (-2, -1, 0, 1, 2)
    }
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


@pytest.fixture
def doctor() -> User:
    return DoctorFactory(user__username="dr.meera").user


def known_device(api: APIClient) -> str:
    """The token the doctor's own device got from a complete sign-in."""
    response = login(api)
    assert response.status_code == 200
    token: str = response.json()["device"]
    return token


def retry_after(response: Any) -> int:
    assert response.status_code == 429, response.json()
    assert int(response["Retry-After"]) == response.json()["error"]["retry_after"]
    return int(response["Retry-After"])


# --- Item 2: nobody can lock a doctor out ---------------------------------------------------------


def test_wrong_passwords_from_anywhere_leave_the_doctors_known_device_working(api, doctor):
    token = known_device(api)

    statuses = hammer(api, 12)

    assert set(statuses) <= {400, 429}
    response = login(api, device=token)
    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(doctor.public_id)


def test_without_a_known_device_the_doctor_waits_seconds_not_minutes(api, doctor):
    hammer(api, 5)

    response = login(api, address="198.51.100.20")
    if response.status_code == 429:
        assert response.json()["error"]["code"] == "signin_delayed"
        time.sleep(retry_after(response))
        response = login(api, address="198.51.100.20")
    assert response.status_code == 200


def test_a_guesser_locks_only_the_username_at_their_own_address(api, doctor):
    token = known_device(api)
    for _ in range(5):
        login(api, "wrong", address="203.0.113.50")

    at_the_guessers_address = login(api, address="203.0.113.50")
    assert at_the_guessers_address.json()["error"]["code"] == "locked_out"
    assert retry_after(at_the_guessers_address) == 15 * 60
    assert login(api, device=token).status_code == 200


@override_settings(STAFF_LOGIN_BACKOFF_AFTER=5, STAFF_LOGIN_BACKOFF_MAX_SECONDS=120)
def test_the_back_off_doubles_from_two_seconds_and_stops_at_its_ceiling():
    delays = [lockout._delay(failures) for failures in range(5, 14)]

    assert delays == [2, 4, 8, 16, 32, 64, 120, 120, 120]


def test_the_delay_grows_only_with_attempts_that_checked_a_password(api, doctor):
    hammer(api, 5)
    refused = [login(api, "wrong", address="203.0.113.99") for _ in range(6)]
    assert {r.json()["error"]["code"] for r in refused} == {"signin_delayed"}
    assert max(retry_after(r) for r in refused) <= 2  # refused attempts did not lengthen it

    time.sleep(retry_after(refused[-1]))
    assert login(api, "wrong", address="203.0.113.99").status_code == 400  # the 6th failure
    assert 2 < retry_after(login(api, address="203.0.113.98")) <= 4


def test_a_stolen_device_token_buys_only_a_few_guesses(api, doctor):
    token = known_device(api)
    statuses = [
        login(api, "wrong", device=token, address="203.0.113.7").status_code for _ in range(5)
    ]
    assert statuses == [400] * 5

    # The token no longer counts: the username backs off for this device as for any other.
    response = login(api, device=token, address="203.0.113.7")
    assert response.json()["error"]["code"] == "signin_delayed"


def test_changing_the_password_forgets_the_known_devices(api, doctor):
    token = known_device(api)
    doctor.set_password("a brand new passphrase")
    doctor.save()
    hammer(api, 5)

    response = login(api, "a brand new passphrase", device=token, address="198.51.100.3")

    assert response.json()["error"]["code"] == "signin_delayed"


def test_a_forged_or_foreign_device_token_counts_for_nothing(api, doctor):
    other = DoctorFactory(user__username="dr.imran").user
    foreign = login(api, username=other.username).json()["device"]
    hammer(api, 5)

    for token in (foreign, foreign[:-2] + "xx", "not a token"):
        response = login(api, device=token, address="198.51.100.4")
        assert response.json()["error"]["code"] == "signin_delayed"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_attempts_while_backing_off_get_a_single_turn(doctor):
    hammer(APIClient(), 5)
    time.sleep(2.1)  # the 2 s delay after the fifth failure

    def attempt(n: int) -> int:
        try:
            return int(login(APIClient(), "wrong", address=f"198.51.100.{n}").status_code)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(attempt, range(6)))

    assert sorted(statuses) == [400] + [429] * 5


def test_the_page_remembers_a_device_after_the_complete_sign_in_only(client: Client, doctor):
    device = TOTPDevice.objects.create(user=doctor, name="phone", confirmed=True)

    client.post("/staff/signin/", {"username": "dr.meera", "password": STAFF_PASSWORD})
    assert devices.STAFF.cookie not in client.cookies  # the password alone is not a sign-in
    client.post("/staff/signin/code/", {"otp": code_for(device)})

    cookie = client.cookies[devices.STAFF.cookie]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 90 * 24 * 3600
    assert "dr.meera" not in cookie.value


def test_a_shared_computer_keeps_each_of_its_doctors_known(client: Client, api, doctor):
    DoctorFactory(user__username="dr.imran")
    for username in ("dr.meera", "dr.imran"):
        client.post("/staff/signin/", {"username": username, "password": STAFF_PASSWORD})
        client.post("/signout/")
        hammer(api, 6, username=username)

    for username in ("dr.meera", "dr.imran"):
        response = client.post("/staff/signin/", {"username": username, "password": STAFF_PASSWORD})
        assert response.status_code == 302, response.content.decode()
        assert client.get("/staff/").status_code == 200
        client.post("/signout/")


# --- Item 3: the second step is under the same policy ---------------------------------------------


@pytest.fixture
def authenticator(doctor) -> TOTPDevice:
    device: TOTPDevice = TOTPDevice.objects.create(user=doctor, name="phone", confirmed=True)
    return device


def pending_second_step(client: Client) -> None:
    response = client.post("/staff/signin/", {"username": "dr.meera", "password": STAFF_PASSWORD})
    assert response["Location"] == "/staff/signin/code/"


def signed_in(client: Client) -> bool:
    return bool(client.get("/staff/").status_code == 200)


def test_a_pending_second_step_is_refused_once_its_address_is_locked(client, api, authenticator):
    pending_second_step(client)
    for _ in range(5):
        login(api, "wrong", address="127.0.0.1")  # the same address as the pending page

    response = client.post("/staff/signin/code/", {"otp": code_for(authenticator)})

    assert response.status_code in (200, 429)
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert not signed_in(client)


def test_a_pending_second_step_waits_while_the_username_backs_off(client, api, authenticator):
    pending_second_step(client)
    hammer(api, 5)

    response = client.post("/staff/signin/code/", {"otp": code_for(authenticator)})
    assert "Too many failed sign-in attempts for this account" in response.content.decode()
    assert not signed_in(client)

    time.sleep(2)
    client.post("/staff/signin/code/", {"otp": code_for(authenticator)})
    assert signed_in(client)


def test_wrong_authenticator_codes_lock_like_wrong_passwords(client, authenticator):
    pending_second_step(client)
    for _ in range(5):
        client.post("/staff/signin/code/", {"otp": wrong_code(authenticator)})

    response = client.post("/staff/signin/code/", {"otp": code_for(authenticator)})

    assert "Too many failed sign-in attempts" in response.content.decode()
    assert not signed_in(client)


def test_the_api_second_factor_is_under_the_same_policy(api, authenticator):
    for _ in range(5):
        login(api, otp=wrong_code(authenticator), address="203.0.113.60")

    response = login(api, otp=code_for(authenticator), address="203.0.113.60")

    assert response.json()["error"]["code"] == "locked_out"


def test_a_known_device_passes_both_steps_while_the_username_is_hammered(
    client, api, authenticator
):
    pending_second_step(client)
    client.post("/staff/signin/code/", {"otp": code_for(authenticator)})
    client.post("/signout/")
    hammer(api, 8)

    pending_second_step(client)
    client.post("/staff/signin/code/", {"otp": code_for(authenticator, steps_ahead=1)})

    assert signed_in(client)
