"""The gateway's state in one SQLite file, so a killed gateway resumes its outbox and keys.

SQLite (stdlib) rather than memory: the gateway is a test double of a national service, and the
flows that test lost processes need the outbox, the request ids it saw and its signing keys to
survive a restart. The gateway runs one event loop, so one connection serves every handler and
each statement is atomic with respect to the others.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    kid TEXT PRIMARY KEY, private_pem TEXT NOT NULL, created_at REAL NOT NULL,
    retired_at REAL, active INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS bridge_urls (client_id TEXT PRIMARY KEY, url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen_requests (
    request_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, path TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sent_requests (
    request_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, path TEXT NOT NULL, answered_at REAL);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL, hip_id TEXT, path TEXT NOT NULL, body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL, created_at REAL NOT NULL, last_status INTEGER, last_error TEXT);
CREATE TABLE IF NOT EXISTS attempts (
    delivery_id INTEGER NOT NULL, at REAL NOT NULL, status INTEGER, error TEXT,
    duplicate INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Delivery:
    id: int
    request_id: str
    client_id: str
    hip_id: str | None
    path: str
    body: dict[str, Any]
    attempts: int
    created_at: float


class Store:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(data_dir / "gateway.sqlite3", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    # settings (faults, token lifetime) -------------------------------------------------------
    def get_setting(self, key: str, default: Any) -> Any:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    # keys ------------------------------------------------------------------------------------
    def published_keys(self, *, include_retired: bool = False) -> list[tuple[str, str, bool]]:
        """(kid, private PEM, active) of the keys in the JWKS, oldest first."""
        sql = "SELECT kid, private_pem, active FROM keys"
        if not include_retired:
            sql += " WHERE retired_at IS NULL"
        return [(k, p, bool(a)) for k, p, a in self.db.execute(sql + " ORDER BY created_at")]

    def add_key(self, kid: str, private_pem: str) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("UPDATE keys SET active = 0")
            self.db.execute(
                "INSERT INTO keys (kid, private_pem, created_at, active) VALUES (?, ?, ?, 1)",
                (kid, private_pem, time.time()),
            )

    def retire_keys(self, *, older_than: float | None, kid: str | None = None) -> list[str]:
        """Take inactive keys out of the JWKS: one by kid, or those rotated out before a time."""
        rows = self.db.execute(
            "SELECT kid, created_at FROM keys WHERE active = 0 AND retired_at IS NULL"
        ).fetchall()
        retired = [
            k
            for k, created in rows
            if (kid is not None and k == kid)
            or (kid is None and older_than is not None and created < older_than)
        ]
        for k in retired:
            self.db.execute("UPDATE keys SET retired_at = ? WHERE kid = ?", (time.time(), k))
        return retired

    # refresh tokens and bridges ----------------------------------------------------------------
    def add_refresh_token(self, token: str, client_id: str, expires_at: float) -> None:
        self.db.execute(
            "INSERT INTO refresh_tokens (token, client_id, expires_at) VALUES (?, ?, ?)",
            (token, client_id, expires_at),
        )

    def use_refresh_token(self, token: str) -> str | None:
        """The client a live refresh token belongs to; each refresh token serves once."""
        row = self.db.execute(
            "DELETE FROM refresh_tokens WHERE token = ? AND expires_at > ? RETURNING client_id",
            (token, time.time()),
        ).fetchone()
        return None if row is None else str(row[0])

    def set_bridge_url(self, client_id: str, url: str) -> None:
        self.db.execute(
            "INSERT INTO bridge_urls (client_id, url) VALUES (?, ?) "
            "ON CONFLICT (client_id) DO UPDATE SET url = excluded.url",
            (client_id, url),
        )

    def bridge_url(self, client_id: str) -> str | None:
        row = self.db.execute(
            "SELECT url FROM bridge_urls WHERE client_id = ?", (client_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    # request ids ---------------------------------------------------------------------------------
    def remember_request(self, request_id: str, client_id: str, path: str) -> bool:
        """False when this REQUEST-ID was seen before (the caller answers 429)."""
        try:
            self.db.execute(
                "INSERT INTO seen_requests (request_id, client_id, path, at) VALUES (?, ?, ?, ?)",
                (request_id, client_id, path, time.time()),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def sent_request_state(self, request_id: str, client_id: str) -> str:
        """'open', 'answered' or 'unknown' for a request the gateway sent to this client."""
        row = self.db.execute(
            "SELECT answered_at FROM sent_requests WHERE request_id = ? AND client_id = ?",
            (request_id, client_id),
        ).fetchone()
        if row is None:
            return "unknown"
        return "open" if row[0] is None else "answered"

    def mark_answered(self, request_id: str) -> None:
        self.db.execute(
            "UPDATE sent_requests SET answered_at = ? WHERE request_id = ?",
            (time.time(), request_id),
        )

    # the outbox ----------------------------------------------------------------------------------
    def enqueue(
        self,
        *,
        request_id: str,
        client_id: str,
        hip_id: str | None,
        path: str,
        body: dict[str, Any],
        expects_reply: bool,
    ) -> None:
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO deliveries (request_id, client_id, hip_id, path, body, next_at,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (request_id, client_id, hip_id, path, json.dumps(body), now, now),
            )
            if expects_reply:
                self.db.execute(
                    "INSERT INTO sent_requests (request_id, client_id, path) VALUES (?, ?, ?)",
                    (request_id, client_id, path),
                )

    def due(self, now: float) -> list[Delivery]:
        rows = self.db.execute(
            "SELECT id, request_id, client_id, hip_id, path, body, attempts, created_at"
            " FROM deliveries"
            " WHERE state = 'pending' AND next_at <= ? ORDER BY id",
            (now,),
        ).fetchall()
        return [Delivery(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows]

    def drop_pending(self) -> int:
        """Give up every delivery not made yet (an admin switch: a test's leftovers must not
        reach the next test's bridge). Returns how many."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db.execute(
                "UPDATE deliveries SET state = 'dropped' WHERE state = 'pending'"
            ).rowcount

    def pending_count(self) -> int:
        return int(
            self.db.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'pending'").fetchone()[0]
        )

    def next_due_at(self) -> float | None:
        row = self.db.execute(
            "SELECT MIN(next_at) FROM deliveries WHERE state = 'pending'"
        ).fetchone()
        return None if row is None else row[0]

    def record_attempt(
        self,
        delivery: Delivery,
        *,
        status: int | None,
        error: str | None,
        state: str,
        next_at: float,
        duplicate: bool = False,
    ) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO attempts (delivery_id, at, status, error, duplicate)"
                " VALUES (?, ?, ?, ?, ?)",
                (delivery.id, time.time(), status, error, int(duplicate)),
            )
            if not duplicate:
                self.db.execute(
                    "UPDATE deliveries SET state = ?, attempts = attempts + 1, next_at = ?,"
                    " last_status = ?, last_error = ? WHERE id = ? AND state != 'dropped'",
                    (state, next_at, status, error, delivery.id),
                )

    def deliveries(self) -> list[dict[str, Any]]:
        out = []
        for row in self.db.execute(
            "SELECT id, request_id, client_id, hip_id, path, state, attempts, last_status,"
            " last_error, created_at FROM deliveries ORDER BY id"
        ).fetchall():
            attempts = [
                {"at": a, "status": s, "error": e, "duplicate": bool(d)}
                for a, s, e, d in self.db.execute(
                    "SELECT at, status, error, duplicate FROM attempts WHERE delivery_id = ?"
                    " ORDER BY rowid",
                    (row[0],),
                )
            ]
            out.append(
                {
                    "id": row[0],
                    "requestId": row[1],
                    "clientId": row[2],
                    "hipId": row[3],
                    "path": row[4],
                    "state": row[5],
                    "attempts": row[6],
                    "lastStatus": row[7],
                    "lastError": row[8],
                    "createdAt": row[9],
                    "history": attempts,
                }
            )
        return out
