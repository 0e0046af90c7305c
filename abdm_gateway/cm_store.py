"""The consent manager's state, in the gateway's SQLite file (tables `cm_*`).

Link tokens and linked care contexts per ABHA and HIP; discovery/link transactions; consents
with their signed artefact and every notify sent about them; health-information transactions with
the key material the gateway generated, their pages and a result per entry. The decrypted content
of an entry is kept only until the consent's dataEraseAt (the sweep sets it to NULL). One
connection on one event loop: each statement is atomic with respect to the others.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS cm_link_tokens (
    token TEXT PRIMARY KEY, abha_number TEXT NOT NULL, hip_id TEXT NOT NULL,
    expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cm_links (
    abha_number TEXT NOT NULL, hip_id TEXT NOT NULL, patient_reference TEXT NOT NULL,
    patient_display TEXT NOT NULL, care_context_reference TEXT NOT NULL,
    care_context_display TEXT NOT NULL, hi_type TEXT NOT NULL, via TEXT NOT NULL,
    linked_at REAL NOT NULL, PRIMARY KEY (abha_number, hip_id, care_context_reference));
CREATE TABLE IF NOT EXISTS cm_requests (
    request_id TEXT PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL, note TEXT,
    sent_at REAL NOT NULL, answered_at REAL, answer TEXT);
CREATE TABLE IF NOT EXISTS cm_link_txns (
    id TEXT PRIMARY KEY, abha_number TEXT NOT NULL, hip_id TEXT NOT NULL, state TEXT NOT NULL,
    discovered TEXT, matched_by TEXT, link_ref TEXT, otp_expiry TEXT, linked TEXT, error TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cm_consents (
    id TEXT PRIMARY KEY, abha_number TEXT NOT NULL, hip_id TEXT NOT NULL, status TEXT NOT NULL,
    detail TEXT NOT NULL, signature TEXT, expires_at REAL NOT NULL, erase_at REAL NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cm_hi_txns (
    id TEXT PRIMARY KEY, consent_id TEXT NOT NULL, hip_id TEXT NOT NULL, client_id TEXT NOT NULL,
    private_key TEXT NOT NULL, public_key TEXT NOT NULL, nonce TEXT NOT NULL,
    date_from TEXT NOT NULL, date_to TEXT NOT NULL, erase_at REAL NOT NULL,
    state TEXT NOT NULL, session_status TEXT, error TEXT, page_count INTEGER,
    notify TEXT, requested_at REAL NOT NULL, acknowledged_at REAL, first_page_at REAL,
    notify_at REAL, completed_at REAL);
CREATE TABLE IF NOT EXISTS cm_hi_pages (
    txn_id TEXT NOT NULL, page_number INTEGER NOT NULL, page_count INTEGER NOT NULL,
    entries INTEGER NOT NULL, received_at REAL NOT NULL, PRIMARY KEY (txn_id, page_number));
CREATE TABLE IF NOT EXISTS cm_hi_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, txn_id TEXT NOT NULL, page_number INTEGER NOT NULL,
    position INTEGER NOT NULL, care_context_reference TEXT NOT NULL, media TEXT NOT NULL,
    decrypted INTEGER NOT NULL, tag_ok INTEGER NOT NULL, checksum_ok INTEGER NOT NULL,
    bundle_ok INTEGER NOT NULL, resource_types TEXT NOT NULL, title TEXT, date TEXT,
    problems TEXT NOT NULL, content TEXT, erased_at REAL);
"""

