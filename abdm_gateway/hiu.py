"""The health-information side of the consent manager: the HI request, the data push it receives
and what it checks in every entry.

A request under a consent gets a fresh Fidelius key pair and nonce (PyPI `abdm_ecdh`) and names
`{public url}/hiu/data-push`. Each pushed entry is decrypted with the HIP's key material of its page
(a bad GCM tag raises), its MD5 checksum compared with the plaintext's, and the plaintext validated
as a FHIR R4B document Bundle (`fhir.resources`, the version the project writes). The transaction
completes when the HIP's notify and every page have arrived.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import os
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from typing import Any

import abdm_ecdh
import abdm_ecdh.utils
import jwt
from aiohttp import web
from cryptography.exceptions import InvalidTag
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.composition import Composition
from pydantic import ValidationError

from abdm_gateway.admission import Admitted, Refused, parse_timestamp
from abdm_gateway.cm import ConsentManager, Invalid, iso, obj, parse_time
from abdm_gateway.keys import Keys

log = logging.getLogger("abdm_gateway.hiu")

HI_REQUEST = "/api/v3/hip/health-information/request"
DATA_PUSH = "/hiu/data-push"
KEY_EXPIRY = timedelta(hours=1)
MEDIA = "application/fhir+json"
GATHERING = ("REQUESTED", "ACKNOWLEDGED", "TRANSFERRING")


def key_material(public_key: str, nonce: str, expiry: datetime) -> dict[str, Any]:
    return {
        "cryptoAlg": "ECDH",
        "curve": "Curve25519",
        "dhPublicKey": {
            "expiry": iso(expiry),
            "parameters": "Curve25519/32byte random key",
            "keyValue": public_key,
        },
        "nonce": nonce,
    }


def check_bundle(plaintext: str) -> tuple[list[str], str | None, str | None, list[str]]:
    """(resource types, Composition title, Composition date, problems) of a document Bundle."""
    try:
        bundle = Bundle.model_validate(json.loads(plaintext))
    except (ValueError, ValidationError) as exc:
        return [], None, None, [f"not a valid FHIR R4B Bundle: {str(exc).splitlines()[0]}"]
    resources = [e.resource for e in bundle.entry or [] if e.resource is not None]
    types = [r.get_resource_type() for r in resources]
    problems = []
    if bundle.type != "document":
        problems.append("Bundle.type is not document")
    first = resources[0] if resources else None
    if not isinstance(first, Composition):
        problems.append("the first entry is not a Composition")
        return types, None, None, problems
    return types, first.title, iso(first.date) if first.date else None, problems


def page_key(page_keys: dict[str, str], own: dict[str, str]) -> tuple[bytes, bytes]:
    """The page's AES key and IV: one ECDH agreement for all its entries (``abdm_ecdh``'s
    own steps, as its ``decrypt`` runs them per entry). Raises ValueError on a bad key."""
    sender_nonce = abdm_ecdh.utils.sanitize_base64(page_keys["nonce"])
    requester_nonce = abdm_ecdh.utils.sanitize_base64(own["nonce"])
    iv, salt = abdm_ecdh.utils.derive_iv_and_salt(sender_nonce, requester_nonce)
    secret = abdm_ecdh.utils.compute_shared_secret(own["private_key"], page_keys["public_key"])
    return abdm_ecdh.utils.derive_aes_key(secret, salt), iv


def open_page(
    entries: list[dict[str, Any]], page_keys: dict[str, str], own: dict[str, str]
) -> list[dict[str, Any]]:
    """Decrypt and check a page's entries; result rows (cm_hi_entries)."""
    try:
        key: tuple[bytes, bytes] | str = page_key(page_keys, own)
    except (ValueError, binascii.Error) as exc:
        key = f"cannot agree on a key: {type(exc).__name__}"
    return [open_entry(entry, key) for entry in entries]


