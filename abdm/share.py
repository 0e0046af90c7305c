"""Scan & Share: a profile shared at an OPD's counter becomes a walk-in token (issue 11, item 5).

The gateway calls ``/api/v3/hip/patient/share`` (``Flow.PROFILE_SHARE``); the bridge stores it
and ``abdm.inbound.process`` runs ``answer_profile_share`` once. It finds the OPD from
``metaData.hipId`` and ``metaData.context`` (``abdm.share_profile.opd_for_counter``), matches or
creates the patient, books a token through the queue's own booking service (hours, limits,
priority by age, one active token per patient and OPD, the SMS) and answers
``/patient-share/v3/on-share``. A refusal (unknown counter, OPD closed or full, a profile we
cannot use, two patients who could be this person) is answered FAILED with an error object and
leaves nothing behind but its ``ProfileShare`` row. The same person sharing again the same day
at the same OPD is answered with the same token. docs/abdm.md, "Scan & Share".
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from abdm.inbound import handles
from abdm.models import Flow, GatewayMessage, ProfileShare
from abdm.services import send
from abdm.share_profile import SharedProfile, opd_for_counter, read_profile
from accounts.models import User
from accounts.services import patient_account_for
from core.clock import IST
from core.errors import Conflict, Invalid, ServiceError
from core.models import District, Language, State
from patients.models import Patient, Relationship
from patients.services import add_family_member, likely_language, update_family_member
from queues.hours import opening_state
from queues.models import Opd, Ticket
from queues.selectors import active_ticket_of
from queues.services.booking import book

logger = logging.getLogger(__name__)

ON_SHARE = "/patient-share/v3/on-share"


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@handles(Flow.PROFILE_SHARE)
def answer_profile_share(message: GatewayMessage) -> None:
    body = _obj(message.body)
    meta = _obj(body.get("metaData"))
    shared = _obj(_obj(body.get("profile")).get("patient"))
    share = ProfileShare(
        message=message,
        hip_id=str(meta.get("hipId") or "")[:50],
        context=str(meta.get("context") or "")[:64],
        abha_address=str(shared.get("abhaAddress") or "").strip().lower()[:64],
    )
    now = timezone.now()
    acknowledgement: dict[str, Any] = {"abhaAddress": share.abha_address}
    answer: dict[str, Any] = {"acknowledgement": acknowledgement}
    try:
        with transaction.atomic():  # a refusal leaves no patient or account behind
            _issue_token(share, shared, now)
    except ServiceError as refusal:
        share.patient, share.ticket, share.matched_by = None, None, ""
        share.status, share.error_code = ProfileShare.Status.FAILED, refusal.code
        acknowledgement.update(status="FAILED", profile={"context": share.context})
        answer["error"] = {"code": refusal.code, "message": refusal.message}
    else:
        assert share.ticket is not None and share.opd is not None
        share.status = ProfileShare.Status.SUCCESS
        acknowledgement.update(
            status="SUCCESS",
            profile={
                "context": share.context,
                "tokenNumber": share.ticket.token,
                "expiry": str(_seconds_left(share.opd, now)),
            },
        )
    answer["response"] = {"requestId": str(message.request_id)}
    share.answer = send(Flow.ON_SHARE, ON_SHARE, answer, hip=False)
    share.save()
    logger.info(
        "Profile share %s: %s %s", message.request_id, share.status, share.error_code or "-"
    )


def _issue_token(share: ProfileShare, shared: dict[str, Any], now: datetime) -> None:
    opd = opd_for_counter(share.hip_id, share.context)
    if opd is None:
        raise Invalid(_("This QR code names no OPD of this service."), code="unknown_counter")
    share.opd = opd
    profile = read_profile(shared)
    share.patient, share.matched_by = _patient_for(profile, opd)
    earlier = (
        ProfileShare.objects.filter(
            status=ProfileShare.Status.SUCCESS,
            opd=opd,
            patient=share.patient,
            ticket__service_date=now.astimezone(IST).date(),
        )
        .select_related("ticket__opd")
        .first()
    )
    if earlier is not None:
        share.ticket = earlier.ticket
        return
    share.ticket = _book(share.patient, opd, now)


def _book(patient: Patient, opd: Opd, now: datetime) -> Ticket:
    try:
        return book(account=patient.account, patient=patient, opd=opd, complaint="", now=now)
    except Conflict as refusal:
        existing = active_ticket_of(patient, opd) if refusal.code == "already_booked" else None
        if existing is None:
            raise
        return existing  # booked earlier today (online, or by an earlier share): that token


def _seconds_left(opd: Opd, now: datetime) -> int:
    """How long the token is good for: to the end of the OPD's session, or of today (IST)."""
    state = opening_state(opd, now)
    local = now.astimezone(IST)
    end = state.closes_at or datetime.combine(local.date() + timedelta(days=1), time(), IST)
    return max(int((end - now).total_seconds()), 0)


