"""Health-information requests: checked against the consent, acknowledged (or refused), the
allowed documents built, encrypted with Fidelius and pushed to the requester's dataPushUrl page
by page, then the transfer reported to the gateway (docs/abdm.md, "Consents and health
information"). Runs in a Celery task (``abdm.tasks.transfer_health_information``), once per
transaction id.

Nothing is logged but the transaction id, counts and statuses: documents are health records.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby, islice
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from abdm import fidelius, gateway, services, wire
from abdm.models import (
    CareContext,
    Consent,
    Flow,
    GatewayMessage,
    HealthInformationRequest,
    HiType,
    Share,
)
from abdm.records import push_page_size
from consultations.fhir import RecordKind, record_bundles
from consultations.models import Prescription
from consultations.selectors import final_prescriptions

logger = logging.getLogger(__name__)

CONSENT_NOT_FOUND = "ABDM-1009"
CONSENT_CLOSED = "ABDM-1030"
BAD_REQUEST = "ABDM-1017"
KIND = {HiType.OP_CONSULTATION: RecordKind.OP_CONSULT, HiType.PRESCRIPTION: RecordKind.PRESCRIPTION}
PUSH_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
PUSH_BACKOFF_SECONDS = 0.25
KEY_LIFETIME = timedelta(hours=1)
Requested = HealthInformationRequest.State


def requested(message: GatewayMessage) -> HealthInformationRequest | None:
    """Store the request (once per transaction id); its transfer runs after the commit."""
    body = message.body or {}
    transaction_id = str(body.get("transactionId") or "")[:64]
    if not transaction_id:
        return None
    hi = wire.obj(body.get("hiRequest"))
    dates = wire.obj(hi.get("dateRange"))
    url = hi.get("dataPushUrl")
    url = url if isinstance(url, str) else ""
    request, created = HealthInformationRequest.objects.get_or_create(
        transaction_id=transaction_id,
        defaults={
            "consent_ref": str(wire.obj(hi.get("consent")).get("id") or "")[:64],
            "callback": message,
            "date_from": wire.parse_time(dates.get("from")),
            "date_to": wire.parse_time(dates.get("to")),
            "data_push_url": url[:500],
            "push_host": HealthInformationRequest.host_of(url)[:200],
            "key_material": hi.get("keyMaterial"),
        },
    )
    if not created:
        return None
    from abdm.tasks import transfer_health_information  # noqa: PLC0415 - tasks import services

    transaction.on_commit(
        lambda: services.hand_over(transfer_health_information, request.pk), robust=True
    )
    return request


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def refusal(  # noqa: PLR0911 - one answer per reason
    request: HealthInformationRequest, consent: Consent | None, now: datetime
) -> Refusal | None:
    if consent is None:
        return Refusal(CONSENT_NOT_FOUND, "Consent not found")
    closed = consent.refusal(now)
    if closed:
        return Refusal(CONSENT_CLOSED, closed)
    if None in (request.date_from, request.date_to, consent.date_from, consent.date_to):
        return Refusal(BAD_REQUEST, "The date range is missing")
    assert request.date_from and request.date_to and consent.date_from and consent.date_to
    if request.date_from > request.date_to or not (
        consent.date_from <= request.date_from and request.date_to <= consent.date_to
    ):
        return Refusal(BAD_REQUEST, "The date range is outside the consent's")
    if not request.data_push_url.startswith(("https://", "http://")) or not request.push_host:
        return Refusal(BAD_REQUEST, "The dataPushUrl is not an HTTP URL")
    try:
        fidelius.PeerKey.from_abdm(request.key_material)
    except fidelius.FideliusError:
        return Refusal(BAD_REQUEST, "The key material is not valid")
    return None


@dataclass(frozen=True)
class Slot:
    """One document the consent allows: a care context's record of one type."""

    context: CareContext
    hi_type: str
    prescription: Prescription


@dataclass(frozen=True)
class Entry:
    context: CareContext
    hi_type: str
    plaintext: bytes


