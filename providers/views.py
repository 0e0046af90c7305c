"""The staff home ("My work"): a doctor's or an administrator's own profile, with the way to
their console or dashboard and to their sign-in security."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import User
from accounts.services import confirmed_totp_device
from providers.selectors import doctors_for


@login_required(login_url="accounts:staff-signin")
def staff_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if user.is_patient:
        return redirect("patients:family")
    doctor = doctors_for(user).filter(user=user).first()
    return render(
        request,
        "providers/staff_home.html",
        {"doctor": doctor, "second_factor": confirmed_totp_device(user) is not None},
    )
