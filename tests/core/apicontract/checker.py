"""Real requests through the whole stack, each answer validated against the published schema.

``Contract.call`` sends one request as a persona (a real API token in ``Authorization``, as a
client generated from the schema would send it), finds the operation the schema declares for
it, and checks with openapi-core that

- the answer's status is declared for that operation, and its body, media type and declared
  headers (``Retry-After`` on 429, ``WWW-Authenticate`` on 401) match the declaration (and
  there is no body where the schema declares none);
- a request meant to be valid is valid by the schema (so a generated client can send it:
  a body the schema marks required but the server never needs is caught here);
- a personal answer is never cacheable (``Cache-Control: no-store``); only operations open to
  everyone may answer ``public``.

It records which statuses each operation gave, so a test can require every declared refusal
to have been seen.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast
from urllib.parse import urlencode

from django.http import HttpResponse
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils.cache import get_max_age
from knox.models import AuthToken
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIResponse
from openapi_core.testing import MockRequest

from accounts.models import User

_NO_BODY = object()
HOST_URL = "http://testserver"


def operations_of(schema: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``{operationId: (METHOD, path template)}`` for every operation the schema publishes."""
    found = {}
    for template, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete", "head", "options"}:
                found[operation["operationId"]] = (method.upper(), template)
    return found


def declared_statuses(schema: dict[str, Any], method: str, template: str) -> set[int]:
    responses = schema["paths"][template][method.lower()]["responses"]
    return {int(code) for code in responses}


def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def _explain(errors: Iterable[Exception]) -> str:
    lines = []
    for error in errors:
        lines.append(f"{type(error).__name__}: {error}")
        cause = error.__cause__ or error
        for detail in getattr(cause, "schema_errors", ()) or ():
            where = "/".join(str(p) for p in detail.absolute_path) or "(body)"
            lines.append(f"    at {where}: {detail.message}")
    return "\n".join(lines)


class Contract:
    def __init__(self, schema: dict[str, Any], openapi: OpenAPI) -> None:
        self.schema = schema
        self.openapi = openapi
        self.client = Client()
        self.operations = operations_of(schema)
        self._patterns = [
            (method, _template_pattern(template), operation_id)
            for operation_id, (method, template) in self.operations.items()
        ]
        self.seen: dict[str, set[int]] = defaultdict(set)
        self._tokens: dict[int, str] = {}

    def token_for(self, user: User) -> str:
        if user.pk not in self._tokens:
            self._tokens[user.pk] = AuthToken.objects.create(user)[1]
        return self._tokens[user.pk]

    def operation_for(self, method: str, path: str) -> str:
        for declared_method, pattern, operation_id in self._patterns:
            if declared_method == method and pattern.match(path):
                return operation_id
        raise AssertionError(f"the schema publishes no operation for {method} {path}")

    def declared(self, operation_id: str) -> set[int]:
        return declared_statuses(self.schema, *self.operations[operation_id])

    def call(
        self,
        method: str,
        path: str,
        *,
        expect: int | tuple[int, ...],
        user: User | None = None,
        json_body: Any = _NO_BODY,
        multipart: dict[str, Any] | None = None,
        raw: tuple[bytes, str] | None = None,
        query: dict[str, str] | None = None,
        conforming: bool | None = None,
        remote_addr: str = "10.9.0.1",
    ) -> Any:
        """Send the request and check the answer. ``expect`` is the status (or the statuses) it
        must give; ``conforming`` (default: unless a 400, 401 or 413 is expected) says the
        request itself must satisfy the schema."""
        method = method.upper()
        body, content_type = b"", ""
        if json_body is not _NO_BODY:
            body, content_type = json.dumps(json_body).encode(), "application/json"
        elif multipart is not None:
            body, content_type = encode_multipart(BOUNDARY, multipart), MULTIPART_CONTENT
        elif raw is not None:
            body, content_type = raw
        headers = {"Authorization": f"Token {self.token_for(user)}"} if user else {}
        url = f"{path}?{urlencode(query)}" if query else path
        extra: dict[str, Any] = {"REMOTE_ADDR": remote_addr}
        if user:
            extra["HTTP_AUTHORIZATION"] = headers["Authorization"]
        response = self.client.generic(
            method, url, data=body, content_type=content_type or "application/json", **extra
        )
        operation_id = self.operation_for(method, path)
        self.seen[operation_id].add(response.status_code)
        where = f"{method} {url} (as {user.role if user else 'nobody'})"
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, (
            f"{where}: expected {expect}, got {response.status_code}: {response.content[:600]!r}"
        )

        request = MockRequest(
            HOST_URL,
            method,
            path,
            args=query,
            headers=headers,
            data=body,
            content_type=content_type,
        )
        if conforming is None:
            conforming = not {400, 401, 413} & set(expected)
        if conforming:
            checked = self.openapi.unmarshal_request(request)
            assert not checked.errors, (
                f"{where}: the request breaks the schema:\n{_explain(checked.errors)}"
            )
        answer = self.openapi.unmarshal_response(
            request, DjangoOpenAPIResponse(cast(HttpResponse, response))
        )
        assert not answer.errors, (
            f"{where} answered {response.status_code} against the schema:\n"
            f"{_explain(answer.errors)}\nbody: {response.content[:800]!r}"
        )
        method_, template = self.operations[operation_id]
        declared = self.schema["paths"][template][method_.lower()]["responses"]
        if "content" not in declared[str(response.status_code)]:
            # openapi-core ignores a body the schema says is not there; a generated client would.
            assert not response.content, f"{where}: a body where the schema declares none"
        self._check_caching(operation_id, where, response)
        return response

    def _check_caching(self, operation_id: str, where: str, response: Any) -> None:
        method, template = self.operations[operation_id]
        operation = self.schema["paths"][template][method.lower()]
        open_to_all = operation.get("security") == [{}]
        cache_control = response.get("Cache-Control", "")
        if open_to_all and "public" in cache_control:
            assert (get_max_age(response) or 0) > 0, f"{where}: public without max-age"
            return
        assert "no-store" in cache_control and "private" in cache_control, (
            f"{where}: a personal answer must not be stored (Cache-Control: {cache_control!r})"
        )
