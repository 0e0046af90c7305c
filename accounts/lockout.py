"""Staff sign-in lock-out policy: slow guessing down without handing anyone a lock-out.

Every step of a staff sign-in (the password, the authenticator code) first passes ``check`` and
reports a wrong answer to ``record_failure``:

1. A **known device** of the account (it completed a sign-in, see accounts/devices.py) skips the
   limits below: an attacker hammering the username elsewhere does not keep its doctor out.
   ``STAFF_KNOWN_DEVICE_MAX_FAILURES`` wrong answers in a row from it and it is treated as unknown
   (a stolen cookie buys a handful of guesses, not unlimited ones).
2. A **client address** with ``STAFF_LOGIN_MAX_FAILURES_PER_CLIENT`` failures on any usernames is
   locked for ``AXES_COOLOFF_HOURS`` (password spraying from one place).
3. A **username at one address** with ``AXES_FAILURE_LIMIT`` failures is locked for as long
   (django-axes): it locks the guesser's address, not the doctor's.
4. A **username from anywhere**: after ``STAFF_LOGIN_BACKOFF_AFTER`` failures within an hour it
   answers one attempt per delay, doubling from 2 s to ``STAFF_LOGIN_BACKOFF_MAX_SECONDS``. An
   attempt takes the turn atomically, so parallel requests cannot share it; refused attempts are
   not counted, so they do not lengthen the delay.

Counters live in the cache (Redis), keyed by keyed hashes: no username or address is stored.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import ngettext

from accounts import devices
from accounts.models import STAFF_ROLES, User
from core import ratelimit
from core.errors import TooManyRequests
from core.http import client_address

BACKOFF_WINDOW_SECONDS = 3600
BACKOFF_FIRST_DELAY_SECONDS = 2
# Set on the request for django-axes' whitelist callable: the username whose known device this is.
KNOWN_DEVICE_ATTRIBUTE = "staff_known_device_username"


def lockout_seconds() -> int:
    return int(float(settings.AXES_COOLOFF_TIME) * 3600)


def locked_out_message() -> str:
    minutes = max(1, lockout_seconds() // 60)
    return ngettext(
        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def _delayed(seconds: int) -> TooManyRequests:
    return TooManyRequests(
        ngettext(
            "Too many failed sign-in attempts for this account. Try again in %(seconds)d second.",
            "Too many failed sign-in attempts for this account. Try again in %(seconds)d seconds.",
            seconds,
        )
        % {"seconds": seconds},
        retry_after=seconds,
        code="signin_delayed",
    )


def staff_device_subject(user: User) -> str:
    """What a staff device token is bound to: the account and its current password."""
    return f"{user.public_id}:{user.password}"


@dataclass
class StaffAttempt:
    """One step of one staff sign-in, as the policy sees it."""

    username: str
    client: str  # keyed hash of the client address
    device: str | None  # a known device of this account that is still trusted
    holds_turn: bool = False

    @property
    def account(self) -> str:
        return ratelimit.client_key(f"staff:{self.username}")


def attempt_for(request: HttpRequest, *, username: str, device_token: str | None) -> StaffAttempt:
    username = username.strip().lower()
    device = None
    if device_token:
        user = User.objects.filter(username=username, role__in=STAFF_ROLES).first()
        if user is not None:
            device = devices.known_device(devices.STAFF, device_token, staff_device_subject(user))
        if device is not None and _count(_device_key(device)) >= _device_limit():
            device = None
    setattr(request, KNOWN_DEVICE_ATTRIBUTE, username if device else None)
    return StaffAttempt(username, ratelimit.client_key(client_address(request)), device)


def is_known_device_attempt(request: HttpRequest, credentials: dict[str, Any] | None) -> bool:
    """django-axes' whitelist: a known device's attempts are neither refused nor counted there
    (``record_failure`` counts them against the device)."""
    username = (credentials or {}).get("username")
    known = getattr(request, KNOWN_DEVICE_ATTRIBUTE, None)
    return bool(known) and isinstance(username, str) and username.strip().lower() == known


def axes_client_str(
    username: str | None, ip_address: str | None, user_agent: str, path_info: Any, request: Any
) -> str:
    """How django-axes names a client in its log lines: keyed hashes, no username or address."""
    return (
        f"{{account: {ratelimit.client_key(f'staff:{username}')[:8]}, "
        f"client: {ratelimit.client_key(ip_address or '')[:8]}}}"
    )


def check(request: HttpRequest, attempt: StaffAttempt) -> None:
    """Refuse this step (429) if the policy says so; otherwise it may check a secret."""
    if attempt.device is not None:
        return
    locked = TooManyRequests(locked_out_message(), retry_after=lockout_seconds(), code="locked_out")
    if _count(_client_key(attempt)) >= settings.STAFF_LOGIN_MAX_FAILURES_PER_CLIENT:
        raise locked
    if AxesProxyHandler.is_locked(request, {"username": attempt.username}):
        raise locked
    wait = _take_turn(attempt)
    if wait is not None:
        raise _delayed(wait)


def passed(attempt: StaffAttempt) -> None:
    """The step's secret was right: give back the turn it held, so its next step need not wait."""
    if attempt.holds_turn:
        cache.delete(_turn_key(attempt))
        attempt.holds_turn = False


def record_failure(attempt: StaffAttempt) -> None:
    """A wrong password or authenticator code (django-axes counts it through the
    ``user_login_failed`` signal)."""
    _increment(_client_key(attempt), lockout_seconds())
    failures = _increment(_failures_key(attempt), BACKOFF_WINDOW_SECONDS, refresh=True)
    if failures >= settings.STAFF_LOGIN_BACKOFF_AFTER:
        delay = _delay(failures)
        cache.set(_turn_key(attempt), time.time() + delay, timeout=delay)
    attempt.holds_turn = False
    if attempt.device is not None:
        _increment(_device_key(attempt.device), devices.lifetime_seconds())


def _delay(failures: int) -> int:
    steps = failures - settings.STAFF_LOGIN_BACKOFF_AFTER
    delay = BACKOFF_FIRST_DELAY_SECONDS * 2 ** min(steps, 30)
    return int(min(delay, settings.STAFF_LOGIN_BACKOFF_MAX_SECONDS))


def _take_turn(attempt: StaffAttempt) -> int | None:
    """None if this attempt may go ahead (taking the username's turn while backing off),
    else the seconds until the next turn."""
    failures = _count(_failures_key(attempt))
    if failures < settings.STAFF_LOGIN_BACKOFF_AFTER:
        return None
    delay = _delay(failures)
    now = time.time()
    if cache.add(_turn_key(attempt), now + delay, timeout=delay):
        attempt.holds_turn = True
        return None
    until = cache.get(_turn_key(attempt))
    if not isinstance(until, int | float):
        return 1
    return max(1, math.ceil(until - now))


def _count(key: str) -> int:
    value = cache.get(key)
    return int(value) if isinstance(value, int) else 0


def _increment(key: str, timeout: int, *, refresh: bool = False) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        count = int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        count = 1
    if refresh:
        cache.touch(key, timeout)
    return count


def _device_limit() -> int:
    return int(settings.STAFF_KNOWN_DEVICE_MAX_FAILURES)


def _client_key(attempt: StaffAttempt) -> str:
    return f"staff-login-failures:{attempt.client}"


def _failures_key(attempt: StaffAttempt) -> str:
    return f"staff-login-backoff:{attempt.account}"


def _turn_key(attempt: StaffAttempt) -> str:
    return f"staff-login-turn:{attempt.account}"


def _device_key(device: str) -> str:
    return f"staff-device-failures:{device}"