def run(request_id: int) -> None:
    """The whole transfer of one request; a second run finds it moved on and does nothing."""
    request = HealthInformationRequest.objects.select_related("callback").get(pk=request_id)
    if request.state != Requested.REQUESTED:
        return
    consent = Consent.objects.filter(consent_id=request.consent_ref).first()
    refused = refusal(request, consent, timezone.now())
    if refused is not None:
        if request.move(
            Requested.REQUESTED, Requested.ERRORED, consent=consent, error=refused.message,
            key_material=None, data_push_url="",
        ):  # fmt: skip
            _on_request(request, "ERRORED", refused)
        logger.info("HI request %s refused: %s", request.transaction_id, refused.code)
        return
    assert consent is not None
    if not request.move(Requested.REQUESTED, Requested.ACKNOWLEDGED, consent=consent):
        return
    _on_request(request, "ACKNOWLEDGED", None)
    started = time.monotonic()
    allowed = slots(request, consent)
    delivered = push(request, consent, allowed)
    finish(request, consent, allowed, delivered)
    logger.info(
        "HI request %s: waited %.0f ms after receipt, transferred in %.0f ms",
        request.transaction_id,
        (timezone.now() - request.requested_at).total_seconds() * 1000
        - (time.monotonic() - started) * 1000,
        (time.monotonic() - started) * 1000,
    )


def _on_request(request: HealthInformationRequest, status: str, refused: Refusal | None) -> None:
    body: dict[str, Any] = {
        "hiRequest": {"transactionId": request.transaction_id, "sessionStatus": status}
    }
    if refused is not None:
        body.update(wire.error(refused.code, refused.message))
    if request.callback is not None:
        body.update(wire.answering(request.callback))
    services.send(Flow.HI_ON_REQUEST, wire.HI_ON_REQUEST, body)


def slots(request: HealthInformationRequest, consent: Consent) -> list[Slot]:
    """Consented, linked care contexts by consented types, for prescriptions signed inside both
    date ranges (one query with everything the documents need)."""
    assert request.date_from and request.date_to and consent.date_from and consent.date_to
    types = [t for t in consent.hi_types if t in HiType.values]
    contexts = {
        c.consultation_id: c for c in consent.care_contexts.filter(state=CareContext.State.LINKED)
    }
    if not types or not contexts:
        return []
    prescriptions = final_prescriptions(
        contexts,
        signed_from=max(request.date_from, consent.date_from),
        signed_to=min(request.date_to, consent.date_to),
    )
    return [
        Slot(contexts[prescription.consultation_id], hi_type, prescription)
        for prescription in prescriptions
        for hi_type in types
    ]


def build(allowed: Sequence[Slot]) -> Iterator[Entry]:
    """The documents, in order, as they are needed: a prescription's types by one builder."""
    for _prescription, group in groupby(allowed, key=lambda slot: slot.prescription.pk):
        same = list(group)
        kinds = [KIND[HiType(slot.hi_type)] for slot in same]
        bundles = record_bundles(same[0].prescription, kinds)
        for slot, kind in zip(same, kinds, strict=True):
            text = json.dumps(bundles[kind], ensure_ascii=False, separators=(",", ":"))
            yield Entry(slot.context, slot.hi_type, text.encode("utf-8"))


def documents(request: HealthInformationRequest, consent: Consent) -> list[Entry]:
    """Every document a request under this consent gets, built (the bench measures these)."""
    return list(build(slots(request, consent)))


def push(request: HealthInformationRequest, consent: Consent, allowed: list[Slot]) -> set[int]:
    """Build, encrypt and POST the pages; returns the indexes of the slots delivered. A fresh
    key pair and nonce per page. While one page is on its way the next is built (a sender
    thread: the POST waits on the network, the build on the CPU). Before a page is handed over
    the consent is read again: revoked or erased, nothing more goes."""
    size = push_page_size()
    count = (len(allowed) + size - 1) // size
    delivered: set[int] = set()
    if not count:
        return delivered
    peer = fidelius.PeerKey.from_abdm(request.key_material)
    token = gateway.session_token()
    entries = build(allowed)
    sent: list[tuple[int, int, Future[bool]]] = []
    with (
        httpx.Client(timeout=PUSH_TIMEOUT) as client,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="hi-push") as sender,
    ):
        for number in range(1, count + 1):
            page = list(islice(entries, size))
            # At most one page waits behind the one being posted.
            if len(sent) >= 2:
                sent[-2][2].result()
            consent.refresh_from_db(fields=["status", "data_erase_at"])
            if consent.refusal(timezone.now()):
                logger.info("HI request %s: consent closed mid-transfer", request.transaction_id)
                break
            body = page_body(request, peer, page, number=number, count=count)
            future = sender.submit(_post_page, client, request.data_push_url, body, token)
            sent.append(((number - 1) * size, len(page), future))
        for first, length, future in sent:
            if future.result():
                delivered |= set(range(first, first + length))
    return delivered


