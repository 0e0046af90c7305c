"""Consent artefacts the consent manager notifies us of (docs/abdm.md, "Consents and health
information"). Stored once per consent id; REVOKED and EXPIRED only ever close a consent; the
notification is always acknowledged."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from abdm import services, wire
from abdm.models import CareContext, Consent, Flow, GatewayMessage, HiType


def consent_notified(message: GatewayMessage) -> None:
    notification = wire.obj((message.body or {}).get("notification"))
    consent_id = str(notification.get("consentId") or "")[:64]
    status = notification.get("status")
    if consent_id and status in Consent.Status.values:
        record(consent_id, str(status), notification)
    answer = {"acknowledgement": {"status": "ok", "consentId": consent_id}}
    services.send(Flow.ON_NOTIFY, wire.ON_NOTIFY, {**answer, **wire.answering(message)})


def record(consent_id: str, status: str, notification: dict[str, Any]) -> Consent:
    now = timezone.now()
    existing = Consent.objects.select_for_update().filter(consent_id=consent_id).first()
    if existing is not None and existing.status != Consent.Status.GRANTED:
        return existing  # closed for good: a late or repeated GRANTED does not reopen it
    if status != Consent.Status.GRANTED:
        consent = existing or Consent(consent_id=consent_id)
        consent.status = status
        if status == Consent.Status.REVOKED:
            consent.revoked_at = now
        else:
            consent.expired_at = now
        consent.save()
        return consent
    if existing is not None:
        return existing  # the same grant again
    detail = wire.obj(notification.get("consentDetail"))
    permission = wire.obj(detail.get("permission"))
    dates = wire.obj(permission.get("dateRange"))
    purpose = wire.obj(detail.get("purpose"))
    hiu, requester = wire.obj(detail.get("hiu")), wire.obj(detail.get("requester"))
    contexts = _our_linked_contexts(wire.items(detail.get("careContexts")))
    consent = Consent.objects.create(
        consent_id=consent_id,
        status=Consent.Status.GRANTED,
        patient=contexts[0].patient if contexts else None,
        abha_address=str(wire.obj(detail.get("patient")).get("id") or "")[:64],
        purpose_code=str(purpose.get("code") or "")[:20],
        purpose_text=str(purpose.get("text") or "")[:200],
        requester=str(hiu.get("name") or hiu.get("id") or requester.get("name") or "")[:200],
        hi_types=[t for t in detail.get("hiTypes") or [] if t in HiType.values],
        date_from=wire.parse_time(dates.get("from")),
        date_to=wire.parse_time(dates.get("to")),
        data_erase_at=wire.parse_time(permission.get("dataEraseAt")),
        artefact=detail,
        signature=str(notification.get("signature") or ""),
        received_at=now,
    )
    consent.care_contexts.set(contexts)
    return consent


def _our_linked_contexts(entries: list[dict[str, Any]]) -> list[CareContext]:
    """Only care contexts that are ours, linked, and of the patient the artefact names."""
    wanted = {(str(e.get("patientReference")), str(e.get("careContextReference"))) for e in entries}
    refs = [ref for _patient, ref in wanted if _is_uuid(ref)]
    found = CareContext.objects.filter(
        reference__in=refs, state=CareContext.State.LINKED
    ).select_related("patient")
    return [c for c in found if (str(c.patient.public_id), str(c.reference)) in wanted]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
