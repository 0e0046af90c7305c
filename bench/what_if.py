"""What-if patches for the claim bench: measure a suggested fix without editing the app.

Applied inside one claimer process only, after ``django.setup()``; never in the default run's
headline numbers (they are reported under ``what_if``). Names combine with ``+``.

- ``no_publish``: channel-layer sends do nothing (the ceiling if publishing were free).
- ``sync_publish``: one synchronous redis-py client per process, kept open, publishing the same
  bytes to the same pub/sub channel ``RedisPubSubChannelLayer.group_send`` would; instead of
  ``async_to_sync(group_send)``, which starts a thread, an event loop and a Redis connection
  for every message.
- ``scan_1``: ``CLAIM_SCAN = 1``: lock one row per claim instead of the first 50 (the same
  choice here, since every bench patient speaks a language every bench doctor speaks).
- ``sql_claim``: a sketch of a fast path: when the head of the queue is a patient the doctor
  can take (speaks the language, has not skipped), one SQL statement locks it, offers it,
  writes the event and stamps the doctor's presence; the doctor's open OPDs and languages are
  cached for a few seconds; the four messages go out in one pipelined Redis round trip.
  Anything else (several OPDs on duty, a head in another language…) falls back to the real
  ``claim_next_ticket``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

NAMES = ("no_publish", "sync_publish", "scan_1", "sync_publish+scan_1", "sql_claim")

CACHE_SECONDS = 5.0

SQL_CLAIM = """
WITH head AS (
    SELECT id FROM queues_ticket
    WHERE opd_id = %(opd)s AND status = 'waiting' AND patient_away_since IS NULL
    ORDER BY priority DESC, seq
    LIMIT 1
    FOR UPDATE SKIP LOCKED
), offered AS (
    UPDATE queues_ticket t
    SET status = 'offered', doctor_id = %(doctor)s, offer_expires_at = %(expires)s,
        status_changed_at = %(now)s
    FROM head
    WHERE t.id = head.id
      AND t.language_id = ANY(%(languages)s)
      AND NOT t.skipped_by @> jsonb_build_array(%(doctor)s::bigint)
    RETURNING t.id, t.opd_id, t.priority, t.seq, t.public_id
), event AS (
    INSERT INTO queues_ticketevent (ticket_id, kind, at, doctor_id, detail)
    SELECT id, 'offered', %(now)s, %(doctor)s, '{}'::jsonb FROM offered
), presence AS (
    UPDATE queues_doctorpresence SET last_assigned_at = %(now)s
    WHERE doctor_id = %(doctor)s AND EXISTS (SELECT 1 FROM offered)
)
SELECT id, opd_id, priority, seq, public_id FROM offered
"""


def apply(name: str) -> None:
    from queues import broadcast  # noqa: PLC0415 - after django.setup() in the claimer
    from queues.services import dispatch  # noqa: PLC0415

    parts = set(name.split("+"))
    if "no_publish" in parts:
        broadcast._send = _discard
    if "sync_publish" in parts:
        broadcast._send = _sync_publisher()
    if "scan_1" in parts:
        dispatch.CLAIM_SCAN = 1
    if "sql_claim" in parts:
        dispatch.claim_next_ticket = _sql_claimer(dispatch.claim_next_ticket)


def _discard(group: str, message: dict[str, Any]) -> None:
    return None


def _redis_and_layer() -> tuple[Any, Any, str]:
    import redis  # noqa: PLC0415
    from channels.layers import get_channel_layer  # noqa: PLC0415
    from django.conf import settings  # noqa: PLC0415

    layer = get_channel_layer()
    assert layer is not None
    layer_settings: dict[str, Any] = dict(settings.CHANNEL_LAYERS["default"])
    prefix = str(layer_settings.get("CONFIG", {}).get("prefix", "asgi"))
    return redis.Redis.from_url(settings.REDIS_URL), layer, prefix


def _sync_publisher() -> Any:
    client, layer, prefix = _redis_and_layer()

    def send(group: str, message: dict[str, Any]) -> None:
        client.publish(f"{prefix}__group__{group}", layer.serialize(message))

    return send


def _sql_claimer(fallback: Any) -> Any:
    from django.conf import settings  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.utils import timezone  # noqa: PLC0415

    from queues import broadcast  # noqa: PLC0415
    from queues.models import Ticket  # noqa: PLC0415
    from queues.services import dispatch  # noqa: PLC0415

    client, layer, prefix = _redis_and_layer()
    cache: dict[int, tuple[float, list[int], list[int]]] = {}

    def duty_and_languages(doctor: Any, now: Any) -> tuple[list[int], list[int]]:
        hit = cache.get(doctor.pk)
        if hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
            opds = dispatch._open_duty_opds(doctor.pk, now)
            languages = list(doctor.languages.values_list("pk", flat=True))
            hit = (time.monotonic(), opds, languages)
            cache[doctor.pk] = hit
        return hit[1], hit[2]

    def publish(ticket: Ticket, doctor_id: int) -> None:
        key = [ticket.priority, ticket.seq]
        messages = [
            (
                broadcast.opd_group(ticket.opd_id),
                {"type": "queue.delta", "opd": ticket.opd_id, "changes": [["-", *key]]},
            ),
            (
                broadcast.console_opd_group(ticket.opd_id),
                {"type": "queue.changed", "opd": ticket.opd_id},
            ),
            (
                broadcast.opd_group(ticket.opd_id),
                {
                    "type": "ticket.update",
                    "opd": ticket.opd_id,
                    "ticket": ticket.pk,
                    "payload": {"status": ticket.status},
                },
            ),
            (
                broadcast.console_doctor_group(doctor_id),
                {
                    "type": "doctor.event",
                    "payload": {"event": "offer", "ticket": str(ticket.public_id)},
                },
            ),
        ]
        pipe = client.pipeline(transaction=False)
        for group, message in messages:
            pipe.publish(f"{prefix}__group__{group}", layer.serialize(message))
        pipe.execute()

    def claim(doctor: Any, *, now: Any = None) -> Ticket | None:
        now = now or timezone.now()
        opds, languages = duty_and_languages(doctor, now)
        if len(opds) != 1:  # one OPD keeps the ordered index scan; the sketch stops there
            return fallback(doctor, now=now)
        params = {
            "opd": opds[0],
            "languages": languages,
            "doctor": doctor.pk,
            "now": now,
            "expires": now + timedelta(seconds=settings.QUEUE_DOCTOR_OFFER_SECONDS),
        }
        with connection.cursor() as cursor:
            cursor.execute(SQL_CLAIM, params)
            row = cursor.fetchone()
        if row is None:
            return fallback(doctor, now=now)
        ticket = Ticket(
            id=row[0],
            opd_id=row[1],
            priority=row[2],
            seq=row[3],
            public_id=row[4],
            status=Ticket.Status.OFFERED,
            doctor_id=doctor.pk,
        )
        publish(ticket, doctor.pk)
        return ticket

    return claim
