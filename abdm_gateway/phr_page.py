"""The PHR app's page, `GET /phr/`: a person's side of the consent manager, server-rendered.

A person picks a demo ABHA, sees what is linked at each HIP, discovers and links records with the
OTP the HIP sent, grants, denies, revokes or expires consents, asks for the data and sees what
arrived. Every action is a POST form carrying the page's CSRF token and calls the same
ConsentManager / HealthInformation methods as the JSON admin API, then redirects back (303).
No JavaScript, no external assets; times are shown in IST. English only: it plays an outside app.
"""

from __future__ import annotations

import html
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from abdm_gateway.abha_data import DEMO_PROFILES, Person
from abdm_gateway.admission import Refused
from abdm_gateway.cm import HI_TYPES, PURPOSES, ConsentManager, Invalid, hyphenated, iso
from abdm_gateway.hiu import HealthInformation

PHR = "/phr"
IST = timezone(timedelta(hours=5, minutes=30), "IST")
CSRF_TTL_S = 3600
STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:.75rem;line-height:1.4}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ccc;padding:.3rem;
text-align:left;vertical-align:top}.scroll{overflow-x:auto}fieldset{margin:.5rem 0}
label{display:block;margin:.3rem 0}input,select,button{font-size:1rem;max-width:100%}
.inline label{display:inline-block;margin-right:1rem}.ok{color:#075e07}.bad{color:#a00000}
[role=alert]{border:2px solid #a00000;padding:.5rem}[role=status]{border:2px solid #075e07;
padding:.5rem}form.row{display:inline}section{margin-top:1.5rem}
"""

e = html.escape


def shown_time(value: str | float | None) -> str:
    """An ISO time or epoch seconds, in IST."""
    if value is None or value == "":
        return "—"
    if isinstance(value, float | int):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(IST).strftime("%d %b %Y, %H:%M IST")


def ist_day(value: str, *, end: bool, field: str) -> str:
    """A date typed in the form, as the start or the end of that day in IST (ISO, UTC)."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid({field: "a date, e.g. 2026-12-07"}) from None
    moment = datetime(day.year, day.month, day.day, tzinfo=IST)
    if end:
        moment += timedelta(days=1, milliseconds=-1)
    return str(iso(moment))


def checked(ok: bool) -> str:
    return '<span class="ok">passed</span>' if ok else '<span class="bad">failed</span>'


class PhrPage:
    def __init__(self, cm: ConsentManager, hi: HealthInformation) -> None:
        self.cm, self.hi = cm, hi
        self.tokens: dict[str, float] = {}

    # CSRF: a token per rendered page, good for an hour -------------------------------------------
    def new_token(self) -> str:
        now = time.time()
        self.tokens = {t: exp for t, exp in self.tokens.items() if exp > now}
        token = secrets.token_urlsafe(24)
        self.tokens[token] = now + CSRF_TTL_S
        return token

    def check_token(self, token: str) -> None:
        if self.tokens.get(token, 0) <= time.time():
            raise web.HTTPForbidden(text="This form has expired: reload the page and try again.")

    # rendering ---------------------------------------------------------------------------------
    def render(
        self, person: Person | None, *, notice: str = "", error: str = "", status: int = 200
    ) -> web.Response:
        token = self.new_token()
        parts = [self.chooser(person)]
        if error:
            parts.append(f'<p role="alert">{e(error)}</p>')
        if notice:
            parts.append(f'<p role="status">{e(notice)}</p>')
        if person is not None:
            parts += [
                self.linked(person),
                self.discover_form(person, token),
                self.linking(person, token),
                self.consent_form(person, token),
                self.consents(person, token),
            ]
        title = f"PHR — {person.name}" if person else "PHR app (offline ABDM)"
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{STYLE}</style></head><body>"
            "<header><h1>PHR app</h1><p>The offline ABDM gateway's consent manager, as a "
            "person's health-records app would show it (a demo tool).</p></header>"
            f"<main>{''.join(parts)}</main></body></html>"
        )
        return web.Response(text=page, content_type="text/html", status=status)

    @staticmethod
    def hidden(token: str, person: Person, **extra: str) -> str:
        fields = {"csrf": token, "abha": person.abha_number, **extra}
        return "".join(
            f'<input type="hidden" name="{k}" value="{e(v)}">' for k, v in fields.items()
        )

    def chooser(self, person: Person | None) -> str:
        options = "".join(
            f'<option value="{p.abha_number}"{" selected" if person == p else ""}>'
            f"{e(p.name)} — {hyphenated(p.abha_number)}</option>"
            for p in DEMO_PROFILES
        )
        return (
            f'<form method="get" action="{PHR}/"><label for="abha">Whose records</label>'
            f'<select id="abha" name="abha">{options}</select> <button>Open</button></form>'
        )

    def linked(self, person: Person) -> str:
        rows = "".join(
            f"<tr><td>{e(link['hip_id'])}</td><td>{e(link['care_context_display'])}<br>"
            f"<small>{e(link['care_context_reference'])}</small></td><td>{e(link['hi_type'])}</td>"
            f"<td>{'by the hospital' if link['via'] == 'hip' else 'by you'}</td>"
            f"<td>{shown_time(link['linked_at'])}</td></tr>"
            for link in self.cm.data.links(person.abha_number)
        )
        body = (
            '<div class="scroll"><table><thead><tr><th scope="col">HIP</th><th scope="col">'
            'Record</th><th scope="col">Type</th><th scope="col">Linked</th><th scope="col">'
            f"When</th></tr></thead><tbody>{rows}</tbody></table></div>"
            if rows
            else "<p>Nothing is linked yet.</p>"
        )
        return (
            f"<section><h2>{e(person.name)}</h2><p>ABHA {hyphenated(person.abha_number)}, "
            f"{e(person.abha_address)}</p><h3>Linked records</h3>{body}</section>"
        )

    def hip_select(self, field_id: str) -> str:
        options = "".join(f'<option value="{e(h)}">{e(h)}</option>' for h in self.cm.hip_ids())
        return (
            f'<label for="{field_id}">Hospital (HIP id)</label>'
            f'<select id="{field_id}" name="hipId">{options}</select>'
        )

    def discover_form(self, person: Person, token: str) -> str:
        return (
            "<section><h2>Find my records at a hospital</h2>"
            f'<form method="post" action="{PHR}/discover">{self.hidden(token, person)}'
            f"{self.hip_select('discover-hip')}"
            '<label for="mr">Patient ID at that hospital (optional)</label>'
            '<input id="mr" name="mr" autocomplete="off">'
            "<p><button>Find records</button></p></form></section>"
        )

    def linking(self, person: Person, token: str) -> str:
        items = []
        for txn in self.cm.data.link_txns(person.abha_number)[:5]:
            items.append(self.link_txn(person, txn, token))
        if not items:
            return ""
        return "<section><h2>Finding and linking</h2>" + "".join(items) + "</section>"

    def link_txn(self, person: Person, txn: dict[str, Any], token: str) -> str:
        hidden = self.hidden(token, person, txn=txn["id"])
        started = shown_time(txn["created_at"])
        state = txn["state"].replace("_", " ")
        out = [
            f"<article><h3>At {e(txn['hip_id'])}, started {started}</h3><p>State: {e(state)}</p>"
        ]
        if txn["error"]:
            out.append(
                f'<p class="bad">The hospital said: {e(str(txn["error"].get("message")))}</p>'
            )
        if txn["state"] == "discovered":
            boxes = "".join(
                f'<label><input type="checkbox" name="careContext" '
                f'value="{e(c["referenceNumber"])}" checked> {e(c.get("display") or "")} '
                f"<small>({e(c['referenceNumber'])})</small></label>"
                for p in txn["discovered"] or []
                for c in p.get("careContexts", [])
            )
            out.append(
                f'<form method="post" action="{PHR}/link-init">{hidden}<fieldset><legend>'
                f"Records found: choose what to link</legend>{boxes}</fieldset>"
                "<button>Link and send me an OTP</button></form>"
            )
        if txn["state"] == "otp_sent":
            otp_id = f"otp-{txn['id']}"
            out.append(
                f'<form method="post" action="{PHR}/link-confirm">{hidden}'
                f'<label for="{otp_id}">OTP sent by the hospital to your mobile</label>'
                f'<input id="{otp_id}" name="otp" inputmode="numeric" autocomplete="one-time-code"'
                " required> <button>Confirm</button></form>"
            )
        return "".join(out) + "</article>"

    def consent_form(self, person: Person, token: str) -> str:
        links = self.cm.data.links(person.abha_number)
        if not links:
            return ""
        today = datetime.now(IST).date()
        boxes = "".join(
            '<label><input type="checkbox" name="careContext" '
            f'value="{e(link["care_context_reference"])}">'
            f" {e(link['hip_id'])}: {e(link['care_context_display'])}</label>"
            for link in links
        )
        types = "".join(
            f'<label><input type="checkbox" name="hiType" value="{t}"'
            f"{' checked' if t in ('OPConsultation', 'Prescription') else ''}> {t}</label>"
            for t in HI_TYPES
        )
        purposes = "".join(f'<option value="{c}">{e(t)}</option>' for c, t in PURPOSES.items())

        def day(name: str, label: str, value: date) -> str:
            return (
                f'<label for="c-{name}">{label}</label>'
                f'<input type="date" id="c-{name}" name="{name}" value="{value}" required>'
            )

        return (
            "<section><h2>Give or refuse consent</h2>"
            f'<form method="post" action="{PHR}/consents">{self.hidden(token, person)}'
            f"{self.hip_select('consent-hip')}"
            "<fieldset><legend>Records (none ticked: all linked at that hospital)</legend>"
            f'{boxes}</fieldset><fieldset class="inline"><legend>Kinds of record</legend>{types}'
            f'</fieldset><label for="purpose">Purpose</label><select id="purpose" name="purpose">'
            f"{purposes}</select>"
            + day("from", "Records from", today - timedelta(days=365))
            + day("to", "Records to", today)
            + day("expires", "Consent ends on", today + timedelta(days=30))
            + day("erase", "Data deleted on", today + timedelta(days=30))
            + '<p><button name="decision" value="GRANTED">Grant</button> '
            '<button name="decision" value="DENIED">Deny</button></p></form></section>'
        )

    def consents(self, person: Person, token: str) -> str:
        items = []
        for row in self.cm.data.consents(person.abha_number):
            consent = self.cm.consent(row["id"])
            detail = consent["consentDetail"]
            hidden = self.hidden(token, person, consent=consent["consentId"])
            actions = ""
            if consent["status"] == "GRANTED":
                actions = "".join(
                    f'<form class="row" method="post" action="{PHR}/consent-{verb}">{hidden}'
                    f"<button>{label}</button></form> "
                    for verb, label in (
                        ("request", "Get the data"),
                        ("revoke", "Revoke"),
                        ("expire", "Expire now"),
                    )
                )
            span = detail["permission"]["dateRange"]
            items.append(
                f"<article><h3>{e(consent['status'].title())} for {e(consent['hipId'])}</h3>"
                f"<p>{e(', '.join(detail['hiTypes']))}; records {shown_time(span['from'])} to "
                f"{shown_time(span['to'])}; {e(detail['purpose']['text'])}; ends "
                f"{shown_time(consent['expiresAt'])}; data deleted "
                f"{shown_time(consent['dataEraseAt'])}.</p>"
                f"<p><small>Consent {e(consent['consentId'])}</small></p>{actions}"
                + "".join(self.transfer(t["id"]) for t in self.cm.data.hi_txns(row["id"]))
                + "</article>"
            )
        if not items:
            return ""
        return "<section><h2>Consents</h2>" + "".join(items) + "</section>"

    def transfer(self, txn_id: str) -> str:
        txn = self.hi.transaction(txn_id)
        rows = "".join(
            f"<tr><td>{e(entry['careContextReference'])}</td>"
            f"<td>{e(', '.join(entry['resourceTypes']))}</td>"
            f"<td>{e(entry['title'] or '—')}<br>{shown_time(entry['date'])}</td>"
            f"<td>tag {checked(entry['tagOk'])}, checksum {checked(entry['checksumOk'])}, "
            f"bundle {checked(entry['bundleOk'])}"
            + (f"<br><small>{e('; '.join(entry['problems']))}</small>" if entry["problems"] else "")
            + "</td></tr>"
            for entry in txn["entries"]
        )
        timings = txn["timings"]
        table = (
            '<div class="scroll"><table><thead><tr><th scope="col">Record</th><th scope="col">'
            'Contents</th><th scope="col">Title and date</th><th scope="col">Checks</th></tr>'
            f"</thead><tbody>{rows}</tbody></table></div>"
            if rows
            else ""
        )
        return (
            f"<h4>Data request of {shown_time(timings['requestSentAt'])}: "
            f"{e(txn['state'].lower())}</h4><p>First page {shown_time(timings['firstPageAt'])}; "
            f"hospital done {shown_time(timings['notifyAt'])}.</p>{table}"
        )

    # the page and its forms --------------------------------------------------------------------
    def person_of(self, value: str) -> Person | None:
        return self.cm.person(value) if value else None

    async def page(self, request: web.Request) -> web.Response:
        person = self.person_of(request.query.get("abha", ""))
        if request.query.get("abha") and person is None:
            return self.render(None, error="No such ABHA.", status=404)
        return self.render(person, notice=request.query.get("done", ""))

    def action(
        self, do: Callable[[Person, Any], str]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            form = await request.post()
            self.check_token(str(form.get("csrf", "")))
            person = self.person_of(str(form.get("abha", "")))
            if person is None:
                return self.render(None, error="Choose whose records first.", status=422)
            try:
                notice = do(person, form)
            except Refused as refused:
                fields = getattr(refused, "fields", None)
                message = "; ".join(fields.values()) if fields else refused.message
                return self.render(person, error=message, status=refused.status)
            query = urlencode({"abha": person.abha_number, "done": notice})
            raise web.HTTPSeeOther(f"{PHR}/?{query}")

        return handle

    def discover(self, person: Person, form: Any) -> str:
        self.cm.discover(
            abha_number=person.abha_number, hip_id=form.get("hipId"), mr=form.get("mr")
        )
        return "Asked the hospital for your records. Reload to see what it found."

    def link_init(self, person: Person, form: Any) -> str:
        txn = self.owned_txn(person, form)
        self.cm.link_init(txn_id=txn, care_contexts=form.getall("careContext", []))
        return "Asked the hospital to link them; it sends an OTP to your mobile."

    def link_confirm(self, person: Person, form: Any) -> str:
        self.cm.link_confirm(txn_id=self.owned_txn(person, form), otp=form.get("otp"))
        return "OTP sent to the hospital. Reload to see the records linked."

    def owned_txn(self, person: Person, form: Any) -> str:
        txn = self.cm.link_txn(str(form.get("txn", "")))
        if txn["abha_number"] != person.abha_number:
            raise Refused(404, "ABDM-1000", "No such link transaction")
        return str(txn["id"])

    def owned_consent(self, person: Person, form: Any) -> str:
        consent = self.cm.consent(str(form.get("consent", "")))
        if consent["abhaNumber"] != hyphenated(person.abha_number):
            raise Refused(404, "ABDM-1000", "No such consent")
        return str(consent["consentId"])

    def grant(self, person: Person, form: Any) -> str:
        decision = str(form.get("decision") or "GRANTED")
        if decision not in ("GRANTED", "DENIED"):
            raise Invalid({"decision": "Grant or Deny"})
        hip_id = str(form.get("hipId", ""))
        at_hip = {
            c["care_context_reference"] for c in self.cm.data.links(person.abha_number, hip_id)
        }
        chosen = [r for r in form.getall("careContext", []) if r in at_hip]
        consent = {
            "abhaNumber": person.abha_number,
            "hipId": hip_id,
            "careContexts": chosen or None,
            "hiTypes": form.getall("hiType", []),
            "purpose": form.get("purpose"),
            "dateRange": {
                "from": ist_day(str(form.get("from", "")), end=False, field="Records from"),
                "to": ist_day(str(form.get("to", "")), end=True, field="Records to"),
            },
            "expiresAt": ist_day(str(form.get("expires", "")), end=True, field="Consent ends on"),
            "dataEraseAt": ist_day(str(form.get("erase", "")), end=True, field="Data deleted on"),
        }
        self.cm.grant(consent, status=decision)
        return (
            "Consent granted: the hospital has been told."
            if decision == "GRANTED"
            else ("Consent denied: the hospital is told nothing.")
        )

    def consent_request(self, person: Person, form: Any) -> str:
        self.hi.request(self.owned_consent(person, form), {})
        return "Asked the hospital for the data. Reload to see what arrived."

    def consent_revoke(self, person: Person, form: Any) -> str:
        self.cm.end_consent(self.owned_consent(person, form), "REVOKED")
        return "Consent revoked: the hospital has been told."

    def consent_expire(self, person: Person, form: Any) -> str:
        self.cm.end_consent(self.owned_consent(person, form), "EXPIRED")
        return "Consent expired: the hospital has been told."

    def routes(self) -> Iterable[tuple[str, Callable[[Person, Any], str]]]:
        return (
            ("discover", self.discover),
            ("link-init", self.link_init),
            ("link-confirm", self.link_confirm),
            ("consents", self.grant),
            ("consent-request", self.consent_request),
            ("consent-revoke", self.consent_revoke),
            ("consent-expire", self.consent_expire),
        )


def install(app: web.Application, cm: ConsentManager, hi: HealthInformation) -> None:
    page = PhrPage(cm, hi)
    app.router.add_get(f"{PHR}/", page.page)
    for path, do in page.routes():
        app.router.add_post(f"{PHR}/{path}", page.action(do))
