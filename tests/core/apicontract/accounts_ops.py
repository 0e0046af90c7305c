"""Sign-in, sign-out and "who am I"."""

from __future__ import annotations

from django.test import override_settings

from notifications.sms import InMemorySmsBackend
from tests.core.apicontract.checker import Contract
from tests.core.apicontract.registry import drives
from tests.core.apicontract.world import World
from tests.factories import STAFF_PASSWORD
from tests.sms import code_in

MOBILE = "98765 12340"
OTP_REQUEST = "/api/auth/otp/request/"
OTP_VERIFY = "/api/auth/otp/verify/"
STAFF_LOGIN = "/api/auth/staff/login/"


def _challenge(api: Contract, world: World) -> tuple[str, str]:
    InMemorySmsBackend.outbox.clear()
    with world.run_on_commit(execute=True):
        answer = api.call("POST", OTP_REQUEST, json_body={"mobile": MOBILE}, expect=202)
    return answer.json()["challenge_id"], code_in(InMemorySmsBackend.outbox[-1].body)


@drives("auth_otp_request_create")
def otp_request(api: Contract, world: World) -> None:
    _challenge(api, world)
    # Within the resend cool-down: 429 with Retry-After.
    api.call("POST", OTP_REQUEST, json_body={"mobile": MOBILE}, expect=429)
    api.call("POST", OTP_REQUEST, json_body={"mobile": "12345"}, expect=400)
    api.call("POST", OTP_REQUEST, json_body={}, expect=400)


@drives("auth_otp_verify_create")
def otp_verify(api: Contract, world: World) -> None:
    challenge, code = _challenge(api, world)
    wrong = "111111" if code != "111111" else "222222"
    body = {"challenge_id": challenge, "code": wrong}
    api.call("POST", OTP_VERIFY, json_body=body, expect=400, conforming=True)
    api.call("POST", OTP_VERIFY, json_body={"challenge_id": "nope", "code": "1"}, expect=400)
    signed_in = api.call("POST", OTP_VERIFY, json_body={**body, "code": code}, expect=200)
    assert signed_in.json()["new_account"] is True
    with override_settings(OTP_MAX_PER_CLIENT_PER_HOUR=1, OTP_MAX_ATTEMPTS=1):
        api.call("POST", OTP_VERIFY, json_body=body, expect=429)


@drives("auth_staff_login_create")
def staff_login(api: Contract, world: World) -> None:
    username = world.doctor.user.username
    right = {"username": username, "password": STAFF_PASSWORD}
    answer = api.call("POST", STAFF_LOGIN, json_body=right, expect=200).json()
    assert answer["user"]["role"] == "doctor"
    api.call("POST", STAFF_LOGIN, json_body={"username": username}, expect=400)
    wrong = {**right, "password": "not the password"}
    # Wrong passwords are refused (400) until the username locks (429, with Retry-After).
    for _attempt in range(30):
        answer = api.call("POST", STAFF_LOGIN, json_body=wrong, expect=(400, 429), conforming=True)
        if answer.status_code == 429:
            break
    assert answer.status_code == 429, "repeated wrong passwords never locked the account"


@drives("auth_logout_create")
def logout(api: Contract, world: World) -> None:
    api.call("POST", "/api/auth/logout/", expect=204, user=world.patient)
    api.call("POST", "/api/auth/logout/", expect=401)


@drives("me_retrieve")
def me(api: Contract, world: World) -> None:
    patient = api.call("GET", "/api/me/", expect=200, user=world.patient).json()
    assert patient["state"] is None  # a patient account is not an administrator of a state
    assert patient["profile_complete"] is True
    api.call("GET", "/api/me/", expect=200, user=world.doctor.user)
    assert api.call("GET", "/api/me/", expect=200, user=world.state_admin).json()["state"] == "UP"
    assert (
        api.call("GET", "/api/me/", expect=200, user=world.national_admin).json()["state"] is None
    )
    api.call("GET", "/api/me/", expect=401)
