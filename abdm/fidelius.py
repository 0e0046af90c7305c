"""Fidelius: the encryption of ABDM's health-information pushes (ECDH + HKDF + AES-256-GCM).

The algorithm, exactly as ABDM's Java reference (BouncyCastle, ``mgrmtech/fidelius-cli``) does it:

- the curve is BouncyCastle's ``curve25519``: Curve25519 in **short Weierstrass form**
  (y² = x³ + a·x + b over p = 2²⁵⁵ - 19), not X25519 (whose coordinates differ by A/3 and
  whose scalars are clamped);
- a private key is a big-endian scalar in base64; a public key is the 65-byte ``04‖X‖Y`` point
  in base64 (an X.509 SubjectPublicKeyInfo ending in that point is accepted too); a nonce is
  32 random bytes in base64;
- the shared secret is the X coordinate of d·Q, **left-padded with zeros to 32 bytes**;
- ``xor = senderNonce ⊕ requesterNonce``; AES key = HKDF-SHA256(secret, salt = xor[0:20], no
  info, 32 bytes); IV = xor[-12:]; AES-256-GCM; the wire form is base64(ciphertext ‖ tag).

Why our own point arithmetic on ``cryptography`` rather than PyPI ``abdm-ecdh``: ``abdm-ecdh``
(MIT, only ``cryptography`` underneath) is correct where the well-known open implementation is
not (it pads the secret, checks the peer point is on the curve and verifies the tag), but the
offline gateway (``abdm_gateway/``) uses it on the other end of every push. If we used it too,
both ends would share one implementation and a bug in it would round-trip silently through every
test. So the HIP side is written here, small and independent, and checked against the published
known answer and against ``abdm-ecdh`` in both directions on random keys
(``tests/abdm/test_fidelius.py``; ``abdm-ecdh`` is a dev dependency for that only). What we take
from a well-kept library is everything that is not the curve: HKDF and AES-GCM from
``cryptography``. The scalar multiplication is done on the isomorphic Montgomery curve
(u = x - A/3): an x-only Montgomery ladder over a fixed 255 bits with arithmetic conditional
swaps (the same sequence of operations for every scalar; Python integers are not constant-time,
so this is care, not a guarantee), with Okamoto-Sakurai y-recovery when a public key needs Y.
It is also some forty times faster than ``abdm-ecdh``'s affine double-and-add, which inverts a
field element at every step (~1 ms against ~45 ms a key agreement here; ``python -m
bench.abdm_crypto`` measures ours).

A peer's public key is refused (``FideliusError``) unless both coordinates are below p, the point
is on the curve and is not of small order (8·Q ≠ O); a ciphertext is refused unless its GCM tag
verifies. A point outside the prime-order subgroup but not of small order is accepted (a full
subgroup check would double the cost of an agreement): our key material is fresh for every
transfer, so what such a point could learn about one private key is worth nothing.

The protocol derives one key and one IV from a pair of key materials, so every entry encrypted
with the same pair reuses a GCM nonce (which leaks the XOR of the plaintexts and allows forged
tags). A pusher should therefore send one entry per page, each page with fresh sender key
material (``KeyMaterial.generate()`` costs about a millisecond).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

P = 2**255 - 19
# Short Weierstrass form, as BouncyCastle's CustomNamedCurves "curve25519" defines it.
A_W = 0x2AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA984914A144
B_W = 0x7B425ED097B425ED097B425ED097B425ED097B425ED097B4260B5E9C7710C864
N = 0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED
GX = 0x2AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD245A
GY = 0x20AE19A1B8A086B4E01EDD2C7748D14C923D4D7E6D7C61B229E9C5A27ECED3D9
# The Montgomery form v² = u³ + A·u² + u of the same curve: x = u + A/3, y = v.
A_M = 486662
A_THIRD = A_M * pow(3, -1, P) % P
A24 = (A_M - 2) // 4
LADDER_BITS = 255

FIELD_BYTES = 32
NONCE_BYTES = 32
SALT_BYTES = 20
IV_BYTES = 12
SPKI_POINT_PREFIX = b"\x03\x42\x00\x04"  # BIT STRING, 66 bytes, no unused bits, uncompressed

CRYPTO_ALG = "ECDH"
CURVE = "Curve25519"
KEY_PARAMETERS = "Curve25519/32byte random key"

Point = tuple[int, int]


class FideliusError(ValueError):
    """A key, nonce, key-material document or ciphertext that Fidelius refuses."""


# --- The curve -----------------------------------------------------------------------------


def _ladder(k: int, u: int) -> tuple[int, int, int, int]:
    """Projective u of k·P and (k+1)·P (RFC 7748's ladder, without clamping)."""
    x2, z2, x3, z3 = 1, 0, u, 1
    swap = 0
    for t in reversed(range(LADDER_BITS)):
        bit = (k >> t) & 1
        swap ^= bit
        mask = -swap
        d = mask & (x2 ^ x3)
        x2, x3 = x2 ^ d, x3 ^ d
        d = mask & (z2 ^ z3)
        z2, z3 = z2 ^ d, z3 ^ d
        swap = bit
        a = x2 + z2
        aa = a * a % P
        b = x2 - z2
        bb = b * b % P
        e = aa - bb
        c = x3 + z3
        dd = x3 - z3
        da = dd * a % P
        cb = c * b % P
        s = da + cb
        x3 = s * s % P
        s = da - cb
        z3 = u * (s * s % P) % P
        x2 = aa * bb % P
        z2 = e * (aa + A24 * e) % P
    mask = -swap
    d = mask & (x2 ^ x3)
    x2, x3 = x2 ^ d, x3 ^ d
    d = mask & (z2 ^ z3)
    z2, z3 = z2 ^ d, z3 ^ d
    return x2, z2, x3, z3


def _small_order(u: int) -> bool:
    """Whether 8·P is the point at infinity (the cofactor is 8)."""
    x, z = u, 1
    for _ in range(3):
        aa = (x + z) * (x + z) % P
        bb = (x - z) * (x - z) % P
        e = aa - bb
        x, z = aa * bb % P, e * (aa + A24 * e) % P
    return z == 0


def _on_curve(point: Point) -> bool:
    x, y = point
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A_W * x + B_W)) % P == 0


