"""Sockets open only from this deployment's own pages: scheme, host and port, for every route."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from core.socket_origin import origin_allowed
from esanjeevani.asgi import application
from esanjeevani.routing import websocket_urlpatterns

HOST = "127.0.0.1:8000"

# One address per socket route (the consumers behind them refuse the anonymous with 4401).
ROUTES = {
    "ws/waiting/<str:ticket>/": f"/ws/waiting/{uuid.uuid4()}/",
    "ws/console/": "/ws/console/",
    "ws/call/<str:room>/": f"/ws/call/{uuid.uuid4()}/?client={uuid.uuid4()}",
    "ws/dashboard/live/": "/ws/dashboard/live/",
}
FOREIGN_ORIGINS = [
    "http://127.0.0.1:9999",  # another port of our host
    "https://127.0.0.1",  # another scheme
    "http://localhost:1",  # another allowed host, on another port
    "https://127.0.0.1:8000",  # our host and port, other scheme
    "http://127.0.0.1",  # port 80
    "https://evil.example.com",
    "null",
    "http://127.0.0.1:8000.evil.example.com",
]


def handshake(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[bool, int | None]:
    """``(accepted, close code)``: the code of the close that follows an accepted handshake."""

    async def scenario() -> tuple[bool, int | None]:
        comm = WebsocketCommunicator(application, path, headers=headers)
        accepted, _ = await comm.connect()
        if not accepted:
            return False, None
        output = await comm.receive_output(timeout=3)
        while output["type"] != "websocket.close":
            output = await comm.receive_output(timeout=3)
        return True, output.get("code")

    return async_to_sync(scenario)()


def test_it_knows_every_socket_route() -> None:
    assert {str(route.pattern) for route in websocket_urlpatterns} == set(ROUTES)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ROUTES.values(), ids=ROUTES.keys())
@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_it_refuses_another_origin_at_the_handshake(path: str, origin: str) -> None:
    headers = [(b"host", HOST.encode()), (b"origin", origin.encode())]
    assert handshake(path, headers) == (False, None)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ROUTES.values(), ids=ROUTES.keys())
def test_it_lets_the_sites_own_pages_through_to_the_socket(path: str) -> None:
    for host in (HOST, "localhost:8000"):
        headers = [(b"host", host.encode()), (b"origin", f"http://{host}".encode())]
        # Through to the consumer, which refuses a socket without a session.
        assert handshake(path, headers) == (True, 4401)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ROUTES.values(), ids=ROUTES.keys())
def test_it_refuses_a_socket_without_origin_or_on_a_host_not_served(path: str) -> None:
    assert handshake(path, [(b"host", HOST.encode())]) == (False, None)
    not_ours = [(b"host", b"evil.example.com"), (b"origin", b"http://evil.example.com")]
    assert handshake(path, not_ours) == (False, None)


def scope(origin: str | None, host: str = HOST, **extra: object) -> dict[str, object]:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    for name, value in extra.items():
        headers.append((name.replace("_", "-").encode(), str(value).encode()))
    return {"type": "websocket", "headers": headers}


def test_behind_tls_the_origin_is_https(settings) -> None:
    settings.ALLOWED_HOSTS = ["esanjeevani.example.in"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    host = "esanjeevani.example.in"
    assert origin_allowed(scope(f"https://{host}", host, x_forwarded_proto="https"))
    assert not origin_allowed(scope(f"http://{host}", host, x_forwarded_proto="https"))
    assert origin_allowed(scope(f"http://{host}", host))  # plain ws: the http page
    assert not origin_allowed(scope(f"https://{host}", host))
    wss = {**scope(f"https://{host}", host), "scheme": "wss"}
    assert origin_allowed(wss)


def test_csrf_trusted_origins_are_trusted_with_their_scheme_and_port(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://portal.example.in", "https://*.nic.example.in"]
    assert origin_allowed(scope("https://portal.example.in"))
    assert origin_allowed(scope("https://portal.example.in:443"))
    assert not origin_allowed(scope("http://portal.example.in"))
    assert not origin_allowed(scope("https://portal.example.in:8443"))
    assert origin_allowed(scope("https://up.nic.example.in"))
    assert not origin_allowed(scope("http://up.nic.example.in"))
    assert not origin_allowed(scope("https://nic.example.in.evil.example.com"))
