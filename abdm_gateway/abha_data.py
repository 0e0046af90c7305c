"""The ABHA service's people and state: demo profiles, demo Aadhaar records, and its SQLite tables.

The demo people are made up. Sunita Devi matches the demo family's self exactly (seed_demo), Ramesh
Kumaar spells the spouse's name differently, Kamla Devi has a different year of birth than the
family's parent-in-law (1957, not 1958) — so a link shows the differences it must show. The two
Aadhaar records have no ABHA yet; enrolling one creates it. ABHA numbers are 14 digits starting 91
and pass Luhn (what patients.identifiers checks).
"""

from __future__ import annotations

import io
import json
import secrets
import sqlite3
import time
from dataclasses import asdict, dataclass
from typing import Any

import qrcode
from PIL import Image, ImageDraw

DEMO_MOBILE = "9876543210"


@dataclass(frozen=True)
class Person:
    abha_number: str
    abha_address: str
    first_name: str
    middle_name: str
    last_name: str
    gender: str  # M, F or O
    year: int
    month: int
    day: int
    mobile: str
    aadhaar: str = ""
    address: str = "House 12, Gomti Nagar, Lucknow"
    state_code: str = "9"
    district_code: str = "162"
    state_name: str = "UTTAR PRADESH"
    district_name: str = "LUCKNOW"
    pincode: str = "226010"
    kyc_verified: bool = True

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)

    @property
    def dob(self) -> str:
        return f"{self.day:02d}-{self.month:02d}-{self.year}"


DEMO_PROFILES = (
    Person(
        "91123456789015", "sunita.devi@sbx", "Sunita", "", "Devi", "F", 1988, 3, 14, DEMO_MOBILE
    ),
    Person("91234567890129", "ramesh.k@sbx", "Ramesh", "", "Kumaar", "M", 1985, 11, 2, DEMO_MOBILE),
    Person("91345678901231", "kamla.devi@sbx", "Kamla", "", "Devi", "F", 1957, 1, 1, "9811122233"),
)

# Aadhaar eKYC records that have no ABHA yet: enrolment by Aadhaar OTP creates one from these.
DEMO_AADHAAR = {
    "234567890124": ("Anjali", "", "Kumari", "F", 2016, 7, 21, DEMO_MOBILE),
    "345678901238": ("Mohan", "Lal", "Verma", "M", 1972, 5, 9, "9822233344"),
}


def masked(mobile: str) -> str:
    return "******" + mobile[-4:]


def summary(person: Person) -> dict[str, Any]:
    """An entry of `accounts` in a login answer."""
    return {
        "ABHANumber": person.abha_number,
        "preferredAbhaAddress": person.abha_address,
        "name": person.name,
        "gender": person.gender,
        "dob": person.dob,
        "status": "ACTIVE",
        "profilePhoto": "",
        "kycVerified": person.kyc_verified,
    }


def profile(person: Person) -> dict[str, Any]:
    """What GET /profile/account answers (ABDM sends the date parts as strings)."""
    return {
        "ABHANumber": person.abha_number,
        "preferredAbhaAddress": person.abha_address,
        "phrAddress": [person.abha_address],
        "firstName": person.first_name,
        "middleName": person.middle_name,
        "lastName": person.last_name,
        "name": person.name,
        "yearOfBirth": str(person.year),
        "monthOfBirth": f"{person.month:02d}",
        "dayOfBirth": f"{person.day:02d}",
        "dob": person.dob,
        "gender": person.gender,
        "mobile": person.mobile,
        "address": person.address,
        "stateCode": person.state_code,
        "districtCode": person.district_code,
        "stateName": person.state_name,
        "districtName": person.district_name,
        "pincode": person.pincode,
        "kycVerified": person.kyc_verified,
        "status": "ACTIVE",
        "abhaType": "STANDARD",
    }


def card_png(person: Person) -> bytes:
    """A plain ABHA card: the person's details and a QR code of them."""
    image = Image.new("RGB", (640, 360), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 640, 48), fill=(22, 60, 120))
    draw.text((16, 16), "Ayushman Bharat Health Account (offline demo)", fill="white")
    number = person.abha_number
    lines = [
        f"Name: {person.name}",
        f"ABHA number: {number[:2]}-{number[2:6]}-{number[6:10]}-{number[10:]}",
        f"ABHA address: {person.abha_address}",
        f"Gender: {person.gender}   Date of birth: {person.dob}",
        f"Mobile: {masked(person.mobile)}",
    ]
    for i, line in enumerate(lines):
        draw.text((16, 80 + 36 * i), line, fill="black")
    qr = qrcode.QRCode(box_size=4, border=2)
    qr.add_data(f"{number}|{person.name}|{person.gender}|{person.dob}|{person.abha_address}")
    code = qr.make_image().get_image().convert("RGB").resize((200, 200))
    image.paste(code, (424, 100))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


SCHEMA = """
CREATE TABLE IF NOT EXISTS abha_accounts (
    abha_number TEXT PRIMARY KEY, aadhaar TEXT, mobile TEXT NOT NULL, body TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS abha_txns (
    txn_id TEXT PRIMARY KEY, kind TEXT NOT NULL, login_hint TEXT NOT NULL, login_id TEXT NOT NULL,
    otp TEXT NOT NULL, expires_at REAL NOT NULL, wrong INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'otp_sent');
CREATE TABLE IF NOT EXISTS abha_tokens (
    token TEXT PRIMARY KEY, kind TEXT NOT NULL, txn_id TEXT NOT NULL, abha_number TEXT,
    expires_at REAL NOT NULL);
"""

