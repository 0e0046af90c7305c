"""The one rule for a client's address: X-Forwarded-For is trusted only from PROXY_COUNT proxies."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.request import Request
from rest_framework.views import APIView

from core.api.throttling import AnonClientRateThrottle, ClientAddressThrottle
from core.http import client_address, socket_client_address
from tests.core.test_settings import VALID_SECRET_KEY, start_django

PEER = "10.0.0.5"

# (PROXY_COUNT, X-Forwarded-For as received, the client address that must be used)
CASES = [
    # Nothing trusts forwarded headers by default.
    (0, None, PEER),
    (0, "203.0.113.7", PEER),
    (0, "198.51.100.1, 203.0.113.7", PEER),
    # One proxy: the entry it appended (the right-most), never what the client wrote before it.
    (1, "203.0.113.7", "203.0.113.7"),
    (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),
    (1, "anything, at, all, 203.0.113.7", "203.0.113.7"),
    # Two proxies: the second entry from the right.
    (2, "198.51.100.1, 203.0.113.7, 10.1.1.1", "203.0.113.7"),
    # Fewer entries than proxies: the request did not come through them; the header proves nothing.
    (1, None, PEER),
    (2, "203.0.113.7", PEER),
    # Not an address (or a forged one), ports and IPv6 as proxies write them.
    (1, "not-an-ip", PEER),
    (1, "203.0.113.7:51234", "203.0.113.7"),
    (1, "[2001:db8::1]:443", "2001:db8::1"),
    (1, "2001:DB8::1", "2001:db8::1"),
]


@pytest.mark.parametrize(("proxies", "forwarded", "expected"), CASES)
def test_it_takes_the_client_from_a_request(proxies: int, forwarded: str | None, expected: str):
    request = RequestFactory().get("/", REMOTE_ADDR=PEER)
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    with override_settings(PROXY_COUNT=proxies):
        assert client_address(request) == expected


@pytest.mark.parametrize(("proxies", "forwarded", "expected"), CASES)
def test_it_applies_the_same_rule_to_a_socket_scope(
    proxies: int, forwarded: str | None, expected: str
):
    headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
    if forwarded is not None:
        headers.append((b"x-forwarded-for", forwarded.encode()))
    scope: dict[str, Any] = {"type": "websocket", "client": [PEER, 50000], "headers": headers}
    with override_settings(PROXY_COUNT=proxies):
        assert socket_client_address(scope) == expected


def test_a_header_sent_twice_counts_as_one_list_of_hops():
    scope = {
        "client": [PEER, 1],
        "headers": [(b"x-forwarded-for", b"198.51.100.1"), (b"X-Forwarded-For", b"203.0.113.7")],
    }
    with override_settings(PROXY_COUNT=1):
        assert socket_client_address(scope) == "203.0.113.7"


def test_a_socket_without_a_peer_is_unknown():
    assert socket_client_address({"client": None, "headers": []}) == "unknown"


class ThreePerMinute(AnonClientRateThrottle):
    rate = "3/min"


def _throttled(forwarded: str) -> bool:
    request = Request(RequestFactory().get("/", REMOTE_ADDR=PEER, HTTP_X_FORWARDED_FOR=forwarded))
    return not ThreePerMinute().allow_request(request, APIView())


def test_a_drf_throttle_is_not_reset_by_a_rotating_forwarded_header():
    assert [_throttled(f"198.51.100.{n}") for n in range(5)] == [False, False, False, True, True]


@override_settings(PROXY_COUNT=1)
def test_a_drf_throttle_behind_one_proxy_counts_the_address_the_proxy_appended():
    hops = [f"198.51.100.{n}, 203.0.113.7" for n in range(4)]
    assert [_throttled(forwarded) for forwarded in hops] == [False, False, False, True]
    assert _throttled("198.51.100.1, 203.0.113.8") is False


def _api_views() -> list[type[APIView]]:
    found: list[type[APIView]] = []

    def walk(patterns: list[Any]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view_class = getattr(pattern.callback, "cls", None)
                if isinstance(view_class, type) and issubclass(view_class, APIView):
                    found.append(view_class)

    walk(get_resolver().url_patterns)
    return found


def test_every_api_throttle_uses_the_client_address_rule():
    views = _api_views()
    assert views, "the URL map has API views"
    offenders = [
        f"{view.__module__}.{view.__name__}: {throttle.__name__}"
        for view in views
        for throttle in view.throttle_classes
        if not issubclass(throttle, ClientAddressThrottle)
    ]
    assert offenders == []


def test_a_negative_proxy_count_stops_start_up():
    result = start_django(SECRET_KEY=VALID_SECRET_KEY, PROXY_COUNT="-1")

    assert result.returncode != 0
    assert "PROXY_COUNT must be 0" in result.stderr
