"""Linking a family member's ABHA (ABDM M1): log in to the ABHA with an OTP, compare its profile
with our record, link; unlink; show the ABHA card; create an ABHA with Aadhaar OTP.

ABDM's transaction ids and X-/T-tokens stay in the server-side session (``_Pending``, per
member), never in a page or a URL, and are dropped once the member's ABHA is linked or the user
starts again. The Aadhaar number is sent to ABDM and forgotten: it is neither stored nor logged.
Every refusal is a ``ServiceError`` with a translated message for the page.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from stdnum.exceptions import ValidationError as NumberInvalid
from stdnum.in_ import aadhaar as aadhaar_number

from abdm import abha, linking
from abdm.abha import LoginMethod
from abdm.models import AbhaLinkEvent
from accounts.mobile import normalise_indian_mobile
from accounts.models import User
from core import ratelimit
from core.errors import Conflict, Invalid, ServiceError, TooManyRequests
from patients import identifiers
from patients import services as patients
from patients.models import Patient

logger = logging.getLogger(__name__)

SESSION_KEY = "abdm_abha"
OTP_WINDOW_SECONDS = 3600
AADHAAR = "aadhaar"


class AbhaServiceDown(ServiceError):
    status = 503
    code = "abha_unavailable"


class StartAgain(ServiceError):
    """The session holds no (or an expired) ABHA transaction for this member."""

    status = 409
    code = "abha_start_again"


SERVICE_DOWN = gettext_lazy(
    "The ABHA service cannot be reached just now. Nothing was changed; please try again in a few "
    "minutes."
)
START_AGAIN = gettext_lazy("This ABHA request has expired. Please start again.")


# --- what the session keeps per member --------------------------------------------------------
@dataclass
class _Pending:
    purpose: str  # "link", "card" or "create"
    method: str  # a LoginMethod value, or "aadhaar"
    txn_id: str = ""
    t_token: str = ""
    accounts: list[dict[str, str]] = field(default_factory=list)
    x_token: str = ""
    x_token_abha: str = ""
    x_token_until: float = 0.0
    profile: dict[str, Any] | None = None

    def live_x_token(self, abha_number: str = "") -> str:
        if not self.x_token or self.x_token_until <= time.time():
            return ""
        if abha_number and self.x_token_abha != abha_number:
            return ""
        return self.x_token


def _load(session: SessionBase, member: Patient) -> _Pending | None:
    raw = session.get(SESSION_KEY, {}).get(str(member.public_id))
    return _Pending(**raw) if isinstance(raw, dict) else None


def _save(session: SessionBase, member: Patient, pending: _Pending) -> None:
    states = dict(session.get(SESSION_KEY, {}))
    states[str(member.public_id)] = asdict(pending)
    session[SESSION_KEY] = states


def forget(session: SessionBase, member: Patient) -> None:
    states = dict(session.get(SESSION_KEY, {}))
    if states.pop(str(member.public_id), None) is not None:
        session[SESSION_KEY] = states


def _pending(session: SessionBase, member: Patient, *purposes: str) -> _Pending:
    pending = _load(session, member)
    if pending is None or pending.purpose not in purposes:
        raise StartAgain(START_AGAIN)
    return pending


def pending_purpose(session: SessionBase, member: Patient) -> str:
    pending = _load(session, member)
    return pending.purpose if pending else ""


def pending_accounts(session: SessionBase, member: Patient) -> list[dict[str, str]]:
    """The ABHAs on the mobile the user logged in with, to choose from."""
    return _pending(session, member, "link").accounts


def _keep_x_token(pending: _Pending, token: str, expires_in: int, abha_number: str) -> None:
    pending.x_token, pending.x_token_abha = token, abha_number
    # A minute early: never call ABDM with a token about to run out.
    pending.x_token_until = time.time() + max(0, expires_in - 60)


# --- limits and ABDM's refusals ---------------------------------------------------------------
def _count_otp_request(account: User, member: Patient) -> None:
    for name, key, limit in (
        ("abha-otp-member", str(member.public_id), settings.ABHA_OTP_MAX_PER_MEMBER_PER_HOUR),
        ("abha-otp-account", str(account.pk), settings.ABHA_OTP_MAX_PER_ACCOUNT_PER_HOUR),
    ):
        retry = ratelimit.hit(name, key, limit=limit, window_seconds=OTP_WINDOW_SECONDS)
        if retry is not None:
            minutes = max(1, math.ceil(retry / 60))
            raise TooManyRequests(
                ngettext(
                    "Too many ABHA codes were asked for. Please try again in %(minutes)d minute.",
                    "Too many ABHA codes were asked for. Please try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                retry_after=retry,
                code="abha_otp_limit",
            )


def _otp_refusal(exc: abha.AbhaRefused) -> ServiceError:
    """ABDM refused a verify: the transaction is dead, used or expired."""
    detail = exc.detail.lower()
    if exc.code == "ABDM-1115" or "no attempts left" in detail:
        message = _("Too many wrong codes. Please ask for a new code.")
    elif "incorrect" in detail:
        return Invalid(
            _("The code is not correct."), fields={"otp": [_("The code is not correct.")]}
        )
    elif "expired" in detail:
        message = _("The code has expired. Please ask for a new code.")
    else:
        message = str(START_AGAIN)
    return StartAgain(message)


def _down(exc: Exception) -> AbhaServiceDown:
    logger.warning("ABHA service unavailable: %s", exc)
    return AbhaServiceDown(SERVICE_DOWN)


# --- link: ask for the OTP ----------------------------------------------------------------------
def _login_id(method: LoginMethod, identifier: str) -> str:
    try:
        if method == LoginMethod.ABHA_NUMBER:
            return identifiers.normalise_abha_number(identifier)
        if method == LoginMethod.ABHA_ADDRESS:
            return identifiers.normalise_abha_address(identifier)
        return normalise_indian_mobile(identifier).removeprefix("+91")
    except ValidationError as exc:
        raise Invalid(exc.messages[0], fields={"identifier": exc.messages}) from None


NOT_FOUND = {
    LoginMethod.ABHA_NUMBER: gettext_lazy("ABDM has no ABHA with this ABHA number."),
    LoginMethod.ABHA_ADDRESS: gettext_lazy("ABDM has no ABHA with this ABHA address."),
    LoginMethod.MOBILE: gettext_lazy("ABDM has no ABHA linked to this mobile number."),
}


def request_login_otp(
    *,
    session: SessionBase,
    account: User,
    member: Patient,
    method: LoginMethod,
    identifier: str,
    purpose: str = "link",
) -> None:
    """Ask ABDM to text a code to the ABHA's mobile; the transaction waits in the session."""
    login_id = _login_id(method, identifier)
    _count_otp_request(account, member)
    try:
        sent = abha.request_login_otp(method, login_id)
    except abha.AbhaUnavailable as exc:
        raise _down(exc) from None
    except abha.AbhaRefused as exc:
        message = (
            str(NOT_FOUND[method])
            if exc.code == "ABDM-1114"
            else _("ABDM did not accept this. Please check it and try again.")
        )
        raise Invalid(message, fields={"identifier": [message]}) from None
    _save(session, member, _Pending(purpose=purpose, method=method.value, txn_id=sent.txn_id))


