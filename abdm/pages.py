"""The counter's Scan & Share QR code, for administrators to print (docs/abdm.md, "Scan & Share").

A patient scans it with an ABDM PHR app (the ABHA app, or any other), shares their profile, and
gets a token in that OPD's waiting room (``abdm/share.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

import qrcode
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from qrcode.image.svg import SvgPathImage

from abdm import selectors
from abdm.share_profile import counter_code, share_url
from accounts.models import User
from core import views as core_views

Page = Callable[..., HttpResponse]


def administrator_page(view: Page) -> Page:
    """Signed-in state and national administrators only; the view receives the account."""

    @login_required(login_url="accounts:staff-signin")
    @require_GET
    @never_cache
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not isinstance(user, User) or not user.is_administrator:
            return core_views.permission_denied(request)
        return view(request, user, *args, **kwargs)

    return wrapper


@administrator_page
def share_counters(request: HttpRequest, user: User) -> HttpResponse:
    opds = [(opd, counter_code(opd)) for opd in selectors.counter_opds_for(user)]
    return render(request, "abdm/share_counters.html", {"opds": opds})


@administrator_page
def share_counter(request: HttpRequest, user: User, opd_id: uuid.UUID) -> HttpResponse:
    opd = selectors.counter_opd_for(user, opd_id)
    if opd is None:
        return core_views.page_not_found(request)
    url = share_url(opd)
    svg = qrcode.make(url, image_factory=SvgPathImage, border=2).to_string(encoding="unicode")
    context = {"opd": opd, "code": counter_code(opd), "url": url, "qr_svg": mark_safe(svg)}  # noqa: S308 - qrcode's own SVG
    return render(request, "abdm/share_counter.html", context)