def open_entry(entry: dict[str, Any], key: tuple[bytes, bytes] | str) -> dict[str, Any]:
    """Decrypt and check one pushed entry with its page's key (or the reason there is none)."""
    problems: list[str] = []
    result: dict[str, Any] = {
        "care_context_reference": str(entry.get("careContextReference") or ""),
        "media": str(entry.get("media") or ""),
        "decrypted": False,
        "tag_ok": False,
        "checksum_ok": False,
        "bundle_ok": False,
        "resource_types": [],
        "title": None,
        "date": None,
        "content": None,
    }
    if result["media"] != MEDIA:
        problems.append(f"media is not {MEDIA}")
    try:
        if isinstance(key, str):
            raise ValueError(key)
        content = abdm_ecdh.utils.sanitize_base64(str(entry.get("content") or ""))
        plaintext = abdm_ecdh.utils.aes_gcm_decrypt(*key, base64.b64decode(content)).decode()
    except InvalidTag:
        problems.append("the GCM tag does not verify")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        problems.append(f"cannot decrypt: {exc if isinstance(key, str) else type(exc).__name__}")
    else:
        result.update(decrypted=True, tag_ok=True, content=plaintext)
        digest = hashlib.md5(plaintext.encode()).hexdigest()  # noqa: S324 - ABDM's checksum
        result["checksum_ok"] = digest == entry.get("checksum")
        if not result["checksum_ok"]:
            problems.append("checksum is not the MD5 of the plaintext")
        types, title, date, bundle_problems = check_bundle(plaintext)
        result.update(resource_types=types, title=title, date=date)
        result["bundle_ok"] = not bundle_problems
        problems += bundle_problems
    result["problems"] = problems
    return result