def verify_login_otp(*, session: SessionBase, member: Patient, otp: str) -> str:
    """Check the code. Returns what comes next: ``choose`` (a mobile with several ABHAs),
    ``compare`` (the ABHA's profile against ours) or ``card``."""
    pending = _pending(session, member, "link", "card")
    if pending.t_token or pending.x_token:
        raise StartAgain(START_AGAIN)
    method = LoginMethod(pending.method)
    try:
        login = abha.verify_login_otp(method, pending.txn_id, otp.strip())
    except abha.WrongOtp:
        raise Invalid(
            _("The code is not correct."), fields={"otp": [_("The code is not correct.")]}
        ) from None
    except abha.AbhaUnavailable as exc:
        raise _down(exc) from None
    except abha.AbhaRefused as exc:
        raise _otp_refusal(exc) from None
    pending.txn_id = login.txn_id
    if login.is_t_token:
        pending.t_token = login.token
        pending.accounts = [asdict(a) for a in login.accounts]
        _save(session, member, pending)
        if len(login.accounts) != 1:
            return "choose"
        choose_account(session=session, member=member, abha_number=login.accounts[0].abha_number)
        return "compare"
    number = login.accounts[0].abha_number if login.accounts else ""
    _keep_x_token(pending, login.token, login.expires_in, number)
    _save(session, member, pending)
    return "card" if pending.purpose == "card" else "compare"


