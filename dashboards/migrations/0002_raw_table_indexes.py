"""Indexes on other apps' tables that only the dashboards' catch-up reads need.

``rollups.changed_slices`` asks every 30 s what changed since a moment, and reconciling or
rebuilding reads tickets by service day; without these, each of those is a scan of the largest
tables. They are created in SQL here (not in the owning models' ``Meta.indexes``) so that this
app can be added or dropped without touching the queue, consultation and notification models.
On PostgreSQL they are built ``CONCURRENTLY``: tickets keep being booked while they build.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEXES = (
    ("dash_ticket_status_changed", "queues_ticket", "status_changed_at"),
    ("dash_ticket_service_date", "queues_ticket", "service_date"),
    ("dash_shift_started", "queues_dutyshift", "started_at"),
    ("dash_shift_ended", "queues_dutyshift", "ended_at"),
    ("dash_rx_finalised", "consultations_prescription", "finalised_at"),
    ("dash_attempt_finished", "notifications_notificationattempt", "finished_at"),
    ("dash_notification_about", "notifications_notification", "about"),
)


def create(apps: Any, schema_editor: Any) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    quote = schema_editor.quote_name
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX {concurrently}IF NOT EXISTS {quote(name)} "
            f"ON {quote(table)} ({quote(column)})"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name, _table, _column in INDEXES:
        schema_editor.execute(
            f"DROP INDEX {concurrently}IF EXISTS {schema_editor.quote_name(name)}"
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("dashboards", "0001_initial"),
        ("queues", "0002_opds"),
        ("consultations", "0001_initial"),
        ("notifications", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
