"""The pre-call network test's server-side aiortc echo peer (being written)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


async def precall_offer(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=501)