def choose_account(*, session: SessionBase, member: Patient, abha_number: str) -> None:
    pending = _pending(session, member, "link")
    if not pending.t_token or abha_number not in {a["abha_number"] for a in pending.accounts}:
        raise StartAgain(START_AGAIN)
    try:
        login = abha.choose_account(pending.txn_id, pending.t_token, abha_number)
    except abha.AbhaUnavailable as exc:
        raise _down(exc) from None
    except abha.AbhaRefused:
        forget(session, member)
        raise StartAgain(START_AGAIN) from None
    pending.t_token, pending.accounts = "", []
    _keep_x_token(pending, login.token, login.expires_in, abha_number)
    _save(session, member, pending)


# --- link: compare and confirm ------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    label: str
    ours: str
    theirs: str
    differs: bool


@dataclass(frozen=True)
class Comparison:
    abha_number: str
    abha_address: str
    rows: list[Row]

    @property
    def differences(self) -> list[Row]:
        return [r for r in self.rows if r.differs]

    @property
    def display_abha_number(self) -> str:
        return identifiers.format_abha_number(self.abha_number) if self.abha_number else ""


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


SEXES = {
    "F": gettext_lazy("Female"),
    "M": gettext_lazy("Male"),
    "O": gettext_lazy("Other"),
}


def compare(member: Patient, profile: abha.Profile) -> Comparison:
    """Our record against the ABHA's: name, year of birth, sex, each marked when they differ."""
    theirs_year = str(profile.year_of_birth or "")
    rows = [
        Row(_("Name"), member.name, profile.name, not _same_name(member.name, profile.name)),
        Row(
            _("Year of birth"),
            str(member.date_of_birth.year),
            theirs_year,
            theirs_year != str(member.date_of_birth.year),
        ),
        Row(
            _("Sex"),
            str(SEXES.get(member.sex, member.sex)),
            str(SEXES.get(profile.gender, profile.gender or "")),
            profile.gender != member.sex,
        ),
    ]
    return Comparison(profile.abha_number, profile.abha_address, rows)


def link_preview(*, session: SessionBase, member: Patient) -> Comparison:
    """The ABHA's profile (fetched once with the X-token, then kept) compared with our record."""
    pending = _pending(session, member, "link")
    if pending.profile is None:
        token = pending.live_x_token()
        if not token:
            raise StartAgain(START_AGAIN)
        try:
            profile = abha.profile(token)
        except abha.AbhaUnavailable as exc:
            raise _down(exc) from None
        except abha.AbhaRefused:
            forget(session, member)
            raise StartAgain(START_AGAIN) from None
        pending.profile = asdict(profile)
        pending.x_token_abha = profile.abha_number
        _save(session, member, pending)
    return compare(member, abha.Profile(**pending.profile))


def _record(
    *,
    actor: User,
    member: Patient,
    action: AbhaLinkEvent.Action,
    method: str,
    number: str,
    address: str,
) -> None:
    AbhaLinkEvent.objects.create(
        patient=member,
        actor=actor,
        action=action,
        method=method,
        abha_number=number,
        abha_address=address,
    )


def confirm_link(*, session: SessionBase, actor: User, member: Patient) -> Patient:
    """Link the ABHA the user logged in to and compared. The X-token stays for the card."""
    pending = _pending(session, member, "link")
    if pending.profile is None:
        raise StartAgain(START_AGAIN)
    profile = abha.Profile(**pending.profile)
    if not profile.abha_number:
        raise StartAgain(START_AGAIN)
    _link(actor, member, AbhaLinkEvent.Action.LINKED, pending.method, profile)
    _save(session, member, _card_only(pending))
    return member


def _card_only(pending: _Pending) -> _Pending:
    """What the session keeps once the ABHA is linked: the X-token, for the card."""
    kept = _Pending(purpose="card", method=pending.method)
    kept.x_token, kept.x_token_abha = pending.x_token, pending.x_token_abha
    kept.x_token_until = pending.x_token_until
    return kept


def _link(
    actor: User, member: Patient, action: AbhaLinkEvent.Action, method: str, profile: abha.Profile
) -> None:
    try:
        with transaction.atomic():
            patients.link_abha(
                member=member, abha_number=profile.abha_number, abha_address=profile.abha_address
            )
            _record(
                actor=actor,
                member=member,
                action=action,
                method=method,
                number=profile.abha_number,
                address=profile.abha_address,
            )
    except Conflict as exc:
        if exc.code != "abha_taken":
            raise
        raise Conflict(
            _("This ABHA is already linked to another member of your family."),
            code="abha_taken",
        ) from None
    # The member's signed consultations join their ABHA (HIP-initiated linking, in the
    # background): from now on they appear in the member's health locker.
    linking.link_existing_care_contexts(member)


