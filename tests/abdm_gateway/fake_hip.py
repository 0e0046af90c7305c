"""A HIP as the consent manager's tests need one: it answers the gateway's calls to its bridge
(recorded by harness.Bridge) with the calls a HIP makes, and pushes health information encrypted
with PyPI abdm_ecdh, with the faults a test wants (a tampered tag, a wrong checksum)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import abdm_ecdh

from tests.abdm_gateway.harness import HIP_ID, Bridge, Gateway, Received, http, timestamp

SUNITA = {
    "abhaNumber": "91-1234-5678-9015",
    "abhaAddress": "sunita.devi@sbx",
    "name": "Sunita Devi",
    "gender": "F",
    "yearOfBirth": 1988,
}


def document(title: str, date: str = "2026-12-01T10:00:00+05:30") -> dict[str, Any]:
    """A small FHIR R4B document Bundle whose Composition has this title and date."""
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "document",
        "timestamp": "2026-12-01T10:00:00+05:30",
        "identifier": {"system": "https://esanjeevani.example/bundle", "value": "1"},
        "entry": [
            {
                "fullUrl": "urn:uuid:c0000000-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "Composition",
                    "id": "c0000000-0000-4000-8000-000000000001",
                    "status": "final",
                    "type": {"text": "Prescription record"},
                    "subject": {"reference": "urn:uuid:p0000000-0000-4000-8000-000000000001"},
                    "date": date,
                    "author": [{"reference": "urn:uuid:d0000000-0000-4000-8000-000000000001"}],
                    "title": title,
                },
            },
            {
                "fullUrl": "urn:uuid:p0000000-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "Patient",
                    "id": "p0000000-0000-4000-8000-000000000001",
                },
            },
        ],
    }


@dataclass
class Entry:
    care_context: str
    plaintext: str
    tamper_tag: bool = False
    wrong_checksum: bool = False


@dataclass
class Hip:
    gateway: Gateway
    bridge: Bridge
    token: str

    def call(
        self,
        path: str,
        body: dict[str, Any],
        *,
        answering: Received | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        if answering is not None:
            body = {**body, "response": {"requestId": answering.headers["REQUEST-ID"]}}
        extra = {"X-HIP-ID": HIP_ID, **(headers or {})}
        return self.gateway.call(path, body, self.gateway.headers(self.token, **extra))

    def wait(self, path: str, number: int = 1, timeout: float = 10) -> Received:
        """The `number`-th call the bridge received on `path`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.bridge.lock:
                seen = [r for r in self.bridge.received if r.path == path]
            if len(seen) >= number:
                return seen[number - 1]
            time.sleep(0.02)
        raise AssertionError(f"the bridge got {len(seen)} calls on {path}, not {number}")

    def count(self, path: str) -> int:
        with self.bridge.lock:
            return sum(1 for r in self.bridge.received if r.path == path)

    def push(
        self, request: dict[str, Any], entries: list[Entry], *, page: int = 1, pages: int = 1
    ) -> tuple[int, Any]:
        """POST one page to the request's dataPushUrl, encrypted for its key material."""
        hi = request["hiRequest"]
        theirs = hi["keyMaterial"]
        ours = abdm_ecdh.generate_key_material()
        wire = []
        for entry in entries:
            content = abdm_ecdh.encrypt(
                entry.plaintext,
                ours.nonce,
                theirs["nonce"],
                ours.private_key,
                theirs["dhPublicKey"]["keyValue"],
            ).encrypted_data
            if entry.tamper_tag:
                raw = bytearray(base64.b64decode(content))
                raw[-1] ^= 0x01
                content = base64.b64encode(bytes(raw)).decode()
            checksum = hashlib.md5(entry.plaintext.encode()).hexdigest()  # noqa: S324
            if entry.wrong_checksum:
                checksum = hashlib.md5(b"something else").hexdigest()  # noqa: S324
            wire.append(
                {
                    "content": content,
                    "media": "application/fhir+json",
                    "checksum": checksum,
                    "careContextReference": entry.care_context,
                }
            )
        body = {
            "pageNumber": page,
            "pageCount": pages,
            "transactionId": request["transactionId"],
            "entries": wire,
            "keyMaterial": {
                "cryptoAlg": "ECDH",
                "curve": "Curve25519",
                "dhPublicKey": {
                    "expiry": timestamp(),
                    "parameters": "Curve25519/32byte random key",
                    "keyValue": ours.public_key,
                },
                "nonce": ours.nonce,
            },
        }
        headers = {
            "Authorization": f"Bearer {self.token}",
            "REQUEST-ID": str(uuid.uuid4()),
            "TIMESTAMP": timestamp(),
        }
        return http("POST", hi["dataPushUrl"], body, headers)

    def link(self, *references: str) -> None:
        """Link care contexts for Sunita at this HIP the HIP-initiated way."""
        n = self.count("/api/v3/hip/token/on-generate-token")
        self.call("/v3/token/generate-token", SUNITA)
        token = self.wait("/api/v3/hip/token/on-generate-token", n + 1).body["linkToken"]
        n = self.count("/api/v3/link/on_carecontext")
        status, _ = self.call(
            "/hip/v3/link/carecontext",
            {
                "abhaNumber": SUNITA["abhaNumber"],
                "abhaAddress": SUNITA["abhaAddress"],
                "patient": [
                    {
                        "referenceNumber": "patient-sunita",
                        "display": "Sunita Devi",
                        "careContexts": [
                            {"referenceNumber": r, "display": f"Consultation {r[:8]}"}
                            for r in references
                        ],
                        "hiType": "OPConsultation",
                        "count": len(references),
                    }
                ],
            },
            headers={"X-LINK-TOKEN": token},
        )
        assert status == 202
        answer = self.wait("/api/v3/link/on_carecontext", n + 1).body
        assert answer["status"] == "Successfully Linked care context", answer


def plain(bundle: dict[str, Any]) -> str:
    return json.dumps(bundle)
