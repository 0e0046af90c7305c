"""HTTP to ABDM's ABHA service (M1): login by ABHA number, ABHA address or mobile, the profile,
the ABHA card and enrolment by Aadhaar OTP.

The same code talks to ABDM's sandbox (``https://abhasbx.abdm.gov.in/abha/api/v3``) and to the
offline gateway's ABHA service (settings ``ABDM_ABHA_URL``). Every call carries the gateway session
and ABDM's headers (``abdm.http``); a 401 that a fresh session does not cure is about the user's
X- or T-token (``TokenExpired``). Login ids, Aadhaar numbers and OTPs travel RSA-OAEP (SHA-1)
encrypted with the service's public certificate, which is cached.

Nothing here logs a body, a token or an identifier: they name people.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.core.cache import cache

from abdm import http

CERTIFICATE_PATH = "/profile/public/certificate"
CERTIFICATE_CACHE_SECONDS = 6 * 60 * 60
# ABDM's cipher, "RSA/ECB/OAEPWithSHA-1AndMGF1Padding": SHA-1 is what the service decrypts with.
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303


class LoginMethod(StrEnum):
    ABHA_NUMBER = "abha-number"
    ABHA_ADDRESS = "abha-address"
    MOBILE = "mobile"


AbhaUnavailable = http.ServiceUnavailable
AbhaRefused = http.ServiceRefused
TokenExpired = http.TokenExpired


class WrongOtp(Exception):
    """ABDM answered a verify with ``authResult: failed`` (its way of saying the OTP is wrong)."""


@dataclass(frozen=True)
class OtpSent:
    txn_id: str


@dataclass(frozen=True)
class AccountSummary:
    abha_number: str
    abha_address: str
    name: str


@dataclass(frozen=True)
class Login:
    """A verified OTP: an X-token for one ABHA, or (mobile login) a T-token and the accounts."""

    txn_id: str
    token: str
    is_t_token: bool  # a T-token (mobile login): choose an account with it for an X-token
    expires_in: int
    accounts: list[AccountSummary] = field(default_factory=list)


@dataclass(frozen=True)
class Profile:
    abha_number: str
    abha_address: str
    name: str
    year_of_birth: int | None
    month_of_birth: int | None
    day_of_birth: int | None
    gender: str  # M, F or O

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Profile:
        name = str(body.get("name") or body.get("fullName") or "").strip()
        if not name:
            parts = (body.get("firstName"), body.get("middleName"), body.get("lastName"))
            name = " ".join(str(p).strip() for p in parts if p)
        return cls(
            abha_number=_digits(body.get("ABHANumber") or body.get("abhaNumber")),
            abha_address=str(
                body.get("preferredAbhaAddress") or body.get("abhaAddress") or ""
            ).lower(),
            name=name,
            year_of_birth=_number(body.get("yearOfBirth")),
            month_of_birth=_number(body.get("monthOfBirth")),
            day_of_birth=_number(body.get("dayOfBirth")),
            gender=str(body.get("gender") or "").upper()[:1],
        )


@dataclass(frozen=True)
class Enrolment:
    token: str
    expires_in: int
    profile: Profile
    is_new: bool


def _digits(value: Any) -> str:
    return "".join(c for c in str(value or "") if c.isdigit())


def _number(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def call(
    method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return http.call(settings.ABDM_ABHA_URL, method, path, body=body, headers=headers)


_json = http.json_object


# --- the certificate and encryption -------------------------------------------------------------
def _certificate_cache_key() -> str:
    # Per service URL: a deployment switched to the sandbox must not encrypt with the offline key.
    return "abdm:abha-certificate:" + hashlib.sha256(settings.ABDM_ABHA_URL.encode()).hexdigest()


def public_key() -> rsa.RSAPublicKey:
    """The service's RSA public key (``GET /profile/public/certificate``), cached."""
    der = cache.get(_certificate_cache_key())
    if not isinstance(der, str):
        answer = _json(call("GET", CERTIFICATE_PATH))
        der = str(answer.get("publicKey") or answer.get("publicKeyCert") or "")
        cache.set(_certificate_cache_key(), der, timeout=CERTIFICATE_CACHE_SECONDS)
    try:
        key = serialization.load_der_public_key(base64.b64decode(der))
    except ValueError as exc:
        cache.delete(_certificate_cache_key())
        raise AbhaUnavailable("the public certificate cannot be read") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        cache.delete(_certificate_cache_key())
        raise AbhaUnavailable("the public certificate is not an RSA key")
    return key


def forget_certificate() -> None:
    cache.delete(_certificate_cache_key())


def encrypt(value: str) -> str:
    return base64.b64encode(public_key().encrypt(value.encode(), OAEP)).decode()


# --- login ------------------------------------------------------------------------------------
LOGIN_SCOPES = {
    LoginMethod.ABHA_NUMBER: ["abha-login", "mobile-verify"],
    LoginMethod.MOBILE: ["abha-login", "mobile-verify"],
    LoginMethod.ABHA_ADDRESS: ["abha-address-login", "mobile-verify"],
}
PHR_LOGIN = "/phr/web/login/abha"


