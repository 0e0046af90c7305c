"""Page decorator for doctors' pages."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.decorators import PageView
from accounts.models import User
from providers.selectors import doctor_of


def doctor_page(view: PageView) -> PageView:
    """Signed-in doctors only; the view receives the Doctor after the request."""

    @login_required(login_url="accounts:staff-signin")
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        doctor = doctor_of(user) if isinstance(user, User) else None
        if doctor is None:
            return redirect("providers:staff-home")
        return view(request, doctor, *args, **kwargs)

    return wrapper
