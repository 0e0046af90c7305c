"""The gateway's HTTP surface: ABDM's paths under /api/hiecm and the /_admin switches."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from abdm_gateway import abha, abha_phr, cm_admin, phr_page, registries, share
from abdm_gateway.admission import Admitted, Refused, admit, check_headers
from abdm_gateway.config import Config
from abdm_gateway.keys import Keys
from abdm_gateway.outbox import Outbox
from abdm_gateway.store import Store

log = logging.getLogger("abdm_gateway")

BASE = "/api/hiecm"
REFRESH_TTL_S = 24 * 3600

# The calls a HIP (or HIU) makes to the gateway, and whether the call must name its HIP.
HIP_CALLS: dict[str, bool] = {
    "/user-initiated-linking/v3/patient/care-context/on-discover": False,
    "/user-initiated-linking/v3/link/care-context/on-init": False,
    "/user-initiated-linking/v3/link/care-context/on-confirm": False,
    "/v3/token/generate-token": True,
    "/hip/v3/link/carecontext": True,
    "/consent/v3/request/hip/on-notify": False,
    "/data-flow/v3/health-information/hip/on-request": False,
    "/data-flow/v3/health-information/notify": False,
    "/patient-share/v3/on-share": False,
    "/consent/v3/request/init": False,
    "/consent/v3/request/status": False,
    "/consent/v3/fetch": False,
    "/data-flow/v3/health-information/request": False,
}

# Headers a call must carry besides ABDM's own (refused 400 before its REQUEST-ID is used).
REQUIRED_HEADERS: dict[str, tuple[str, ...]] = {"/hip/v3/link/carecontext": ("X-LINK-TOKEN",)}

# What a later flow (consent manager, ABHA service, HIP flows) does with an admitted call; it
# runs after the 202 is decided and may queue callbacks through the outbox.
Handler = Callable[[web.Application, Admitted, dict[str, Any]], Awaitable[None]]

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
KEYS = web.AppKey("keys", Keys)
OUTBOX = web.AppKey("outbox", Outbox)
HANDLERS = web.AppKey("handlers", dict[str, Handler])


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (an absent body is an empty one); anything else is a 400."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise Refused(400, "ABDM-1000", "The body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "ABDM-1000", "The body is not a JSON object")
    return body


@web.middleware
async def errors_and_log(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Refusals become ABDM's error body; one log line per call, without bodies or tokens."""
    started = time.monotonic()
    try:
        response = await handler(request)
    except Refused as refused:
        response = refused.response()
    log.info(
        "%s %s %s request_id=%s %.0fms",
        request.method,
        request.path,
        response.status,
        request.headers.get("REQUEST-ID", "-"),
        (time.monotonic() - started) * 1000,
    )
    return response


def injected_5xx(app: web.Application) -> None:
    if app[OUTBOX].take_fault("fail_5xx_next"):
        raise Refused(503, "ABDM-9999", "Injected gateway failure, try again")


# ABDM's paths ---------------------------------------------------------------------------------
async def sessions(request: web.Request) -> web.Response:
    app = request.app
    injected_5xx(app)
    config, store = app[CONFIG], app[STORE]
    check_headers(request, config)
    body = await read_json(request)
    grant = body.get("grantType")
    if grant == "refresh_token":
        client_id = store.use_refresh_token(str(body.get("refreshToken", "")))
        client = config.clients.get(client_id or "")
    elif grant == "client_credentials":
        client = config.clients.get(str(body.get("clientId", "")))
        if client is not None and not secrets.compare_digest(
            client.client_secret, str(body.get("clientSecret", ""))
        ):
            client = None
    else:
        raise Refused(400, "ABDM-1000", "grantType must be client_credentials or refresh_token")
    if client is None:
        raise Refused(401, "ABDM-1008", "Invalid client credentials")
    ttl = int(store.get_setting("token_ttl_s", config.token_ttl_s))
    refresh = secrets.token_urlsafe(32)
    store.add_refresh_token(refresh, client.client_id, time.time() + REFRESH_TTL_S)
    token = app[KEYS].sign({"clientId": client.client_id, "sub": client.client_id}, ttl)
    return web.json_response(
        {
            "accessToken": token,
            "expiresIn": ttl,
            "refreshExpiresIn": REFRESH_TTL_S,
            "refreshToken": refresh,
            "tokenType": "bearer",
        }
    )


async def certs(request: web.Request) -> web.Response:
    return web.json_response(request.app[KEYS].jwks())


async def bridge_url(request: web.Request) -> web.Response:
    app = request.app
    injected_5xx(app)
    body = await read_json(request)
    admitted = admit(
        request, body, config=app[CONFIG], keys=app[KEYS], store=app[STORE], hip_required=False
    )
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise Refused(400, "ABDM-1000", "url must be an http(s) URL")
    app[STORE].set_bridge_url(admitted.client.client_id, url)
    return web.Response(status=202)


