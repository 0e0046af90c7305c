"""The routing policy, as pure functions over plain values (no database, no clock).

- First come, first served within an OPD, with a priority class (the elderly, pregnant women,
  persons with disability) served before the rest. Across a doctor's OPDs, token N of each
  stands level (the same ``seq``): the earlier booking goes first.
- Prefer a doctor who speaks the patient's language: a doctor who does not may pass a patient
  over while a same-language doctor is on duty, but never for longer than ``language_cap``
  seconds in all.
- Spread work fairly: of the free doctors, the one who got a patient longest ago goes first.
- A doctor who skipped a patient is not offered that patient again.

The usual claim is answered by one SQL statement that repeats these rules for speed
(``_CLAIM_HEAD_SQL`` in ``queues/services/dispatch.py``);
``tests/queues/test_dispatch_agrees_with_policy.py`` checks on generated queues that both offer
the same patient. Change them together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Candidate:
    ticket_id: int
    priority: int
    seq: int
    language: str
    passed_over_since: datetime | None = None
    skipped_by: frozenset[int] = field(default_factory=frozenset)

    @property
    def order(self) -> tuple[int, int, int]:
        # Token N of two OPDs has the same seq: the earlier booking (the lower id) goes first.
        return (-self.priority, self.seq, self.ticket_id)


@dataclass(frozen=True)
class FreeDoctor:
    doctor_id: int
    languages: frozenset[str]
    last_assigned_at: datetime | None


@dataclass(frozen=True)
class Choice:
    ticket: Candidate
    passed_over: tuple[Candidate, ...]  # tickets skipped for language this time


def queue_order(candidates: Iterable[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: c.order)


def choose_ticket(
    doctor_id: int,
    doctor_languages: frozenset[str],
    candidates: Sequence[Candidate],
    *,
    languages_on_duty: frozenset[str],
    now: datetime,
    language_cap_seconds: float,
) -> Choice | None:
    """The ticket this doctor should be offered next, from candidates in queue order.

    ``languages_on_duty`` are the languages spoken by the *other* doctors on duty for the
    candidates' OPDs: passing a patient over only makes sense if one of them could take them.
    """
    passed: list[Candidate] = []
    for candidate in candidates:
        if doctor_id in candidate.skipped_by:
            continue
        if _may_pass_over(
            candidate, doctor_languages, languages_on_duty, now, language_cap_seconds
        ):
            passed.append(candidate)
            continue
        return Choice(candidate, tuple(passed))
    return None


def _may_pass_over(
    candidate: Candidate,
    doctor_languages: frozenset[str],
    languages_on_duty: frozenset[str],
    now: datetime,
    cap_seconds: float,
) -> bool:
    if not candidate.language or candidate.language in doctor_languages:
        return False
    if candidate.language not in languages_on_duty:
        return False  # nobody better is on duty: waiting would help nobody
    if candidate.passed_over_since is None:
        return True
    return (now - candidate.passed_over_since).total_seconds() < cap_seconds


def fair_order(doctors: Iterable[FreeDoctor]) -> list[FreeDoctor]:
    """Doctors who have waited longest for a patient first; never-assigned doctors before all."""
    return sorted(
        doctors,
        key=lambda d: (
            d.last_assigned_at is not None,
            d.last_assigned_at or datetime.min.replace(tzinfo=UTC),
            d.doctor_id,
        ),
    )