MAX_WRONG_OTPS = 3


def luhn_digit(body: str) -> str:
    total = 0
    for i, char in enumerate(reversed(body)):
        digit = int(char) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str((10 - total % 10) % 10)


def new_abha_number() -> str:
    body = "91" + "".join(str(secrets.randbelow(10)) for _ in range(11))
    return body + luhn_digit(body)


@dataclass(frozen=True)
class Txn:
    txn_id: str
    kind: str  # login or enrol
    login_hint: str
    login_id: str
    otp: str
    expires_at: float
    wrong: int
    state: str


class AbhaStore:
    """The ABHA tables, in the gateway's SQLite file (one connection, one event loop)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        db.executescript(SCHEMA)
        for person in DEMO_PROFILES:
            self._insert(person, ignore=True)

    def _insert(self, person: Person, *, ignore: bool = False) -> None:
        verb = "INSERT OR IGNORE" if ignore else "INSERT"
        self.db.execute(
            f"{verb} INTO abha_accounts (abha_number, aadhaar, mobile, body, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                person.abha_number,
                person.aadhaar or None,
                person.mobile,
                json.dumps(asdict(person)),
                time.time(),
            ),
        )

    # accounts --------------------------------------------------------------------------------
    def account(self, abha_number: str) -> Person | None:
        row = self.db.execute(
            "SELECT body FROM abha_accounts WHERE abha_number = ?", (abha_number,)
        ).fetchone()
        return None if row is None else Person(**json.loads(row[0]))

    def accounts_on_mobile(self, mobile: str) -> list[Person]:
        rows = self.db.execute(
            "SELECT body FROM abha_accounts WHERE mobile = ? ORDER BY created_at, abha_number",
            (mobile,),
        ).fetchall()
        return [Person(**json.loads(r[0])) for r in rows]

    def account_by_aadhaar(self, aadhaar: str) -> Person | None:
        row = self.db.execute(
            "SELECT body FROM abha_accounts WHERE aadhaar = ?", (aadhaar,)
        ).fetchone()
        return None if row is None else Person(**json.loads(row[0]))

    def account_by_address(self, address: str) -> Person | None:
        wanted = address.strip().lower()
        rows = self.db.execute("SELECT body FROM abha_accounts ORDER BY created_at").fetchall()
        people = (Person(**json.loads(r[0])) for r in rows)
        return next((p for p in people if p.abha_address == wanted), None)

    def enrol(self, aadhaar: str) -> tuple[Person, bool]:
        """The ABHA of this Aadhaar, created from its eKYC record if it has none; (person, new)."""
        existing = self.account_by_aadhaar(aadhaar)
        if existing is not None:
            return existing, False
        first, middle, last, gender, year, month, day, mobile = DEMO_AADHAAR[aadhaar]
        number = new_abha_number()
        while self.account(number) is not None:
            number = new_abha_number()
        address = f"{first}.{last}{number[-4:]}@sbx".lower()
        person = Person(
            number, address, first, middle, last, gender, year, month, day, mobile, aadhaar
        )
        self._insert(person)
        return person, True

    # transactions ------------------------------------------------------------------------------
    def new_txn(self, *, kind: str, login_hint: str, login_id: str, otp: str, ttl_s: float) -> str:
        txn_id = secrets.token_hex(16)
        txn_id = f"{txn_id[:8]}-{txn_id[8:12]}-{txn_id[12:16]}-{txn_id[16:20]}-{txn_id[20:]}"
        self.db.execute(
            "INSERT INTO abha_txns (txn_id, kind, login_hint, login_id, otp, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (txn_id, kind, login_hint, login_id, otp, time.time() + ttl_s),
        )
        return txn_id

    def txn(self, txn_id: str) -> Txn | None:
        row = self.db.execute(
            "SELECT txn_id, kind, login_hint, login_id, otp, expires_at, wrong, state"
            " FROM abha_txns WHERE txn_id = ?",
            (txn_id,),
        ).fetchone()
        return None if row is None else Txn(*row)

    def wrong_otp(self, txn_id: str) -> int:
        """Count a wrong OTP; the third kills the transaction. The wrong count after this one."""
        row = self.db.execute(
            "UPDATE abha_txns SET wrong = wrong + 1,"
            " state = CASE WHEN wrong + 1 >= ? THEN 'dead' ELSE state END"
            " WHERE txn_id = ? RETURNING wrong",
            (MAX_WRONG_OTPS, txn_id),
        ).fetchone()
        return int(row[0])

    def set_txn_state(self, txn_id: str, state: str) -> None:
        self.db.execute("UPDATE abha_txns SET state = ? WHERE txn_id = ?", (state, txn_id))

    # tokens ------------------------------------------------------------------------------------
    def new_token(self, *, kind: str, txn_id: str, abha_number: str | None, ttl_s: float) -> str:
        token = secrets.token_urlsafe(32)
        self.db.execute(
            "INSERT INTO abha_tokens (token, kind, txn_id, abha_number, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token, kind, txn_id, abha_number, time.time() + ttl_s),
        )
        return token

    def token(self, token: str, kind: str) -> tuple[str, str | None] | None:
        """(txn id, ABHA number) of a live token of this kind, else None."""
        row = self.db.execute(
            "SELECT txn_id, abha_number FROM abha_tokens"
            " WHERE token = ? AND kind = ? AND expires_at > ?",
            (token, kind, time.time()),
        ).fetchone()
        return None if row is None else (str(row[0]), row[1])