def hip_call(path: str, hip_required: bool) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        app = request.app
        injected_5xx(app)
        body = await read_json(request)
        admitted = admit(
            request,
            body,
            config=app[CONFIG],
            keys=app[KEYS],
            store=app[STORE],
            hip_required=hip_required,
            required_headers=REQUIRED_HEADERS.get(path, ()),
        )
        handler = app[HANDLERS].get(path)
        if handler is not None:
            await handler(app, admitted, body)
        return web.Response(status=202)

    return handle


# the admin switches ----------------------------------------------------------------------------
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "pending": request.app[STORE].pending_count()})


async def faults(request: web.Request) -> web.Response:
    outbox = request.app[OUTBOX]
    if request.method == "GET":
        return web.json_response(outbox.faults())
    body = await read_json(request)
    try:
        return web.json_response(outbox.set_faults(body))
    except (ValueError, TypeError) as exc:
        raise Refused(400, "ABDM-1000", str(exc)) from None


async def deliveries(request: web.Request) -> web.Response:
    return web.json_response(request.app[STORE].deliveries())


async def drop_deliveries(request: web.Request) -> web.Response:
    """Give up every callback not delivered yet (tests, between one bridge and the next)."""
    return web.json_response({"dropped": request.app[STORE].drop_pending()})


async def callbacks(request: web.Request) -> web.Response:
    """Queue a callback by hand (tests, demos): what enqueue_callback does for later flows."""
    body = await read_json(request)
    try:
        request_id = request.app[OUTBOX].enqueue_callback(
            str(body["clientId"]),
            str(body["path"]),
            dict(body.get("body", {})),
            hip_id=body.get("hipId"),
            expects_reply=bool(body.get("expectsReply", True)),
        )
    except (KeyError, TypeError, ValueError):
        raise Refused(400, "ABDM-1000", "clientId (registered), path and body needed") from None
    return web.json_response({"requestId": request_id}, status=201)


async def rotate_key(request: web.Request) -> web.Response:
    return web.json_response({"kid": request.app[KEYS].rotate()})


async def retire_keys(request: web.Request) -> web.Response:
    body = await read_json(request)
    kid = body.get("kid")
    return web.json_response({"retired": request.app[KEYS].retire(kid)})


async def settings(request: web.Request) -> web.Response:
    body = await read_json(request)
    store = request.app[STORE]
    if "tokenTtlSeconds" in body:
        ttl = body["tokenTtlSeconds"]
        if not isinstance(ttl, int) or ttl < 0:
            raise Refused(400, "ABDM-1000", "tokenTtlSeconds must be a whole number >= 0")
        store.set_setting("token_ttl_s", ttl)
    return web.json_response(
        {"tokenTtlSeconds": store.get_setting("token_ttl_s", request.app[CONFIG].token_ttl_s)}
    )


def build(config: Config) -> web.Application:
    app = web.Application(middlewares=[errors_and_log])
    store = Store(config.data_dir)
    keys = Keys(store, issuer=config.issuer, grace_s=config.key_grace_s)
    app[CONFIG], app[STORE], app[KEYS] = config, store, keys
    app[OUTBOX] = Outbox(store, keys, config)
    app[HANDLERS] = {}
    abha_service = abha.install(app, config, store, keys)
    abha_phr.install(app, abha_service)
    phr_page.install(
        app,
        *cm_admin.install(
            app,
            config=config,
            store=store,
            keys=keys,
            outbox=app[OUTBOX],
            handlers=app[HANDLERS],
            abha=abha_service.data,
        ),
    )
    registries.install(app, config, keys)
    share.install(app, store.db, config, app[OUTBOX], app[HANDLERS])

    async def start_outbox(app: web.Application) -> None:
        await app[OUTBOX].start()

    async def stop_outbox(app: web.Application) -> None:
        await app[OUTBOX].stop()
        store.db.close()

    app.on_startup.append(start_outbox)
    app.on_cleanup.append(stop_outbox)
    app.router.add_post(f"{BASE}/gateway/v3/sessions", sessions)
    app.router.add_get(f"{BASE}/gateway/v3/certs", certs)
    app.router.add_patch(f"{BASE}/gateway/v3/bridge/url", bridge_url)
    for path, hip_required in HIP_CALLS.items():
        app.router.add_post(f"{BASE}{path}", hip_call(path, hip_required))
    app.router.add_get("/_admin/health", health)
    app.router.add_get("/_admin/faults", faults)
    app.router.add_post("/_admin/faults", faults)
    app.router.add_get("/_admin/deliveries", deliveries)
    app.router.add_post("/_admin/deliveries/drop", drop_deliveries)
    app.router.add_post("/_admin/callbacks", callbacks)
    app.router.add_post("/_admin/keys/rotate", rotate_key)
    app.router.add_post("/_admin/keys/retire", retire_keys)
    app.router.add_post("/_admin/settings", settings)
    return app
