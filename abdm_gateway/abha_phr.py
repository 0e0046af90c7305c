"""Login by ABHA address (the PHR web login of the ABHA service), under /abha/api/v3/phr/web/login.

Same rules as abha.py: the gateway session on every call, the address and OTP RSA-OAEP encrypted,
the test OTP, three wrong OTPs kill the transaction, X-tokens that expire.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from abdm_gateway.abha import BASE, TEST_OTP, AbhaService, bad, body_of, obj
from abdm_gateway.abha_data import masked, profile

PHR = f"{BASE}/phr/web/login"


class PhrLogin:
    def __init__(self, service: AbhaService) -> None:
        self.service = service

    async def search(self, request: web.Request) -> web.Response:
        """Which ABHA an address belongs to and how it can log in (the address is plain here)."""
        self.service.admit(request)
        body = await body_of(request)
        person = self.service.data.account_by_address(str(body.get("abhaAddress", "")))
        if person is None:
            raise bad("ABHA address not found", "ABDM-1114")
        return web.json_response(
            {
                "healthIdNumber": person.abha_number,
                "abhaAddress": person.abha_address,
                "authMethods": ["MOBILE_OTP", "AADHAAR_OTP"],
                "blockedAuthMethods": [],
                "status": "ACTIVE",
                "fullName": person.name,
                "mobile": masked(person.mobile),
            }
        )

    async def request_otp(self, request: web.Request) -> web.Response:
        service = self.service
        service.admit(request)
        body = await body_of(request)
        scope = body.get("scope")
        if not isinstance(scope, list) or "abha-address-login" not in scope:
            raise bad("scope must include abha-address-login", "ABDM-1000")
        if body.get("loginHint") != "abha-address":
            raise bad("loginHint must be abha-address", "ABDM-1000")
        address = service.decrypt(body.get("loginId"), "loginId").strip().lower()
        person = service.data.account_by_address(address)
        if person is None:
            raise bad("ABHA address not found", "ABDM-1114")
        txn_id = service.data.new_txn(
            kind="phr",
            login_hint="abha-address",
            login_id=person.abha_number,
            otp=TEST_OTP,
            ttl_s=service.otp_ttl(),
        )
        message = f"OTP is sent to Mobile number ending with {masked(person.mobile)}"
        return web.json_response({"txnId": txn_id, "message": message})

    async def verify(self, request: web.Request) -> web.Response:
        service = self.service
        service.admit(request)
        body = await body_of(request)
        auth = obj(body.get("authData"))
        otp = obj(auth.get("otp"))
        if "otp" not in (auth.get("authMethods") or []):
            raise bad("authData.authMethods must include otp", "ABDM-1000")
        txn, failure = service.check_otp(otp.get("txnId"), otp.get("otpValue"), "phr")
        if txn is None:
            return web.json_response({"authResult": "failed", "message": failure, "users": []})
        person = service.data.account(txn.login_id)
        assert person is not None
        user: dict[str, Any] = {
            "abhaAddress": person.abha_address,
            "fullName": person.name,
            "abhaNumber": person.abha_number,
            "status": "ACTIVE",
            "kycStatus": "VERIFIED" if person.kyc_verified else "PENDING",
        }
        return web.json_response(
            {
                "message": "OTP verified successfully",
                "authResult": "success",
                "users": [user],
                "tokens": service.tokens("X", txn.txn_id, person.abha_number),
            }
        )

    async def abha_profile(self, request: web.Request) -> web.Response:
        self.service.admit(request)
        person = self.service.person_of_x_token(request)
        details = profile(person)
        return web.json_response(
            {
                **details,
                "abhaAddress": person.abha_address,
                "fullName": person.name,
                "abhaNumber": person.abha_number,
            }
        )


def install(app: web.Application, service: AbhaService) -> None:
    login = PhrLogin(service)
    app.router.add_post(f"{PHR}/abha/search", login.search)
    app.router.add_post(f"{PHR}/abha/request/otp", login.request_otp)
    app.router.add_post(f"{PHR}/abha/verify", login.verify)
    app.router.add_get(f"{PHR}/profile/abha-profile", login.abha_profile)
