"""Care contexts and their links to patients' ABHAs (docs/abdm.md, "Care contexts and
linking").

HIP-initiated: a signed consultation of a member with an ABHA becomes a pending care context;
we ask the gateway for a link token (reused while valid) and link with it; the gateway's
on_carecontext marks it linked, or failed (an expired token is renewed once).

User-initiated (the patient's PHR app, through the consent manager): discover → init (an OTP
by SMS to the family's mobile) → confirm. Each step is a callback whose handler answers here.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import ngettext

from abdm import services, wire
from abdm.models import CareContext, Flow, GatewayMessage, LinkRequest, LinkToken
from abdm.records import LINK_TOKEN_LIFETIME
from accounts.mobile import normalise_indian_mobile
from consultations.models import Consultation, Prescription
from consultations.selectors import signed_consultations
from core.clock import IST
from notifications.services import queue_sms
from patients.models import Patient

EXPIRED_TOKEN = "ABDM-1094"  # noqa: S105 - an error code, not a secret
NOT_FOUND = "ABDM-1010"
INVALID_OTP = "ABDM-1035"
OTP_EXPIRED = "ABDM-1036"


def display_of(consultation: Consultation) -> str:
    """What the PHR app lists (English, as ABDM shows it): date and OPD, never the diagnosis."""
    day = consultation.started_at.astimezone(IST)
    return f"Teleconsultation on {day:%d %b %Y}, {consultation.opd.name}"


def has_abha(patient: Patient) -> bool:
    return bool(patient.abha_number or patient.abha_address)


# --- HIP-initiated -----------------------------------------------------------------------------


def prescription_finalised(sender: object, *, prescription: Prescription, **kwargs: Any) -> None:
    """Receives ``consultations.signals.prescription_finalised`` once the signed record is
    complete (its consultation, patient and OPD come loaded); idempotent."""
    consultation = prescription.consultation
    if has_abha(consultation.patient):
        link_consultations(consultation.patient, [consultation])


def link_existing_care_contexts(patient: Patient) -> int:
    """Link every signed consultation of ``patient`` not linked yet (an ABHA was just added to
    the member). Returns how many are on their way."""
    if not has_abha(patient):
        return 0
    return len(link_consultations(patient, list(signed_consultations([patient.pk]))))


def link_consultations(
    patient: Patient, consultations: Sequence[Consultation]
) -> list[CareContext]:
    """Care contexts for these consultations, pending, and the call that links them: at once
    with a link token still valid for the ABHA, else after a new token arrives."""
    with transaction.atomic():
        contexts = _pending_contexts(patient, consultations)
        if not contexts:
            return []
        token = LinkToken.usable_for(
            patient,
            now=timezone.now(),
            abha_number=patient.abha_number,
            abha_address=patient.abha_address,
        )
        if token is not None:
            _send_link(patient, contexts, token.token)
        elif not _token_awaited(patient):
            _ask_token(patient, wire.abha_identity(patient))
        return contexts


def _pending_contexts(patient: Patient, consultations: Iterable[Consultation]) -> list[CareContext]:
    wanted = {c.pk: c for c in consultations}
    existing = {
        c.consultation_id: c
        for c in CareContext.objects.select_for_update().filter(consultation_id__in=wanted)
    }
    again = [
        c.pk
        for c in existing.values()
        if c.state == CareContext.State.FAILED
        or (c.state == CareContext.State.PENDING and c.link_request_id is None)
    ]
    CareContext.objects.filter(pk__in=again).update(
        state=CareContext.State.PENDING, how=CareContext.How.HIP, error_code="",
        token_renewed=False, link_request=None,
    )  # fmt: skip
    created = CareContext.objects.bulk_create(
        [
            CareContext(
                patient=patient,
                consultation=consultation,
                reference=consultation.public_id,
                display=display_of(consultation),
            )
            for pk, consultation in wanted.items()
            if pk not in existing
        ]
    )
    return [*CareContext.objects.filter(pk__in=again), *created]


def _token_awaited(patient: Patient) -> bool:
    """A generate-token call for this member is on its way and not answered yet."""
    return LinkToken.objects.filter(
        patient=patient,
        token="",
        error_code="",
        created_at__gt=timezone.now() - LINK_TOKEN_LIFETIME,
        request__state__in=[
            GatewayMessage.State.QUEUED,
            GatewayMessage.State.SENDING,
            GatewayMessage.State.ACCEPTED,
        ],
    ).exists()


def _ask_token(patient: Patient, identity: dict[str, str]) -> None:
    body = {
        **identity,
        "name": patient.name,
        "gender": patient.sex,
        "yearOfBirth": patient.date_of_birth.year,
    }
    message = services.send(Flow.GENERATE_TOKEN, wire.GENERATE_TOKEN, body)
    LinkToken.objects.create(
        patient=patient,
        abha_number=patient.abha_number,
        abha_address=patient.abha_address,
        request=message,
    )


def _send_link(patient: Patient, contexts: Sequence[CareContext], token: str) -> None:
    body = {
        **wire.abha_identity(patient),
        "patient": [
            {
                "referenceNumber": str(patient.public_id),
                "display": patient.name,
                "careContexts": [
                    {"referenceNumber": str(c.reference), "display": c.display} for c in contexts
                ],
                "hiType": wire.HI_TYPE_OF_CONTEXT,
                "count": len(contexts),
            }
        ],
    }
    message = services.send(
        Flow.LINK_CARECONTEXT, wire.LINK_CARECONTEXT, body, headers={"X-LINK-TOKEN": token}
    )
    CareContext.objects.filter(pk__in=[c.pk for c in contexts]).update(link_request=message)


def token_generated(message: GatewayMessage) -> None:
    """on-generate-token: keep the token and link what waits for it, or fail what waits."""
    request = (
        LinkToken.objects.select_related("patient").filter(request_id=message.answers_id).first()
    )
    if request is None:
        return  # not a request of ours (or lost): nothing waits for it
    body = message.body or {}
    waiting = CareContext.objects.filter(
        patient=request.patient, state=CareContext.State.PENDING, link_request=None
    )
    failure = wire.obj(body.get("error"))
    token = body.get("linkToken")
    if failure or not isinstance(token, str) or not token:
        request.error_code = str(failure.get("code") or "no-token")[:20]
        request.save(update_fields=["error_code"])
        waiting.update(state=CareContext.State.FAILED, error_code=request.error_code)
        return
    request.token = token
    request.expires_at = timezone.now() + LINK_TOKEN_LIFETIME
    request.save(update_fields=["token", "expires_at"])
    contexts = list(waiting)
    if contexts:
        _send_link(request.patient, contexts, token)


def care_contexts_linked(message: GatewayMessage) -> None:
    """on_carecontext: linked; an expired token (ABDM-1094) is renewed once; else failed."""
    if message.answers_id is None:
        return
    contexts = CareContext.objects.filter(
        link_request_id=message.answers_id, state=CareContext.State.PENDING
    )
    body = message.body or {}
    failure = wire.obj(body.get("error"))
    now = timezone.now()
    if not failure:
        address = body.get("abhaAddress")
        for context in contexts.select_related("patient"):
            context.state = CareContext.State.LINKED
            context.linked_at = now
            context.error_code = ""
            context.abha_address = (
                address if isinstance(address, str) and address else context.patient.abha_address
            )
            context.save(update_fields=["state", "linked_at", "error_code", "abha_address"])
        return
    code = str(failure.get("code") or "error")[:20]
    if code == EXPIRED_TOKEN:
        renewable = list(contexts.filter(token_renewed=False).select_related("patient"))
        contexts.filter(token_renewed=True).update(state=CareContext.State.FAILED, error_code=code)
        CareContext.objects.filter(pk__in=[c.pk for c in renewable]).update(
            token_renewed=True, link_request=None
        )
        for patient in {c.patient_id: c.patient for c in renewable}.values():
            LinkToken.objects.filter(patient=patient, expires_at__gt=now).update(expires_at=now)
            if not _token_awaited(patient):
                _ask_token(patient, wire.abha_identity(patient))
        return
    contexts.update(state=CareContext.State.FAILED, error_code=code, link_request=None)


# --- User-initiated ----------------------------------------------------------------------------


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _demographics_match(member: Patient, data: dict[str, Any]) -> bool:
    year = data.get("yearOfBirth")
    try:
        year_of_birth = int(year) if year is not None else None
    except (TypeError, ValueError):
        return False
    return (
        _same_name(member.name, str(data.get("name") or ""))
        and member.sex == data.get("gender")
        and member.date_of_birth.year == year_of_birth
    )


def _one(members: Iterable[Patient]) -> Patient | None:
    found = list(members)
    return found[0] if len(found) == 1 else None


def _identifiers(value: Any) -> dict[str, str]:
    return {str(i.get("type")): str(i.get("value") or "") for i in wire.items(value)}


def match_patient(data: dict[str, Any]) -> tuple[Patient | None, str]:
    """The one family member a discovery names (docs/abdm.md, "Wire shapes"): by the ABHA
    number; else by the family's verified mobile and name, gender and year of birth; else by the
    Patient ID (MR) and the same. Two members matching a rule is no match: we never guess."""
    verified = {
        i.get("type"): str(i.get("value") or "")
        for i in wire.items(data.get("verifiedIdentifiers"))
    }
    unverified = _identifiers(data.get("unverifiedIdentifiers"))
    members = Patient.objects.filter(archived_at=None).select_related("account")
    abha = re.sub(r"\D", "", verified.get("ABHA_NUMBER", ""))
    if len(abha) == 14:
        found = list(members.filter(abha_number=abha)[:2])
        if found:
            return (found[0], "ABHA_NUMBER") if len(found) == 1 else (None, "")
    if verified.get("MOBILE"):
        try:
            mobile = normalise_indian_mobile(verified["MOBILE"])
        except Exception:
            mobile = ""
        candidates = members.filter(account__mobile=mobile) if mobile else members.none()
        matched = [m for m in candidates if _demographics_match(m, data)]
        if matched:
            return (matched[0], "MOBILE") if len(matched) == 1 else (None, "")
    mr = re.sub(r"\D", "", unverified.get("MR", ""))
    if mr:
        matched = [m for m in members.filter(patient_number=mr) if _demographics_match(m, data)]
        if len(matched) == 1:
            return matched[0], "MR"
    return None, ""


def _patient_entry(patient: Patient, contexts: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "referenceNumber": str(patient.public_id),
        "display": patient.name,
        "careContexts": [{"referenceNumber": ref, "display": text} for ref, text in contexts],
        "hiType": wire.HI_TYPE_OF_CONTEXT,
        "count": len(contexts),
    }


def discover(message: GatewayMessage) -> None:
    body = message.body or {}
    transaction_id = str(body.get("transactionId") or "")
    data = wire.obj(body.get("patient"))
    member, matched_by = match_patient(data) if transaction_id else (None, "")
    if member is None:
        answer = {"transactionId": transaction_id, **wire.error(NOT_FOUND, "Patient not found")}
        services.send(Flow.ON_DISCOVER, wire.ON_DISCOVER, {**answer, **wire.answering(message)})
        return
    LinkRequest.objects.update_or_create(
        transaction_id=transaction_id,
        defaults={"patient": member, "abha_address": str(data.get("id") or "")[:64]},
    )
    linked = set(
        CareContext.objects.filter(patient=member, state=CareContext.State.LINKED).values_list(
            "consultation_id", flat=True
        )
    )
    contexts = [
        (str(c.public_id), display_of(c))
        for c in signed_consultations([member.pk])
        if c.pk not in linked
    ]
    answer = {
        "transactionId": transaction_id,
        "patient": [_patient_entry(member, contexts)],
        "matchedBy": [matched_by],
    }
    services.send(Flow.ON_DISCOVER, wire.ON_DISCOVER, {**answer, **wire.answering(message)})


def _otp_sms(count: int, code: str) -> str:
    return ngettext(
        "%(code)s is your eSanjeevani code to link %(count)d health record to your ABHA. "
        "It is valid for 10 minutes. Do not share it with anyone.",
        "%(code)s is your eSanjeevani code to link %(count)d health records to your ABHA. "
        "It is valid for 10 minutes. Do not share it with anyone.",
        count,
    ) % {"code": code, "count": count}


def link_init(message: GatewayMessage) -> None:
    body = message.body or {}
    transaction_id = str(body.get("transactionId") or "")
    request = (
        LinkRequest.objects.select_for_update()
        .select_related("patient__account", "patient__preferred_language")
        .filter(transaction_id=transaction_id)
        .first()
        if transaction_id
        else None
    )
    consultations = _requested_consultations(request, wire.items(body.get("patient")))
    if request is None or not consultations:
        answer = {
            "transactionId": transaction_id,
            **wire.error(NOT_FOUND, "Care context not found for this patient"),
        }
        services.send(Flow.ON_INIT, wire.ON_INIT, {**answer, **wire.answering(message)})
        return
    now = timezone.now()
    code = f"{secrets.randbelow(10**6):06d}"
    request.link_ref = uuid.uuid4()
    request.state = LinkRequest.State.OTP_SENT
    request.set_otp(code, now=now)
    address = body.get("abhaAddress")
    if isinstance(address, str) and address:
        request.abha_address = address[:64]
    request.save()
    request.consultations.set(consultations)
    patient = request.patient
    with translation.override(patient.preferred_language.code):
        text = _otp_sms(len(consultations), code)
    queue_sms(to=patient.account.mobile or "", body=text)
    assert request.otp_expires_at is not None
    answer = {
        "transactionId": transaction_id,
        "link": {
            "referenceNumber": str(request.link_ref),
            "authenticationType": "DIRECT",
            "meta": {
                "communicationMedium": "MOBILE",
                "communicationHint": "OTP",
                "communicationExpiry": wire.iso(request.otp_expires_at),
            },
        },
    }
    services.send(Flow.ON_INIT, wire.ON_INIT, {**answer, **wire.answering(message)})


def _requested_consultations(
    request: LinkRequest | None, entries: list[dict[str, Any]]
) -> list[Consultation]:
    """The consultations named, if every one is a signed consultation of the discovered
    member; otherwise none (the whole init is refused)."""
    if request is None or not entries:
        return []
    refs: set[str] = set()
    for entry in entries:
        if str(entry.get("referenceNumber")) != str(request.patient.public_id):
            return []
        refs |= {str(c.get("referenceNumber")) for c in wire.items(entry.get("careContexts"))}
    ids = [parsed for ref in refs if (parsed := _uuid(ref)) is not None]
    if not refs or len(ids) != len(refs):
        return []
    found = list(
        signed_consultations([request.patient_id]).filter(public_id__in=ids).select_related("opd")
    )
    return found if len(found) == len(refs) else []


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def link_confirm(message: GatewayMessage) -> None:
    body = message.body or {}
    confirmation = wire.obj(body.get("confirmation"))
    ref = _uuid(str(confirmation.get("linkRefNumber") or ""))
    code = str(confirmation.get("token") or "").strip()
    request = (
        LinkRequest.objects.select_for_update()
        .select_related("patient")
        .filter(link_ref=ref)
        .first()
        if ref
        else None
    )
    now = timezone.now()
    if request is None or not request.usable(now):
        if request is not None and request.state == LinkRequest.State.OTP_SENT:
            request.state = LinkRequest.State.LOCKED
            request.save(update_fields=["state"])
        _answer_confirm(message, wire.error(OTP_EXPIRED, "OTP expired or link not found"))
        return
    if not request.otp_matches(code):
        request.count_wrong_code()
        _answer_confirm(message, wire.error(INVALID_OTP, "Invalid OTP"))
        return
    request.state = LinkRequest.State.CONFIRMED
    request.confirmed_at = now
    request.otp_hash = ""
    request.save(update_fields=["state", "confirmed_at", "otp_hash"])
    consultations = list(request.consultations.select_related("opd"))
    for consultation in consultations:
        CareContext.objects.update_or_create(
            consultation=consultation,
            defaults={
                "patient": request.patient,
                "reference": consultation.public_id,
                "display": display_of(consultation),
                "state": CareContext.State.LINKED,
                "how": CareContext.How.USER,
                "abha_address": request.abha_address,
                "linked_at": now,
                "error_code": "",
                "link_request": None,
            },
        )
    contexts = [(str(c.public_id), display_of(c)) for c in consultations]
    _answer_confirm(message, {"patient": [_patient_entry(request.patient, contexts)]})


def _answer_confirm(message: GatewayMessage, answer: dict[str, Any]) -> None:
    services.send(Flow.ON_CONFIRM, wire.ON_CONFIRM, {**answer, **wire.answering(message)})