LINK_FIELDS = (
    "patient_reference",
    "patient_display",
    "care_context_reference",
    "care_context_display",
    "hi_type",
    "via",
    "linked_at",
)
LINK_TXN_FIELDS = (
    "id",
    "abha_number",
    "hip_id",
    "state",
    "discovered",
    "matched_by",
    "link_ref",
    "otp_expiry",
    "linked",
    "error",
    "created_at",
    "updated_at",
)
CONSENT_FIELDS = (
    "id",
    "abha_number",
    "hip_id",
    "status",
    "detail",
    "signature",
    "expires_at",
    "erase_at",
    "created_at",
    "updated_at",
)
HI_TXN_FIELDS = (
    "id",
    "consent_id",
    "hip_id",
    "client_id",
    "private_key",
    "public_key",
    "nonce",
    "date_from",
    "date_to",
    "erase_at",
    "state",
    "session_status",
    "error",
    "page_count",
    "notify",
    "requested_at",
    "acknowledged_at",
    "first_page_at",
    "notify_at",
    "completed_at",
)
ENTRY_FIELDS = (
    "page_number",
    "position",
    "care_context_reference",
    "media",
    "decrypted",
    "tag_ok",
    "checksum_ok",
    "bundle_ok",
    "resource_types",
    "title",
    "date",
    "problems",
    "content",
    "erased_at",
)
JSON_COLUMNS = {
    "discovered",
    "matched_by",
    "linked",
    "error",
    "detail",
    "notify",
    "resource_types",
    "problems",
    "answer",
}
BOOL_COLUMNS = {"decrypted", "tag_ok", "checksum_ok", "bundle_ok"}


