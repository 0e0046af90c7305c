"""Fidelius: the published known answer, refusals, the padded secret, and agreement with the
independent implementation the offline gateway uses (PyPI ``abdm-ecdh``) on random keys."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import abdm_ecdh
import pytest
from abdm_ecdh.utils import compute_shared_secret
from abdm_ecdh.x509 import marshal_x509_public_key

from abdm import fidelius
from abdm.fidelius import FideliusError, KeyMaterial, PeerKey

# mgrmtech/fidelius-cli README (ABDM's Java reference, BouncyCastle), via ABDM.md.
REQUESTER = KeyMaterial(
    private="DMxHPri8d7IT23KgLk281zZenMfVHSdeamq0RhwlIBk=",
    public="BAheD5rUqTy4V5xR4/6HWmYpopu5CO+KO8BECS0udNqUTSNo91TIqIIy1A4Vh+F94c+n9vAcwXU2bGcfsI5f69Y=",
    nonce="6uj1RdDUbcpI3lVMZvijkMC8Te20O4Bcyz0SyivX8Eg=",
)
SENDER = KeyMaterial(
    private="AYhVZpbVeX4KS5Qm/W0+9Ye2q3rnVVGmqRICmseWni4=",
    public="BABVt+mpRLMXiQpIfEq6bj8hlXsdtXIxLsspmMgLNI1SR5mHgDVbjHO2A+U4QlMddGzqyEidzm1AkhtSxSO2Ahg=",
    nonce="lmXgblZwotx+DfBgKJF0lZXtAXgBEYr5khh79Zytr2Y=",
)
PLAINTEXT = "Wormtail should never have been Potter cottage's secret keeper."
CIPHERTEXT = (
    "pzMvVZNNVtJzqPkkxcCbBUWgDEBy/mBXIeT2dJWI16ZAQnnXUb9lI+S4k8XK6mgZSKKSRIHkcNvJpllnBg548wUg"
    "avBa0vCRRwdL6kY6Yw=="
)
# A sender key (found by search) whose shared X with REQUESTER starts with a zero byte: an
# implementation that encodes the secret at minimal length derives another AES key here.
PADDED_SENDER = KeyMaterial(
    private="BggLrNExFcBRHg5zhXwkK42+GOx1YBNh8eOSN3CSHbk=",
    public="BHnRHUUCGBQO2ivcLIDD9pnMSkaBpwQ2gg0sH8d4kQFZW8o4kZxeX1jRa4rFIssJLXfXw++ywmSjL7hOEQHXeCI=",
    nonce="v9bZcOSzPtAS18vaoBXVjvj9wqgPBSIVlU6ftVxU3eY=",
)
# BouncyCastle's named-curve OID for curve25519 (1.3.6.1.4.1.3029.1.5.1) after id-ecPublicKey.
NAMED_CURVE_ALGORITHM = bytes.fromhex("3015" + "06072a8648ce3d0201" + "060a2b060104019755010501")


def named_curve_spki(public: str) -> str:
    """The X.509 form BouncyCastle's ``getEncoded()`` gives a named-curve key."""
    body = NAMED_CURVE_ALGORITHM + bytes.fromhex("034200") + base64.b64decode(public)
    return base64.b64encode(bytes([0x30, len(body)]) + body).decode()


def explicit_spki(public: str) -> str:
    """The X.509 form with explicit curve parameters (what ``abdm-ecdh`` emits)."""
    point = base64.b64decode(public)
    x, y = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
    return base64.b64encode(marshal_x509_public_key(x, y)).decode()


def test_the_known_answer_encrypts_exactly():
    assert (
        fidelius.encrypt(
            PLAINTEXT,
            sender=SENDER,
            requester_public=REQUESTER.public,
            requester_nonce=REQUESTER.nonce,
        )
        == CIPHERTEXT
    )


@pytest.mark.parametrize("form", [lambda k: k, named_curve_spki, explicit_spki])
def test_the_known_answer_with_either_key_form(form):
    assert (
        fidelius.encrypt(
            PLAINTEXT.encode(),
            sender=SENDER,
            requester_public=form(REQUESTER.public),
            requester_nonce=REQUESTER.nonce,
        )
        == CIPHERTEXT
    )
    plaintext = fidelius.decrypt(
        CIPHERTEXT,
        requester=REQUESTER,
        sender_public=form(SENDER.public),
        sender_nonce=SENDER.nonce,
    )
    assert plaintext.decode() == PLAINTEXT


def test_the_known_public_keys_follow_from_their_private_keys():
    for material in (REQUESTER, SENDER):
        scalar = fidelius.decode_private(material.private)
        point = fidelius._multiply(scalar, (fidelius.GX, fidelius.GY))
        assert fidelius.encode_public(point) == material.public


