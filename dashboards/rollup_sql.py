# ruff: noqa: S608  (table names come from the models and values are parameters: no input is
# ever formatted into these statements)
"""Set-based rollups on PostgreSQL: ``INSERT ... SELECT ... GROUP BY`` over a date range.

For bulk loads (the benchmark's ten million tickets, a restore) recomputing slice by slice in
Python would take hours; these statements do a month in one pass per table. They must give the
very rows ``slices.compute`` gives: same rounding (whole seconds, rounded down), same buckets
(``dashboards.buckets``), same ages (completed years on the service day), same IST days.

``visits_cte``, ``doctor_days_sql``, ``COUNTS`` and ``sql_params`` are also what the tests' and
the benchmark's reading straight from the raw tables (``tests/dashboards/raw.py``) is built
from, with ``residents``/``state`` to keep one state's patients.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection

from consultations.models import Consultation, Prescription
from core.clock import IST as IST_ZONE
from dashboards import buckets
from dashboards.models import (
    DayStats,
    DemographyStats,
    DistrictStats,
    DoctorDayStats,
    HourStats,
)
from notifications.models import Notification
from patients.models import Patient
from providers.models import Doctor
from queues.models import DutyShift, Opd, Ticket

IST = "Asia/Kolkata"
TABLES = (DayStats, HourStats, DistrictStats, DemographyStats, DoctorDayStats)


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _age_band_sql(age: str) -> str:
    whens = " ".join(
        f"WHEN {age} >= {youngest} THEN '{label}'"
        for label, youngest in reversed(buckets.AGE_BANDS[1:])
    )
    return f"CASE {whens} ELSE '{buckets.AGE_BANDS[0][0]}' END"


def _bucket_sql(seconds: str, edges: tuple[int, ...]) -> str:
    array = ",".join(str(edge) for edge in edges)
    # GREATEST skips NULLs: a ticket without the duration must stay out of every bucket.
    return (
        f"CASE WHEN {seconds} IS NOT NULL THEN "
        f"GREATEST(width_bucket({seconds}, ARRAY[{array}]::bigint[]) - 1, 0) END"
    )


def _histogram_sql(bucket: str, edges: tuple[int, ...]) -> str:
    counts = ", ".join(f"count(*) FILTER (WHERE {bucket} = {i})" for i in range(len(edges)))
    return f"jsonb_build_array({counts})"


def _tickets_cte(*, residents: bool = False) -> str:
    """One row per ticket of the range, with the patient's attributes on the service day
    (``residents``: only patients of the state given as ``%(state)s``)."""
    sd, dob = "tk.service_date", "p.date_of_birth"
    age = (
        f"(extract(year FROM {sd}) - extract(year FROM {dob}) - CASE WHEN "
        f"(extract(month FROM {sd}), extract(day FROM {sd})) < "
        f"(extract(month FROM {dob}), extract(day FROM {dob})) THEN 1 ELSE 0 END)"
    )
    wait = "floor(extract(epoch FROM tk.consult_started_at - tk.booked_at))::bigint"
    consult = "floor(extract(epoch FROM tk.consult_ended_at - tk.consult_started_at))::bigint"
    only_residents = "AND p.state_id = %(state)s" if residents else ""
    return f"""
    tk AS (
        SELECT tk.id, tk.opd_id, tk.service_date AS day, p.state_id, p.district_id, p.sex,
               {_age_band_sql(age)} AS age_band,
               tk.status, tk.booked_at, tk.doctor_id,
               extract(hour FROM tk.booked_at AT TIME ZONE '{IST}')::int AS hour,
               CASE WHEN tk.consult_started_at IS NOT NULL THEN {wait} END AS wait_s,
               CASE WHEN tk.status = 'completed' AND tk.consult_started_at IS NOT NULL
                         AND tk.consult_ended_at IS NOT NULL THEN {consult} END AS consult_s
        FROM {_table(Ticket)} tk
        JOIN {_table(Patient)} p ON p.id = tk.patient_id
        WHERE tk.service_date BETWEEN %(start)s AND %(end)s {only_residents}
    )"""


def visits_cte(*, residents: bool = False) -> str:
    """``b``: the tickets with their buckets, signed prescriptions (first versions: a
    correction keeps its number) and notifications about any version sent or failed."""
    wait_b = _bucket_sql("wait_s", buckets.WAIT)
    consult_b = _bucket_sql("consult_s", buckets.CONSULT)
    return f"""
    {_tickets_cte(residents=residents)},
    rx AS (
        SELECT c.ticket_id, pr.public_id,
               (pr.version = 1 AND pr.status <> 'draft')::int AS signed
        FROM {_table(Prescription)} pr
        JOIN {_table(Consultation)} c ON c.id = pr.consultation_id
        JOIN tk ON tk.id = c.ticket_id
    ),
    per_ticket AS (
        SELECT rx.ticket_id, sum(rx.signed) AS signed,
               coalesce(sum(n.sent), 0) AS sent, coalesce(sum(n.failed), 0) AS failed
        FROM rx
        LEFT JOIN (
            SELECT about, count(*) FILTER (WHERE status = 'sent') AS sent,
                   count(*) FILTER (WHERE status = 'failed') AS failed
            FROM {_table(Notification)}
            WHERE about IN (SELECT public_id FROM rx) AND status IN ('sent', 'failed')
            GROUP BY about
        ) n ON n.about = rx.public_id
        GROUP BY rx.ticket_id
    ),
    b AS (
        SELECT tk.*, {wait_b} AS wait_b, {consult_b} AS consult_b,
               coalesce(pt.signed, 0) AS signed, coalesce(pt.sent, 0) AS sent,
               coalesce(pt.failed, 0) AS failed
        FROM tk LEFT JOIN per_ticket pt ON pt.ticket_id = tk.id
    )"""


COUNTS = """count(*),
           count(*) FILTER (WHERE status = 'completed'),
           count(*) FILTER (WHERE status = 'cancelled'),
           count(*) FILTER (WHERE status = 'no_show'),
           count(*) FILTER (WHERE status = 'left'),
           count(wait_s), count(consult_s),
           sum(signed), sum(sent), sum(failed)"""


def _day_stats_sql() -> str:
    return f"""
    INSERT INTO {_table(DayStats)} (
        day, opd_id, state_id, booked, completed, cancelled, no_show, "left",
        wait_count, wait_seconds, wait_histogram,
        consult_count, consult_seconds, consult_histogram,
        prescriptions, notifications_sent, notifications_failed)
    WITH {visits_cte()}
    SELECT day, opd_id, state_id, count(*),
           count(*) FILTER (WHERE status = 'completed'),
           count(*) FILTER (WHERE status = 'cancelled'),
           count(*) FILTER (WHERE status = 'no_show'),
           count(*) FILTER (WHERE status = 'left'),
           count(wait_s), coalesce(sum(wait_s), 0),
           {_histogram_sql("wait_b", buckets.WAIT)},
           count(consult_s), coalesce(sum(consult_s), 0),
           {_histogram_sql("consult_b", buckets.CONSULT)},
           sum(signed), sum(sent), sum(failed)
    FROM b
    GROUP BY day, opd_id, state_id
    """


def _hour_stats_sql() -> str:
    return f"""
    INSERT INTO {_table(HourStats)} (day, opd_id, state_id, hour, booked)
    WITH {_tickets_cte()}
    SELECT day, opd_id, state_id, hour, count(*)
    FROM tk
    GROUP BY 1, 2, 3, 4
    """


def _district_stats_sql() -> str:
    return f"""
    INSERT INTO {_table(DistrictStats)} (day, opd_id, state_id, district_id, booked, completed)
    WITH {_tickets_cte()}
    SELECT day, opd_id, state_id, district_id, count(*),
           count(*) FILTER (WHERE status = 'completed')
    FROM tk
    WHERE district_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    """


def _demography_stats_sql() -> str:
    return f"""
    INSERT INTO {_table(DemographyStats)} (
        day, opd_id, state_id, sex, age_band, booked, completed)
    WITH {_tickets_cte()}
    SELECT day, opd_id, state_id, sex, age_band, count(*),
           count(*) FILTER (WHERE status = 'completed')
    FROM tk
    GROUP BY 1, 2, 3, 4, 5
    """


def doctor_days_sql() -> str:
    """Per day, OPD and doctor: completed consultations, and shifts cut at IST midnights (open
    ones at ``now``), whole seconds rounded down per shift and day."""
    until = "coalesce(s.ended_at, %(now)s)"
    return f"""
    WITH {_tickets_cte()},
    cons AS (
        SELECT day, opd_id, doctor_id, count(*) AS consultations,
               coalesce(sum(consult_s), 0) AS consult_seconds
        FROM tk
        WHERE doctor_id IS NOT NULL AND status = 'completed'
        GROUP BY 1, 2, 3
    ),
    cut AS (
        SELECT s.opd_id, s.doctor_id, g::date AS day,
               GREATEST(s.started_at, g AT TIME ZONE '{IST}') AS low,
               LEAST({until}, (g + interval '1 day') AT TIME ZONE '{IST}') AS high
        FROM {_table(DutyShift)} s
        CROSS JOIN LATERAL generate_series(
            GREATEST((s.started_at AT TIME ZONE '{IST}')::date, %(start)s::date)::timestamp,
            LEAST(({until} AT TIME ZONE '{IST}')::date, %(end)s::date)::timestamp,
            interval '1 day'
        ) g
        WHERE s.started_at < %(range_end)s AND {until} > %(range_start)s
    ),
    duty AS (
        SELECT opd_id, doctor_id, day,
               sum(floor(extract(epoch FROM high - low)))::bigint AS seconds
        FROM cut
        WHERE high > low
        GROUP BY 1, 2, 3
    )
    SELECT x.day, x.opd_id, coalesce(o.state_id, d.home_state_id) AS state_id, x.doctor_id,
           x.consultations, x.consult_seconds, x.on_duty_seconds
    FROM (
        SELECT coalesce(c.day, u.day) AS day, coalesce(c.opd_id, u.opd_id) AS opd_id,
               coalesce(c.doctor_id, u.doctor_id) AS doctor_id,
               coalesce(c.consultations, 0) AS consultations,
               coalesce(c.consult_seconds, 0) AS consult_seconds,
               coalesce(u.seconds, 0) AS on_duty_seconds
        FROM cons c
        FULL JOIN duty u
          ON u.day = c.day AND u.opd_id = c.opd_id AND u.doctor_id = c.doctor_id
    ) x
    JOIN {_table(Opd)} o ON o.id = x.opd_id
    JOIN {_table(Doctor)} d ON d.id = x.doctor_id
    """


def _doctor_stats_sql() -> str:
    return f"""
    INSERT INTO {_table(DoctorDayStats)} (
        day, opd_id, state_id, doctor_id, consultations, consult_seconds, on_duty_seconds)
    {doctor_days_sql()}
    """


def sql_params(
    start: date, end: date, now: datetime, state_id: int | None = None
) -> dict[str, Any]:
    return {
        "start": start,
        "end": end,
        "now": now,
        "state": state_id,
        "range_start": datetime.combine(start, time.min, tzinfo=IST_ZONE),
        "range_end": datetime.combine(end + timedelta(days=1), time.min, tzinfo=IST_ZONE),
    }


def rebuild_range(start: date, end: date, *, now: datetime) -> None:
    """Inside the caller's transaction: replace every rollup row from ``start`` to ``end``."""
    params = sql_params(start, end, now)
    with connection.cursor() as cursor:
        for model in TABLES:
            delete = f"DELETE FROM {_table(model)} WHERE day BETWEEN %(start)s AND %(end)s"
            cursor.execute(delete, params)
        for sql in (
            _day_stats_sql(),
            _hour_stats_sql(),
            _district_stats_sql(),
            _demography_stats_sql(),
            _doctor_stats_sql(),
        ):
            cursor.execute(sql, params)
