"""Every SMS the waiting room sends: it names the family member it is about, a booking near
the front gets one text (not two in the same second), and every text fits its SMS parts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test.signals import setting_changed
from django.utils import timezone
from django.utils.translation import override

from notifications.sms import SmsMessage
from patients.models import Patient, Relationship
from queues import sms
from queues.models import Opd, Ticket
from queues.services import visits
from queues.services.booking import book
from queues.services.timers import close_finished_days, sweep
from tests.factories import PatientFactory
from tests.queues.conftest import make_opd

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


def member_of_a_family(name: str = "Aarav Kumar") -> Patient:
    """A child in a family whose account holder is someone else."""
    holder = PatientFactory(name="Sunita Devi", account__preferred_language="en")
    return PatientFactory(account=holder.account, relationship=Relationship.CHILD, name=name)


def booked(run, opd: Opd, patient: Patient | None = None) -> Ticket:
    patient = patient or PatientFactory(account__preferred_language="en")
    ticket: Ticket = run(book, account=patient.account, patient=patient, opd=opd, complaint="Fever")
    return ticket


def parts(text: str) -> tuple[str, int]:
    """How an SMS gateway sends ``text``, worked out here from the standards alone."""
    try:
        septets = len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        units = len(text.encode("utf-16-le")) // 2
        return "unicode", 1 if units <= 70 else math.ceil(units / 67)
    return "gsm", 1 if septets <= 160 else math.ceil(septets / 153)


def test_a_booking_near_the_front_gets_one_text_that_says_both(run, opd, sms_outbox):
    child = member_of_a_family()
    booked(run, opd, child)
    run(sweep)
    run(sweep)
    (text,) = sms_outbox
    assert text.to == child.account.mobile
    assert "TS-001" in text.body
    assert "Aarav" in text.body
    assert "Sunita" not in text.body
    assert "turn is near" in text.body


def test_a_booking_further_back_gets_its_token_then_once_the_turn_near_text(
    run, opd, sms_outbox: list[SmsMessage]
):
    ahead = [booked(run, opd) for _ in range(3)]
    child = member_of_a_family()
    ticket = booked(run, opd, child)
    run(sweep)
    mine = [m.body for m in sms_outbox if m.to == child.account.mobile]
    assert len(mine) == 1
    assert ticket.token in mine[0]
    assert "Aarav" in mine[0]
    assert "turn is near." in mine[0]  # "we'll SMS when the turn is near."
    run(visits.cancel_ticket, ahead[0].booked_by, ahead[0])  # now third
    run(sweep)
    run(sweep)
    mine = [m.body for m in sms_outbox if m.to == child.account.mobile]
    assert len(mine) == 2
    assert mine[1].startswith("eSanjeevani: the turn of Aarav is near")


def test_the_closing_text_names_the_member(run, opd, sms_outbox):
    booked(run, opd)
    child = member_of_a_family("K. Ramesh Yadav")
    booked(run, opd, child)
    sms_outbox.clear()
    opd.hours.all().delete()
    run(close_finished_days, timezone.now() + timedelta(minutes=1))
    (text,) = [m for m in sms_outbox if m.to == child.account.mobile]
    assert "closed for today and Ramesh (token TS-002)" in text.body


LONG_OPD = "Dr. Ram Manohar Lohia Institute Super-Speciality Tele-Consultation " * 2
LONG_OPD_HI = "डॉ. राम मनोहर लोहिया आयुर्विज्ञान संस्थान अति-विशेषज्ञता टेली-परामर्श " * 2
NAMES = [
    "Aarav Kumar",
    "Venkatanarasimharajuvaripeta Subramaniam",  # a long first name
    "अनुष्का शर्मा",  # written in Devanagari: the whole text becomes Unicode
]


def named(opd: Opd, name: str, name_hi: str) -> Opd:
    opd.name, opd.name_hi = name, name_hi
    opd.save(update_fields=["name", "name_hi"])
    return opd


@pytest.fixture
def compiled_catalogue() -> Iterator[None]:
    """The Hindi .mo, compiled if the .po is newer (as tests/core/test_i18n.py does)."""
    po_path = settings.BASE_DIR / "locale" / "hi" / "LC_MESSAGES" / "django.po"
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
        call_command("compilemessages", ignore_patterns=[".venv", "var"], verbosity=0)
        setting_changed.send(
            sender=type(settings), setting="LOCALE_PATHS", value=settings.LOCALE_PATHS, enter=True
        )
    yield


@pytest.mark.parametrize("language", ["en", "hi"])
@pytest.mark.parametrize("name", NAMES)
def test_every_text_fits_one_sms_or_two_unicode_parts(compiled_catalogue, language, name):
    opd = named(make_opd("ABCD"), LONG_OPD[:120], LONG_OPD_HI[:120])
    patient = PatientFactory(name=name)
    ticket = Ticket(opd=opd, patient=patient, number=1000)  # the longest token: ABCD-1000
    texts = {
        "booked": lambda t: sms.token_booked(t, near=False),
        "booked near the front": lambda t: sms.token_booked(t, near=True),
        "turn near": sms.turn_near,
        "closed": sms.closed_for_the_day,
    }
    with override(language):
        for kind, text in texts.items():
            body = text(ticket)
            encoding, count = parts(body)
            assert count <= (1 if encoding == "gsm" else 2), (kind, encoding, count, body)
            assert "ABCD-1000" in body
            assert name.split()[0][:6] in body, (kind, body)  # shortened at most to six
            if language == "hi":
                assert body.startswith("ई-संजीवनी"), body


def test_short_names_are_never_shortened(compiled_catalogue):
    opd = named(make_opd("GN"), "Uttar Pradesh General OPD", "उत्तर प्रदेश सामान्य ओपीडी")
    ticket = Ticket(opd=opd, patient=PatientFactory(name="Anushka Sharma"), number=42)
    for language in ("en", "hi"):
        with override(language):
            body = sms.token_booked(ticket, near=False)
            assert "Anushka" in body
            assert opd.display_name in body
