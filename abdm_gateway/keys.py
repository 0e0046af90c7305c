"""The gateway's RS256 signing keys: sign with the newest, publish every key not yet retired."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from abdm_gateway.store import Store


def _public(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_private_key(pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.public_key()


def _new_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class Keys:
    def __init__(self, store: Store, *, issuer: str, grace_s: int) -> None:
        self.store = store
        self.issuer = issuer
        self.grace_s = grace_s
        if not store.published_keys():
            self.rotate()

    def rotate(self) -> str:
        """A new key signs from now on; the old ones stay in the JWKS until retired."""
        kid = uuid.uuid4().hex
        self.store.add_key(kid, _new_private_pem())
        return kid

    def retire(self, kid: str | None = None) -> list[str]:
        """Retire one rotated-out key now, or every one rotated out longer than the grace ago."""
        if kid is not None:
            return self.store.retire_keys(older_than=None, kid=kid)
        return self.store.retire_keys(older_than=time.time() - self.grace_s)

    def _active(self) -> tuple[str, str]:
        kid, pem, _ = next(k for k in self.store.published_keys() if k[2])
        return kid, pem

    def jwks(self) -> dict[str, Any]:
        self.retire()
        keys = []
        for kid, pem, _ in self.store.published_keys():
            public = _public(pem)
            jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(public))
            jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
            keys.append(jwk)
        return {"keys": keys}

    def sign(self, claims: dict[str, Any], ttl_s: int) -> str:
        kid, pem = self._active()
        now = int(time.time())
        payload = {"iss": self.issuer, "iat": now, "exp": now + ttl_s, **claims}
        return jwt.encode(payload, pem, algorithm="RS256", headers={"kid": kid})

    def sign_detached(self, data: bytes) -> str:
        """base64 RS256 (RSASSA-PKCS1-v1_5, SHA-256) signature of `data` by the signing key."""
        _, pem = self._active()
        key = serialization.load_pem_private_key(pem.encode(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token this gateway signed with a key still in its JWKS.

        Raises jwt.InvalidTokenError (expired, bad signature, unknown or retired kid).
        """
        kid = jwt.get_unverified_header(token).get("kid")
        self.retire()
        pem = next((p for k, p, _ in self.store.published_keys() if k == kid), None)
        if pem is None:
            raise jwt.InvalidSignatureError("unknown or retired key id")
        public = _public(pem)
        claims: dict[str, Any] = jwt.decode(
            token,
            public,
            algorithms=["RS256"],
            issuer=self.issuer,
            options={"require": ["exp", "iat", "iss"]},
        )
        return claims
