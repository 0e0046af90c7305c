"""Family pages: the account holder's profile and their dependants."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import patient_page
from accounts.forms import add_service_error
from accounts.models import User
from core.errors import ServiceError
from patients import identifiers, services
from patients.forms import FamilyMemberForm
from patients.models import Patient
from patients.selectors import account_holder_of, family_for, family_member_for


def _checksum_warning(request: HttpRequest, member: Patient) -> None:
    if member.abha_number and not identifiers.abha_number_passes_checksum(member.abha_number):
        messages.warning(request, str(identifiers.ABHA_CHECKSUM_WARNING))


@patient_page
@require_http_methods(["GET", "POST"])
def welcome(request: HttpRequest, account: User) -> HttpResponse:
    """First sign-in: the account holder describes themself."""
    if account_holder_of(account) is not None:
        return redirect("patients:family")
    form = FamilyMemberForm(request.POST or None, holder=True)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.add_family_member(account=account, data=form.validated_data)
        except ServiceError as error:
            add_service_error(form, error)
        else:
            _checksum_warning(request, member)
            messages.success(
                request,
                _("Welcome, %(name)s. Your Patient ID is %(pid)s.")
                % {"name": member.name, "pid": member.display_patient_number},
            )
            next_url = request.session.pop("otp_next", "")
            return redirect(next_url or "patients:family")
    return render(request, "patients/welcome.html", {"form": form})


@patient_page
def family(request: HttpRequest, account: User) -> HttpResponse:
    members = list(family_for(account))
    if not any(m.is_account_holder for m in members):
        return redirect("patients:welcome")
    # The family's tokens are the waiting room's piece of this page ({% family_tokens %}).
    return render(request, "patients/family.html", {"members": members, "account": account})


@patient_page
@require_http_methods(["GET", "POST"])
def add_member(request: HttpRequest, account: User) -> HttpResponse:
    holder = account_holder_of(account)
    if holder is None:
        return redirect("patients:welcome")
    initial = {"state": holder.state.code, "preferred_language": holder.preferred_language.code}
    if holder.district:
        initial["district"] = str(holder.district.lgd_code)
    form = FamilyMemberForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.add_family_member(account=account, data=form.validated_data)
        except ServiceError as error:
            add_service_error(form, error)
        else:
            _checksum_warning(request, member)
            messages.success(
                request,
                _("%(name)s was added. Their Patient ID is %(pid)s.")
                % {"name": member.name, "pid": member.display_patient_number},
            )
            return redirect("patients:family")
    return render(request, "patients/member_form.html", {"form": form, "member": None})


@patient_page
@require_http_methods(["GET", "POST"])
def edit_member(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    form = FamilyMemberForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_family_member(member=member, data=form.validated_data)
        except ServiceError as error:
            add_service_error(form, error)
        else:
            _checksum_warning(request, member)
            messages.success(request, _("The profile was saved."))
            return redirect("patients:family")
    return render(request, "patients/member_form.html", {"form": form, "member": member})


@patient_page
@require_POST
def remove_member(request: HttpRequest, account: User, member_id: str) -> HttpResponse:
    member = family_member_for(account, member_id)
    try:
        services.remove_family_member(member=member)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("%(name)s was removed from your family.") % {"name": member.name}
        )
    return redirect("patients:family")
