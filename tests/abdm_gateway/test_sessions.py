"""Sessions and keys: RS256 tokens verifiable against the JWKS, and what the gateway refuses."""

from __future__ import annotations

from typing import Any

import jwt
from jwt import PyJWKSet

from tests.abdm_gateway.harness import CLIENT_ID, Gateway, http

DISCOVER_REPLY = "/user-initiated-linking/v3/patient/care-context/on-discover"


def verify(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in PyJWKSet.from_dict(jwks).keys if k.key_id == kid)
    return jwt.decode(token, key.key, algorithms=["RS256"])


def test_a_session_is_an_rs256_token_verifiable_against_the_jwks(abdm_gateway: Gateway):
    status, body = abdm_gateway.session()

    assert status == 200
    assert body["tokenType"] == "bearer"
    assert body["expiresIn"] > 0
    assert body["refreshToken"]
    header = jwt.get_unverified_header(body["accessToken"])
    assert header["alg"] == "RS256"
    assert header["kid"] in {k["kid"] for k in abdm_gateway.jwks()["keys"]}
    claims = verify(body["accessToken"], abdm_gateway.jwks())
    assert claims["clientId"] == CLIENT_ID
    assert claims["iss"]
    assert claims["exp"] - claims["iat"] == body["expiresIn"]


def test_a_wrong_secret_gets_401_and_no_token(abdm_gateway: Gateway):
    status, body = abdm_gateway.session(secret="not-the-secret")

    assert status == 401
    assert body["error"]["code"].startswith("ABDM-")
    assert "accessToken" not in body


def test_a_refresh_token_gives_a_new_session_once(abdm_gateway: Gateway):
    _, first = abdm_gateway.session()
    url = f"{abdm_gateway.base}/gateway/v3/sessions"
    grant = {"grantType": "refresh_token", "refreshToken": first["refreshToken"]}

    status, body = http("POST", url, grant, abdm_gateway.headers())
    again, _ = http("POST", url, grant, abdm_gateway.headers())

    assert status == 200
    assert verify(body["accessToken"], abdm_gateway.jwks())["clientId"] == CLIENT_ID
    assert again == 401


def test_an_expired_token_gets_401(fresh_abdm_gateway: Gateway):
    fresh_abdm_gateway.admin("settings", {"tokenTtlSeconds": 0})
    token = fresh_abdm_gateway.token()

    status, body = fresh_abdm_gateway.call(
        DISCOVER_REPLY, {"transactionId": "t"}, fresh_abdm_gateway.headers(token)
    )

    assert status == 401
    assert "expired" in body["error"]["message"]


def test_rotation_keeps_old_tokens_verifiable_until_the_old_key_leaves(
    fresh_abdm_gateway: Gateway,
):
    gateway = fresh_abdm_gateway
    old_token = gateway.token()
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    new_kid = gateway.admin("keys/rotate", {})["kid"]
    new_token = gateway.token()

    assert jwt.get_unverified_header(new_token)["kid"] == new_kid != old_kid
    jwks = gateway.jwks()
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}
    assert verify(old_token, jwks)["clientId"] == CLIENT_ID
    assert gateway.call(DISCOVER_REPLY, {}, gateway.headers(old_token))[0] == 202

    assert gateway.admin("keys/retire", {"kid": old_kid})["retired"] == [old_kid]

    assert {k["kid"] for k in gateway.jwks()["keys"]} == {new_kid}
    assert gateway.call(DISCOVER_REPLY, {}, gateway.headers(old_token))[0] == 401
    assert gateway.call(DISCOVER_REPLY, {}, gateway.headers(new_token))[0] == 202
