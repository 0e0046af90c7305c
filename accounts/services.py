"""Staff sign-in (username, password, optional TOTP) and second-factor enrolment."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in, user_login_failed
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import STAFF_ROLES, User
from core import ratelimit
from core.errors import Invalid, TooManyRequests
from core.http import client_address


def lockout_seconds() -> int:
    return int(float(settings.AXES_COOLOFF_TIME) * 3600)


def locked_out_message() -> str:
    minutes = max(1, lockout_seconds() // 60)
    return ngettext(
        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    device: TOTPDevice | None = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device


def _client_failures_key(request: HttpRequest) -> str:
    return f"staff-login-failures:{ratelimit.client_key(client_address(request))}"


def check_staff_password(request: HttpRequest, *, username: str, password: str) -> User:
    """First step of staff sign-in. django-axes locks a username after repeated failures; a
    client address is locked after many more (see settings)."""
    locked = TooManyRequests(locked_out_message(), retry_after=lockout_seconds(), code="locked_out")
    failures = cache.get(_client_failures_key(request)) or 0
    if failures >= settings.STAFF_LOGIN_MAX_FAILURES_PER_CLIENT:
        raise locked
    user = authenticate(request, username=username.strip().lower(), password=password)
    if getattr(request, "axes_locked_out", False):
        raise locked
    if not isinstance(user, User) or user.role not in STAFF_ROLES:
        _count_client_failure(request)
        raise Invalid(_("The username or password is not right."), code="invalid_credentials")
    return user


def _count_client_failure(request: HttpRequest) -> None:
    key = _client_failures_key(request)
    cache.add(key, 0, timeout=lockout_seconds())
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=lockout_seconds())


def check_second_factor(
    request: HttpRequest, *, user: User, token: str | None
) -> TOTPDevice | None:
    """Second step: a TOTP code, required only for staff who enrolled a device."""
    device = confirmed_totp_device(user)
    if device is None:
        return None
    if not token:
        raise Invalid(
            _("Enter the 6-digit code from your authenticator app."),
            code="otp_required",
            fields={"otp": [_("This account needs a code from its authenticator app.")]},
        )
    verified, _wait = device.verify_is_allowed()
    if not verified or not device.verify_token(token.strip()):
        # Count a wrong second factor as a failed sign-in, so axes locks out guessing.
        user_login_failed.send(
            sender=__name__, credentials={"username": user.username}, request=request
        )
        raise Invalid(
            _("That authenticator code is not right."),
            code="otp_invalid",
            fields={"otp": [_("That authenticator code is not right.")]},
        )
    return device


def record_sign_in(request: HttpRequest, user: User) -> None:
    """For token clients, which never pass through ``django.contrib.auth.login``."""
    user_logged_in.send(sender=user.__class__, request=request, user=user)


def start_totp_enrolment(user: User) -> TOTPDevice:
    """A fresh unconfirmed device; any earlier unconfirmed one is discarded."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device: TOTPDevice = TOTPDevice.objects.create(
            user=user, name=_("Authenticator app"), confirmed=False
        )
    return device


def confirm_totp_enrolment(user: User, *, token: str) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        raise Invalid(_("Start the set-up again."), code="no_enrolment")
    if not device.verify_token(token.strip()):
        raise Invalid(
            _("That code is not right. Check the time on your phone and try again."),
            code="otp_invalid",
            fields={"otp": [_("That code is not right.")]},
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return device


def remove_totp(user: User, *, token: str) -> None:
    device = confirmed_totp_device(user)
    if device is None:
        return
    if not device.verify_token(token.strip()):
        raise Invalid(
            _("That code is not right."),
            code="otp_invalid",
            fields={"otp": [_("That code is not right.")]},
        )
    device.delete()
