"""Patient sign-in by one-time code.

Rules: six digits, only a keyed hash stored, valid ``OTP_TTL_SECONDS``, at most
``OTP_MAX_ATTEMPTS`` guesses per code. Sending is limited so that nobody can block the holder of a
number (README "One-time codes"): the resend cool-down and the hourly cap count per number *and*
requester (a known device, else the client address); an address has an hourly cap over all
numbers; and a number that got many codes within the hour makes unknown requesters wait between
codes (a growing, bounded delay) while its known devices carry on. Answers never reveal whether a
number already has an account: the account is created, if needed, only after the code proves the
caller holds the number.
"""

from __future__ import annotations

import logging
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import devices
from accounts.models import OtpChallenge, Role, User
from accounts.services import patient_account_for
from core import ratelimit
from core.errors import Invalid, TooManyRequests
from notifications.services import queue_sms

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignIn:
    user: User
    new_account: bool
    mobile: str


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


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


@dataclass(frozen=True)
class Requester:
    """Who asks for a code: a device that signed in with this number before, or an address."""

    key: str  # keyed hash, stored on the challenge
    known_device: bool


def requester_for(mobile: str, client_address: str, device_token: str | None) -> Requester:
    device = devices.known_device(devices.PATIENT, device_token, mobile)
    if device is not None:
        return Requester(ratelimit.client_key(f"device:{device}"), known_device=True)
    return Requester(ratelimit.client_key(client_address), known_device=False)


def _check_client_limit(requester: Requester) -> None:
    """Codes for any numbers from one address (a known device asks only for its own number)."""
    if requester.known_device:
        return
    retry = ratelimit.hit(
        "otp-client", requester.key, limit=settings.OTP_MAX_PER_CLIENT_PER_HOUR, window_seconds=3600
    )
    if retry is not None:
        raise TooManyRequests(
            _("Too many codes were requested from this device. Try again later."),
            retry_after=retry,
        )


