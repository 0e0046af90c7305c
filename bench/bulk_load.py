"""Loading tens of millions of rows: indexes and foreign keys off during the load, back after.

Keeping every index up to date row by row (random UUIDs, eleven indexes on a ticket) and
checking every foreign key row by row is what makes a large ``COPY`` slow. Instead the
secondary indexes, unique constraints and foreign keys of the tables being loaded (and the
foreign keys pointing at them) are dropped first and recreated afterwards from their own
definitions: built by sorting, and checked set-based, so every constraint still holds for every
row at the end. Primary keys stay (rows arrive in key order).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

logger = logging.getLogger("bench")

SESSION_SETTINGS = (
    "SET maintenance_work_mem = '1GB'",
    "SET max_parallel_maintenance_workers = 2",
    "SET work_mem = '256MB'",
    "SET synchronous_commit = off",
)


@dataclass(frozen=True)
class Definition:
    table: str
    name: str
    sql: str  # for a constraint: pg_get_constraintdef(); for an index: pg_get_indexdef()
    kind: str  # "fk", "unique" or "index"

    def create(self) -> str:
        if self.kind == "index":
            return self.sql
        return f'ALTER TABLE {self.table} ADD CONSTRAINT "{self.name}" {self.sql}'

    def drop(self) -> str:
        if self.kind == "index":
            return f'DROP INDEX "{self.name}"'
        return f'ALTER TABLE {self.table} DROP CONSTRAINT "{self.name}"'


def _definitions(conn: psycopg.Connection, tables: list[str]) -> list[Definition]:
    foreign_keys = conn.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), 'fk'
        FROM pg_constraint
        WHERE contype = 'f'
          AND (conrelid = ANY(%(t)s::regclass[]) OR confrelid = ANY(%(t)s::regclass[]))
        """,
        {"t": tables},
    ).fetchall()
    uniques = conn.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), 'unique'
        FROM pg_constraint WHERE contype = 'u' AND conrelid = ANY(%(t)s::regclass[])
        """,
        {"t": tables},
    ).fetchall()
    indexes = conn.execute(
        """
        SELECT i.indrelid::regclass::text, c.relname, pg_get_indexdef(i.indexrelid), 'index'
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = ANY(%(t)s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        """,
        {"t": tables},
    ).fetchall()
    return [Definition(*row) for row in [*foreign_keys, *uniques, *indexes]]


@contextmanager
def indexes_deferred(conn: psycopg.Connection, tables: list[str]) -> Iterator[dict[str, float]]:
    """Drop, yield, recreate (unique constraints, then indexes, then foreign keys).

    ``conn`` must be in autocommit mode. The dict yielded receives ``index_build_s``.
    """
    timings: dict[str, float] = {}
    for statement in SESSION_SETTINGS:
        conn.execute(statement)
    definitions = _definitions(conn, tables)
    for definition in definitions:
        conn.execute(definition.drop())
    logger.info("dropped %s indexes and constraints on %s", len(definitions), ", ".join(tables))
    yield timings
    started = time.monotonic()
    order = {"unique": 0, "index": 1, "fk": 2}
    for definition in sorted(definitions, key=lambda d: order[d.kind]):
        began = time.monotonic()
        conn.execute(definition.create())
        logger.info("  %s %s: %.1f s", definition.kind, definition.name, time.monotonic() - began)
    timings["index_build_s"] = round(time.monotonic() - started, 1)
    logger.info("recreated indexes and constraints in %.0f s", timings["index_build_s"])
