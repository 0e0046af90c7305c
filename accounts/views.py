"""Sign-in pages: patients by mobile and SMS code, staff by password and optional TOTP."""

from __future__ import annotations

import base64
import io
import time
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import devices, otp, services
from accounts.forms import (
    AuthenticatorCodeForm,
    CodeForm,
    MobileForm,
    StaffPasswordForm,
    add_service_error,
)
from accounts.holders import holder_name
from accounts.mobile import display_mobile
from accounts.models import User
from core.errors import ServiceError
from core.http import client_address

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
PENDING_STAFF_SECONDS = 300


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _signed_in_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _after_sign_in(request: HttpRequest, user: User) -> HttpResponseRedirect:
    if user.is_patient:
        if holder_name(user) is None:
            return redirect("patients:welcome")
        return redirect(_safe_next(request, reverse("patients:family")))
    return redirect(_safe_next(request, reverse("providers:staff-home")))


@require_http_methods(["GET", "POST"])
def patient_signin(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return _after_sign_in(request, _signed_in_user(request))
    form = MobileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        mobile = form.cleaned_data["mobile"]
        try:
            challenge = otp.request_code(
                mobile=mobile,
                client_address=client_address(request),
                device_token=devices.token_from(request, devices.PATIENT),
            )
        except ServiceError as error:
            add_service_error(form, error)
        else:
            request.session["otp_challenge"] = str(challenge.public_id)
            request.session["otp_mobile"] = mobile
            request.session["otp_next"] = _safe_next(request, "")
            return redirect("accounts:patient-code")
    return render(request, "accounts/patient_signin.html", {"form": form})


@require_http_methods(["GET", "POST"])
def patient_code(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return _after_sign_in(request, _signed_in_user(request))
    challenge_id = request.session.get("otp_challenge")
    mobile = request.session.get("otp_mobile")
    if not challenge_id or not mobile:
        return redirect("accounts:patient-signin")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sign_in = otp.verify_code(
                challenge_id=challenge_id,
                code=form.cleaned_data["code"],
                client_address=client_address(request),
            )
        except ServiceError as error:
            add_service_error(form, error, field="code")
            if "attempts_left" in error.extra:
                left = int(str(error.extra["attempts_left"]))
                messages.warning(
                    request,
                    ngettext(
                        "%(count)d attempt left for this code.",
                        "%(count)d attempts left for this code.",
                        left,
                    )
                    % {"count": left},
                )
        else:
            next_url = request.session.get("otp_next") or ""
            for key in ("otp_challenge", "otp_mobile", "otp_next"):
                request.session.pop(key, None)
            login(request, sign_in.user, backend=MODEL_BACKEND)  # rotates the session key
            if next_url:
                request.session["otp_next"] = next_url
            response = _after_sign_in(request, sign_in.user)
            held = devices.token_from(request, devices.PATIENT)
            devices.set_cookie(response, devices.PATIENT, otp.remember_device(sign_in.mobile, held))
            return response
    return render(
        request,
        "accounts/patient_code.html",
        {
            "form": form,
            "mobile": display_mobile(mobile),
            "masked": f"••••••{mobile[-4:]}",
            "minutes": settings.OTP_TTL_SECONDS // 60,
        },
    )


@require_POST
def patient_resend(request: HttpRequest) -> HttpResponse:
    mobile = request.session.get("otp_mobile")
    if not mobile:
        return redirect("accounts:patient-signin")
    try:
        challenge = otp.request_code(
            mobile=mobile,
            client_address=client_address(request),
            device_token=devices.token_from(request, devices.PATIENT),
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        request.session["otp_challenge"] = str(challenge.public_id)
        messages.success(request, _("A new code is on its way."))
    return redirect("accounts:patient-code")


def _staff_signed_in(request: HttpRequest, user: User) -> HttpResponse:
    """A complete staff sign-in: the session, and the cookie that makes this device known."""
    login(request, user, backend=MODEL_BACKEND)
    response = _after_sign_in(request, user)
    known = services.remember_staff_device(user, devices.token_from(request, devices.STAFF))
    devices.set_cookie(response, devices.STAFF, known)
    return response


@require_http_methods(["GET", "POST"])
def staff_signin(request: HttpRequest) -> HttpResponse:
    form = StaffPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.check_staff_password(
                request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                device_token=devices.token_from(request, devices.STAFF),
            )
        except ServiceError as error:
            add_service_error(form, error)
        else:
            if services.confirmed_totp_device(user) is None:
                return _staff_signed_in(request, user)
            request.session["staff_pending"] = {"user": str(user.public_id), "at": time.time()}
            target = _safe_next(request, "")
            query = f"?{urlencode({'next': target})}" if target else ""
            return redirect(reverse("accounts:staff-code") + query)
    return render(request, "accounts/staff_signin.html", {"form": form})


@require_http_methods(["GET", "POST"])
def staff_code(request: HttpRequest) -> HttpResponse:
    pending: dict[str, Any] | None = request.session.get("staff_pending")
    if not pending or time.time() - pending["at"] > PENDING_STAFF_SECONDS:
        request.session.pop("staff_pending", None)
        return redirect("accounts:staff-signin")
    user = User.objects.filter(public_id=pending["user"], is_active=True).first()
    if user is None:
        return redirect("accounts:staff-signin")
    form = AuthenticatorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.check_second_factor(
                request,
                user=user,
                token=form.cleaned_data["otp"],
                device_token=devices.token_from(request, devices.STAFF),
            )
        except ServiceError as error:
            add_service_error(form, error)
        else:
            request.session.pop("staff_pending", None)
            response = _staff_signed_in(request, user)
            if device is not None:
                otp_login(request, device)
            return response
    return render(request, "accounts/staff_code.html", {"form": form})


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The admin site signs in through staff sign-in, so an enrolled second factor applies."""
    target = _safe_next(request, "/admin/")
    return redirect(f"{reverse('accounts:staff-signin')}?{urlencode({'next': target})}")


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("home")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, remembered on the account of a signed-in user."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if user.is_authenticated and language in dict(settings.LANGUAGES):
        User.objects.filter(pk=user.pk).update(preferred_language=language)
    return response


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return base64.b64encode(buffer.getvalue()).decode()


@login_required(login_url="accounts:staff-signin")
@require_http_methods(["GET", "POST"])
def staff_security(request: HttpRequest) -> HttpResponse:
    """Set up, or remove, an authenticator app as a second sign-in factor."""
    user = _signed_in_user(request)
    if user.is_patient:
        return redirect("patients:family")
    form = AuthenticatorCodeForm(request.POST or None)
    action = request.POST.get("action")
    if request.method == "POST":
        if action == "start":
            services.start_totp_enrolment(user)
            return redirect("accounts:staff-security")
        if form.is_valid():
            try:
                if action == "confirm":
                    device = services.confirm_totp_enrolment(user, token=form.cleaned_data["otp"])
                    otp_login(request, device)
                    messages.success(
                        request, _("Your authenticator app is now required to sign in.")
                    )
                elif action == "remove":
                    services.remove_totp(user, token=form.cleaned_data["otp"])
                    messages.success(request, _("The authenticator app was removed."))
                return redirect("accounts:staff-security")
            except ServiceError as error:
                add_service_error(form, error)
    confirmed = services.confirmed_totp_device(user)
    pending = None if confirmed else TOTPDevice.objects.filter(user=user, confirmed=False).first()
    context: dict[str, Any] = {"form": form, "confirmed": confirmed, "pending": pending}
    if pending is not None:
        context["qr_svg"] = _qr_svg(pending.config_url)
        context["secret"] = base64.b32encode(pending.bin_key).decode()
    return render(request, "accounts/staff_security.html", context)
