"""The consent manager's wiring: its HIP-call handlers, its data-push endpoint, its JSON admin API
under /_admin/cm (what tests and benches drive; the PHR page calls the same methods) and the
background sweep that expires consents and erases data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from abdm_gateway.abha_data import AbhaStore
from abdm_gateway.admission import Admitted, Refused
from abdm_gateway.cm import ConsentManager, Invalid, hyphenated, iso
from abdm_gateway.config import Config
from abdm_gateway.hiu import DATA_PUSH, HealthInformation
from abdm_gateway.keys import Keys
from abdm_gateway.outbox import Outbox
from abdm_gateway.store import Store

log = logging.getLogger("abdm_gateway.cm")

ADMIN = "/_admin/cm"
SWEEP_S = 0.5
Handler = Callable[[web.Application, Admitted, dict[str, Any]], Awaitable[None]]


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise Refused(400, "ABDM-1000", "The body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "ABDM-1000", "The body is not a JSON object")
    return body


def link_txn_view(txn: dict[str, Any]) -> dict[str, Any]:
    return {
        "transactionId": txn["id"],
        "abhaNumber": hyphenated(txn["abha_number"]),
        "hipId": txn["hip_id"],
        "state": txn["state"],
        "discovered": txn["discovered"],
        "matchedBy": txn["matched_by"],
        "linkRefNumber": txn["link_ref"],
        "communicationExpiry": txn["otp_expiry"],
        "linked": txn["linked"],
        "error": txn["error"],
        "createdAt": iso(txn["created_at"]),
        "updatedAt": iso(txn["updated_at"]),
    }


def links_view(cm: ConsentManager, abha_number: str) -> dict[str, Any]:
    person = cm.known_person(abha_number)
    hips: dict[str, list[dict[str, Any]]] = {}
    for link in cm.data.links(person.abha_number):
        hips.setdefault(link["hip_id"], []).append(
            {
                "patientReference": link["patient_reference"],
                "patientDisplay": link["patient_display"],
                "careContextReference": link["care_context_reference"],
                "display": link["care_context_display"],
                "hiType": link["hi_type"],
                "via": link["via"],
                "linkedAt": iso(link["linked_at"]),
            }
        )
    return {
        "abhaNumber": hyphenated(person.abha_number),
        "abhaAddress": person.abha_address,
        "hips": [{"hipId": h, "careContexts": c} for h, c in sorted(hips.items())],
    }


class CmAdmin:
    def __init__(self, cm: ConsentManager, hi: HealthInformation) -> None:
        self.cm, self.hi = cm, hi

    async def links(self, request: web.Request) -> web.Response:
        return web.json_response(links_view(self.cm, request.query.get("abhaNumber", "")))

    async def discover(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        started = self.cm.discover(
            abha_number=body.get("abhaNumber"), hip_id=body.get("hipId"), mr=body.get("mr")
        )
        return web.json_response(started, status=201)

    async def link_txn(self, request: web.Request) -> web.Response:
        return web.json_response(link_txn_view(self.cm.link_txn(request.match_info["txn"])))

    async def link_init(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        sent = self.cm.link_init(
            txn_id=request.match_info["txn"],
            care_contexts=body.get("careContexts"),
            patient=body.get("patient"),
        )
        return web.json_response(sent, status=202)

    async def link_confirm(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        sent = self.cm.link_confirm(txn_id=request.match_info["txn"], otp=body.get("otp"))
        return web.json_response(sent, status=202)

    async def consents(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            person = self.cm.known_person(request.query.get("abhaNumber", ""))
            ids = [c["id"] for c in self.cm.data.consents(person.abha_number)]
            return web.json_response([self.cm.consent(i) for i in ids])
        body = await json_body(request)
        status = str(body.get("status") or "GRANTED")
        if status not in ("GRANTED", "DENIED"):
            raise Invalid({"status": "GRANTED or DENIED"})
        return web.json_response(self.cm.grant(body, status=status), status=201)

    async def consent(self, request: web.Request) -> web.Response:
        return web.json_response(self.cm.consent(request.match_info["consent"]))

    async def revoke(self, request: web.Request) -> web.Response:
        return web.json_response(self.cm.end_consent(request.match_info["consent"], "REVOKED"))

    async def expire(self, request: web.Request) -> web.Response:
        return web.json_response(self.cm.end_consent(request.match_info["consent"], "EXPIRED"))

    async def data_request(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        sent = self.hi.request(request.match_info["consent"], body)
        return web.json_response(sent, status=201)

    async def transaction(self, request: web.Request) -> web.Response:
        return web.json_response(self.hi.transaction(request.match_info["txn"]))

    async def settings(self, request: web.Request) -> web.Response:
        store = self.cm.store
        if request.method == "POST":
            body = await json_body(request)
            if "linkTokenTtlSeconds" in body:
                ttl = body["linkTokenTtlSeconds"]
                if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
                    raise Invalid({"linkTokenTtlSeconds": "a whole number >= 0"}, 400)
                store.set_setting("cm_link_token_ttl_s", ttl)
        return web.json_response({"linkTokenTtlSeconds": self.cm.link_token_ttl()})


async def sweep_forever(cm: ConsentManager) -> None:
    while True:
        try:
            cm.sweep()
        except Exception:
            log.exception("the consent sweep failed")
        await asyncio.sleep(SWEEP_S)


def install(
    app: web.Application,
    *,
    config: Config,
    store: Store,
    keys: Keys,
    outbox: Outbox,
    handlers: dict[str, Handler],
    abha: AbhaStore,
) -> tuple[ConsentManager, HealthInformation]:
    """Play the consent manager on the gateway's app; the CM and HI objects (for the PHR page)."""
    cm = ConsentManager(config, store, keys, outbox, abha)
    hi = HealthInformation(cm, keys)
    handlers.update(
        {
            "/v3/token/generate-token": cm.on_generate_token,
            "/hip/v3/link/carecontext": cm.on_link_carecontext,
            "/user-initiated-linking/v3/patient/care-context/on-discover": cm.on_discover,
            "/user-initiated-linking/v3/link/care-context/on-init": cm.on_init,
            "/user-initiated-linking/v3/link/care-context/on-confirm": cm.on_confirm,
            "/consent/v3/request/hip/on-notify": cm.on_consent_ack,
            "/data-flow/v3/health-information/hip/on-request": hi.on_request,
            "/data-flow/v3/health-information/notify": hi.on_notify,
        }
    )
    admin = CmAdmin(cm, hi)
    router = app.router
    router.add_post(DATA_PUSH, hi.data_push)
    app.on_startup.append(hi.start)
    app.on_cleanup.append(hi.close)
    router.add_get(f"{ADMIN}/links", admin.links)
    router.add_post(f"{ADMIN}/discover", admin.discover)
    router.add_get(f"{ADMIN}/link-transactions/{{txn}}", admin.link_txn)
    router.add_post(f"{ADMIN}/link-transactions/{{txn}}/init", admin.link_init)
    router.add_post(f"{ADMIN}/link-transactions/{{txn}}/confirm", admin.link_confirm)
    router.add_route("*", f"{ADMIN}/consents", admin.consents)
    router.add_get(f"{ADMIN}/consents/{{consent}}", admin.consent)
    router.add_post(f"{ADMIN}/consents/{{consent}}/revoke", admin.revoke)
    router.add_post(f"{ADMIN}/consents/{{consent}}/expire", admin.expire)
    router.add_post(f"{ADMIN}/consents/{{consent}}/data-requests", admin.data_request)
    router.add_get(f"{ADMIN}/transactions/{{txn}}", admin.transaction)
    router.add_route("*", f"{ADMIN}/settings", admin.settings)

    async def sweeping(app: web.Application) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(sweep_forever(cm))
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper

    app.cleanup_ctx.append(sweeping)
    return cm, hi
