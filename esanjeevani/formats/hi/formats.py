"""Hindi: full month names (15 मार्च 1984) and a 24-hour clock.

Django's Hindi catalogue shortens March to "मा" (``M``) and gives "बजे" for both AM and PM
(``A``), so neither appears here.
"""

from django.utils.translation import gettext_noop

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
SHORT_DATE_FORMAT = "d-m-Y"
SHORT_DATETIME_FORMAT = "d-m-Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday

# Django's Hindi catalogue spells these months "सितमबर", "नवमबर" and "दिसमबर". Marked here, they
# are in our catalogue, whose translations win over Django's (LOCALE_PATHS comes last).
CORRECTED_MONTH_NAMES = (
    gettext_noop("September"),
    gettext_noop("November"),
    gettext_noop("December"),
)
