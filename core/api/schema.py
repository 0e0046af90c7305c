"""How the API describes itself (/api/schema/): every refusal an operation can give is declared,
in the one error envelope, so a client generated from the schema handles it.

``ApiSchema`` (the project's ``DEFAULT_SCHEMA_CLASS``) adds the refusals every operation of a
kind gives: 400 to one with a request body, 401 to one that needs a signed-in user (with
``WWW-Authenticate``), 403 to one limited to a role, 404 to one addressing an object by id,
and 503 with ``Retry-After`` to every one (a backing service briefly unreachable).
Views declare the rest themselves with ``refusal(...)`` (409s, 429s with ``Retry-After``, a
404 from a query parameter), next to the success response.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated


class ErrorBodySerializer(serializers.Serializer[Any]):
    code = serializers.CharField(
        help_text="Stable and machine-readable: invalid, not_found, not_authenticated, "
        "permission_denied, locked_out, otp_cooldown, already_booked, …"
    )
    message = serializers.CharField(help_text="For people, in the request's language")
    # DRF's serializer metaclass takes declared fields out of the class, so this field does not
    # hide ``Serializer.fields``; only the type checker sees a clash.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages per input that was refused ('medicines.0.dose' for nested input)",
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="429 and 503: seconds to wait (also the Retry-After header)"
    )
    attempts_left = serializers.IntegerField(
        required=False, help_text="otp_invalid: guesses left for this code"
    )
    next_opening = serializers.DateTimeField(
        required=False, allow_null=True, help_text="opd_closed: when the OPD opens next"
    )
    token = serializers.CharField(required=False, help_text="already_booked: the token held")
    ticket = serializers.UUIDField(required=False, help_text="already_booked: its id")


class ErrorSerializer(serializers.Serializer[Any]):
    """The one error envelope of every refusal: `{"error": {"code", "message", …}}`."""

    error = ErrorBodySerializer()


def refusal(description: str) -> OpenApiResponse:
    """A declared error response: the envelope, with what this status means here."""
    return OpenApiResponse(ErrorSerializer, description=description)


INVALID = "The input was refused (code `invalid`, messages per input in `fields`)."
NOT_SIGNED_IN = "Not signed in, or the token has expired or was revoked."
WRONG_ROLE = "Signed in, but this account's role may not do this."
NOT_FOUND = "No such object for this account (another account's looks the same)."
UNAVAILABLE = (
    "A service the request needs (PostgreSQL, Redis, the broker, or the access log) could not "
    "be reached, and nothing was changed: code `unavailable` (`audit_unavailable` when records "
    "could not be shown without recording the look); repeat after `Retry-After` seconds."
)

_HEADERS = [
    OpenApiParameter(
        "Retry-After",
        int,
        OpenApiParameter.HEADER,
        required=True,
        description="Seconds to wait before trying again",
        response=[429, 503],
    ),
    OpenApiParameter(
        "WWW-Authenticate",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description="How to authenticate: `Token` (send `Authorization: Token <token>`)",
        response=[401],
    ),
]


class ApiSchema(AutoSchema):
    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), *_HEADERS]

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status, description in self._common_refusals().items():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    refusal(description), str(status), direction=direction
                )
        return dict(sorted(responses.items()))

    def _common_refusals(self) -> dict[int, str]:
        refusals = {}
        if self.method in {"POST", "PUT", "PATCH"} and self.get_request_serializer() is not None:
            refusals[400] = INVALID
        permissions = self.view.get_permissions()
        if not all(isinstance(p, AllowAny) for p in permissions):
            refusals[401] = NOT_SIGNED_IN
        # A tuple, not ``A | B``: DRF's permission classes overload ``|`` to compose them.
        plain = (AllowAny, IsAuthenticated)
        if any(not isinstance(p, plain) for p in permissions):
            refusals[403] = WRONG_ROLE
        if "{" in self.path:
            refusals[404] = NOT_FOUND
        refusals[503] = UNAVAILABLE  # any request may meet an outage (core/outages.py)
        return refusals


def inline_nullable_references(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """A drf-spectacular post-processing hook: make nullable nested objects admit null.

    For a nullable nested serializer drf-spectacular writes ``{"allOf": [{"$ref": …}],
    "nullable": true}``, but in OpenAPI 3.0.3 ``nullable`` only takes effect beside a ``type`` in
    the same schema, so strict validators and clients refuse the null the API sends. Each such
    reference becomes a nullable copy of the object it points to.
    """
    components = result.get("components", {}).get("schemas", {})

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            target = node.get("allOf")
            if node.get("nullable") is True and isinstance(target, list) and len(target) == 1:
                name = str(target[0].get("$ref", "")).rsplit("/", 1)[-1]
                if name in components and "type" not in node:
                    beside = {k: v for k, v in node.items() if k != "allOf"}
                    node.clear()
                    node.update({**copy.deepcopy(components[name]), **beside})
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result.get("paths", {}))
    visit(components)
    return result
