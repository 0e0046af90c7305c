"""Fidelius (abdm/fidelius.py) under load: random round trips, push cost against bare AES-GCM.

Prints one JSON object. No database, Redis or Django: the module under test needs only
``cryptography``. The bundle is a ~30 KB NRCeS-shaped OPConsultRecord document (Composition,
Patient, Practitioner, Organization, Encounter, Conditions, MedicationRequests and the signed PDF
as a DocumentReference attachment; it parses as FHIR R4B), generated from a seed so every run
encrypts the same bytes.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import time
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from abdm import fidelius
from abdm.fidelius import KeyMaterial

MEDICINES = [
    ("Paracetamol 500 mg tablet", "1-0-1", "5 days"),
    ("Amoxicillin 500 mg capsule", "1-1-1", "7 days"),
    ("Cetirizine 10 mg tablet", "0-0-1", "5 days"),
    ("Oral rehydration salts", "after each loose stool", "3 days"),
    ("Pantoprazole 40 mg tablet", "1-0-0 before breakfast", "14 days"),
    ("Metformin 500 mg tablet", "1-0-1 after food", "30 days"),
]


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def sample_bundle(target_bytes: int = 30_000, seed: int = 11) -> bytes:
    """A deterministic OPConsultRecord-shaped FHIR document of about ``target_bytes``."""
    rng = random.Random(seed)

    def uid() -> str:
        return "%08x-%04x-4%03x-a%03x-%012x" % (  # noqa: UP031  (a UUID-shaped id from the seed)
            rng.getrandbits(32),
            rng.getrandbits(16),
            rng.getrandbits(12),
            rng.getrandbits(12),
            rng.getrandbits(48),
        )

    patient = {
        "resourceType": "Patient",
        "id": uid(),
        "identifier": [{"system": "https://healthid.ndhm.gov.in", "value": "91-1234-5678-9012"}],
        "name": [{"text": "Sunita Devi"}],
        "gender": "female",
        "birthDate": "1987-04-12",
    }
    doctor = {
        "resourceType": "Practitioner",
        "id": uid(),
        "identifier": [{"system": "https://doctor.ndhm.gov.in", "value": "71-0000-1111-2222"}],
        "name": [{"text": "Dr. Ramesh Kumar"}],
    }
    facility = {
        "resourceType": "Organization",
        "id": uid(),
        "identifier": [{"system": "https://facility.ndhm.gov.in", "value": "IN0910000123"}],
        "name": "PHC Rampur (eSanjeevani OPD)",
    }
    encounter = {
        "resourceType": "Encounter",
        "id": uid(),
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"},
        "subject": {"reference": f"urn:uuid:{patient['id']}"},
        "period": {"start": "2026-12-07T10:02:00+05:30", "end": "2026-12-07T10:11:00+05:30"},
    }
    conditions = [
        {
            "resourceType": "Condition",
            "id": uid(),
            "code": {"text": text},
            "subject": {"reference": f"urn:uuid:{patient['id']}"},
        }
        for text in ("Acute upper respiratory infection", "Fever, unspecified")
    ]
    medicines = [
        {
            "resourceType": "MedicationRequest",
            "id": uid(),
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": name},
            "subject": {"reference": f"urn:uuid:{patient['id']}"},
            "requester": {"reference": f"urn:uuid:{doctor['id']}"},
            "dosageInstruction": [{"text": f"{dose} for {days}"}],
        }
        for name, dose, days in MEDICINES
    ]
    attachment: dict[str, str] = {"contentType": "application/pdf", "data": ""}
    document: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": uid(),
        "status": "current",
        "type": {"text": "Prescription (signed PDF)"},
        "content": [{"attachment": attachment}],
    }
    resources: list[dict[str, Any]] = [patient, doctor, facility, encounter]
    resources += [*conditions, *medicines, document]
    composition = {
        "resourceType": "Composition",
        "id": uid(),
        "status": "final",
        "type": {"coding": [{"system": "http://snomed.info/sct", "code": "371530004"}]},
        "title": "Consultation Report",
        "date": "2026-12-07T10:11:00+05:30",
        "subject": {"reference": f"urn:uuid:{patient['id']}"},
        "encounter": {"reference": f"urn:uuid:{encounter['id']}"},
        "author": [{"reference": f"urn:uuid:{doctor['id']}"}],
        "section": [
            {"title": "Chief complaints", "entry": [{"reference": f"urn:uuid:{c['id']}"}]}
            for c in conditions
        ],
    }
    bundle = {
        "resourceType": "Bundle",
        "id": uid(),
        "type": "document",
        "timestamp": "2026-12-07T10:11:00+05:30",
        "entry": [_entry(composition), *(_entry(r) for r in resources)],
    }
    size = len(json.dumps(bundle).encode())
    pdf = rng.randbytes(max(0, (target_bytes - size) * 3 // 4))
    attachment["data"] = base64.b64encode(pdf).decode()
    return json.dumps(bundle, ensure_ascii=False).encode("utf-8")


def _rate(function: Any, seconds: float, minimum: int) -> float:
    """Calls per second of ``function()`` over at least ``seconds`` and ``minimum`` calls."""
    calls, started = 0, time.perf_counter()
    while True:
        function()
        calls += 1
        elapsed = time.perf_counter() - started
        if calls >= minimum and elapsed >= seconds:
            return calls / elapsed


def roundtrips(bundle: bytes, count: int) -> tuple[int, float]:
    """``count`` fresh key pairs on each side: generate, encrypt, decrypt, compare."""
    failures = 0
    started = time.perf_counter()
    for _ in range(count):
        requester, sender = KeyMaterial.generate(), KeyMaterial.generate()
        try:
            wire = fidelius.encrypt(
                bundle,
                sender=sender,
                requester_public=requester.public,
                requester_nonce=requester.nonce,
            )
            back = fidelius.decrypt(
                wire, requester=requester, sender_public=sender.public, sender_nonce=sender.nonce
            )
        except fidelius.FideliusError:
            failures += 1
            continue
        failures += back != bundle
    return failures, time.perf_counter() - started


def _abdm_ecdh_agree_per_s(calls: int) -> float | None:
    """The independent implementation's agreement rate, for reference (dev dependency)."""
    try:
        from abdm_ecdh.utils import compute_shared_secret  # noqa: PLC0415
    except ImportError:
        return None
    own, peer = KeyMaterial.generate(), KeyMaterial.generate()
    started = time.perf_counter()
    for _ in range(calls):
        compute_shared_secret(own.private, peer.public)
    return calls / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.abdm_crypto", description=__doc__)
    parser.add_argument("--roundtrips", type=int, default=10_000)
    parser.add_argument("--bundle-bytes", type=int, default=30_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="per rate measured")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    load_at_start = os.getloadavg()
    bundle = sample_bundle(args.bundle_bytes)
    failures, roundtrip_s = roundtrips(bundle, args.roundtrips)

    sender, requester = KeyMaterial.generate(), KeyMaterial.generate()
    channel = fidelius.agree(sender, requester.public, requester.nonce)
    aead = AESGCM(channel.key)
    push = _rate(lambda: channel.encrypt(bundle), args.seconds, 100)
    raw = _rate(lambda: aead.encrypt(channel.iv, bundle, None), args.seconds, 100)
    keygen = _rate(KeyMaterial.generate, args.seconds, 50)
    agree = _rate(
        lambda: fidelius.agree(sender, requester.public, requester.nonce), args.seconds, 50
    )

    result = {
        "roundtrips": args.roundtrips,
        "roundtrip_failures": failures,
        "roundtrip_ms": round(roundtrip_s * 1000 / max(1, args.roundtrips), 3),
        "bundle_bytes": len(bundle),
        "push_bundles_per_s": round(push, 1),
        "raw_aesgcm_bundles_per_s": round(raw, 1),
        "ratio": round(push / raw, 3),
        "keygen_per_s": round(keygen, 1),
        "agree_per_s": round(agree, 1),
        "abdm_ecdh_agree_per_s": _round(_abdm_ecdh_agree_per_s(20)),
        "targets": {"roundtrip_failures": 0},
        "met": failures == 0,
        "cpus": os.cpu_count(),
        "load_at_start": load_at_start,
        "load_at_end": os.getloadavg(),
        "duration_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result, separators=(",", ":")))
    return 0 if failures == 0 else 1


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


if __name__ == "__main__":
    raise SystemExit(main())