def _shared_x(d: int, peer: Point) -> int:
    """Weierstrass X of d·Q for a checked peer point Q."""
    x2, z2, _, _ = _ladder(d, (peer[0] - A_THIRD) % P)
    if z2 == 0:
        raise FideliusError("The key agreement reached the point at infinity.")
    return (x2 * pow(z2, -1, P) + A_THIRD) % P


def _multiply(d: int, point: Point) -> Point:
    """d·Q with Y (Okamoto-Sakurai recovery on the Montgomery form)."""
    u, v = (point[0] - A_THIRD) % P, point[1]
    x1, z1, x2, z2 = _ladder(d, u)
    if z1 == 0 or v == 0:
        raise FideliusError("The scalar multiplication reached the point at infinity.")
    if z2 == 0:  # (d+1)·Q = O: d·Q = -Q
        return point[0], (P - v) % P
    uq = x1 * pow(z1, -1, P) % P
    uq1 = x2 * pow(z2, -1, P) % P
    num = (u * uq + 1) * (u + uq + 2 * A_M) - 2 * A_M - (u - uq) * (u - uq) * uq1
    vq = num * pow(2 * v, -1, P) % P
    return (uq + A_THIRD) % P, vq


# --- Encodings -----------------------------------------------------------------------------


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise FideliusError(f"The {what} is not valid base64.") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode_public(point: Point) -> str:
    """The 65-byte ``04‖X‖Y`` form, base64 (88 characters)."""
    x, y = (c.to_bytes(FIELD_BYTES, "big") for c in point)
    return _b64(b"\x04" + x + y)


def decode_public(value: str) -> Point:
    """A peer's public key (``04‖X‖Y`` or an X.509 SubjectPublicKeyInfo ending in it), checked."""
    raw = _b64decode(value, "public key")
    if len(raw) == 1 + 2 * FIELD_BYTES and raw[0] == 0x04:
        body = raw[1:]
    elif len(raw) > 70 and raw[0] == 0x30 and raw[-68:-64] == SPKI_POINT_PREFIX:
        body = raw[-64:]
    else:
        raise FideliusError("The public key is neither a 65-byte point nor an X.509 key.")
    point = (int.from_bytes(body[:FIELD_BYTES], "big"), int.from_bytes(body[FIELD_BYTES:], "big"))
    if not _on_curve(point):
        raise FideliusError("The public key is not a point on Curve25519.")
    if _small_order((point[0] - A_THIRD) % P):
        raise FideliusError("The public key is a point of small order.")
    return point


def decode_private(value: str) -> int:
    d = int.from_bytes(_b64decode(value, "private key"), "big")
    if not 0 < d < N:
        raise FideliusError("The private key is not a scalar between 1 and the group order.")
    return d