def _row(fields: tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in zip(fields, values, strict=True):
        if name in JSON_COLUMNS and value is not None:
            out[name] = json.loads(value)
        elif name in BOOL_COLUMNS:
            out[name] = bool(value)
        else:
            out[name] = value
    return out


def _select(fields: tuple[str, ...], table: str, rest: str) -> str:
    return f"SELECT {', '.join(fields)} FROM {table} WHERE {rest}"  # noqa: S608 - names are ours


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


class CmStore:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        db.executescript(SCHEMA)

    # link tokens and links ---------------------------------------------------------------------
    def add_link_token(self, token: str, abha_number: str, hip_id: str, ttl_s: float) -> None:
        self.db.execute(
            "INSERT INTO cm_link_tokens (token, abha_number, hip_id, expires_at) VALUES (?,?,?,?)",
            (token, abha_number, hip_id, time.time() + ttl_s),
        )

    def link_token_valid(self, token: str, abha_number: str, hip_id: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM cm_link_tokens WHERE token = ? AND abha_number = ? AND hip_id = ?"
            " AND expires_at > ?",
            (token, abha_number, hip_id, time.time()),
        ).fetchone()
        return row is not None

    def add_links(
        self, abha_number: str, hip_id: str, patients: list[dict[str, Any]], *, via: str
    ) -> int:
        """Record each care context of `patients` (the wire's patient list) as linked."""
        count = 0
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for patient in patients:
                for context in patient["careContexts"]:
                    self.db.execute(
                        "INSERT INTO cm_links (abha_number, hip_id, patient_reference,"
                        " patient_display, care_context_reference, care_context_display, hi_type,"
                        " via, linked_at) VALUES (?,?,?,?,?,?,?,?,?)"
                        " ON CONFLICT DO UPDATE SET care_context_display = excluded."
                        "care_context_display, patient_display = excluded.patient_display",
                        (
                            abha_number,
                            hip_id,
                            patient["referenceNumber"],
                            patient.get("display") or "",
                            context["referenceNumber"],
                            context.get("display") or "",
                            patient.get("hiType") or "",
                            via,
                            now,
                        ),
                    )
                    count += 1
        return count

    def links(self, abha_number: str, hip_id: str | None = None) -> list[dict[str, Any]]:
        sql = _select(("hip_id", *LINK_FIELDS), "cm_links", "abha_number = ?")
        params: tuple[Any, ...] = (abha_number,)
        if hip_id is not None:
            sql += " AND hip_id = ?"
            params += (hip_id,)
        rows = self.db.execute(sql + " ORDER BY hip_id, linked_at, care_context_reference", params)
        return [_row(("hip_id", *LINK_FIELDS), r) for r in rows]

    # the requests the CM sent, and what answered them ------------------------------------------
    def add_request(self, request_id: str, kind: str, ref: str, note: str | None) -> None:
        self.db.execute(
            "INSERT INTO cm_requests (request_id, kind, ref, note, sent_at) VALUES (?,?,?,?,?)",
            (request_id, kind, ref, note, time.time()),
        )

    def answer_request(self, request_id: str, answer: dict[str, Any]) -> tuple[str, str] | None:
        """Mark a request answered; its (kind, ref), or None when the CM did not send it."""
        row = self.db.execute(
            "UPDATE cm_requests SET answered_at = ?, answer = ? WHERE request_id = ?"
            " RETURNING kind, ref",
            (time.time(), json.dumps(answer), request_id),
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def requests_for(self, ref: str) -> list[dict[str, Any]]:
        fields = ("request_id", "kind", "note", "sent_at", "answered_at", "answer")
        rows = self.db.execute(
            _select(fields, "cm_requests", "ref = ? ORDER BY sent_at"),
            (ref,),
        )
        return [_row(fields, r) for r in rows]

    # discovery and link transactions -----------------------------------------------------------
    def add_link_txn(self, txn_id: str, abha_number: str, hip_id: str) -> None:
        now = time.time()
        self.db.execute(
            "INSERT INTO cm_link_txns (id, abha_number, hip_id, state, created_at, updated_at)"
            " VALUES (?,?,?,'discovering',?,?)",
            (txn_id, abha_number, hip_id, now, now),
        )

    def update_link_txn(self, txn_id: str, **changes: Any) -> None:
        names = list(changes)
        values = [_json(changes[n]) if n in JSON_COLUMNS else changes[n] for n in names]
        sets = ", ".join(f"{n} = ?" for n in names)
        self.db.execute(
            f"UPDATE cm_link_txns SET {sets}, updated_at = ? WHERE id = ?",  # noqa: S608 - names are ours
            (*values, time.time(), txn_id),
        )

    def link_txn(self, txn_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            _select(LINK_TXN_FIELDS, "cm_link_txns", "id = ?"), (txn_id,)
        ).fetchone()
        return None if row is None else _row(LINK_TXN_FIELDS, row)

    def link_txns(self, abha_number: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            _select(LINK_TXN_FIELDS, "cm_link_txns", "abha_number = ? ORDER BY created_at DESC"),
            (abha_number,),
        )
        return [_row(LINK_TXN_FIELDS, r) for r in rows]

    # consents ----------------------------------------------------------------------------------
    def add_consent(
        self,
        *,
        consent_id: str,
        abha_number: str,
        hip_id: str,
        status: str,
        detail: dict[str, Any],
        signature: str | None,
        expires_at: float,
        erase_at: float,
    ) -> None:
        now = time.time()
        self.db.execute(
            "INSERT INTO cm_consents (id, abha_number, hip_id, status, detail, signature,"
            " expires_at, erase_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                consent_id,
                abha_number,
                hip_id,
                status,
                json.dumps(detail),
                signature,
                expires_at,
                erase_at,
                now,
                now,
            ),
        )

    def move_consent(self, consent_id: str, *, from_status: str, to_status: str) -> bool:
        """Compare-and-set the consent's status; False when it was not `from_status`."""
        changed = self.db.execute(
            "UPDATE cm_consents SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
            (to_status, time.time(), consent_id, from_status),
        ).rowcount
        return changed == 1

    def consent(self, consent_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            _select(CONSENT_FIELDS, "cm_consents", "id = ?"),
            (consent_id,),
        ).fetchone()
        return None if row is None else _row(CONSENT_FIELDS, row)

    def consents(self, abha_number: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            _select(CONSENT_FIELDS, "cm_consents", "abha_number = ? ORDER BY created_at DESC"),
            (abha_number,),
        )
        return [_row(CONSENT_FIELDS, r) for r in rows]

    def consents_past_expiry(self, now: float) -> list[str]:
        rows = self.db.execute(
            "SELECT id FROM cm_consents WHERE status = 'GRANTED' AND expires_at <= ?", (now,)
        )
        return [str(r[0]) for r in rows]

    # health-information transactions -----------------------------------------------------------
    def add_hi_txn(self, **values: Any) -> None:
        values = {**values, "state": "REQUESTED", "requested_at": time.time()}
        names = list(values)
        self.db.execute(
            f"INSERT INTO cm_hi_txns ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",  # noqa: S608 - names are ours
            tuple(values[n] for n in names),
        )

    def update_hi_txn(self, txn_id: str, **changes: Any) -> None:
        names = list(changes)
        values = [_json(changes[n]) if n in JSON_COLUMNS else changes[n] for n in names]
        sets = ", ".join(f"{n} = ?" for n in names)
        self.db.execute(
            f"UPDATE cm_hi_txns SET {sets} WHERE id = ?",  # noqa: S608 - names are ours
            (*values, txn_id),
        )

    def hi_txn(self, txn_id: str) -> dict[str, Any] | None:
        row = self.db.execute(_select(HI_TXN_FIELDS, "cm_hi_txns", "id = ?"), (txn_id,)).fetchone()
        return None if row is None else _row(HI_TXN_FIELDS, row)

    def hi_txns(self, consent_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            _select(HI_TXN_FIELDS, "cm_hi_txns", "consent_id = ? ORDER BY requested_at DESC"),
            (consent_id,),
        )
        return [_row(HI_TXN_FIELDS, r) for r in rows]

    def add_page(
        self, txn_id: str, page_number: int, page_count: int, entries: list[dict[str, Any]]
    ) -> bool:
        """Record a page and its entries' results; False if this page number came already."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    "INSERT INTO cm_hi_pages (txn_id, page_number, page_count, entries,"
                    " received_at) VALUES (?,?,?,?,?)",
                    (txn_id, page_number, page_count, len(entries), now),
                )
            except sqlite3.IntegrityError:
                return False
            for position, entry in enumerate(entries):
                self.db.execute(
                    "INSERT INTO cm_hi_entries (txn_id, " + ", ".join(ENTRY_FIELDS[:-1]) + ")"
                    " VALUES (?" + ",?" * (len(ENTRY_FIELDS) - 1) + ")",
                    (
                        txn_id,
                        page_number,
                        position,
                        entry["care_context_reference"],
                        entry["media"],
                        int(entry["decrypted"]),
                        int(entry["tag_ok"]),
                        int(entry["checksum_ok"]),
                        int(entry["bundle_ok"]),
                        json.dumps(entry["resource_types"]),
                        entry["title"],
                        entry["date"],
                        json.dumps(entry["problems"]),
                        entry["content"],
                    ),
                )
            self.db.execute(
                "UPDATE cm_hi_txns SET first_page_at = COALESCE(first_page_at, ?),"
                " page_count = ? WHERE id = ?",
                (now, page_count, txn_id),
            )
        return True

    def pages(self, txn_id: str) -> list[dict[str, Any]]:
        fields = ("page_number", "page_count", "entries", "received_at")
        rows = self.db.execute(
            _select(fields, "cm_hi_pages", "txn_id = ? ORDER BY page_number"),
            (txn_id,),
        )
        return [_row(fields, r) for r in rows]

    def entries(self, txn_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            _select(ENTRY_FIELDS, "cm_hi_entries", "txn_id = ? ORDER BY page_number, position"),
            (txn_id,),
        )
        return [_row(ENTRY_FIELDS, r) for r in rows]

    def erase_due(self, now: float) -> int:
        """Drop the decrypted content of every entry whose transaction is past dataEraseAt."""
        return self.db.execute(
            "UPDATE cm_hi_entries SET content = NULL, erased_at = ? WHERE content IS NOT NULL"
            " AND txn_id IN (SELECT id FROM cm_hi_txns WHERE erase_at <= ?)",
            (now, now),
        ).rowcount
