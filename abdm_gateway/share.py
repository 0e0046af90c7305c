"""Scan & Share, played by the offline gateway: the PHR app's side of a counter's QR code.

`POST /_admin/share {"abhaAddress", "hipId", "context"}` stands for a person who scanned the
QR code of counter `context` at HIP `hipId` and agreed to share: the gateway builds the profile
from its ABHA registry and delivers `/api/v3/hip/patient/share` to the HIP's bridge through the
outbox (signed, retried). The HIP's `/patient-share/v3/on-share` reply is recorded and shown by
`GET /_admin/share/{requestId}`: what the PHR app would display (token, or the refusal). See
docs/abdm.md, "Scan & Share".
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from aiohttp import web

from abdm_gateway.abha_data import AbhaStore, Person
from abdm_gateway.admission import Admitted, Refused
from abdm_gateway.config import Config
from abdm_gateway.outbox import Outbox

SHARE_PATH = "/api/v3/hip/patient/share"
ON_SHARE = "/patient-share/v3/on-share"

SCHEMA = """
CREATE TABLE IF NOT EXISTS shares (
    request_id TEXT PRIMARY KEY, abha_address TEXT NOT NULL, hip_id TEXT NOT NULL,
    context TEXT NOT NULL, created_at REAL NOT NULL, answered_at REAL, answer TEXT);
"""


def hyphenated(number: str) -> str:
    return f"{number[:2]}-{number[2:6]}-{number[6:10]}-{number[10:]}"


def share_body(person: Person, hip_id: str, context: str) -> dict[str, Any]:
    """The profile share ABDM's gateway sends a HIP (ABDM.md, the M2 table)."""
    return {
        "intent": "PROFILE_SHARE",
        "metaData": {"hipId": hip_id, "context": context, "hprId": ""},
        "profile": {
            "patient": {
                "abhaNumber": hyphenated(person.abha_number),
                "abhaAddress": person.abha_address,
                "name": person.name,
                "gender": person.gender,
                "dayOfBirth": str(person.day),
                "monthOfBirth": str(person.month),
                "yearOfBirth": str(person.year),
                "address": {
                    "line": person.address,
                    "district": person.district_name,
                    "state": person.state_name,
                    "pincode": person.pincode,
                    "districtCode": person.district_code,
                    "stateCode": person.state_code,
                },
                "phoneNumber": person.mobile,
            }
        },
    }


def outcome(answer: dict[str, Any] | None) -> dict[str, Any]:
    """What the PHR app shows for a HIP's on-share (or PENDING while none came)."""
    if answer is None:
        return {"status": "PENDING"}
    acknowledgement = answer.get("acknowledgement")
    acknowledgement = acknowledgement if isinstance(acknowledgement, dict) else {}
    profile = acknowledgement.get("profile")
    profile = profile if isinstance(profile, dict) else {}
    return {
        "status": str(acknowledgement.get("status") or ("FAILED" if "error" in answer else "")),
        "tokenNumber": profile.get("tokenNumber"),
        "expiry": profile.get("expiry"),
        "error": answer.get("error"),
    }


class Shares:
    def __init__(self, db: sqlite3.Connection, config: Config, outbox: Outbox) -> None:
        self.db, self.config, self.outbox = db, config, outbox
        db.executescript(SCHEMA)
        self.abha = AbhaStore(db)

    async def start(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Refused(400, "ABDM-1000", "The body is not a JSON object")
        hip_id, context = str(body.get("hipId") or ""), str(body.get("context") or "")
        person = self.abha.account_by_address(str(body.get("abhaAddress") or ""))
        if person is None:
            raise Refused(400, "ABDM-1000", "abhaAddress is not an ABHA this gateway knows")
        client = self.config.client_for_hip(hip_id)
        if client is None:
            raise Refused(400, "ABDM-1004", "hipId is not a registered HIP")
        if not context:
            raise Refused(400, "ABDM-1000", "context (the counter code) is required")
        request_id = self.outbox.enqueue_callback(
            client.client_id, SHARE_PATH, share_body(person, hip_id, context), hip_id=hip_id
        )
        self.db.execute(
            "INSERT INTO shares (request_id, abha_address, hip_id, context, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (request_id, person.abha_address, hip_id, context, time.time()),
        )
        return web.json_response({"requestId": request_id}, status=201)

    async def show(self, request: web.Request) -> web.Response:
        row = self.db.execute(
            "SELECT request_id, abha_address, hip_id, context, answer FROM shares"
            " WHERE request_id = ?",
            (request.match_info["request_id"],),
        ).fetchone()
        if row is None:
            raise Refused(404, "ABDM-1000", "No share with this requestId")
        request_id, address, hip_id, context, answer = row
        return web.json_response(
            {
                "requestId": request_id,
                "abhaAddress": address,
                "hipId": hip_id,
                "context": context,
                **outcome(None if answer is None else json.loads(answer)),
            }
        )

    async def on_share(
        self, app: web.Application, admitted: Admitted, body: dict[str, Any]
    ) -> None:
        """The HIP's answer (admitted: it names a share we sent and was not answered yet)."""
        self.db.execute(
            "UPDATE shares SET answer = ?, answered_at = ? WHERE request_id = ?",
            (json.dumps(body), time.time(), admitted.reply_to),
        )


def install(
    app: web.Application,
    db: sqlite3.Connection,
    config: Config,
    outbox: Outbox,
    handlers: dict[str, Any],
) -> None:
    shares = Shares(db, config, outbox)
    app.router.add_post("/_admin/share", shares.start)
    app.router.add_get("/_admin/share/{request_id}", shares.show)
    handlers[ON_SHARE] = shares.on_share