def decode_nonce(value: str) -> bytes:
    nonce = _b64decode(value, "nonce")
    if len(nonce) != NONCE_BYTES:
        raise FideliusError(f"A nonce must be {NONCE_BYTES} bytes, not {len(nonce)}.")
    return nonce


# --- Key material --------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyMaterial:
    """One side's key pair and nonce, all base64 as ABDM carries them."""

    private: str
    public: str
    nonce: str

    @classmethod
    def generate(cls) -> KeyMaterial:
        d = secrets.randbelow(N - 1) + 1
        return cls(
            private=_b64(d.to_bytes(FIELD_BYTES, "big")),
            public=encode_public(_multiply(d, (GX, GY))),
            nonce=_b64(secrets.token_bytes(NONCE_BYTES)),
        )

    def to_abdm(self, expiry: datetime) -> dict[str, Any]:
        """The ``keyMaterial`` object of a health-information request or push."""
        return {
            "cryptoAlg": CRYPTO_ALG,
            "curve": CURVE,
            "dhPublicKey": {
                "expiry": format_expiry(expiry),
                "parameters": KEY_PARAMETERS,
                "keyValue": self.public,
            },
            "nonce": self.nonce,
        }


@dataclass(frozen=True)
class PeerKey:
    """The other side's public key and nonce, read from its ``keyMaterial`` (checked)."""

    public: str
    nonce: str
    expiry: datetime | None

    @classmethod
    def from_abdm(cls, key_material: Any) -> PeerKey:
        try:
            alg, curve = key_material["cryptoAlg"], key_material["curve"]
            dh, nonce = key_material["dhPublicKey"], key_material["nonce"]
            public, expiry = dh["keyValue"], dh.get("expiry")
        except (KeyError, TypeError, AttributeError) as exc:
            raise FideliusError("The key material lacks a field.") from exc
        if alg != CRYPTO_ALG or curve != CURVE:
            raise FideliusError(f"Unsupported key material: {alg!r} on {curve!r}.")
        if not isinstance(public, str) or not isinstance(nonce, str):
            raise FideliusError("The key material's key and nonce must be strings.")
        decode_public(public)
        decode_nonce(nonce)
        return cls(public=public, nonce=nonce, expiry=parse_expiry(expiry))


def format_expiry(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise FideliusError("The expiry must be an aware datetime.")
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def parse_expiry(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise FideliusError(f"The key's expiry {value!r} is not an ISO 8601 time.") from exc
    if moment.tzinfo is None:
        raise FideliusError("The key's expiry carries no time zone.")
    return moment


# --- Agreement and the cipher --------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """The AES-256-GCM key and IV two key materials agree on: encrypts or decrypts entries."""

    key: bytes
    iv: bytes
    _aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_aead", AESGCM(self.key))

    def encrypt(self, plaintext: bytes | str) -> str:
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        return _b64(self._aead.encrypt(self.iv, data, None))

    def decrypt(self, ciphertext: str) -> bytes:
        raw = _b64decode(ciphertext, "ciphertext")
        try:
            return self._aead.decrypt(self.iv, raw, None)
        except InvalidTag as exc:
            raise FideliusError("The ciphertext's GCM tag does not verify.") from exc


def shared_secret(private: str, peer_public: str) -> bytes:
    """X of d·Q, left-padded to 32 bytes."""
    x = _shared_x(decode_private(private), decode_public(peer_public))
    return x.to_bytes(FIELD_BYTES, "big")


def agree(own: KeyMaterial, peer_public: str, peer_nonce: str) -> Channel:
    """The channel between our key material and the peer's key and nonce (symmetric)."""
    secret = shared_secret(own.private, peer_public)
    ours, theirs = decode_nonce(own.nonce), decode_nonce(peer_nonce)
    xor = bytes(a ^ b for a, b in zip(ours, theirs, strict=True))
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=xor[:SALT_BYTES], info=None)
    return Channel(key=hkdf.derive(secret), iv=xor[-IV_BYTES:])


def encrypt(
    plaintext: bytes | str, *, sender: KeyMaterial, requester_public: str, requester_nonce: str
) -> str:
    """base64(ciphertext ‖ tag) of one entry, as the HIP (sender) pushes it."""
    return agree(sender, requester_public, requester_nonce).encrypt(plaintext)


def decrypt(
    ciphertext: str, *, requester: KeyMaterial, sender_public: str, sender_nonce: str
) -> bytes:
    """The plaintext of one pushed entry, as the requester reads it; the tag is checked."""
    return agree(requester, sender_public, sender_nonce).decrypt(ciphertext)