# --- Who shared --------------------------------------------------------------------------------


def _patient_for(profile: SharedProfile, opd: Opd) -> tuple[Patient, str]:
    """The one patient this profile is, or a new one in the family of its mobile."""
    found = _by_abha(profile)
    if found is not None:
        return found, ProfileShare.MatchedBy.ABHA
    if not profile.mobile:
        raise Invalid(
            _("The shared profile has no Indian mobile number to register with."),
            code="profile_incomplete",
        )
    account, _created = patient_account_for(profile.mobile)
    if not account.is_patient or not account.is_active:
        raise Conflict(
            _("This mobile number cannot hold a patient account."), code="account_unusable"
        )
    # Shares of one family one at a time: a second share of the same new person finds the first.
    User.objects.select_for_update().filter(pk=account.pk).first()
    found = _by_abha(profile)
    if found is not None:
        return found, ProfileShare.MatchedBy.ABHA
    member = _by_family_details(account, profile)
    if member is not None:
        update_family_member(
            member=member,
            data={"abha_number": profile.abha_number, "abha_address": profile.abha_address},
        )
        return member, ProfileShare.MatchedBy.MOBILE
    return _register(account, profile, opd), ProfileShare.MatchedBy.CREATED


def _ambiguous() -> Conflict:
    return Conflict(
        _("More than one patient could be this person; please register at the counter."),
        code="patient_ambiguous",
    )


def _by_abha(profile: SharedProfile) -> Patient | None:
    """The patient whose record holds this ABHA. Several (a parent registered by two children):
    the one in the family of the ABHA's mobile; otherwise nobody is guessed."""
    same = Q(abha_address=profile.abha_address)
    if profile.abha_number:
        same |= Q(abha_number=profile.abha_number)
    found = list(Patient.objects.filter(same, archived_at=None).select_related("account"))
    if len(found) > 1:
        found = [p for p in found if profile.mobile and p.account.mobile == profile.mobile]
        if len(found) != 1:
            raise _ambiguous()
    return found[0] if found else None


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _by_family_details(account: User, profile: SharedProfile) -> Patient | None:
    """A member of the mobile's family with this name, sex and year of birth and no other ABHA
    (the rule of care-context discovery): exactly one, or nobody."""
    members = Patient.objects.filter(
        account=account,
        archived_at=None,
        sex=profile.sex,
        date_of_birth__year=profile.year_of_birth,
        abha_number__in=["", profile.abha_number],
        abha_address__in=["", profile.abha_address],
    )
    found = [m for m in members if _same_name(m.name, profile.name)]
    if len(found) > 1:
        raise _ambiguous()
    return found[0] if found else None


def _register(account: User, profile: SharedProfile, opd: Opd) -> Patient:
    state = (
        State.objects.filter(lgd_code=profile.state_lgd).first() if profile.state_lgd else None
    ) or opd.state
    if state is None:
        raise Invalid(_("The shared profile names no state."), code="profile_incomplete")
    district = (
        District.objects.filter(lgd_code=profile.district_lgd, state=state).first()
        if profile.district_lgd
        else None
    )
    has_holder = Patient.objects.filter(account=account, relationship=Relationship.SELF).exists()
    language = likely_language(state_code=state.code, ui_language=None)
    return add_family_member(
        account=account,
        data={
            "relationship": Relationship.OTHER if has_holder else Relationship.SELF,
            "name": profile.name,
            "sex": profile.sex,
            "date_of_birth": profile.date_of_birth,
            "dob_is_estimated": profile.dob_is_estimated,
            "state": state,
            "district": district,
            "preferred_language": Language.objects.get(code=language),
            "abha_number": profile.abha_number,
            "abha_address": profile.abha_address,
        },
    )
