"""A family member's ABHA pages: link (ABHA number, ABHA address or mobile, then a code), compare
and confirm, unlink, the ABHA card, and create an ABHA with Aadhaar.

Patient accounts only, and only their own family's members (``family_member_for``: another
family's member is a 404). Each view finds the member, calls one service in
``abdm.abha_services`` and shows its refusal on the form. No JavaScript needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from abdm import abha_services as services
from abdm.abha import LoginMethod
from abdm.abha_forms import (
    ChooseAccountForm,
    EnrolOtpForm,
    EnrolStartForm,
    LinkStartForm,
    OtpForm,
)
from accounts.decorators import patient_page
from accounts.forms import add_service_error
from accounts.models import User
from core.errors import ServiceError
from patients.models import Patient
from patients.selectors import family_member_for


def _attempt(form: forms.Form, action: Callable[[], Any]) -> tuple[bool, Any]:
    """Run a service call; on refusal show it on the form. (succeeded, result)."""
    try:
        return True, action()
    except ServiceError as error:
        add_service_error(form, error)
        return False, None


def _checked_form(request: HttpRequest) -> forms.Form:
    """A form without fields, bound and checked, to carry a service's refusal on a page whose
    only input is its button."""
    form = forms.Form(request.POST or {})
    form.is_valid()
    return form


def _start_again(request: HttpRequest, member: Patient, error: ServiceError) -> HttpResponse:
    messages.error(request, error.message)
    return redirect("abha:home", member.public_id)


def _page(request: HttpRequest, template: str, member: Patient, **context: Any) -> HttpResponse:
    return render(request, f"abdm/abha/{template}", {"member": member, **context})


@patient_page
def home(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    return _page(request, "home.html", member)


# --- link ----------------------------------------------------------------------------------------
@patient_page
@require_http_methods(["GET", "POST"])
def link_start(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    form = LinkStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done, _result = _attempt(
            form,
            lambda: services.request_login_otp(
                session=request.session,
                account=account,
                member=member,
                method=LoginMethod(form.cleaned_data["method"]),
                identifier=form.cleaned_data["identifier"],
            ),
        )
        if done:
            return redirect("abha:otp", member.public_id)
    return _page(request, "link_start.html", member, form=form)


@patient_page
@require_http_methods(["GET", "POST"])
def otp(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    purpose = services.pending_purpose(request.session, member)
    if purpose not in {"link", "card"}:
        return redirect("abha:link", member.public_id)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            step = services.verify_login_otp(
                session=request.session, member=member, otp=form.cleaned_data["otp"]
            )
        except services.StartAgain as error:
            return _start_again(request, member, error)
        except ServiceError as error:
            add_service_error(form, error)
        else:
            return redirect(
                {"choose": "abha:choose", "card": "abha:card"}.get(step, "abha:confirm"),
                member.public_id,
            )
    return _page(request, "otp.html", member, form=form, purpose=purpose)


@patient_page
@require_http_methods(["GET", "POST"])
def choose(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    try:
        accounts = services.pending_accounts(request.session, member)
    except services.StartAgain as error:
        return _start_again(request, member, error)
    form = ChooseAccountForm(request.POST or None, accounts=accounts)
    if request.method == "POST" and form.is_valid():
        try:
            services.choose_account(
                session=request.session,
                member=member,
                abha_number=form.cleaned_data["abha_number"],
            )
        except services.StartAgain as error:
            return _start_again(request, member, error)
        except ServiceError as error:
            add_service_error(form, error)
        else:
            return redirect("abha:confirm", member.public_id)
    return _page(request, "choose.html", member, form=form)


@patient_page
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    form = _checked_form(request)
    try:
        comparison = services.link_preview(session=request.session, member=member)
    except services.StartAgain as error:
        return _start_again(request, member, error)
    except ServiceError as error:
        add_service_error(form, error)
        return _page(request, "confirm.html", member, form=form, comparison=None)
    if request.method == "POST":
        done, _result = _attempt(
            form,
            lambda: services.confirm_link(session=request.session, actor=account, member=member),
        )
        if done:
            messages.success(
                request,
                _("The ABHA %(number)s is now linked to %(name)s.")
                % {"number": comparison.display_abha_number, "name": member.name},
            )
            return redirect("patients:family")
    return _page(request, "confirm.html", member, form=form, comparison=comparison)


@patient_page
@require_http_methods(["GET", "POST"])
def unlink(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    if request.method == "POST":
        services.unlink(session=request.session, actor=account, member=member)
        messages.success(request, _("The ABHA was unlinked from %(name)s.") % {"name": member.name})
        return redirect("patients:family")
    return _page(request, "unlink.html", member)


# --- the card ------------------------------------------------------------------------------------
@patient_page
def card(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    if not member.abha_number:
        return redirect("abha:home", member.public_id)
    ready = services.card_token_ready(request.session, member)
    return _page(request, "card.html", member, ready=ready, form=forms.Form())


@patient_page
@require_POST
def card_otp(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    form = _checked_form(request)
    done, _result = _attempt(
        form,
        lambda: services.request_card_otp(session=request.session, account=account, member=member),
    )
    if done:
        return redirect("abha:otp", member.public_id)
    return _page(request, "card.html", member, ready=False, form=form)


@patient_page
def card_image(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    try:
        image, content_type = services.card(session=request.session, member=member)
    except ServiceError as error:
        return HttpResponse(error.message, status=error.status, content_type="text/plain")
    return HttpResponse(image, content_type=content_type)


# --- create with Aadhaar -------------------------------------------------------------------------
@patient_page
@require_http_methods(["GET", "POST"])
def create_start(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    if member.abha_number:
        return redirect("abha:home", member.public_id)
    form = EnrolStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done, _result = _attempt(
            form,
            lambda: services.request_enrolment_otp(
                session=request.session,
                account=account,
                member=member,
                aadhaar=form.cleaned_data["aadhaar"],
            ),
        )
        if done:
            return redirect("abha:create-otp", member.public_id)
    return _page(request, "create_start.html", member, form=form)


@patient_page
@require_http_methods(["GET", "POST"])
def create_otp(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    if services.pending_purpose(request.session, member) != "create":
        return redirect("abha:create", member.public_id)
    form = EnrolOtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.enrol(
                session=request.session,
                actor=account,
                member=member,
                otp=form.cleaned_data["otp"],
                mobile=form.cleaned_data["mobile"],
            )
        except services.StartAgain as error:
            messages.error(request, error.message)
            return redirect("abha:create", member.public_id)
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _("%(name)s now has the ABHA %(number)s, linked to their profile.")
                % {"name": member.name, "number": member.display_abha_number},
            )
            return redirect("abha:card", member.public_id)
    return _page(request, "create_otp.html", member, form=form)
