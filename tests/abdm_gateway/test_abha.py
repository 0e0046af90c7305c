"""The offline ABHA service (M1) over real HTTP, with a real RSA-OAEP (SHA-1) client."""

from __future__ import annotations

import base64
import io
import time
import urllib.request
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from PIL import Image
from stdnum import luhn

from tests.abdm_gateway.harness import Gateway, http

SUNITA = "91123456789015"
RAMESH = "91234567890129"
DEMO_MOBILE = "9876543210"
NEW_AADHAAR = "234567890124"
TEST_OTP = "123456"
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303


class Abha:
    """What a HIP's ABHA client does: fetch the certificate, encrypt, call with the session."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.session = gateway.token()
        self.base = f"{gateway.url}/abha/api/v3"
        status, cert = self.call("GET", "/profile/public/certificate")
        assert status == 200, cert
        assert cert["encryptionAlgorithm"] == "RSA/ECB/OAEPWithSHA-1AndMGF1Padding"
        key = serialization.load_der_public_key(base64.b64decode(cert["publicKey"]))
        assert isinstance(key, rsa.RSAPublicKey)
        self.key = key

    def enc(self, value: str) -> str:
        return base64.b64encode(self.key.encrypt(value.encode(), OAEP)).decode()

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        return http(method, self.base + path, body, self.gateway.headers(self.session, **headers))

    def request_otp(self, hint: str, login_id: str, *, encrypt: bool = True) -> tuple[int, Any]:
        return self.call(
            "POST",
            "/profile/login/request/otp",
            {
                "scope": ["abha-login", "mobile-verify"],
                "loginHint": hint,
                "loginId": self.enc(login_id) if encrypt else login_id,
                "otpSystem": "abdm",
            },
        )

    def verify(self, txn_id: str, otp: str = TEST_OTP) -> tuple[int, Any]:
        return self.call(
            "POST",
            "/profile/login/verify",
            {
                "scope": ["abha-login", "mobile-verify"],
                "authData": {
                    "authMethods": ["otp"],
                    "otp": {"txnId": txn_id, "otpValue": self.enc(otp)},
                },
            },
        )

    def login_by_number(self, number: str) -> str:
        status, answer = self.request_otp("abha-number", number)
        assert status == 200, answer
        status, answer = self.verify(answer["txnId"])
        assert status == 200, answer
        assert answer["authResult"] == "success"
        return str(answer["token"])

    def account(self, x_token: str) -> tuple[int, Any]:
        return self.call("GET", "/profile/account", **{"X-TOKEN": f"Bearer {x_token}"})

    def card(self, x_token: str) -> tuple[int, str, bytes]:
        request = urllib.request.Request(  # noqa: S310 - a local http URL
            f"{self.base}/profile/account/abha-card",
            headers={**self.gateway.headers(self.session), "X-TOKEN": f"Bearer {x_token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.headers["Content-Type"], answer.read()


@pytest.fixture
def abha(abdm_gateway: Gateway) -> Abha:
    return Abha(abdm_gateway)


def test_login_by_abha_number_gives_the_profile_and_the_card(abha: Abha):
    status, answer = abha.request_otp("abha-number", "91-1234-5678-9015")
    assert status == 200, answer
    assert answer["txnId"]
    assert "******3210" in answer["message"]
    assert DEMO_MOBILE not in answer["message"]

    status, verified = abha.verify(answer["txnId"])
    assert status == 200, verified
    assert verified["authResult"] == "success"
    assert verified["expiresIn"] > 0 and verified["refreshToken"]
    assert [a["ABHANumber"] for a in verified["accounts"]] == [SUNITA]

    status, profile = abha.account(verified["token"])
    assert status == 200, profile
    assert profile["ABHANumber"] == SUNITA
    assert profile["preferredAbhaAddress"] == "sunita.devi@sbx"
    assert (profile["firstName"], profile["lastName"], profile["name"]) == (
        "Sunita",
        "Devi",
        "Sunita Devi",
    )
    assert (profile["yearOfBirth"], profile["monthOfBirth"], profile["dayOfBirth"]) == (
        "1988",
        "03",
        "14",
    )
    assert profile["gender"] == "F"
    assert profile["stateCode"] and profile["districtCode"]
    assert profile["kycVerified"] is True

    status, content_type, png = abha.card(verified["token"])
    assert status == 200
    assert content_type == "image/png"
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size[0] > image.size[1] > 100


def test_mobile_login_lists_the_accounts_and_a_t_token_picks_one(abha: Abha):
    status, answer = abha.request_otp("mobile", DEMO_MOBILE)
    assert status == 200, answer
    status, verified = abha.verify(answer["txnId"])
    assert status == 200, verified
    assert {a["ABHANumber"] for a in verified["accounts"]} == {SUNITA, RAMESH}
    t_token = verified["token"]
    # a T-token is not an X-token: it cannot read a profile
    assert abha.account(t_token)[0] == 401

    status, chosen = abha.call(
        "POST",
        "/profile/login/verify/user",
        {"ABHANumber": RAMESH, "txnId": answer["txnId"]},
        **{"T-TOKEN": f"Bearer {t_token}"},
    )
    assert status == 200, chosen
    status, profile = abha.account(chosen["token"])
    assert status == 200, profile
    assert profile["ABHANumber"] == RAMESH
    assert profile["lastName"] == "Kumaar"
    assert profile["gender"] == "M"

    # an account on another mobile cannot be picked with this T-token
    status, refused = abha.call(
        "POST",
        "/profile/login/verify/user",
        {"ABHANumber": "91345678901231", "txnId": answer["txnId"]},
        **{"T-TOKEN": f"Bearer {t_token}"},
    )
    assert status == 400, refused


def test_three_wrong_otps_kill_the_transaction(abha: Abha):
    status, answer = abha.request_otp("abha-number", SUNITA)
    assert status == 200, answer
    for _ in range(3):
        status, failed = abha.verify(answer["txnId"], otp="000000")
        assert status == 200, failed
        assert failed["authResult"] == "failed"
        assert "token" not in failed

    status, dead = abha.verify(answer["txnId"])
    assert status == 400
    assert dead["error"]["code"] == "ABDM-1115"


def test_a_verified_otp_cannot_be_used_twice(abha: Abha):
    status, answer = abha.request_otp("abha-number", SUNITA)
    assert abha.verify(answer["txnId"])[0] == 200
    status, again = abha.verify(answer["txnId"])
    assert status == 400, again


def test_plaintext_and_unknown_login_ids_are_refused(abha: Abha):
    status, refused = abha.request_otp("abha-number", SUNITA, encrypt=False)
    assert status == 400
    assert "encrypted" in refused["error"]["message"]

    status, unknown = abha.request_otp("abha-number", "91000000000000")
    assert status == 400
    assert unknown["error"]["code"] == "ABDM-1114"

    # an OTP encrypted with another key is refused like plaintext, and counts no attempt
    status, answer = abha.request_otp("abha-number", SUNITA)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    status, refused = abha.call(
        "POST",
        "/profile/login/verify",
        {
            "scope": ["abha-login"],
            "authData": {
                "authMethods": ["otp"],
                "otp": {
                    "txnId": answer["txnId"],
                    "otpValue": base64.b64encode(other.encrypt(TEST_OTP.encode(), OAEP)).decode(),
                },
            },
        },
    )
    assert status == 400, refused
    assert abha.verify(answer["txnId"])[0] == 200


def test_the_service_wants_the_gateway_session(abdm_gateway: Gateway):
    status, refused = http(
        "GET",
        f"{abdm_gateway.url}/abha/api/v3/profile/public/certificate",
        headers=abdm_gateway.headers(),
    )
    assert status == 401, refused


def test_x_tokens_and_otps_expire(fresh_abdm_gateway: Gateway):
    abha = Abha(fresh_abdm_gateway)
    fresh_abdm_gateway.admin("abha", {"tokenTtlSeconds": 1})
    token = abha.login_by_number(SUNITA)
    assert abha.account(token)[0] == 200
    time.sleep(1.2)
    status, expired = abha.account(token)
    assert status == 401, expired

    fresh_abdm_gateway.admin("abha", {"otpTtlSeconds": 0})
    status, answer = abha.request_otp("abha-number", SUNITA)
    assert status == 200, answer
    status, refused = abha.verify(answer["txnId"])
    assert status == 400
    assert "expired" in refused["error"]["message"]


def test_enrolment_by_aadhaar_creates_an_abha_that_can_log_in(abha: Abha):
    status, answer = abha.call(
        "POST",
        "/enrollment/request/otp",
        {
            "scope": ["abha-enrol"],
            "loginHint": "aadhaar",
            "loginId": abha.enc(NEW_AADHAAR),
            "otpSystem": "aadhaar",
        },
    )
    assert status == 200, answer
    enrol_body = {
        "authData": {
            "authMethods": ["otp"],
            "otp": {
                "txnId": answer["txnId"],
                "otpValue": abha.enc(TEST_OTP),
                "mobile": DEMO_MOBILE,
            },
        },
        "consent": {"code": "abha-enrollment", "version": "1.4"},
    }
    status, enrolled = abha.call("POST", "/enrollment/enrol/byAadhaar", enrol_body)
    assert status == 200, enrolled
    assert enrolled["isNew"] is True
    number = enrolled["ABHAProfile"]["ABHANumber"]
    assert len(number) == 14 and number.isdigit()
    assert luhn.is_valid(number)
    assert enrolled["ABHAProfile"]["name"] == "Anjali Kumari"
    assert enrolled["ABHAProfile"]["phrAddress"]
    assert abha.account(enrolled["tokens"]["token"])[1]["ABHANumber"] == number

    token = abha.login_by_number(number)
    status, profile = abha.account(token)
    assert status == 200, profile
    assert (profile["name"], profile["yearOfBirth"], profile["gender"]) == (
        "Anjali Kumari",
        "2016",
        "F",
    )

    # enrolling the same Aadhaar again finds the ABHA it has
    status, answer = abha.call(
        "POST",
        "/enrollment/request/otp",
        {
            "scope": ["abha-enrol"],
            "loginHint": "aadhaar",
            "loginId": abha.enc(NEW_AADHAAR),
            "otpSystem": "aadhaar",
        },
    )
    enrol_body["authData"]["otp"]["txnId"] = answer["txnId"]  # type: ignore[index]
    enrol_body["authData"]["otp"]["otpValue"] = abha.enc(TEST_OTP)  # type: ignore[index]
    status, again = abha.call("POST", "/enrollment/enrol/byAadhaar", enrol_body)
    assert status == 200, again
    assert again["isNew"] is False
    assert again["ABHAProfile"]["ABHANumber"] == number


def test_login_by_abha_address(abha: Abha):
    status, found = abha.call("POST", "/phr/web/login/abha/search", {"abhaAddress": "ramesh.k@sbx"})
    assert status == 200, found
    assert found["healthIdNumber"] == RAMESH
    assert "MOBILE_OTP" in found["authMethods"]

    scope = ["abha-address-login", "mobile-verify"]
    status, refused = abha.call(
        "POST",
        "/phr/web/login/abha/request/otp",
        {
            "scope": scope,
            "loginHint": "abha-address",
            "loginId": "ramesh.k@sbx",
            "otpSystem": "abdm",
        },
    )
    assert status == 400, refused

    status, answer = abha.call(
        "POST",
        "/phr/web/login/abha/request/otp",
        {
            "scope": scope,
            "loginHint": "abha-address",
            "loginId": abha.enc("Ramesh.K@sbx"),
            "otpSystem": "abdm",
        },
    )
    assert status == 200, answer
    assert "******3210" in answer["message"]
    status, verified = abha.call(
        "POST",
        "/phr/web/login/abha/verify",
        {
            "scope": scope,
            "authData": {
                "authMethods": ["otp"],
                "otp": {"txnId": answer["txnId"], "otpValue": abha.enc(TEST_OTP)},
            },
        },
    )
    assert status == 200, verified
    assert verified["authResult"] == "success"
    assert [u["abhaNumber"] for u in verified["users"]] == [RAMESH]

    x_token = verified["tokens"]["token"]
    status, profile = abha.call(
        "GET", "/phr/web/login/profile/abha-profile", **{"X-TOKEN": f"Bearer {x_token}"}
    )
    assert status == 200, profile
    assert (profile["abhaAddress"], profile["fullName"], profile["yearOfBirth"]) == (
        "ramesh.k@sbx",
        "Ramesh Kumaar",
        "1985",
    )
    # the same X-token reads the ABHA profile too
    assert abha.account(x_token)[1]["ABHANumber"] == RAMESH

    status, unknown = abha.call("POST", "/phr/web/login/abha/search", {"abhaAddress": "nobody@sbx"})
    assert status == 400, unknown


def test_the_service_key_and_its_accounts_survive_a_restart(fresh_abdm_gateway: Gateway):
    before = Abha(fresh_abdm_gateway)
    token = before.login_by_number(SUNITA)
    fresh_abdm_gateway.stop()
    fresh_abdm_gateway.start()

    after = Abha(fresh_abdm_gateway)
    assert after.key.public_numbers() == before.key.public_numbers()
    # a login id encrypted with the certificate fetched before the restart still works
    status, answer = before.request_otp("abha-number", RAMESH)
    assert status == 200, answer
    assert after.account(token)[1]["ABHANumber"] == SUNITA
