"""Staff sign-in (username, password, optional TOTP) and second-factor enrolment; the patient
account of a verified mobile number."""

from __future__ import annotations

from django.contrib.auth import authenticate, user_logged_in, user_login_failed
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import devices, lockout
from accounts.models import STAFF_ROLES, User
from core.errors import Invalid, TooManyRequests


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    device: TOTPDevice | None = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device


def check_staff_password(
    request: HttpRequest, *, username: str, password: str, device_token: str | None = None
) -> User:
    """First step of staff sign-in, under the lock-out policy (accounts/lockout.py)."""
    attempt = lockout.attempt_for(request, username=username, device_token=device_token)
    lockout.check(request, attempt)
    user = authenticate(request, username=attempt.username, password=password)
    if not isinstance(user, User) or user.role not in STAFF_ROLES:
        lockout.record_failure(attempt)
        if getattr(request, "axes_locked_out", False):  # this failure reached axes' limit
            raise TooManyRequests(
                lockout.locked_out_message(),
                retry_after=lockout.lockout_seconds(),
                code="locked_out",
            )
        raise Invalid(_("The username or password is not right."), code="invalid_credentials")
    lockout.passed(attempt)
    return user


def check_second_factor(
    request: HttpRequest, *, user: User, token: str | None, device_token: str | None = None
) -> TOTPDevice | None:
    """Second step: a TOTP code, required only for staff who enrolled a device. The lock-out
    policy applies here too: a pending sign-in does not outlive a lock-out."""
    device = confirmed_totp_device(user)
    if device is None:
        return None
    if not token:
        raise Invalid(
            _("Enter the 6-digit code from your authenticator app."),
            code="otp_required",
            fields={"otp": [_("This account needs a code from its authenticator app.")]},
        )
    attempt = lockout.attempt_for(request, username=user.username, device_token=device_token)
    lockout.check(request, attempt)
    verified, _wait = device.verify_is_allowed()
    if not verified or not device.verify_token(token.strip()):
        # A wrong second factor is a failed sign-in: django-axes counts it through the signal.
        user_login_failed.send(
            sender=__name__, credentials={"username": user.username}, request=request
        )
        lockout.record_failure(attempt)
        raise Invalid(
            _("That authenticator code is not right."),
            code="otp_invalid",
            fields={"otp": [_("That authenticator code is not right.")]},
        )
    lockout.passed(attempt)
    return device


def remember_staff_device(user: User, device_token: str | None) -> str:
    """After a complete sign-in: the token that makes this device known to ``user``."""
    return devices.remember(devices.STAFF, device_token, lockout.staff_device_subject(user))


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


def patient_account_for(mobile: str) -> tuple[User, bool]:
    """The account of ``mobile`` (E.164, already verified as the caller's: by a one-time code,
    or by ABDM for an ABHA's mobile), created if there is none: ``(account, created)``. The
    caller checks that an existing account is an active patient account."""
    user = User.objects.filter(mobile=mobile).first()
    if user is not None:
        return user, False
    try:
        with transaction.atomic():
            return User.objects.create_patient_account(mobile), True
    except IntegrityError:  # created a moment ago by a parallel request
        return User.objects.get(mobile=mobile), False
