"""One error envelope for the API; friendly pages for people."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_an_unknown_api_address_answers_in_the_envelope(client):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_an_unknown_page_answers_in_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_a_wrong_method_answers_in_the_envelope(client):
    response = client.get("/api/auth/otp/request/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_schema_describes_the_api(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/auth/otp/request/", "/api/family/members/", "/api/doctors/"):
        assert path in schema["paths"]


def test_the_api_docs_use_local_assets_only(client):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    # Every script, style and image comes from this server (a random CSRF token in the page may
    # contain any letters, so look at the addresses, not at the whole text).
    addresses = re.findall(r"""(?:src|href)\s*[=:]\s*["']([^"']+)["']""", page)
    assert any(a.endswith(".js") for a in addresses), addresses
    assert not [a for a in addresses if re.match(r"(https?:)?//", a)], addresses
    assert "//unpkg" not in page and "jsdelivr" not in page


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["Permissions-Policy"].startswith("camera=(self), microphone=(self)")