def _check_requester_limits(mobile: str, requester: Requester, now: datetime) -> None:
    """The cool-down and hourly cap count this requester's codes for this number only: a
    stranger's requests never use up the holder's allowance."""
    mine = list(
        OtpChallenge.objects.filter(
            mobile=mobile, client_key=requester.key, created_at__gte=now - timedelta(hours=1)
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    cooldown = timedelta(seconds=settings.OTP_RESEND_COOLDOWN_SECONDS)
    if mine and mine[-1] + cooldown > now:
        wait = int((mine[-1] + cooldown - now).total_seconds()) + 1
        raise TooManyRequests(_wait_message(wait), retry_after=wait, code="otp_cooldown")
    if len(mine) >= settings.OTP_MAX_PER_MOBILE_PER_HOUR:
        wait = int((mine[0] + timedelta(hours=1) - now).total_seconds()) + 1
        raise TooManyRequests(
            ngettext(
                "You asked for too many codes for this number. Try again in %(minutes)d minute.",
                "You asked for too many codes for this number. Try again in %(minutes)d minutes.",
                _minutes(wait),
            )
            % {"minutes": _minutes(wait)},
            retry_after=wait,
        )


def number_backoff_seconds(codes_in_last_hour: int) -> int:
    """The gap a device that never signed in with a number must leave after the number's last
    code, once it got ``OTP_NUMBER_BACKOFF_AFTER`` codes within the hour: twice the resend
    cool-down, doubling with every further code, at most ``OTP_NUMBER_BACKOFF_MAX_SECONDS``."""
    extra = codes_in_last_hour - settings.OTP_NUMBER_BACKOFF_AFTER
    if extra < 0:
        return 0
    delay = settings.OTP_RESEND_COOLDOWN_SECONDS * 2 ** min(extra + 1, 30)
    return int(min(delay, settings.OTP_NUMBER_BACKOFF_MAX_SECONDS))


def _number_backoff(mobile: str, requester: Requester, now: datetime) -> int:
    """Many codes to one number from many places (SMS bombing): slow down, never lock. Returns
    the gap this request must take as the number's turn (0: none); the number's known devices
    are exempt, so its holder keeps signing in."""
    if requester.known_device:
        return 0
    recent = OtpChallenge.objects.filter(mobile=mobile, created_at__gte=now - timedelta(hours=1))
    delay = number_backoff_seconds(recent.count())
    if not delay:
        return 0
    last = recent.order_by("-created_at").values_list("created_at", flat=True).first()
    wait = math.ceil((last + timedelta(seconds=delay) - now).total_seconds()) if last else 0
    if wait > 0:
        raise _number_busy(wait)
    return delay


def _number_busy(wait: int) -> TooManyRequests:
    return TooManyRequests(
        ngettext(
            "Many codes were sent to this number recently. Try again in %(minutes)d minute.",
            "Many codes were sent to this number recently. Try again in %(minutes)d minutes.",
            _minutes(wait),
        )
        % {"minutes": _minutes(wait)},
        retry_after=wait,
        code="otp_number_backoff",
    )


def cooldown_slot_key(mobile: str, requester_key: str) -> str:
    return f"otp-send:{mobile}:{requester_key}"


def number_turn_key(mobile: str) -> str:
    return f"otp-number-turn:{mobile}"


def _take_turns(mobile: str, requester: Requester, backoff: int) -> None:
    """Requests racing past the checks above: only one wins the requester's cool-down slot, and
    only one the number's turn while it backs off (so many addresses at once still get one)."""
    cooldown = settings.OTP_RESEND_COOLDOWN_SECONDS
    slot = cooldown_slot_key(mobile, requester.key)
    if not cache.add(slot, 1, timeout=cooldown):
        raise TooManyRequests(_wait_message(cooldown), retry_after=cooldown, code="otp_cooldown")
    if backoff and not cache.add(number_turn_key(mobile), 1, timeout=backoff):
        cache.delete(slot)
        raise _number_busy(backoff)


def request_code(
    *, mobile: str, client_address: str, device_token: str | None = None
) -> OtpChallenge:
    """Send a fresh code to ``mobile`` (already normalised to E.164). ``device_token`` is the
    known-device token the caller holds, if any (accounts/devices.py)."""
    requester = requester_for(mobile, client_address, device_token)
    now = timezone.now()
    _check_client_limit(requester)
    _check_requester_limits(mobile, requester, now)
    backoff = _number_backoff(mobile, requester, now)
    _take_turns(mobile, requester, backoff)
    try:
        return _send_code(mobile, requester, now)
    except Exception:
        # Nothing was sent (e.g. the broker is down and the caller gets 503): give back the
        # turns this request took, so the retry it is told to make is not refused as too soon.
        _release_turns(mobile, requester, backoff)
        raise


def _release_turns(mobile: str, requester: Requester, backoff: int) -> None:
    keys = [cooldown_slot_key(mobile, requester.key)]
    if backoff:
        keys.append(number_turn_key(mobile))
    try:
        cache.delete_many(keys)
    except Exception:  # the cache may be what is down; its keys then expire on their own
        logger.warning("Could not release the code-request turns after a failed send")


def _send_code(mobile: str, requester: Requester, now: datetime) -> OtpChallenge:
    code = _new_code()
    challenge_id = uuid.uuid4()
    with transaction.atomic():
        # Only this requester's newest code works: its earlier unused codes expire now. Another
        # requester's codes are left alone, so a stranger cannot void the holder's code.
        OtpChallenge.objects.filter(
            mobile=mobile, client_key=requester.key, verified_at=None, expires_at__gt=now
        ).update(expires_at=now)
        challenge = OtpChallenge.objects.create(
            public_id=challenge_id,
            mobile=mobile,
            code_hash=_hash(challenge_id, code),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
            client_key=requester.key,
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


def remember_device(mobile: str, device_token: str | None) -> str:
    """After the code proved the caller holds ``mobile``: the token that makes this device known
    to the number, so a stranger's requests for it never slow this device down."""
    return devices.remember(devices.PATIENT, device_token, mobile)


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
    user, created = patient_account_for(mobile)
    if created:
        return SignIn(user, new_account=True, mobile=mobile)
    if user.role != Role.PATIENT or not user.is_active:
        raise Invalid(
            _("This number cannot sign in here. Contact the helpline."), code="account_disabled"
        )
    return SignIn(user, new_account=False, mobile=mobile)
