"""Dates as pages show them: day first, and in Hindi with the month written in full."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.utils import translation
from django.utils.formats import date_format

from core.clock import IST
from tests.core.test_i18n import compiled_catalogue  # noqa: F401  (a fixture)

# The standard spellings (Central Hindi Directorate); Django's own catalogue writes the last
# three "सितमबर", "नवमबर", "दिसमबर" and ours corrects them.
HINDI_MONTHS = [
    "जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून",
    "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर",
]  # fmt: skip


@pytest.mark.parametrize("month", range(1, 13))
def test_it_writes_the_full_hindi_month(month):
    day = date(1984, month, 15)
    with translation.override("hi"):
        shown = date_format(day, "DATE_FORMAT")
        stamp = date_format(datetime(1984, month, 15, 21, 5, tzinfo=IST), "DATETIME_FORMAT")
        full = date_format(day, "F")  # the month written out, never cut ("मा" for March)
    assert shown == f"15 {full} 1984"
    assert stamp == f"15 {full} 1984, 21:05"  # 24-hour: Django's Hindi "A" says "बजे" for both


@pytest.mark.usefixtures("compiled_catalogue")
def test_it_spells_every_hindi_month_as_the_standard_does():
    with translation.override("hi"):
        shown = [date_format(date(2026, month, 1), "j F Y") for month in range(1, 13)]
    assert shown == [f"1 {name} 2026" for name in HINDI_MONTHS]


def test_it_writes_english_dates_day_first():
    with translation.override("en"):
        assert date_format(date(1984, 3, 15), "DATE_FORMAT") == "15 Mar 1984"
        moment = datetime(2026, 3, 10, 10, 30, tzinfo=IST)
        assert date_format(moment, "DATETIME_FORMAT") == "10 Mar 2026, 10:30"
        assert date_format(moment, "TIME_FORMAT") == "10:30"