def request_login_otp(method: LoginMethod, login_id: str) -> OtpSent:
    """Ask ABDM to text an OTP to the mobile of the ABHA named by ``login_id``."""
    body = {
        "scope": LOGIN_SCOPES[method],
        "loginHint": method.value,
        "loginId": encrypt(login_id),
        "otpSystem": "abdm",
    }
    path = (
        f"{PHR_LOGIN}/request/otp"
        if method == LoginMethod.ABHA_ADDRESS
        else "/profile/login/request/otp"
    )
    return OtpSent(txn_id=str(_json(call("POST", path, body=body))["txnId"]))


def verify_login_otp(method: LoginMethod, txn_id: str, otp: str) -> Login:
    """Check the OTP. Raises ``WrongOtp`` for a wrong one (ABDM answers those 200)."""
    body = {
        "scope": LOGIN_SCOPES[method],
        "authData": {
            "authMethods": ["otp"],
            "otp": {"txnId": txn_id, "otpValue": encrypt(otp)},
        },
    }
    if method == LoginMethod.ABHA_ADDRESS:
        answer = _json(call("POST", f"{PHR_LOGIN}/verify", body=body))
        if answer.get("authResult") != "success":
            raise WrongOtp
        tokens = answer.get("tokens") or {}
        users = answer.get("users") or []
        accounts = [
            AccountSummary(_digits(u.get("abhaNumber")), str(u.get("abhaAddress") or ""), "")
            for u in users
        ]
        return Login(
            txn_id,
            str(tokens["token"]),
            is_t_token=False,
            expires_in=int(tokens.get("expiresIn") or 0),
            accounts=accounts,
        )
    answer = _json(call("POST", "/profile/login/verify", body=body))
    if answer.get("authResult") != "success" or not answer.get("token"):
        raise WrongOtp
    accounts = [
        AccountSummary(
            _digits(a.get("ABHANumber")),
            str(a.get("preferredAbhaAddress") or ""),
            str(a.get("name") or ""),
        )
        for a in answer.get("accounts") or []
    ]
    return Login(
        str(answer.get("txnId") or txn_id),
        str(answer["token"]),
        is_t_token=method == LoginMethod.MOBILE,
        expires_in=int(answer.get("expiresIn") or 0),
        accounts=accounts,
    )


def choose_account(txn_id: str, t_token: str, abha_number: str) -> Login:
    """Mobile login: the X-token of one of the mobile's ABHAs."""
    answer = _json(
        call(
            "POST",
            "/profile/login/verify/user",
            body={"ABHANumber": abha_number, "txnId": txn_id},
            headers={"T-TOKEN": f"Bearer {t_token}"},
        )
    )
    return Login(
        txn_id, str(answer["token"]), is_t_token=False, expires_in=int(answer.get("expiresIn") or 0)
    )


# --- the account -------------------------------------------------------------------------------
def profile(x_token: str) -> Profile:
    answer = _json(call("GET", "/profile/account", headers={"X-TOKEN": f"Bearer {x_token}"}))
    return Profile.from_json(answer)


def abha_card(x_token: str) -> tuple[bytes, str]:
    """The ABHA card image and its content type."""
    response = call("GET", "/profile/account/abha-card", headers={"X-TOKEN": f"Bearer {x_token}"})
    content_type = response.headers.get("Content-Type", "image/png").split(";")[0].strip()
    if not content_type.startswith("image/") and content_type != "application/pdf":
        raise AbhaUnavailable("the card is not an image")
    return response.content, content_type


# --- enrolment ---------------------------------------------------------------------------------
def request_enrolment_otp(aadhaar: str) -> OtpSent:
    """Ask UIDAI (through ABDM) to text an OTP to the Aadhaar's registered mobile."""
    body = {
        "scope": ["abha-enrol"],
        "loginHint": "aadhaar",
        "loginId": encrypt(aadhaar),
        "otpSystem": "aadhaar",
    }
    return OtpSent(txn_id=str(_json(call("POST", "/enrollment/request/otp", body=body))["txnId"]))


def enrol_by_aadhaar(txn_id: str, otp: str, mobile: str) -> Enrolment:
    """Create the ABHA (or find the one this Aadhaar has, ``is_new`` False)."""
    body = {
        "authData": {
            "authMethods": ["otp"],
            "otp": {"txnId": txn_id, "otpValue": encrypt(otp), "mobile": mobile},
        },
        "consent": {"code": "abha-enrollment", "version": "1.4"},
    }
    answer = _json(call("POST", "/enrollment/enrol/byAadhaar", body=body))
    tokens = answer.get("tokens") or {}
    return Enrolment(
        token=str(tokens.get("token") or ""),
        expires_in=int(tokens.get("expiresIn") or 0),
        profile=Profile.from_json(answer.get("ABHAProfile") or {}),
        is_new=bool(answer.get("isNew")),
    )