class HealthInformation:
    def __init__(self, cm: ConsentManager, keys: Keys) -> None:
        self.cm, self.keys, self.data = cm, keys, cm.data
        self.checking: set[asyncio.Task[None]] = set()
        # Decrypting (abdm_ecdh's pure-Python curve) and validating (pydantic) hold the GIL for
        # tens of ms a document: in a process of their own, the event loop keeps answering.
        # spawn: a fork of a running event loop with threads is not safe.
        self.checker: ProcessPoolExecutor | None = None
        self.warming: asyncio.Future[Any] | None = None

    async def start(self, app: web.Application) -> None:
        """Start the checking process now (app startup): spawning it and importing the FHIR
        models takes seconds, which the first pushed page should not wait for."""
        self.warming = asyncio.get_running_loop().run_in_executor(
            self._checker(), check_bundle, "{}"
        )

    def _checker(self) -> ProcessPoolExecutor:
        if self.checker is None:
            # Niced: on a machine it shares with the HIP under test (tests, the bench, make
            # run) it must not slow the HIP down; an HIU has machines of its own.
            self.checker = ProcessPoolExecutor(
                max_workers=1, mp_context=get_context("spawn"), initializer=os.nice, initargs=(10,)
            )
        return self.checker

    async def close(self, app: web.Application) -> None:
        """Let pages being checked finish, then stop the checking process (app cleanup)."""
        if self.checking:
            await asyncio.gather(*self.checking, return_exceptions=True)
        if self.checker is not None:
            self.checker.shutdown(wait=True, cancel_futures=True)

    # the request -------------------------------------------------------------------------------
    def request(self, consent_id: str, form: dict[str, Any]) -> dict[str, str]:
        """Ask the HIP for the data under a consent (`force` sends it whatever its status)."""
        consent = self.cm.consent(consent_id)
        if consent["status"] != "GRANTED" and not form.get("force"):
            raise Invalid({"consentId": f"the consent is {consent['status']}, not GRANTED"}, 409)
        granted = consent["consentDetail"]["permission"]["dateRange"]
        wanted = obj(form.get("dateRange")) or granted
        start = parse_time(wanted.get("from"), "dateRange.from")
        end = parse_time(wanted.get("to"), "dateRange.to")
        if end < start:
            raise Invalid({"dateRange.to": "must not be before dateRange.from"})
        own = abdm_ecdh.generate_key_material()
        txn_id = str(uuid.uuid4())
        hip_id = consent["hipId"]
        self.data.add_hi_txn(
            id=txn_id,
            consent_id=consent_id,
            hip_id=hip_id,
            client_id=self.cm.client_of(hip_id),
            private_key=own.private_key,
            public_key=own.public_key,
            nonce=own.nonce,
            date_from=iso(start),
            date_to=iso(end),
            erase_at=parse_time(consent["dataEraseAt"], "dataEraseAt").timestamp(),
        )
        body = {
            "transactionId": txn_id,
            "hiRequest": {
                "consent": {"id": consent_id},
                "dateRange": {"from": iso(start), "to": iso(end)},
                "dataPushUrl": self.cm.config.public_url + DATA_PUSH,
                "keyMaterial": key_material(
                    own.public_key, own.nonce, datetime.now(UTC) + KEY_EXPIRY
                ),
            },
        }
        request_id = self.cm.send(hip_id, HI_REQUEST, body, kind="hi-request", ref=txn_id)
        return {"transactionId": txn_id, "requestId": request_id}

    async def on_request(self, app: web.Application, admitted: Admitted, body: Any) -> None:
        txn_id = self.cm.answer(admitted, body, "hi-request")
        if txn_id is None:
            return
        status = str(obj(body.get("hiRequest")).get("sessionStatus") or "")
        txn = self.data.hi_txn(txn_id)
        assert txn is not None
        if status == "ACKNOWLEDGED" and not body.get("error"):
            # A page may overtake the acknowledgement: the state never goes back.
            state = "ACKNOWLEDGED" if txn["state"] == "REQUESTED" else txn["state"]
            self.data.update_hi_txn(
                txn_id, session_status=status, acknowledged_at=time.time(), state=state
            )
        else:
            error = body.get("error") or {"message": f"sessionStatus {status or 'missing'}"}
            self.data.update_hi_txn(txn_id, session_status=status, error=error, state="ERRORED")

    async def on_notify(self, app: web.Application, admitted: Admitted, body: Any) -> None:
        notification = obj(body.get("notification"))
        txn = self.data.hi_txn(str(notification.get("transactionId") or ""))
        if txn is None or txn["client_id"] != admitted.client.client_id:
            log.info("notify request_id=%s names no transaction", admitted.request_id)
            return
        status = obj(notification.get("statusNotification")).get("sessionStatus")
        self.data.update_hi_txn(
            txn["id"], notify=notification, notify_at=time.time(), session_status=status
        )
        self.complete_if_done(txn["id"])

    def complete_if_done(self, txn_id: str) -> None:
        """COMPLETE once the notify arrived and every page 1..pageCount (or, when nothing was
        delivered, no page at all)."""
        txn = self.data.hi_txn(txn_id)
        if txn is None or txn["notify"] is None or txn["state"] == "COMPLETE":
            return
        pages = {p["page_number"] for p in self.data.pages(txn_id)}
        statuses = obj(txn["notify"].get("statusNotification")).get("statusResponses") or []
        delivered = any(obj(s).get("hiStatus") == "DELIVERED" for s in statuses)
        count = txn["page_count"]
        if (count and pages >= set(range(1, count + 1))) or (not pages and not delivered):
            self.data.update_hi_txn(txn_id, state="COMPLETE", completed_at=time.time())

    # the data push -----------------------------------------------------------------------------
    def authenticate(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        try:
            claims = self.keys.verify(header.removeprefix("Bearer ").strip())
        except jwt.InvalidTokenError:
            raise Refused(401, "ABDM-1008", "A gateway session token is required") from None
        client_id = str(claims.get("clientId"))
        if client_id not in self.cm.config.clients:
            raise Refused(401, "ABDM-1008", "The token names no registered client")
        try:
            uuid.UUID(request.headers.get("REQUEST-ID", ""))
        except ValueError:
            raise Refused(400, "ABDM-1001", "REQUEST-ID must be a UUID") from None
        parse_timestamp(request.headers.get("TIMESTAMP"))
        return client_id

    @staticmethod
    def page_shape(body: dict[str, Any]) -> tuple[int, int, list[dict[str, Any]], dict[str, str]]:
        number, count = body.get("pageNumber"), body.get("pageCount")
        entries = body.get("entries")
        keys = obj(body.get("keyMaterial"))
        errors = {}
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            errors["pageCount"] = "must be a whole number >= 1"
        elif not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= count:
            errors["pageNumber"] = "must be a whole number from 1 to pageCount"
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            errors["entries"] = "must be a list of objects"
        public_key = obj(keys.get("dhPublicKey")).get("keyValue")
        nonce = keys.get("nonce")
        if not isinstance(public_key, str) or not isinstance(nonce, str):
            errors["keyMaterial"] = "needs dhPublicKey.keyValue and nonce"
        if errors:
            raise Invalid(errors, 400)
        assert isinstance(number, int) and isinstance(count, int) and isinstance(entries, list)
        return number, count, entries, {"public_key": str(public_key), "nonce": str(nonce)}

    async def data_push(self, request: web.Request) -> web.Response:
        client_id = self.authenticate(request)
        try:
            body = obj(await request.json())
        except ValueError:
            raise Refused(400, "ABDM-1000", "The body is not JSON") from None
        txn = self.data.hi_txn(str(body.get("transactionId") or ""))
        if txn is None:
            raise Invalid({"transactionId": "no such health-information transaction"}, 400)
        if txn["client_id"] != client_id:
            raise Refused(403, "ABDM-1005", "The transaction belongs to another client")
        if txn["state"] not in GATHERING:
            raise Invalid({"transactionId": f"the transaction is {txn['state']}"}, 409)
        number, count, entries, page_keys = self.page_shape(body)
        own = {"private_key": txn["private_key"], "nonce": txn["nonce"]}
        # Accepted now, checked after: an HIU stores a page and answers, so the HIP's transfer
        # does not wait for our decryption and FHIR validation (tens of ms a document).
        task = asyncio.create_task(
            self._check_page(
                txn["id"], number=number, count=count, entries=entries, page_keys=page_keys, own=own
            )
        )
        self.checking.add(task)
        task.add_done_callback(self.checking.discard)
        return web.Response(status=202)

    async def _check_page(
        self,
        txn_id: str,
        *,
        number: int,
        count: int,
        entries: list[dict[str, Any]],
        page_keys: dict[str, str],
        own: dict[str, str],
    ) -> None:
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(self._checker(), open_page, entries, page_keys, own)
        if self.data.add_page(txn_id, number, count, results):
            self.data.update_hi_txn(txn_id, state="TRANSFERRING")
            self.complete_if_done(txn_id)

    # what the admin API and the page show ------------------------------------------------------
    def transaction(self, txn_id: str) -> dict[str, Any]:
        txn = self.data.hi_txn(txn_id)
        if txn is None:
            raise Refused(404, "ABDM-1000", "No such health-information transaction")
        notify = txn["notify"] or {}
        sent = self.data.requests_for(txn_id)
        return {
            "transactionId": txn["id"],
            "consentId": txn["consent_id"],
            "hipId": txn["hip_id"],
            "state": txn["state"],
            "sessionStatus": txn["session_status"],
            "error": txn["error"],
            "dateRange": {"from": txn["date_from"], "to": txn["date_to"]},
            "dataEraseAt": iso(txn["erase_at"]),
            "requestId": sent[0]["request_id"] if sent else None,
            "pageCount": txn["page_count"],
            "pages": [
                {
                    "pageNumber": p["page_number"],
                    "pageCount": p["page_count"],
                    "entries": p["entries"],
                    "receivedAt": iso(p["received_at"]),
                }
                for p in self.data.pages(txn_id)
            ],
            "entries": [
                {
                    "pageNumber": e["page_number"],
                    "careContextReference": e["care_context_reference"],
                    "media": e["media"],
                    "decrypted": e["decrypted"],
                    "tagOk": e["tag_ok"],
                    "checksumOk": e["checksum_ok"],
                    "bundleOk": e["bundle_ok"],
                    "resourceTypes": e["resource_types"],
                    "title": e["title"],
                    "date": e["date"],
                    "problems": e["problems"],
                    "content": e["content"],
                    "erasedAt": iso(e["erased_at"]),
                }
                for e in self.data.entries(txn_id)
            ],
            "notify": notify or None,
            "timings": {
                "requestSentAt": iso(txn["requested_at"]),
                "acknowledgedAt": iso(txn["acknowledged_at"]),
                "firstPageAt": iso(txn["first_page_at"]),
                "notifyAt": iso(txn["notify_at"]),
                "completedAt": iso(txn["completed_at"]),
            },
        }
