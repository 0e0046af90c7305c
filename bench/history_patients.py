"""Patient accounts and patients for the dashboard bench, by ``COPY``.

Families, as the service holds them: an account (a mobile number) with its holder and often a
spouse, children or a parent. Sex, age and district follow rough shares; each state gets
patients in proportion to its bookings. What the ticket generator needs afterwards (who is a
child, who a woman of 15 to 49, each patient's account and language) is kept in ``Patients``.
"""

from __future__ import annotations

import logging
import random
from array import array
from dataclasses import dataclass, field
from datetime import date, datetime

import psycopg

from bench.history_data import ANYONE, CHILDREN, STATE_LANGUAGE, WOMEN
from bench.seed import _next_id, _sync_identity

logger = logging.getLogger("bench")

CHUNK = 50_000  # lines per write to the COPY stream
NULL = "\\N"  # NULL in COPY's text format
HOLDER_AGES = [(18, 29, 0.25), (30, 44, 0.35), (45, 59, 0.25), (60, 85, 0.15)]
FAMILY_EXTRAS = ([0, 1, 2, 3], [0.35, 0.30, 0.20, 0.15])


@dataclass
class Patients:
    first_id: int
    account: array[int] = field(default_factory=lambda: array("q"))  # per patient index
    language: array[int] = field(default_factory=lambda: array("q"))
    senior: bytearray = field(default_factory=bytearray)
    # state id -> who (ANYONE, CHILDREN, WOMEN) -> patient indexes
    pools: dict[int, dict[str, list[int]]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.account)


@dataclass(frozen=True)
class StateInfo:
    id: int
    code: str
    weight: float
    districts: list[int]


def _member(rng: random.Random, holder_age: int, holder_sex: str, nth: int) -> tuple[str, str, int]:
    """(relationship, sex, age) of the ``nth`` extra family member."""
    if nth == 0 and holder_age >= 22 and rng.random() < 0.7:
        return "spouse", "M" if holder_sex == "F" else "F", max(18, holder_age + rng.randint(-6, 6))
    if holder_age >= 35 and rng.random() < 0.25:
        return "parent", rng.choice("FM"), min(95, holder_age + rng.randint(22, 32))
    oldest = max(0, min(17, holder_age - 18))
    return "child", rng.choice("FM"), rng.randint(0, oldest)


def uuid4_hex(rng: random.Random) -> str:
    """A random (version 4) UUID from ``rng``, so a seeded run repeats itself."""
    bits = rng.getrandbits(128) & ~(0xF << 76 | 0x3 << 62) | (0x4 << 76 | 0x2 << 62)
    return f"{bits:032x}"


