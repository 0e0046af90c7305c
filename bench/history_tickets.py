"""Tickets for the dashboard bench, by ``COPY``: a year of finished visits, and the duty shifts
of the doctors who saw them.

The number of completed visits is fixed first and shared out over (OPD, day) *cells* by weight
(a day's place in the year and week, the OPD's share, some noise), so a run holds exactly as
many consultations as asked for. Each cell then gets its cancelled, no-show and left tickets,
booking times in opening hours, waits and consultation lengths, and a roster of doctors on duty
who see its patients in turn.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

import psycopg

from bench.history_data import (
    ANYONE,
    COMPLETED_SHARE,
    CONSULTATIONS_PER_DOCTOR_DAY,
    HOUR_WEIGHTS,
    NOT_COMPLETED,
    OPENS_HOUR,
    WOMEN,
)
from bench.history_patients import NULL, Patients, uuid4_hex
from bench.seed import _sync_identity

logger = logging.getLogger("bench")

CHUNK = 50_000
HMS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
LAST_SECOND = 86_399
WAIT_MEDIAN, WAIT_SIGMA = 900.0, 0.75  # booking to consultation: median 15 min
CONSULT_MEDIAN, CONSULT_SIGMA = 480.0, 0.45  # consultation: median 8 min
EXTRA_PER_COMPLETED = (1 - COMPLETED_SHARE) / COMPLETED_SHARE


@dataclass(frozen=True)
class OpdPlan:
    id: int
    state_id: int | None  # None: a national OPD
    who: str
    weight: float  # share of all bookings
    complaints: list[str]


@dataclass(frozen=True)
class Cell:
    day: int  # index into the history's days
    opd: int  # index into the OPD plans
    completed: int


def share_out(total: int, days: list[float], opds: list[OpdPlan], rng: random.Random) -> list[Cell]:
    """``total`` completed visits over (day, OPD) cells by weight, exactly (largest remainder)."""
    keys: list[tuple[int, int]] = []
    weights: list[float] = []
    for d, day_weight in enumerate(days):
        if day_weight <= 0:
            continue
        for o, opd in enumerate(opds):
            keys.append((d, o))
            weights.append(day_weight * opd.weight * rng.uniform(0.85, 1.15))
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [math.floor(x) for x in exact]
    short = total - sum(counts)
    for i in sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])[:short]:
        counts[i] += 1
    return [Cell(d, o, n) for (d, o), n in zip(keys, counts, strict=True) if n]


def _seconds(rng: random.Random, median: float, sigma: float, low: int, high: int) -> int:
    return min(high, max(low, int(median * math.exp(rng.gauss(0.0, sigma)))))


class TicketWriter:
    """Writes the tickets of one cell at a time to the open ``COPY`` streams."""

    def __init__(
        self,
        *,
        patients: Patients,
        opds: list[OpdPlan],
        national_states: list[tuple[int, float]],
        rosters: dict[int, list[int]],
        rng: random.Random,
        first_ticket_id: int,
    ) -> None:
        self.patients = patients
        self.opds = opds
        self.rosters = rosters  # OPD id -> the doctors who work there
        self.rng = rng
        self.next_id = first_ticket_id
        self.states = [state for state, _weight in national_states]
        self.cum_weights = list(accumulate(weight for _state, weight in national_states))
        self.hours = [OPENS_HOUR * 3600 + h * 3600 for h in range(len(HOUR_WEIGHTS))]
        self.hour_cum = list(accumulate(HOUR_WEIGHTS))
        self.tickets: list[str] = []
        self.shifts: list[str] = []
        self.counters: list[str] = []
        self.statuses: dict[str, int] = {}

    def _pool(self, state_id: int, who: str) -> list[int]:
        pools = self.patients.pools[state_id]
        return pools[who] or pools[ANYONE]

    def _patients(self, opd: OpdPlan, n: int) -> list[int]:
        rng = self.rng
        if opd.state_id is not None:
            pool = self._pool(opd.state_id, opd.who)
            return [rng.choice(pool) for _ in range(n)]
        states = rng.choices(self.states, cum_weights=self.cum_weights, k=n)
        return [rng.choice(self._pool(state, opd.who)) for state in states]

    def _times(self, status: str, at: int) -> tuple[int, int, int, int]:
        """Seconds (IST) of the last change, consultation start and end (-1 if none), and
        missed calls, for a ticket booked at ``at``."""
        rng = self.rng
        if status == "completed":
            begin = min(LAST_SECOND, at + _seconds(rng, WAIT_MEDIAN, WAIT_SIGMA, 30, 14_400))
            end = min(LAST_SECOND, begin + _seconds(rng, CONSULT_MEDIAN, CONSULT_SIGMA, 90, 2700))
            return end, begin, end, 0
        if status == "cancelled":
            return min(LAST_SECOND, at + rng.randint(60, 1800)), -1, -1, 0
        if status == "no_show":  # called after the wait, then CALL NOW missed twice
            called = at + _seconds(rng, WAIT_MEDIAN, WAIT_SIGMA, 30, 14_400) + 240
            return min(LAST_SECOND, called), -1, -1, 1
        gone = at + _seconds(rng, 1500.0, 0.6, 60, 10_800)  # left the waiting room
        return min(LAST_SECOND, gone), -1, -1, 0

    def _priority(self, index: int, opd: OpdPlan) -> str:
        if self.patients.senior[index]:
            return "1\tsenior"
        if opd.who == WOMEN and self.rng.random() < 0.1:
            return "1\tpregnant"
        return "0\t"

    def write_cell(self, day: date, cell: Cell) -> None:
        rng = self.rng
        opd = self.opds[cell.opd]
        extra = round(cell.completed * EXTRA_PER_COMPLETED * rng.uniform(0.7, 1.3))
        statuses = ["completed"] * cell.completed + rng.choices(
            [s for s, _ in NOT_COMPLETED], [w for _, w in NOT_COMPLETED], k=extra
        )
        rng.shuffle(statuses)
        booked = sorted(
            hour + rng.randrange(3600)
            for hour in rng.choices(self.hours, cum_weights=self.hour_cum, k=len(statuses))
        )
        who = self._patients(opd, len(statuses))
        roster = Roster.for_cell(self.rosters[opd.id], cell)
        iso = day.isoformat()
        seq_base = int(day.strftime("%Y%m%d")) * 1_000_000
        patients = self.patients
        for i, status in enumerate(statuses):
            at, index = booked[i], who[i]
            changed, begin, end, missed = self._times(status, at)
            if begin >= 0:
                doctor = str(roster.assign(begin, end))
                consultation = f"{iso} {HMS[begin]}+05:30\t{iso} {HMS[end]}+05:30"
            else:
                doctor, consultation = NULL, f"{NULL}\t{NULL}"
            self.tickets.append(
                f"{self.next_id}\t{uuid4_hex(rng)}\t{opd.id}\t{patients.first_id + index}"
                f"\t{patients.account[index]}\t{iso}\t{i + 1}\t{rng.choice(opd.complaints)}"
                f"\t{patients.language[index]}\t{self._priority(index, opd)}\t{seq_base + i + 1}"
                f"\t{status}\t{iso} {HMS[at]}+05:30\t{iso} {HMS[changed]}+05:30\t{doctor}"
                f"\t{missed}\t{consultation}\t[]\tf\n"
            )
            self.next_id += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
        self.shifts.extend(roster.shifts(opd.id, iso, rng))
        self.counters.append(f"{opd.id}\t{iso}\t{len(statuses)}\n")


class Roster:
    """The doctors on duty in one cell, seeing its patients in turn, and their shifts."""

    def __init__(self, doctors: list[int]) -> None:
        self.doctors = doctors
        self.first_start = [LAST_SECOND] * len(doctors)
        self.last_end = [0] * len(doctors)
        self.seen = 0

    @classmethod
    def for_cell(cls, pool: list[int], cell: Cell) -> Roster:
        """Enough of the OPD's doctors for the cell's visits, taking turns from day to day."""
        wanted = math.ceil(cell.completed / CONSULTATIONS_PER_DOCTOR_DAY)
        size = min(len(pool), max(1, wanted))
        return cls([pool[(cell.day * size + j) % len(pool)] for j in range(size)])

    def assign(self, begin: int, end: int) -> int:
        slot = self.seen % len(self.doctors)
        self.seen += 1
        self.first_start[slot] = min(self.first_start[slot], begin)
        self.last_end[slot] = max(self.last_end[slot], end)
        return self.doctors[slot]

    def shifts(self, opd_id: int, iso: str, rng: random.Random) -> list[str]:
        """From about 09:00 (or before the first patient) to about 17:00 (or after the last)."""
        lines = []
        for slot, doctor_id in enumerate(self.doctors):
            start = min(OPENS_HOUR * 3600 - rng.randint(0, 900), self.first_start[slot] - 60)
            end = max(17 * 3600 + rng.randint(0, 1200), self.last_end[slot] + 60)
            lines.append(
                f"{doctor_id}\t{opd_id}\t{iso} {HMS[max(0, start)]}+05:30"
                f"\t{iso} {HMS[min(LAST_SECOND, end)]}+05:30\tsigned_off\n"
            )
        return lines


def copy_tickets(
    dsn: str, writer: TicketWriter, cells: list[Cell], first_day: date
) -> dict[str, int]:
    """Every cell's tickets, the doctors' shifts and the OPDs' day counters."""
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        psycopg.connect(dsn, autocommit=True) as shift_conn,
        conn.cursor().copy(
            "COPY queues_ticket (id, public_id, opd_id, patient_id, booked_by_id, service_date,"
            " number, complaint, language_id, priority, priority_reason, seq, status, booked_at,"
            " status_changed_at, doctor_id, missed_calls, consult_started_at, consult_ended_at,"
            " skipped_by, position_sms_sent) FROM STDIN"
        ) as tickets,
        shift_conn.cursor().copy(
            "COPY queues_dutyshift (doctor_id, opd_id, started_at, ended_at, end_reason) FROM STDIN"
        ) as shifts,
    ):
        for number, cell in enumerate(cells, 1):
            writer.write_cell(first_day + timedelta(days=cell.day), cell)
            if len(writer.tickets) >= CHUNK:
                tickets.write("".join(writer.tickets))
                shifts.write("".join(writer.shifts))
                writer.tickets.clear()
                writer.shifts.clear()
            if number % 5000 == 0:
                logger.info("  %s of %s cells, %s tickets", number, len(cells), writer.next_id)
        tickets.write("".join(writer.tickets))
        shifts.write("".join(writer.shifts))
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.cursor().copy(
            "COPY queues_opdday (opd_id, service_date, tokens_issued) FROM STDIN"
        ) as counters:
            counters.write("".join(writer.counters))
        _sync_identity(conn, "queues_ticket")
    return dict(writer.statuses)
