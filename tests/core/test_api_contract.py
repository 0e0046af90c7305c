"""Every operation of the published schema, driven for real and checked against /api/schema/.

A client generated from the schema must work: each operation is called as the right persona
(success, and each refusal the schema declares), and every answer's status, headers and body
are validated against the declaration with openapi-core (``tests/core/apicontract``). A new
operation without a driver fails here, and so does a declared status no driver produced.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from openapi_core import OpenAPI

from tests.core.apicontract import (  # noqa: F401  (each module registers its drivers)
    accounts_ops,
    admin_ops,
    console_ops,
    family_ops,
    queue_ops,
    records_ops,
)
from tests.core.apicontract.checker import Contract, operations_of
from tests.core.apicontract.registry import DRIVERS
from tests.core.apicontract.world import World
from tests.faults import PrivateRedis, all_redis_on

# Every operation declares 503 (a backing service briefly away): a real outage produces it in
# test_outage_answers_match_the_schema rather than in each operation's driver.
OUTAGE = 503


@pytest.fixture(scope="module")
def published_schema(django_db_setup: None, django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


@pytest.fixture(scope="module")
def openapi(published_schema: dict[str, Any]) -> OpenAPI:
    # Building it validates the document itself against the OpenAPI 3 specification.
    return OpenAPI.from_dict(published_schema)


@pytest.fixture
def contract(published_schema: dict[str, Any], openapi: OpenAPI, db: None) -> Iterator[Contract]:
    yield Contract(published_schema, openapi)


@pytest.fixture
def world(db: None, django_capture_on_commit_callbacks: Any) -> World:
    return World.build(django_capture_on_commit_callbacks)


def test_the_schema_is_generated_without_guesses_or_warnings(tmp_path: Path) -> None:
    """drf-spectacular warns when it has to guess (an APIView without a declared response is
    published as "no response body"); --validate checks the document against OpenAPI 3."""
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )


def test_every_published_operation_is_driven(published_schema: dict[str, Any]) -> None:
    published = set(operations_of(published_schema))
    assert published - set(DRIVERS) == set(), (
        "operations without a driver in tests/core/apicontract"
    )
    assert set(DRIVERS) - published == set(), "drivers for operations the schema does not publish"


def test_every_operation_declares_the_error_envelope(published_schema: dict[str, Any]) -> None:
    envelope = "#/components/schemas/Error"
    for operation_id, (method, template) in operations_of(published_schema).items():
        responses = published_schema["paths"][template][method.lower()]["responses"]
        for status, response in responses.items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": envelope}, (operation_id, status)


@pytest.mark.parametrize("operation_id", sorted(DRIVERS))
def test_real_answers_match_the_schema(operation_id: str, contract: Contract, world: World) -> None:
    DRIVERS[operation_id](contract, world)
    seen = contract.seen[operation_id]
    assert any(200 <= status < 300 for status in seen), f"{operation_id}: no success driven"
    undriven = contract.declared(operation_id) - seen - {OUTAGE}
    assert not undriven, f"{operation_id} declares {sorted(undriven)} but no driver produced it"


def test_outage_answers_match_the_schema(contract: Contract, world: World, tmp_path: Path) -> None:
    """With Redis gone, requests that need it answer the declared 503: the envelope with
    ``unavailable`` and ``retry_after``, and a ``Retry-After`` header."""
    redis = PrivateRedis(tmp_path)
    redis.start()
    with all_redis_on(redis, key_prefix="contract-outage"):
        redis.stop()
        sign_in = {"username": world.doctor.user.username, "password": "not the password"}
        answers = [
            contract.call(
                "POST", "/api/auth/otp/request/", json_body={"mobile": "98765 12341"}, expect=OUTAGE
            ),
            contract.call(
                "POST", "/api/auth/staff/login/", json_body=sign_in, expect=OUTAGE, conforming=True
            ),
        ]
    for answer in answers:
        assert answer.json()["error"]["code"] == "unavailable"
        assert int(answer["Retry-After"]) == answer.json()["error"]["retry_after"] > 0