def test_the_largest_scalar_gives_the_negated_generator():
    # (n-1)·G = -G: the ladder's second point is the point at infinity there.
    assert fidelius._multiply(fidelius.N - 1, (fidelius.GX, fidelius.GY)) == (
        fidelius.GX,
        fidelius.P - fidelius.GY,
    )


def test_a_private_key_is_read_whatever_its_byte_length():
    # Java's BigInteger.toByteArray() (abdm-ecdh copies it) writes small scalars short and may
    # prefix a zero byte: the same scalar, the same answer.
    scalar = fidelius.decode_private(SENDER.private)
    short = 0x1234 << 200
    for raw in (scalar.to_bytes(33, "big"), scalar.to_bytes(32, "big")):
        key = base64.b64encode(raw).decode()
        assert fidelius.decode_private(key) == scalar
    short_key = base64.b64encode(short.to_bytes(27, "big")).decode()
    public = fidelius.encode_public(fidelius._multiply(short, (fidelius.GX, fidelius.GY)))
    peer = KeyMaterial.generate()
    ours = fidelius.shared_secret(short_key, peer.public)
    assert ours == base64.b64decode(compute_shared_secret(short_key, peer.public))
    assert ours == fidelius.shared_secret(peer.private, public)


def tampered(ciphertext: str, index: int) -> str:
    raw = bytearray(base64.b64decode(ciphertext))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("index", [0, 30, -16, -1], ids=["first", "middle", "tag", "tag-end"])
def test_a_tampered_ciphertext_or_tag_is_refused(index):
    with pytest.raises(FideliusError, match="GCM tag"):
        fidelius.decrypt(
            tampered(CIPHERTEXT, index),
            requester=REQUESTER,
            sender_public=SENDER.public,
            sender_nonce=SENDER.nonce,
        )


def test_a_truncated_ciphertext_or_wrong_nonce_is_refused():
    short = base64.b64encode(base64.b64decode(CIPHERTEXT)[:-1]).decode()
    with pytest.raises(FideliusError):
        fidelius.decrypt(
            short, requester=REQUESTER, sender_public=SENDER.public, sender_nonce=SENDER.nonce
        )
    with pytest.raises(FideliusError, match="GCM tag"):
        fidelius.decrypt(
            CIPHERTEXT,
            requester=REQUESTER,
            sender_public=SENDER.public,
            sender_nonce=PADDED_SENDER.nonce,
        )


def point(x: int, y: int) -> str:
    return fidelius.encode_public((x, y))


def test_a_public_key_off_the_curve_is_refused():
    x, y = fidelius.decode_public(SENDER.public)
    off_curve = [
        point(x, (y + 1) % fidelius.P),
        point(x + fidelius.P, y),  # the same point with X not reduced: not a valid encoding
        point(0, 0),
    ]
    for key in off_curve:
        with pytest.raises(FideliusError, match="not a point on Curve25519"):
            fidelius.encrypt(
                PLAINTEXT, sender=SENDER, requester_public=key, requester_nonce=REQUESTER.nonce
            )
        with pytest.raises(FideliusError, match="not a point on Curve25519"):
            fidelius.decrypt(
                CIPHERTEXT, requester=REQUESTER, sender_public=key, sender_nonce=SENDER.nonce
            )


def test_a_point_of_small_order_is_refused():
    # (A/3, 0) is the point of order 2 (u = 0 on the Montgomery form): it is on the curve.
    order_two = (fidelius.A_THIRD, 0)
    assert fidelius._on_curve(order_two)
    with pytest.raises(FideliusError, match="small order"):
        fidelius.decode_public(point(*order_two))


@pytest.mark.parametrize(
    "bad",
    [
        "not base64!",
        base64.b64encode(b"\x04" + bytes(63)).decode(),  # a point one byte short
        base64.b64encode(b"\x02" + bytes(64)).decode(),  # compressed prefix
    ],
)
def test_a_malformed_public_key_is_refused(bad):
    with pytest.raises(FideliusError):
        fidelius.decode_public(bad)


def test_nonces_and_private_keys_are_checked():
    with pytest.raises(FideliusError, match="32 bytes"):
        fidelius.decode_nonce(base64.b64encode(bytes(20)).decode())
    with pytest.raises(FideliusError, match="scalar"):
        fidelius.decode_private(base64.b64encode(bytes(32)).decode())
    with pytest.raises(FideliusError, match="scalar"):
        fidelius.decode_private(base64.b64encode(fidelius.N.to_bytes(32, "big")).decode())


