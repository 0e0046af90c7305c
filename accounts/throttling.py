from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.lockout import locked_out_message, lockout_seconds
from core.api.errors import envelope


def axes_lockout_response(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """django-axes' answer to a locked-out client: the API envelope or the sign-in page."""
    seconds = lockout_seconds()
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            envelope("locked_out", locked_out_message(), retry_after=seconds), status=429
        )
    else:
        response = render(
            request, "accounts/locked_out.html", {"message": locked_out_message()}, status=429
        )
    response["Retry-After"] = str(seconds)
    return response