class FamilyWriter:
    """Writes one family at a time: its account line and its patients' lines."""

    def __init__(
        self,
        patients: Patients,
        languages: dict[str, int],
        *,
        first_account: int,
        as_of: date,
        created: datetime,
        rng: random.Random,
    ) -> None:
        self.patients = patients
        self.languages = languages
        self.code_of = {pk: code for code, pk in languages.items()}
        self.account_id = first_account - 1
        self.as_of = as_of.toordinal()
        self.created = created.isoformat()
        self.rng = rng
        self.holder_weights = [share for _low, _high, share in HOLDER_AGES]
        self.accounts: list[str] = []
        self.rows: list[str] = []

    def _language(self, state: StateInfo) -> int:
        rng, languages = self.rng, self.languages
        if rng.random() < 0.85:
            return languages.get(STATE_LANGUAGE[state.code], languages["hi"])
        return languages["hi"] if rng.random() < 0.7 else languages["en"]

    def _members(self) -> list[tuple[str, str, int]]:
        rng = self.rng
        low, high, _share = rng.choices(HOLDER_AGES, self.holder_weights)[0]
        age = rng.randint(low, high)
        sex = "F" if rng.random() < 0.55 else "O" if rng.random() < 0.005 else "M"
        extras = rng.choices(*FAMILY_EXTRAS)[0]
        return [("self", sex, age)] + [_member(rng, age, sex, n) for n in range(extras)]

    def write_family(self, state: StateInfo, pools: dict[str, list[int]]) -> int:
        """One account and its family in ``state``; returns the number of patients."""
        rng, patients, created = self.rng, self.patients, self.created
        self.account_id += 1
        account_id = self.account_id
        mobile = f"+917{account_id:09d}"
        language = self._language(state)
        self.accounts.append(
            f"{account_id}\t!bench\tf\t{uuid4_hex(rng)}\t{mobile}\t{mobile}\tpatient"
            f"\t\t\t{self.code_of[language]}\tt\tf\t{created}\n"
        )
        members = self._members()
        district = str(rng.choice(state.districts)) if state.districts else NULL
        for relationship, sex, age in members:
            index = patients.count
            born = date.fromordinal(self.as_of - int(age * 365.25) - rng.randint(0, 364))
            estimated = "t" if age >= 60 and rng.random() < 0.3 else "f"
            self.rows.append(
                f"{patients.first_id + index}\t{uuid4_hex(rng)}\t8{index:011d}"
                f"\t{relationship}\tBench Patient {index}\t{sex}\t{born.isoformat()}"
                f"\t{estimated}\t\t\t{created}\t{created}\t{account_id}"
                f"\t{district}\t{language}\t{state.id}\n"
            )
            patients.account.append(account_id)
            patients.language.append(language)
            patients.senior.append(age >= 60)
            pools[ANYONE].append(index)
            if age < 15:
                pools[CHILDREN].append(index)
            elif sex == "F" and age <= 49:
                pools[WOMEN].append(index)
        return len(members)


def copy_patients(
    dsn: str,
    states: list[StateInfo],
    languages: dict[str, int],
    count: int,
    *,
    as_of: date,
    created: datetime,
    rng: random.Random,
) -> Patients:
    """About ``count`` patients (whole families), shared among ``states`` by weight."""
    total_weight = sum(s.weight for s in states)
    with psycopg.connect(dsn, autocommit=True) as conn:
        first_account = _next_id(conn, "accounts_user")
        patients = Patients(first_id=_next_id(conn, "patients_patient"))
        writer = FamilyWriter(
            patients, languages, first_account=first_account, as_of=as_of, created=created, rng=rng
        )
        with (
            conn.cursor().copy(
                "COPY accounts_user (id, password, is_superuser, public_id, username, mobile,"
                " role, full_name, email, preferred_language, is_active, is_staff, date_joined)"
                " FROM STDIN"
            ) as account_copy,
            psycopg.connect(dsn, autocommit=True) as patient_conn,
            patient_conn.cursor().copy(
                "COPY patients_patient (id, public_id, patient_number, relationship, name, sex,"
                " date_of_birth, dob_is_estimated, abha_number, abha_address, created_at,"
                " updated_at, account_id, district_id, preferred_language_id, state_id)"
                " FROM STDIN"
            ) as patient_copy,
        ):
            for state in states:
                wanted = max(50, round(count * state.weight / total_weight))
                pools: dict[str, list[int]] = {ANYONE: [], CHILDREN: [], WOMEN: []}
                patients.pools[state.id] = pools
                made = 0
                while made < wanted:
                    made += writer.write_family(state, pools)
                    if len(writer.rows) >= CHUNK:
                        account_copy.write("".join(writer.accounts))
                        patient_copy.write("".join(writer.rows))
                        writer.accounts.clear()
                        writer.rows.clear()
            account_copy.write("".join(writer.accounts))
            patient_copy.write("".join(writer.rows))
        _sync_identity(conn, "accounts_user")
        _sync_identity(conn, "patients_patient")
    accounts = writer.account_id - first_account + 1
    logger.info("copied %s patients in %s accounts", patients.count, accounts)
    return patients
