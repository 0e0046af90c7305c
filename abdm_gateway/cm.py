"""The consent manager (and the PHR app behind it), played by the offline gateway.

What a person does in their PHR app becomes a call from the CM to the HIP's bridge through the
outbox (signed, retried, faults applied): discover, link init, link confirm, consent notify, and
(in hiu.py) the health-information request. What the HIP sends back arrives as an admitted HIP
call whose handler (`install` registers them in app[HANDLERS]) records it against the CM's own
request (`response.requestId`). HIP-initiated linking (generate-token, link/carecontext) is
answered here too. Wire shapes: docs/abdm.md, "The offline consent manager and PHR app".
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from abdm_gateway.abha_data import AbhaStore, Person
from abdm_gateway.admission import Admitted, Refused
from abdm_gateway.cm_store import CmStore
from abdm_gateway.config import Config
from abdm_gateway.keys import Keys
from abdm_gateway.outbox import Outbox
from abdm_gateway.store import Store

log = logging.getLogger("abdm_gateway.cm")

LINK_TOKEN_TTL_S = 30 * 60
HI_TYPES = (
    "OPConsultation",
    "Prescription",
    "DischargeSummary",
    "DiagnosticReport",
    "ImmunizationRecord",
    "HealthDocumentRecord",
    "WellnessRecord",
)
PURPOSES = {
    "CAREMGT": "Care Management",
    "BTG": "Break the Glass",
    "PUBHLTH": "Public Health",
    "HPAYMT": "Healthcare Payment",
    "DSRCH": "Disease Specific Healthcare Research",
    "PATRQT": "Self Requested",
}
PURPOSE_REF_URI = "http://terminology.hl7.org/ValueSet/v3-PurposeOfUse"

# The HIP's bridge paths the CM calls.
DISCOVER = "/api/v3/hip/patient/care-context/discover"
LINK_INIT = "/api/v3/hip/link/care-context/init"
LINK_CONFIRM = "/api/v3/hip/link/care-context/confirm"
CONSENT_NOTIFY = "/api/v3/consent/request/hip/notify"
ON_GENERATE_TOKEN = "/api/v3/hip/token/on-generate-token"  # noqa: S105 - a path
ON_CARECONTEXT = "/api/v3/link/on_carecontext"


class Invalid(Refused):
    """Bad input to a CM action: 422 (or another status) with a message per field."""

    def __init__(self, fields: dict[str, str], status: int = 422) -> None:
        super().__init__(status, "ABDM-1000", "; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields

    def error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fields": self.fields}

    def response(self) -> web.Response:
        return web.json_response({"error": self.error()}, status=self.status)


def iso(value: float | datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and Z, as on the wire."""
    if value is None:
        return None
    stamp = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
    return stamp.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any, field: str) -> datetime:
    """An ISO 8601 time (no zone = UTC) or a date (its midnight UTC)."""
    if isinstance(value, str) and value.strip():
        try:
            stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    raise Invalid({field: "must be an ISO 8601 time, e.g. 2026-12-07T10:00:00.000Z"})


def hyphenated(abha_number: str) -> str:
    n = abha_number
    return f"{n[:2]}-{n[2:6]}-{n[6:10]}-{n[10:]}"


def normal_name(name: Any) -> str:
    return " ".join(str(name or "").split()).casefold()


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def patient_list(value: Any, field: str = "patient") -> list[dict[str, Any]]:
    """The wire's `patient` list: [{referenceNumber, display?, careContexts: [{referenceNumber,
    display?}], hiType?, count?}], or Invalid (400)."""
    if not isinstance(value, list) or not value:
        raise Invalid({field: "must be a non-empty list"}, 400)
    for i, patient in enumerate(value):
        contexts = obj(patient).get("careContexts")
        if not isinstance(obj(patient).get("referenceNumber"), str) or not isinstance(
            contexts, list
        ):
            raise Invalid({f"{field}[{i}]": "needs referenceNumber and careContexts"}, 400)
        if not all(isinstance(obj(c).get("referenceNumber"), str) for c in contexts):
            raise Invalid({f"{field}[{i}].careContexts": "each needs a referenceNumber"}, 400)
    return value


# The health-information user a consent names unless the form names another (the PHR page and
# the admin API take hiuId, hiuName and requesterName).
DEMO_HIU = ("IN0910000162", "District Hospital, Lucknow (demo HIU)")
DEMO_REQUESTER = "Dr Asha Verma"


