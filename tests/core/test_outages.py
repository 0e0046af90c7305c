"""Writes while Redis is away (issue 9, item 20): a write that committed answers success, one
that did not answers 503 with ``Retry-After`` (the API in its envelope, pages with a page).

Redis here is a private ``redis-server`` holding this process's cache, channel layer and Celery
broker, stopped for real; PostgreSQL stays up.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import OtpChallenge
from core.outages import RETRY_AFTER_SECONDS
from core.views import server_error
from queues.models import Ticket
from tests.conftest import as_user
from tests.factories import PatientFactory
from tests.faults import PrivateRedis, all_redis_on, celery_broker
from tests.queues.conftest import make_opd

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROOT = Path(__file__).resolve().parents[2]
MOBILE = "98765 12399"


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        with all_redis_on(server, key_prefix="esj-outage-test"):
            yield server
    finally:
        server.stop()


@pytest.fixture
def api() -> APIClient:
    # What a client sees: Django's own answer to an exception, not the exception.
    return APIClient(raise_request_exception=False)


def request_code(api: APIClient):
    return api.post("/api/auth/otp/request/", {"mobile": MOBILE}, format="json")


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    error = response.json()["error"]
    assert error["code"] == "unavailable"
    assert error["retry_after"] == RETRY_AFTER_SECONDS
    assert error["message"]


def test_a_code_request_while_redis_is_down_answers_503_in_the_envelope(redis, api):
    redis.stop()
    assert_unavailable(request_code(api))
    assert not OtpChallenge.objects.exists()

    redis.start()
    assert request_code(api).status_code == 202


def test_a_code_that_cannot_be_handed_to_the_broker_is_not_kept(tmp_path, api, sms_outbox):
    broker = PrivateRedis(tmp_path)
    broker.start()
    broker.stop()  # the cache (shared Redis) answers; only the broker is away
    with celery_broker(broker.url):
        assert_unavailable(request_code(api))
    assert not OtpChallenge.objects.exists()
    assert sms_outbox == []

    # Told to try again, the caller is not then refused as asking too soon: nothing was sent.
    broker.start()
    with celery_broker(broker.url):
        assert request_code(api).status_code == 202
    assert OtpChallenge.objects.count() == 1


def test_a_booking_while_redis_is_down_is_booked_once(redis, api):
    family = PatientFactory()
    opd = make_opd("OT")
    booking = {"patient": str(family.public_id), "opd": str(opd.public_id), "complaint": "Fever"}
    redis.stop()

    response = as_user(api, family.account).post("/api/tickets/", booking, format="json")

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(public_id=response.json()["id"])
    assert ticket.status == Ticket.Status.WAITING
    again = api.post("/api/tickets/", booking, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_booked"


def test_a_booking_page_while_redis_is_down_books(redis, client):
    family = PatientFactory()
    opd = make_opd("OP")
    client.force_login(family.account)
    redis.stop()

    response = client.post(
        f"/book/{family.public_id}/", {"opd": str(opd.public_id), "complaint": "Cough"}
    )

    ticket = Ticket.objects.get(patient=family)
    assert response.status_code == 302
    assert response["Location"] == f"/waiting/{ticket.public_id}/"


def test_the_sign_in_page_while_redis_is_down_answers_a_503_page(redis, client):
    client.raise_request_exception = False
    redis.stop()

    response = client.post("/signin/", {"mobile": MOBILE})

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    assert "The service is briefly unavailable" in response.content.decode()
    assert not OtpChallenge.objects.exists()


@pytest.mark.parametrize(("path", "content_type"), [("/api/x/", "json"), ("/family/", "html")])
def test_an_outage_met_outside_a_view_answers_503_too(redis, rf, path, content_type):
    """A middleware (say, one reading the session) that meets the outage ends in Django's
    handler500, which Django calls while handling the error."""
    redis.stop()
    try:
        cache.get("anything")
    except Exception:
        response = server_error(rf.get(path))
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert content_type in response["Content-Type"]


def _on_commit_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "on_commit":
                yield node


def test_every_after_commit_callback_is_best_effort():
    """What runs after a commit must never turn a committed write into an error answer: each
    ``on_commit`` is robust (errors logged), and work that must happen goes through the outbox
    (``core.outbox``), written in the transaction."""
    fragile = []
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in {".venv", "tests", "bench", "node_modules"}:
            continue
        for call in _on_commit_calls(ast.parse(path.read_text(encoding="utf-8"))):
            robust = [k for k in call.keywords if k.arg == "robust"]
            if not robust or not (
                isinstance(robust[0].value, ast.Constant) and robust[0].value.value is True
            ):
                fragile.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert fragile == []
