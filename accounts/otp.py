"""Patient sign-in by one-time code.

Rules: six digits, only a keyed hash stored, valid ``OTP_TTL_SECONDS``, at most
``OTP_MAX_ATTEMPTS`` guesses per code, a resend cool-down, and hourly caps per mobile number
and per client address. Answers never reveal whether a number already has an account: the
account is created, if needed, only after the code proves the caller holds the number.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import OtpChallenge, Role, User
from core import ratelimit
from core.errors import Invalid, TooManyRequests
from notifications.services import queue_sms


@dataclass(frozen=True)
class SignIn:
    user: User
    new_account: bool


def _hash(challenge_id: uuid.UUID, code: str) -> str:
    return salted_hmac("accounts.otp", f"{challenge_id}:{code}", algorithm="sha256").hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**settings.OTP_LENGTH):0{settings.OTP_LENGTH}d}"


def _wait_message(seconds: int) -> str:
    return ngettext(
        "Please wait %(seconds)d second before asking for another code.",
        "Please wait %(seconds)d seconds before asking for another code.",
        seconds,
    ) % {"seconds": seconds}


def _check_send_limits(mobile: str, client: str) -> None:
    now = timezone.now()
    retry = ratelimit.hit(
        "otp-client", client, limit=settings.OTP_MAX_PER_CLIENT_PER_HOUR, window_seconds=3600
    )
    if retry is not None:
        raise TooManyRequests(
            _("Too many codes were requested from this device. Try again later."),
            retry_after=retry,
        )
    recent = list(
        OtpChallenge.objects.filter(mobile=mobile, created_at__gte=now - timedelta(hours=1))
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    cooldown = timedelta(seconds=settings.OTP_RESEND_COOLDOWN_SECONDS)
    if recent and recent[-1] + cooldown > now:
        wait = int((recent[-1] + cooldown - now).total_seconds()) + 1
        raise TooManyRequests(
            _wait_message(wait),
            retry_after=wait,
            code="otp_cooldown",
        )
    if len(recent) >= settings.OTP_MAX_PER_MOBILE_PER_HOUR:
        wait = int((recent[0] + timedelta(hours=1) - now).total_seconds()) + 1
        raise TooManyRequests(
            ngettext(
                "Too many codes were sent to this number. Try again in %(minutes)d minute.",
                "Too many codes were sent to this number. Try again in %(minutes)d minutes.",
                max(1, wait // 60),
            )
            % {"minutes": max(1, wait // 60)},
            retry_after=wait,
        )
    # Two requests racing past the checks above: only one wins the cool-down slot.
    if not cache.add(f"otp-send:{mobile}", 1, timeout=settings.OTP_RESEND_COOLDOWN_SECONDS):
        raise TooManyRequests(
            _wait_message(settings.OTP_RESEND_COOLDOWN_SECONDS),
            retry_after=settings.OTP_RESEND_COOLDOWN_SECONDS,
            code="otp_cooldown",
        )


def request_code(*, mobile: str, client_address: str) -> OtpChallenge:
    """Send a fresh code to ``mobile`` (already normalised to E.164)."""
    client = ratelimit.client_key(client_address)
    _check_send_limits(mobile, client)
    now = timezone.now()
    code = _new_code()
    challenge_id = uuid.uuid4()
    with transaction.atomic():
        # Only the newest code works: earlier unused codes for this number expire now.
        OtpChallenge.objects.filter(mobile=mobile, verified_at=None, expires_at__gt=now).update(
            expires_at=now
        )
        challenge = OtpChallenge.objects.create(
            public_id=challenge_id,
            mobile=mobile,
            code_hash=_hash(challenge_id, code),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
            client_key=client,
        )
        queue_sms(
            to=mobile,
            body=_(
                "%(code)s is your eSanjeevani sign-in code. It is valid for %(minutes)d "
                "minutes. Do not share it with anyone."
            )
            % {"code": code, "minutes": settings.OTP_TTL_SECONDS // 60},
            required=True,  # no broker, no code: the request fails (503) and nothing is kept
        )
    return challenge


def verify_code(*, challenge_id: uuid.UUID, code: str, client_address: str) -> SignIn:
    """Check a code; on success return the account for the number, creating it if new."""
    retry = ratelimit.hit(
        "otp-verify-client",
        ratelimit.client_key(client_address),
        limit=settings.OTP_MAX_PER_CLIENT_PER_HOUR * settings.OTP_MAX_ATTEMPTS,
        window_seconds=3600,
    )
    if retry is not None:
        raise TooManyRequests(
            _("Too many attempts from this device. Try again later."), retry_after=retry
        )
    wrong = Invalid(
        _("That code is not right. Check the SMS and try again."),
        code="otp_invalid",
        fields={"code": [_("That code is not right.")]},
    )
    challenge = OtpChallenge.objects.filter(public_id=challenge_id).first()
    if challenge is None:
        raise wrong
    now = timezone.now()
    used = Invalid(_("This code has already been used. Ask for a new one."), code="otp_used")
    if challenge.verified_at is not None:
        raise used
    if challenge.expires_at <= now:
        raise Invalid(_("This code has expired. Ask for a new one."), code="otp_expired")
    # Count the attempt before comparing, atomically, so parallel guesses cannot exceed the cap.
    counted = OtpChallenge.objects.filter(
        pk=challenge.pk, verified_at=None, attempts__lt=settings.OTP_MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not counted:
        if OtpChallenge.objects.filter(pk=challenge.pk, verified_at__isnull=False).exists():
            raise used
        raise Invalid(
            _("Too many wrong attempts for this code. Ask for a new one."),
            code="otp_attempts_exceeded",
        )
    if not constant_time_compare(_hash(challenge.public_id, code.strip()), challenge.code_hash):
        left = settings.OTP_MAX_ATTEMPTS - challenge.attempts - 1
        wrong.extra["attempts_left"] = max(0, left)
        raise wrong
    # Compare-and-set: a code replayed in parallel signs in only once.
    claimed = OtpChallenge.objects.filter(pk=challenge.pk, verified_at=None).update(verified_at=now)
    if not claimed:
        raise used
    return _account_for(challenge.mobile)


def _account_for(mobile: str) -> SignIn:
    user = User.objects.filter(mobile=mobile).first()
    if user is None:
        try:
            with transaction.atomic():
                return SignIn(User.objects.create_patient_account(mobile), new_account=True)
        except IntegrityError:  # created a moment ago by a parallel sign-in
            user = User.objects.get(mobile=mobile)
    if user.role != Role.PATIENT or not user.is_active:
        raise Invalid(
            _("This number cannot sign in here. Contact the helpline."), code="account_disabled"
        )
    return SignIn(user, new_account=False)
