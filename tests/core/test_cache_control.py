"""No cache keeps patient data: pages, API answers and downloads are ``no-store``.

A browser's back button on a shared computer, a hospital's caching proxy or a CDN must never
hand one person's health data to the next. Only what is explicitly public (the reference data
API) and the static assets may be cached.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import User
from consultations.verify import verification_token
from queues.attachments import check_upload
from queues.models import Attachment
from queues.services.booking import book
from tests.core.apicontract.world import World

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# The only routes whose successful answers may be cached: non-personal reference data.
PUBLIC_ROUTES = {"api/states/", "api/states/<str:state_code>/districts/", "api/languages/"}


@pytest.fixture
def world(django_capture_on_commit_callbacks: Any) -> World:
    return World.build(django_capture_on_commit_callbacks)


def as_user(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def assert_not_stored(response: Any, where: str) -> None:
    cache_control = response.get("Cache-Control", "")
    directives = {d.strip() for d in cache_control.split(",")}
    assert {"no-store", "private"} <= directives, f"{where}: Cache-Control {cache_control!r}"
    assert "public" not in directives, where
    varies = {v.strip().lower() for v in response.get("Vary", "").split(",")}
    assert "cookie" in varies, f"{where}: Vary {response.get('Vary')!r}"


def test_it_keeps_personal_pages_api_answers_and_downloads_out_of_caches(world: World) -> None:
    prescription = world.signed()
    ticket = prescription.consultation.ticket
    upload = check_upload(SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf"))
    with world.run_on_commit(execute=True), transaction.atomic():
        book(
            account=world.patient,
            patient=world.child,
            opd=world.opd,
            complaint="Cough",
            uploads=[upload],
        )
    attachment = Attachment.objects.get()
    rx = prescription.public_id
    visits = {
        world.patient: [
            "/",
            "/family/",
            f"/family/{world.child.public_id}/edit/",
            "/book/",
            f"/book/{world.family.public_id}/",
            f"/waiting/{ticket.public_id}/",
            "/history/",
            f"/prescriptions/{rx}/pdf/",
            f"/prescriptions/{rx}/fhir/",
            f"/files/{attachment.public_id}/",
            "/api/me/",
            "/api/family/members/",
            "/api/tickets/",
            f"/api/tickets/{ticket.public_id}/",
            "/api/prescriptions/",
            f"/api/prescriptions/{rx}/",
        ],
        world.doctor.user: [
            "/staff/",
            "/console/",
            "/console/panel/",
            f"/consultations/{ticket.public_id}/",
            f"/call/{ticket.public_id}/",
            f"/prescriptions/{rx}/pdf/",
            "/api/console/",
            f"/api/consultations/{ticket.public_id}/",
        ],
        world.state_admin: ["/dashboard/", "/dashboard/per-day.csv", "/api/dashboards/live/"],
        None: [f"/verify/{verification_token(prescription)}/", "/signin/", "/staff/signin/"],
    }
    for user, paths in visits.items():
        client = as_user(user)
        for path in paths:
            response = client.get(path)
            where = f"GET {path} as {user.role if user else 'nobody'}"
            assert response.status_code == 200, f"{where}: {response.status_code}"
            assert_not_stored(response, where)


def _routes(patterns: list[Any], prefix: str = "") -> list[str]:
    """Every route of the URL configuration, as written (``family/<uuid:member_id>/edit/``)."""
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith("admin/"):
                found.extend(_routes(pattern.url_patterns, route))
        elif isinstance(pattern, URLPattern):
            found.append(route)
    return [*found, "admin/"] if not prefix else found


def _example_path(route: str) -> str:
    samples = {"uuid": str(uuid.uuid4()), "int": "1", "slug": "per-day", "str": "UP"}
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: samples.get(m.group(1) or "str", "x"), route)


def test_every_route_answers_no_store_unless_it_is_declared_public(world: World) -> None:
    """Whatever the answer (page, redirect to sign-in, 403, 404, 405), as whoever asks."""
    routes = _routes(get_resolver().url_patterns)
    assert len(routes) > 40 and "api/tickets/<uuid:ticket_id>/" in routes
    # Sign-out last, so each persona stays signed in for every other route.
    routes.sort(key=lambda route: route in {"signout/", "api/auth/logout/"})
    for user in (None, world.patient, world.doctor.user, world.national_admin):
        client = as_user(user)
        for route in routes:
            path = _example_path(route)
            for method in ("get", "post"):
                response = getattr(client, method)(path)
                where = f"{method.upper()} {path} as {user.role if user else 'nobody'}"
                if route in PUBLIC_ROUTES and response.status_code == 200:
                    assert "public" in response["Cache-Control"], where
                else:
                    assert_not_stored(response, where)


def test_reference_data_is_public_and_cacheable_but_its_refusals_are_not() -> None:
    for path in ("/api/states/", "/api/states/UP/districts/", "/api/languages/"):
        response = Client().get(path)
        assert response.status_code == 200
        assert response["Cache-Control"] == "public, max-age=3600", path
    assert_not_stored(Client().get("/api/states/ZZ/districts/"), "unknown state")


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_static_assets_keep_their_caching() -> None:
    response = Client().get("/static/css/site.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "public" in response["Cache-Control"]