def test_the_shared_secret_keeps_its_leading_zero_byte():
    secret = fidelius.shared_secret(PADDED_SENDER.private, REQUESTER.public)
    assert len(secret) == 32 and secret[0] == 0
    assert secret == fidelius.shared_secret(REQUESTER.private, PADDED_SENDER.public)
    theirs_secret = compute_shared_secret(REQUESTER.private, PADDED_SENDER.public)
    assert base64.b64decode(theirs_secret) == secret

    ours = fidelius.encrypt(
        PLAINTEXT,
        sender=PADDED_SENDER,
        requester_public=REQUESTER.public,
        requester_nonce=REQUESTER.nonce,
    )
    theirs = abdm_ecdh.encrypt(
        PLAINTEXT, PADDED_SENDER.nonce, REQUESTER.nonce, PADDED_SENDER.private, REQUESTER.public
    ).encrypted_data
    assert ours == theirs
    assert (
        abdm_ecdh.decrypt(
            ours, PADDED_SENDER.nonce, REQUESTER.nonce, REQUESTER.private, PADDED_SENDER.public
        ).decrypted_data
        == PLAINTEXT
    )
    back = fidelius.decrypt(
        ours,
        requester=REQUESTER,
        sender_public=PADDED_SENDER.public,
        sender_nonce=PADDED_SENDER.nonce,
    )
    assert back.decode() == PLAINTEXT


def their_material(material: abdm_ecdh.KeyMaterial) -> KeyMaterial:
    return KeyMaterial(
        private=material.private_key, public=material.public_key, nonce=material.nonce
    )


RANDOM_PAIRS = 200  # abdm-ecdh needs ~45 ms per agreement: ~10 s in all
THEIR_KEYS_EVERY = 10  # and ~40 ms per key pair: every tenth pair uses keys it generated


def test_random_key_pairs_round_trip_with_the_independent_implementation():
    for i in range(RANDOM_PAIRS):
        if i % THEIR_KEYS_EVERY == 0:
            theirs = abdm_ecdh.generate_key_material()
            peer, peer_x509 = their_material(theirs), theirs.x509_public_key
        else:
            peer = KeyMaterial.generate()
            peer_x509 = explicit_spki(peer.public)
        ours = KeyMaterial.generate()
        message = json.dumps({"resourceType": "Bundle", "pair": i, "text": "स्वास्थ्य"})
        if i % 2 == 0:  # we push, they read
            wire = fidelius.encrypt(
                message, sender=ours, requester_public=peer_x509, requester_nonce=peer.nonce
            )
            read = abdm_ecdh.decrypt(wire, ours.nonce, peer.nonce, peer.private, ours.public)
            assert read.decrypted_data == message, i
        else:  # they push, we read
            wire = abdm_ecdh.encrypt(
                message, peer.nonce, ours.nonce, peer.private, ours.public
            ).encrypted_data
            back = fidelius.decrypt(
                wire, requester=ours, sender_public=peer_x509, sender_nonce=peer.nonce
            )
            assert back.decode() == message, i


def test_key_material_document_round_trip():
    expiry = datetime(2026, 12, 8, 10, 30, 5, 123456, tzinfo=UTC)
    document = SENDER.to_abdm(expiry)
    assert document == {
        "cryptoAlg": "ECDH",
        "curve": "Curve25519",
        "dhPublicKey": {
            "expiry": "2026-12-08T10:30:05.123Z",
            "parameters": "Curve25519/32byte random key",
            "keyValue": SENDER.public,
        },
        "nonce": SENDER.nonce,
    }
    peer = PeerKey.from_abdm(json.loads(json.dumps(document)))
    assert peer.public == SENDER.public
    assert peer.nonce == SENDER.nonce
    assert peer.expiry == datetime(2026, 12, 8, 10, 30, 5, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("nonce"), "lacks a field"),
        (lambda d: d["dhPublicKey"].pop("keyValue"), "lacks a field"),
        (lambda d: d.update(curve="P-256"), "Unsupported"),
        (lambda d: d.update(nonce=base64.b64encode(bytes(16)).decode()), "32 bytes"),
        (lambda d: d["dhPublicKey"].update(keyValue=point(1, 1)), "not a point"),
        (lambda d: d["dhPublicKey"].update(expiry="tomorrow"), "ISO 8601"),
        (lambda d: d["dhPublicKey"].update(expiry="2026-12-08T10:30:05"), "time zone"),
    ],
)
def test_a_bad_key_material_document_is_refused(change, message):
    document = REQUESTER.to_abdm(datetime(2026, 12, 8, tzinfo=UTC))
    change(document)
    with pytest.raises(FideliusError, match=message):
        PeerKey.from_abdm(document)


def test_one_channel_serves_many_entries_like_per_entry_calls():
    channel = fidelius.agree(SENDER, REQUESTER.public, REQUESTER.nonce)
    assert channel.encrypt(PLAINTEXT) == CIPHERTEXT
    reader = fidelius.agree(REQUESTER, SENDER.public, SENDER.nonce)
    assert reader == channel
    assert reader.decrypt(CIPHERTEXT).decode() == PLAINTEXT
