"""Page decorators: who may open a page, decided once."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.models import User

PageView = Callable[..., HttpResponse]


def patient_page(view: PageView) -> PageView:
    """Signed-in patient accounts only; the view receives the account after the request.
    Staff who follow a patient link land on their own page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not isinstance(user, User) or not user.is_patient:
            return redirect("providers:staff-home")
        return view(request, user, *args, **kwargs)

    return wrapper
