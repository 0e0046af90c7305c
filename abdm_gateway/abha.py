"""The ABHA service (ABDM M1) under /abha/api/v3, played by the offline gateway.

Every call carries the gateway session (`Authorization: Bearer`, as the sandbox wants) with a UUID
`REQUEST-ID` and a `TIMESTAMP` in the window. Login ids, Aadhaar numbers and OTPs arrive encrypted
with the service's RSA key (RSA-OAEP, SHA-1, base64); anything else is refused. Every OTP is
TEST_OTP; an OTP lives `abha_otp_ttl_s`, three wrong ones kill the transaction; X- and T-tokens
live `abha_token_ttl_s` (both settable at /_admin/abha). See docs/abdm.md, "The offline ABHA
service".
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from abdm_gateway.abha_data import (
    DEMO_AADHAAR,
    AbhaStore,
    Person,
    Txn,
    card_png,
    masked,
    profile,
    summary,
)
from abdm_gateway.admission import Refused, parse_timestamp
from abdm_gateway.config import Config
from abdm_gateway.keys import Keys
from abdm_gateway.store import Store

BASE = "/abha/api/v3"
TEST_OTP = "123456"
OTP_TTL_S = 600
TOKEN_TTL_S = 1800
REFRESH_TTL_S = 1296000
CIPHER = "RSA/ECB/OAEPWithSHA-1AndMGF1Padding"
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303 - ABDM's cipher


def bad(message: str, code: str = "ABDM-1100", status: int = 400) -> Refused:
    return Refused(status, code, message)


def bearer(request: web.Request, header: str) -> str:
    value = request.headers.get(header, "")
    if not value.startswith("Bearer "):
        raise bad(f"{header}: Bearer token is required", "ABDM-1094", 401)
    return value.removeprefix("Bearer ").strip()


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def body_of(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise bad("The body is not JSON", "ABDM-1000") from None
    if not isinstance(body, dict):
        raise bad("The body is not a JSON object", "ABDM-1000")
    return body


class AbhaService:
    def __init__(self, config: Config, store: Store, keys: Keys) -> None:
        self.config, self.store, self.keys = config, store, keys
        self.data = AbhaStore(store.db)
        pem = store.get_setting("abha_rsa_pem", None)
        if pem is None:
            new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = new.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            store.set_setting("abha_rsa_pem", pem)
        key = serialization.load_pem_private_key(pem.encode(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        self.rsa = key

    # settings -----------------------------------------------------------------------------------
    def otp_ttl(self) -> float:
        return float(self.store.get_setting("abha_otp_ttl_s", OTP_TTL_S))

    def token_ttl(self) -> int:
        return int(self.store.get_setting("abha_token_ttl_s", TOKEN_TTL_S))

    # what every call needs ----------------------------------------------------------------------
    def admit(self, request: web.Request) -> None:
        """The gateway session token, a UUID REQUEST-ID and a TIMESTAMP in the window."""
        try:
            self.keys.verify(bearer(request, "Authorization"))
        except jwt.InvalidTokenError:
            raise bad("The access token is not valid or has expired", "ABDM-1008", 401) from None
        try:
            uuid.UUID(request.headers.get("REQUEST-ID", ""))
        except ValueError:
            raise bad("REQUEST-ID must be a UUID", "ABDM-1001") from None
        parse_timestamp(request.headers.get("TIMESTAMP"))

    def decrypt(self, value: Any, field: str) -> str:
        """An RSA-OAEP (SHA-1) base64 value; plaintext or another key's ciphertext is refused."""
        try:
            raw = base64.b64decode(str(value), validate=True)
            return self.rsa.decrypt(raw, OAEP).decode()
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise bad(f"{field} must be encrypted with the ABHA service's public key") from None

    def check_otp(self, txn_id: Any, otp_value: Any, kind: str) -> tuple[Txn | None, str]:
        """(the transaction, "") for the right OTP; (None, message) for a wrong one; refuses a
        transaction that is unknown, of another kind, expired, used or dead."""
        txn = self.data.txn(str(txn_id))
        if txn is None or txn.kind != kind:
            raise bad("Invalid transaction id", "ABDM-1204")
        if txn.state == "dead":
            raise bad("Too many wrong OTPs. Request a new OTP.", "ABDM-1115")
        if txn.state != "otp_sent":
            raise bad("This transaction has already been used", "ABDM-1204")
        if txn.expires_at <= time.time():
            raise bad("OTP expired, please try again", "ABDM-1100")
        otp = self.decrypt(otp_value, "otpValue")
        if not secrets.compare_digest(otp, txn.otp):
            wrong = self.data.wrong_otp(txn.txn_id)
            left = max(0, 3 - wrong)
            if left == 0:
                return None, "Entered OTP is incorrect. No attempts left; request a new OTP."
            return None, f"Entered OTP is incorrect. Kindly re-enter valid OTP. {left} left."
        self.data.set_txn_state(txn.txn_id, "verified")
        return txn, ""

    def tokens(self, kind: str, txn_id: str, abha_number: str | None) -> dict[str, Any]:
        ttl = self.token_ttl()
        return {
            "token": self.data.new_token(
                kind=kind, txn_id=txn_id, abha_number=abha_number, ttl_s=ttl
            ),
            "expiresIn": ttl,
            "refreshToken": secrets.token_urlsafe(32),
            "refreshExpiresIn": REFRESH_TTL_S,
        }

    def person_of_x_token(self, request: web.Request) -> Person:
        found = self.data.token(bearer(request, "X-TOKEN"), "X")
        person = None if found is None else self.data.account(str(found[1]))
        if person is None:
            raise bad("X-TOKEN is not valid or has expired", "ABDM-1094", 401)
        return person

    # login ------------------------------------------------------------------------------------
    async def certificate(self, request: web.Request) -> web.Response:
        self.admit(request)
        der = self.rsa.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return web.json_response(
            {"publicKey": base64.b64encode(der).decode(), "encryptionAlgorithm": CIPHER}
        )

    def login_target(self, hint: str, login_id: str) -> str:
        """The mobile the OTP goes to for this login hint and id; unknown ids are refused."""
        digits = re.sub(r"[\s-]", "", login_id)
        if hint == "abha-number":
            person = self.data.account(digits)
            if person is None:
                raise bad("ABHA number not found", "ABDM-1114")
            return person.mobile
        if hint == "mobile":
            if not self.data.accounts_on_mobile(digits):
                raise bad("No ABHA is linked to this mobile number", "ABDM-1114")
            return digits
        if hint == "aadhaar":
            person = self.data.account_by_aadhaar(digits)
            if person is None:
                raise bad("No ABHA is linked to this Aadhaar number", "ABDM-1114")
            return person.mobile
        raise bad("loginHint must be abha-number, mobile or aadhaar", "ABDM-1000")

    async def login_request_otp(self, request: web.Request) -> web.Response:
        self.admit(request)
        body = await body_of(request)
        scope = body.get("scope")
        if not isinstance(scope, list) or "abha-login" not in scope:
            raise bad("scope must include abha-login", "ABDM-1000")
        if body.get("otpSystem") not in ("abdm", "aadhaar"):
            raise bad("otpSystem must be abdm or aadhaar", "ABDM-1000")
        hint = str(body.get("loginHint", ""))
        login_id = re.sub(r"[\s-]", "", self.decrypt(body.get("loginId"), "loginId"))
        mobile = self.login_target(hint, login_id)
        txn_id = self.data.new_txn(
            kind="login", login_hint=hint, login_id=login_id, otp=TEST_OTP, ttl_s=self.otp_ttl()
        )
        message = f"OTP is sent to Mobile number ending with {masked(mobile)}"
        return web.json_response({"txnId": txn_id, "message": message})

    async def login_verify(self, request: web.Request) -> web.Response:
        self.admit(request)
        body = await body_of(request)
        auth = obj(body.get("authData"))
        otp = obj(auth.get("otp"))
        if "otp" not in (auth.get("authMethods") or []):
            raise bad("authData.authMethods must include otp", "ABDM-1000")
        txn, failure = self.check_otp(otp.get("txnId"), otp.get("otpValue"), "login")
        if txn is None:
            answer: dict[str, Any] = {
                "txnId": otp.get("txnId"),
                "authResult": "failed",
                "accounts": [],
            }
            return web.json_response({**answer, "message": failure})
        if txn.login_hint == "mobile":
            people = self.data.accounts_on_mobile(txn.login_id)
            tokens = self.tokens("T", txn.txn_id, None)
        else:
            person = (
                self.data.account(txn.login_id)
                if txn.login_hint == "abha-number"
                else self.data.account_by_aadhaar(txn.login_id)
            )
            assert person is not None
            people = [person]
            tokens = self.tokens("X", txn.txn_id, person.abha_number)
        return web.json_response(
            {
                "txnId": txn.txn_id,
                "authResult": "success",
                "message": "OTP verified successfully",
                **tokens,
                "accounts": [summary(p) for p in people],
            }
        )

    async def login_verify_user(self, request: web.Request) -> web.Response:
        """Mobile login: pick one of the mobile's accounts with the T-token; answers an X-token."""
        self.admit(request)
        found = self.data.token(bearer(request, "T-TOKEN"), "T")
        if found is None:
            raise bad("T-TOKEN is not valid or has expired", "ABDM-1094", 401)
        body = await body_of(request)
        txn = self.data.txn(found[0])
        if txn is None or str(body.get("txnId")) != txn.txn_id:
            raise bad("txnId does not belong to this T-TOKEN", "ABDM-1204")
        number = re.sub(r"[\s-]", "", str(body.get("ABHANumber", "")))
        if number not in {p.abha_number for p in self.data.accounts_on_mobile(txn.login_id)}:
            raise bad("ABHANumber is not an account on this mobile", "ABDM-1114")
        return web.json_response(self.tokens("X", txn.txn_id, number))

    # the account ---------------------------------------------------------------------------------
    async def get_account(self, request: web.Request) -> web.Response:
        self.admit(request)
        return web.json_response(profile(self.person_of_x_token(request)))

    async def abha_card(self, request: web.Request) -> web.Response:
        self.admit(request)
        person = self.person_of_x_token(request)
        return web.Response(body=card_png(person), content_type="image/png")

    # enrolment ----------------------------------------------------------------------------------
    async def enrol_request_otp(self, request: web.Request) -> web.Response:
        self.admit(request)
        body = await body_of(request)
        scope = body.get("scope")
        if not isinstance(scope, list) or "abha-enrol" not in scope:
            raise bad("scope must include abha-enrol", "ABDM-1000")
        if body.get("loginHint") != "aadhaar" or body.get("otpSystem") != "aadhaar":
            raise bad("Enrolment is by Aadhaar: loginHint and otpSystem aadhaar", "ABDM-1000")
        aadhaar = re.sub(r"[\s-]", "", self.decrypt(body.get("loginId"), "loginId"))
        if aadhaar not in DEMO_AADHAAR:
            raise bad("Invalid Aadhaar number", "ABDM-1114")
        txn_id = self.data.new_txn(
            kind="enrol", login_hint="aadhaar", login_id=aadhaar, otp=TEST_OTP, ttl_s=self.otp_ttl()
        )
        mobile = masked(DEMO_AADHAAR[aadhaar][7])
        message = f"OTP sent to Aadhaar registered mobile number ending with {mobile}"
        return web.json_response({"txnId": txn_id, "message": message})

    async def enrol_by_aadhaar(self, request: web.Request) -> web.Response:
        self.admit(request)
        body = await body_of(request)
        auth = obj(body.get("authData"))
        otp = obj(auth.get("otp"))
        consent = obj(body.get("consent"))
        if consent.get("code") != "abha-enrollment":
            raise bad("consent.code must be abha-enrollment", "ABDM-1000")
        txn, failure = self.check_otp(otp.get("txnId"), otp.get("otpValue"), "enrol")
        if txn is None:
            raise bad(failure, "ABDM-1100")
        person, is_new = self.data.enrol(txn.login_id)
        details = profile(person)
        return web.json_response(
            {
                "message": "Account created successfully"
                if is_new
                else "This account already exist",
                "txnId": txn.txn_id,
                "tokens": self.tokens("X", txn.txn_id, person.abha_number),
                "ABHAProfile": {**details, "phrAddress": [person.abha_address]},
                "isNew": is_new,
            }
        )

    # admin ------------------------------------------------------------------------------------
    async def admin_settings(self, request: web.Request) -> web.Response:
        body = await body_of(request) if request.can_read_body else {}
        for field, key in (
            ("otpTtlSeconds", "abha_otp_ttl_s"),
            ("tokenTtlSeconds", "abha_token_ttl_s"),
        ):
            if field in body:
                value = body[field]
                if not isinstance(value, int) or value < 0:
                    raise bad(f"{field} must be a whole number >= 0", "ABDM-1000")
                self.store.set_setting(key, value)
        return web.json_response(
            {"otpTtlSeconds": self.otp_ttl(), "tokenTtlSeconds": self.token_ttl()}
        )


def install(app: web.Application, config: Config, store: Store, keys: Keys) -> AbhaService:
    """Serve the ABHA service on the gateway's app."""
    service = AbhaService(config, store, keys)
    routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]] = [
        ("GET", "/profile/public/certificate", service.certificate),
        ("POST", "/profile/login/request/otp", service.login_request_otp),
        ("POST", "/profile/login/verify", service.login_verify),
        ("POST", "/profile/login/verify/user", service.login_verify_user),
        ("GET", "/profile/account", service.get_account),
        ("GET", "/profile/account/abha-card", service.abha_card),
        ("POST", "/enrollment/request/otp", service.enrol_request_otp),
        ("POST", "/enrollment/enrol/byAadhaar", service.enrol_by_aadhaar),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, f"{BASE}{path}", handler)
    app.router.add_route("*", "/_admin/abha", service.admin_settings)
    return service