class ConsentManager:
    def __init__(
        self, config: Config, store: Store, keys: Keys, outbox: Outbox, abha: AbhaStore
    ) -> None:
        self.config, self.store, self.keys, self.outbox, self.abha = (
            config,
            store,
            keys,
            outbox,
            abha,
        )
        self.data = CmStore(store.db)

    # people and HIPs ---------------------------------------------------------------------------
    def person(self, abha_number: Any = None, abha_address: Any = None) -> Person | None:
        number = re.sub(r"\D", "", str(abha_number or ""))
        if number:
            return self.abha.account(number)
        if abha_address:
            return self.abha.account_by_address(str(abha_address))
        return None

    def known_person(self, abha_number: Any) -> Person:
        person = self.person(abha_number)
        if person is None:
            raise Invalid({"abhaNumber": "no such ABHA number"})
        return person

    def hip_ids(self) -> list[str]:
        return sorted(h for c in self.config.clients.values() for h in c.hip_ids)

    def client_of(self, hip_id: Any) -> str:
        client = self.config.client_for_hip(str(hip_id or ""))
        if client is None:
            raise Invalid({"hipId": "not a registered HIP"})
        return client.client_id

    def link_token_ttl(self) -> int:
        return int(self.store.get_setting("cm_link_token_ttl_s", LINK_TOKEN_TTL_S))

    def send(
        self,
        hip_id: str,
        path: str,
        body: dict[str, Any],
        *,
        kind: str,
        ref: str,
        note: str | None = None,
    ) -> str:
        """Queue a call to the HIP's bridge and remember what it was for; its REQUEST-ID."""
        request_id = self.outbox.enqueue_callback(
            self.client_of(hip_id), path, body, hip_id=hip_id, expects_reply=True
        )
        self.data.add_request(request_id, kind, ref, note)
        return request_id

    def answer(self, admitted: Admitted, body: dict[str, Any], kind: str) -> str | None:
        """The CM object (txn or consent id) a HIP's reply answers, or None.

        Like ABDM, the gateway has answered 202 once a call is admitted; a reply that answers
        none of the CM's requests of this kind (or names none) is logged and changes nothing.
        """
        sent = self.data.answer_request(admitted.reply_to, body) if admitted.reply_to else None
        if sent is None or sent[0] != kind:
            log.info("reply request_id=%s answers no %s request", admitted.request_id, kind)
            return None
        return sent[1]

    # HIP-initiated linking ---------------------------------------------------------------------
    def details_match(self, person: Person, body: dict[str, Any]) -> bool:
        address = str(body.get("abhaAddress") or "").strip().lower()
        return (
            normal_name(body.get("name")) == normal_name(person.name)
            and str(body.get("gender") or "") == person.gender
            and str(body.get("yearOfBirth") or "").strip() == str(person.year)
            and address in ("", person.abha_address)
        )

    async def on_generate_token(
        self, app: web.Application, admitted: Admitted, body: dict[str, Any]
    ) -> None:
        assert admitted.hip_id is not None  # required on this path (app.HIP_CALLS)
        person = self.person(body.get("abhaNumber"), body.get("abhaAddress"))
        reply: dict[str, Any] = {
            "abhaAddress": person.abha_address if person else str(body.get("abhaAddress") or ""),
            "response": {"requestId": admitted.request_id},
        }
        if person is None:
            reply["error"] = {"code": "ABDM-1114", "message": "ABHA not found"}
        elif not self.details_match(person, body):
            reply["error"] = {
                "code": "ABDM-1092",
                "message": "Name, gender or year of birth does not match the ABHA",
            }
        else:
            token = secrets.token_urlsafe(32)
            self.data.add_link_token(
                token, person.abha_number, admitted.hip_id, self.link_token_ttl()
            )
            reply["linkToken"] = token
        self.outbox.enqueue_callback(
            admitted.client.client_id,
            ON_GENERATE_TOKEN,
            reply,
            hip_id=admitted.hip_id,
            expects_reply=False,
        )

    async def on_link_carecontext(
        self, app: web.Application, admitted: Admitted, body: dict[str, Any]
    ) -> None:
        assert admitted.hip_id is not None
        person = self.person(body.get("abhaNumber"), body.get("abhaAddress"))
        token = admitted.headers.get("X-LINK-TOKEN", "")
        reply: dict[str, Any] = {
            "abhaAddress": person.abha_address if person else str(body.get("abhaAddress") or ""),
            "response": {"requestId": admitted.request_id},
        }
        try:
            patients = patient_list(body.get("patient"))
        except Invalid as bad:
            reply["error"] = bad.error()
        else:
            if person is None or not self.data.link_token_valid(
                token, person.abha_number, admitted.hip_id
            ):
                reply["error"] = {"code": "ABDM-1094", "message": "Invalid or expired link token"}
            else:
                self.data.add_links(person.abha_number, admitted.hip_id, patients, via="hip")
                reply["status"] = "Successfully Linked care context"
        self.outbox.enqueue_callback(
            admitted.client.client_id,
            ON_CARECONTEXT,
            reply,
            hip_id=admitted.hip_id,
            expects_reply=False,
        )

    # user-initiated linking (the PHR app) ------------------------------------------------------
    def discover(self, *, abha_number: Any, hip_id: Any, mr: Any = None) -> dict[str, str]:
        person = self.known_person(abha_number)
        hip = str(hip_id or "")
        self.client_of(hip)
        txn_id = str(uuid.uuid4())
        unverified = [{"type": "MR", "value": str(mr).strip()}] if mr and str(mr).strip() else []
        body = {
            "transactionId": txn_id,
            "patient": {
                "id": person.abha_address,
                "name": person.name,
                "gender": person.gender,
                "yearOfBirth": person.year,
                "verifiedIdentifiers": [
                    {"type": "MOBILE", "value": person.mobile},
                    {"type": "ABHA_NUMBER", "value": hyphenated(person.abha_number)},
                ],
                "unverifiedIdentifiers": unverified,
            },
        }
        self.data.add_link_txn(txn_id, person.abha_number, hip)
        request_id = self.send(hip, DISCOVER, body, kind="discover", ref=txn_id)
        return {"transactionId": txn_id, "requestId": request_id}

    def link_txn(self, txn_id: str) -> dict[str, Any]:
        txn = self.data.link_txn(txn_id)
        if txn is None:
            raise Refused(404, "ABDM-1000", "No such link transaction")
        return txn

    def link_init(
        self, *, txn_id: str, care_contexts: Any = None, patient: Any = None
    ) -> dict[str, str]:
        """Ask the HIP to link the chosen discovered care contexts (or a raw `patient` list)."""
        txn = self.link_txn(txn_id)
        if txn["state"] not in ("discovered", "otp_sent"):
            raise Invalid({"transactionId": f"cannot link in state {txn['state']}"}, 409)
        if patient is not None:
            chosen = patient_list(patient)
        else:
            chosen = self.chosen(txn["discovered"] or [], care_contexts)
        person = self.known_person(txn["abha_number"])
        body = {"transactionId": txn_id, "abhaAddress": person.abha_address, "patient": chosen}
        self.data.update_link_txn(txn_id, state="linking", error=None)
        request_id = self.send(txn["hip_id"], LINK_INIT, body, kind="link-init", ref=txn_id)
        return {"transactionId": txn_id, "requestId": request_id}

    @staticmethod
    def chosen(discovered: list[dict[str, Any]], refs: Any) -> list[dict[str, Any]]:
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
            raise Invalid({"careContexts": "choose at least one discovered care context"})
        wanted, out = set(refs), []
        for patient in discovered:
            contexts = [
                {"referenceNumber": c["referenceNumber"]}
                for c in patient.get("careContexts", [])
                if c.get("referenceNumber") in wanted
            ]
            if contexts:
                out.append(
                    {
                        "referenceNumber": patient["referenceNumber"],
                        "careContexts": contexts,
                        "hiType": patient.get("hiType") or "OPConsultation",
                        "count": len(contexts),
                    }
                )
                wanted -= {c["referenceNumber"] for c in contexts}
        if wanted:
            raise Invalid({"careContexts": f"not discovered: {', '.join(sorted(wanted))}"})
        return out

    def link_confirm(self, *, txn_id: str, otp: Any) -> dict[str, str]:
        txn = self.link_txn(txn_id)
        if txn["state"] != "otp_sent" or not txn["link_ref"]:
            raise Invalid({"transactionId": f"no OTP awaited in state {txn['state']}"}, 409)
        token = str(otp or "").strip()
        if not token:
            raise Invalid({"otp": "type the OTP the HIP sent"})
        body = {"confirmation": {"linkRefNumber": txn["link_ref"], "token": token}}
        self.data.update_link_txn(txn_id, state="confirming", error=None)
        request_id = self.send(txn["hip_id"], LINK_CONFIRM, body, kind="link-confirm", ref=txn_id)
        return {"transactionId": txn_id, "requestId": request_id}

    async def on_discover(self, app: web.Application, admitted: Admitted, body: Any) -> None:
        txn_id = self.answer(admitted, body, "discover")
        if txn_id is None:
            return
        if body.get("error"):
            self.data.update_link_txn(txn_id, state="not_found", error=body["error"])
            return
        try:
            patients = patient_list(body.get("patient"))
        except Invalid as bad:
            self.data.update_link_txn(txn_id, state="failed", error=bad.error())
            return
        self.data.update_link_txn(
            txn_id, state="discovered", discovered=patients, matched_by=body.get("matchedBy")
        )

    async def on_init(self, app: web.Application, admitted: Admitted, body: Any) -> None:
        txn_id = self.answer(admitted, body, "link-init")
        if txn_id is None:
            return
        link = obj(body.get("link"))
        if body.get("error") or not link.get("referenceNumber"):
            error = body.get("error") or {"message": "on-init carried no link.referenceNumber"}
            self.data.update_link_txn(txn_id, state="discovered", error=error)
            return
        self.data.update_link_txn(
            txn_id,
            state="otp_sent",
            link_ref=str(link["referenceNumber"]),
            otp_expiry=obj(link.get("meta")).get("communicationExpiry"),
        )

    async def on_confirm(self, app: web.Application, admitted: Admitted, body: Any) -> None:
        txn_id = self.answer(admitted, body, "link-confirm")
        if txn_id is None:
            return
        error = body.get("error")
        if error:
            retry = obj(error).get("code") == "ABDM-1035"  # a wrong OTP may be typed again
            self.data.update_link_txn(txn_id, state="otp_sent" if retry else "failed", error=error)
            return
        try:
            patients = patient_list(body.get("patient"))
        except Invalid as bad:
            self.data.update_link_txn(txn_id, state="failed", error=bad.error())
            return
        txn = self.link_txn(txn_id)
        self.data.add_links(txn["abha_number"], txn["hip_id"], patients, via="user")
        self.data.update_link_txn(txn_id, state="linked", linked=patients)

    # consents ----------------------------------------------------------------------------------
    def grant(self, form: dict[str, Any], *, status: str = "GRANTED") -> dict[str, Any]:
        """Record a consent (GRANTED or DENIED) from the person's choices; notify if granted."""
        person = self.known_person(form.get("abhaNumber"))
        hip_id = str(form.get("hipId") or "")
        self.client_of(hip_id)
        errors: dict[str, str] = {}
        linked = {link["care_context_reference"]: link for link in self.data.links(
            person.abha_number, hip_id
        )}  # fmt: skip
        refs = form.get("careContexts") or list(linked)
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            errors["careContexts"] = "must be a list of care context references"
        elif not refs:
            errors["careContexts"] = "nothing is linked at this HIP yet"
        elif set(refs) - set(linked):
            errors["careContexts"] = "not linked: " + ", ".join(sorted(set(refs) - set(linked)))
        hi_types = form.get("hiTypes") or []
        if not isinstance(hi_types, list) or not hi_types or set(hi_types) - set(HI_TYPES):
            errors["hiTypes"] = "choose one or more of " + ", ".join(HI_TYPES)
        purpose = str(form.get("purpose") or "CAREMGT")
        if purpose not in PURPOSES:
            errors["purpose"] = "one of " + ", ".join(PURPOSES)
        if errors:
            raise Invalid(errors)
        date_range = obj(form.get("dateRange"))
        start = parse_time(date_range.get("from"), "dateRange.from")
        end = parse_time(date_range.get("to"), "dateRange.to")
        now = datetime.now(UTC)
        expires = parse_time(form.get("expiresAt") or iso(now + timedelta(days=30)), "expiresAt")
        erase = parse_time(form.get("dataEraseAt") or iso(expires), "dataEraseAt")
        if end < start:
            raise Invalid({"dateRange.to": "must not be before dateRange.from"})
        if status == "GRANTED" and expires <= now:
            raise Invalid({"expiresAt": "must be in the future"})
        consent_id = str(uuid.uuid4())
        detail = {
            "schemaVersion": "v3",
            "consentId": consent_id,
            "createdAt": iso(now),
            "patient": {"id": person.abha_address},
            "careContexts": [
                {
                    "patientReference": linked[r]["patient_reference"],
                    "careContextReference": r,
                }
                for r in refs
            ],
            "purpose": {"text": PURPOSES[purpose], "code": purpose, "refUri": PURPOSE_REF_URI},
            "hip": {"id": hip_id, "name": str(form.get("hipName") or hip_id)},
            # Who will read the records: the HIU the person chose, and who asked for them.
            "hiu": {
                "id": str(form.get("hiuId") or DEMO_HIU[0]),
                "name": str(form.get("hiuName") or DEMO_HIU[1]),
            },
            "requester": {"name": str(form.get("requesterName") or DEMO_REQUESTER)},
            "consentManager": {"id": self.config.cm_id},
            "hiTypes": hi_types,
            "permission": {
                "accessMode": "VIEW",
                "dateRange": {"from": iso(start), "to": iso(end)},
                "dataEraseAt": iso(erase),
                "frequency": {"unit": "HOUR", "value": 1, "repeats": 0},
            },
        }
        signature = self.sign(detail) if status == "GRANTED" else None
        self.data.add_consent(
            consent_id=consent_id,
            abha_number=person.abha_number,
            hip_id=hip_id,
            status=status,
            detail=detail,
            signature=signature,
            expires_at=expires.timestamp(),
            erase_at=erase.timestamp(),
        )
        if status == "GRANTED":
            notification = {
                "status": "GRANTED",
                "consentId": consent_id,
                "consentDetail": detail,
                "signature": signature,
                "grantAcknowledgement": False,
            }
            self.send(
                hip_id,
                CONSENT_NOTIFY,
                {"notification": notification},
                kind="consent-notify",
                ref=consent_id,
                note="GRANTED",
            )
        return self.consent(consent_id)

    def sign(self, detail: dict[str, Any]) -> str:
        """RS256 over the consentDetail's canonical JSON (sorted keys, no spaces, UTF-8)."""
        canonical = json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return self.keys.sign_detached(canonical.encode())

    def end_consent(self, consent_id: str, status: str) -> dict[str, Any]:
        """REVOKED or EXPIRED: only a granted consent ends, and the HIP is told."""
        consent = self.consent(consent_id)
        if not self.data.move_consent(consent_id, from_status="GRANTED", to_status=status):
            raise Invalid({"consentId": f"the consent is {consent['status']}, not GRANTED"}, 409)
        self.send(
            consent["hipId"],
            CONSENT_NOTIFY,
            {"notification": {"status": status, "consentId": consent_id}},
            kind="consent-notify",
            ref=consent_id,
            note=status,
        )
        return self.consent(consent_id)

    def consent(self, consent_id: str) -> dict[str, Any]:
        consent = self.data.consent(consent_id)
        if consent is None:
            raise Refused(404, "ABDM-1000", "No such consent")
        notices = [
            {
                "requestId": r["request_id"],
                "status": r["note"],
                "sentAt": iso(r["sent_at"]),
                "acknowledgedAt": iso(r["answered_at"]),
                "acknowledgement": obj(r["answer"]).get("acknowledgement"),
            }
            for r in self.data.requests_for(consent_id)
        ]
        return {
            "consentId": consent["id"],
            "abhaNumber": hyphenated(consent["abha_number"]),
            "hipId": consent["hip_id"],
            "status": consent["status"],
            "consentDetail": consent["detail"],
            "signature": consent["signature"],
            "expiresAt": iso(consent["expires_at"]),
            "dataEraseAt": iso(consent["erase_at"]),
            "createdAt": iso(consent["created_at"]),
            "updatedAt": iso(consent["updated_at"]),
            "notifications": notices,
        }

    async def on_consent_ack(self, app: web.Application, admitted: Admitted, body: Any) -> None:
        self.answer(admitted, body, "consent-notify")

    def sweep(self, now: float | None = None) -> None:
        """Expire granted consents past expiry (notify EXPIRED); erase data past dataEraseAt."""
        now = time.time() if now is None else now
        for consent_id in self.data.consents_past_expiry(now):
            if self.data.move_consent(consent_id, from_status="GRANTED", to_status="EXPIRED"):
                consent = self.data.consent(consent_id)
                assert consent is not None
                self.send(
                    consent["hip_id"],
                    CONSENT_NOTIFY,
                    {"notification": {"status": "EXPIRED", "consentId": consent_id}},
                    kind="consent-notify",
                    ref=consent_id,
                    note="EXPIRED",
                )
        self.data.erase_due(now)