def unlink(*, session: SessionBase, actor: User, member: Patient) -> None:
    if not member.abha_number and not member.abha_address:
        return
    number, address = member.abha_number, member.abha_address
    with transaction.atomic():
        patients.unlink_abha(member=member)
        _record(
            actor=actor,
            member=member,
            action=AbhaLinkEvent.Action.UNLINKED,
            method="",
            number=number,
            address=address,
        )
    forget(session, member)


# --- the card ----------------------------------------------------------------------------------
def card_token_ready(session: SessionBase, member: Patient) -> bool:
    pending = _load(session, member)
    return bool(
        member.abha_number and pending is not None and pending.live_x_token(member.abha_number)
    )


def card(*, session: SessionBase, member: Patient) -> tuple[bytes, str]:
    """The member's ABHA card from ABDM, with the X-token of a login to the linked ABHA."""
    pending = _load(session, member)
    token = pending.live_x_token(member.abha_number) if pending and member.abha_number else ""
    if not token:
        raise StartAgain(_("Please confirm with a code to see the ABHA card."))
    try:
        return abha.abha_card(token)
    except abha.AbhaUnavailable as exc:
        raise _down(exc) from None
    except abha.AbhaRefused:
        forget(session, member)
        raise StartAgain(_("Please confirm with a code to see the ABHA card.")) from None


def request_card_otp(*, session: SessionBase, account: User, member: Patient) -> None:
    """A code to the linked ABHA's mobile, to see its card."""
    if not member.abha_number:
        raise Invalid(_("This family member has no ABHA number linked."))
    request_login_otp(
        session=session,
        account=account,
        member=member,
        method=LoginMethod.ABHA_NUMBER,
        identifier=member.abha_number,
        purpose="card",
    )


# --- create an ABHA with Aadhaar ---------------------------------------------------------------
def request_enrolment_otp(
    *, session: SessionBase, account: User, member: Patient, aadhaar: str
) -> None:
    """Ask UIDAI, through ABDM, to text a code to the Aadhaar's mobile. The number is checked
    (Verhoeff) and sent, never kept."""
    if member.abha_number:
        raise Conflict(_("This family member already has an ABHA."), code="abha_exists")
    try:
        number = aadhaar_number.validate(aadhaar)
    except NumberInvalid:
        message = _("Enter the 12-digit Aadhaar number as printed on the Aadhaar card.")
        raise Invalid(message, fields={"aadhaar": [message]}) from None
    _count_otp_request(account, member)
    try:
        sent = abha.request_enrolment_otp(number)
    except abha.AbhaUnavailable as exc:
        raise _down(exc) from None
    except abha.AbhaRefused:
        message = _("ABDM did not accept this Aadhaar number.")
        raise Invalid(message, fields={"aadhaar": [message]}) from None
    _save(session, member, _Pending(purpose="create", method=AADHAAR, txn_id=sent.txn_id))


def enrol(
    *, session: SessionBase, actor: User, member: Patient, otp: str, mobile: str
) -> abha.Profile:
    """Create the ABHA with the Aadhaar code and link it to the member."""
    pending = _pending(session, member, "create")
    try:
        number = normalise_indian_mobile(mobile).removeprefix("+91")
    except ValidationError as exc:
        raise Invalid(exc.messages[0], fields={"mobile": exc.messages}) from None
    try:
        enrolment = abha.enrol_by_aadhaar(pending.txn_id, otp.strip(), number)
    except abha.AbhaUnavailable as exc:
        raise _down(exc) from None
    except abha.AbhaRefused as exc:
        raise _otp_refusal(exc) from None
    profile = enrolment.profile
    if not profile.abha_number:
        raise _down(ValueError("no ABHA number in the answer"))
    _link(actor, member, AbhaLinkEvent.Action.CREATED, AADHAAR, profile)
    kept = _Pending(purpose="card", method=AADHAAR)
    _keep_x_token(kept, enrolment.token, enrolment.expires_in, profile.abha_number)
    _save(session, member, kept)
    return profile