def page_body(
    request: HealthInformationRequest,
    peer: fidelius.PeerKey,
    page: list[Entry],
    *,
    number: int,
    count: int,
) -> dict[str, Any]:
    """One page as ABDM's data push carries it: the entries encrypted for the requester with a
    key pair and nonce of this page's own, each with the MD5 of its plaintext."""
    own = fidelius.KeyMaterial.generate()
    channel = fidelius.agree(own, peer.public, peer.nonce)
    return {
        "pageNumber": number,
        "pageCount": count,
        "transactionId": request.transaction_id,
        "entries": [
            {
                "content": channel.encrypt(entry.plaintext),
                "media": "application/fhir+json",
                "checksum": hashlib.md5(entry.plaintext).hexdigest(),  # noqa: S324 - ABDM's checksum
                "careContextReference": str(entry.context.reference),
            }
            for entry in page
        ],
        "keyMaterial": own.to_abdm(timezone.now() + KEY_LIFETIME),
    }


def _post_page(client: httpx.Client, url: str, body: dict[str, Any], token: str) -> bool:
    attempts = max(1, int(settings.ABDM_PUSH_ATTEMPTS))
    for attempt in range(1, attempts + 1):
        headers = {
            "Authorization": f"Bearer {token}",
            "REQUEST-ID": str(uuid.uuid4()),
            "TIMESTAMP": gateway.timestamp(),
            "Content-Type": "application/json",
        }
        try:
            status = client.post(url, json=body, headers=headers).status_code
        except httpx.TransportError as exc:
            status, problem = 0, type(exc).__name__
        else:
            problem = f"HTTP {status}"
            if status < 300:
                return True
            if status < 500:
                logger.warning("HI push refused: %s", problem)
                return False
        if attempt < attempts:
            time.sleep(PUSH_BACKOFF_SECONDS * (1 << (attempt - 1)))
    logger.warning("HI push given up after %s tries: %s", attempts, problem)
    return False


def finish(
    request: HealthInformationRequest,
    consent: Consent,
    entries: Sequence[Slot],
    delivered: set[int],
) -> None:
    now = timezone.now()
    statuses: dict[str, str] = {}
    for index, entry in enumerate(entries):
        ref = str(entry.context.reference)
        ok = index in delivered and statuses.get(ref) != "FAILED"
        statuses[ref] = "DELIVERED" if ok else "FAILED"
    failed = "FAILED" in statuses.values()
    size = push_page_size()
    with transaction.atomic():
        Share.objects.bulk_create(
            [
                Share(
                    request=request,
                    consent=consent,
                    care_context=entry.context,
                    hi_type=entry.hi_type,
                    recipient=consent.requester,
                    shared_at=now,
                )
                for index, entry in enumerate(entries)
                if index in delivered
            ],
            ignore_conflicts=True,
        )
        request.move(
            Requested.ACKNOWLEDGED,
            Requested.FAILED if failed else Requested.TRANSFERRED,
            pages=(len(entries) + size - 1) // size,
            statuses=statuses,
            transferred_at=now,
            key_material=None,
            data_push_url="",
        )
        services.send(
            Flow.HI_NOTIFY,
            wire.HI_NOTIFY,
            {
                "notification": {
                    "consentId": consent.consent_id,
                    "transactionId": request.transaction_id,
                    "doneAt": wire.iso(now),
                    "notifier": {"type": "HIP", "id": settings.ABDM_HIP_ID},
                    "statusNotification": {
                        "sessionStatus": "FAILED" if failed else "TRANSFERRED",
                        "hipId": settings.ABDM_HIP_ID,
                        "statusResponses": [
                            {
                                "careContextReference": ref,
                                "hiStatus": status,
                                "description": "Delivered"
                                if status == "DELIVERED"
                                else "Not delivered",
                            }
                            for ref, status in statuses.items()
                        ],
                    },
                }
            },
        )
    logger.info(
        "HI request %s: %s of %s documents delivered",
        request.transaction_id,
        len(delivered),
        len(entries),
    )
