"""What a year of teleconsultations looks like, roughly: who books, where, when, for what.

Figures are round approximations chosen to give the dashboards realistic shapes (big and small
states, busy mornings, quiet Saturdays, a monsoon bump), not statistics to quote.
"""

from __future__ import annotations

from datetime import date

# Population in millions (rounded projections), times an uptake factor for the states that
# use eSanjeevani most: a state's share of the bookings.
STATE_WEIGHT: dict[str, float] = {
    "UP": 235,
    "BR": 127,
    "MH": 126 * 1.2,
    "WB": 100 * 2.0,
    "MP": 87,
    "RJ": 82,
    "TN": 77 * 1.5,
    "GJ": 72,
    "KA": 68 * 2.0,
    "AP": 53 * 3.0,
    "OD": 46,
    "TS": 38 * 1.5,
    "KL": 36,
    "JH": 40,
    "AS": 36,
    "PB": 31,
    "CG": 30,
    "HR": 30,
    "DL": 21,
    "JK": 14,
    "UK": 12,
    "HP": 7.5,
    "TR": 4.2,
    "ML": 3.4,
    "MN": 3.2,
    "NL": 2.2,
    "GA": 1.6,
    "AR": 1.6,
    "PY": 1.6,
    "MZ": 1.2,
    "CH": 1.2,
    "SK": 0.7,
    "DH": 0.6,
    "AN": 0.4,
    "LA": 0.3,
    "LD": 0.07,
}

# The language most patients of a state choose; some choose Hindi or English instead.
STATE_LANGUAGE: dict[str, str] = {
    "UP": "hi", "BR": "hi", "MH": "mr", "WB": "bn", "MP": "hi", "RJ": "hi", "TN": "ta",
    "GJ": "gu", "KA": "kn", "AP": "te", "OD": "or", "TS": "te", "KL": "ml", "JH": "hi",
    "AS": "as", "PB": "pa", "CG": "hi", "HR": "hi", "DL": "hi", "JK": "ur", "UK": "hi",
    "HP": "hi", "TR": "bn", "ML": "en", "MN": "mni", "NL": "en", "GA": "kok", "AR": "en",
    "PY": "ta", "MZ": "en", "CH": "hi", "SK": "ne", "DH": "gu", "AN": "hi", "LA": "hi",
    "LD": "ml",
}  # fmt: skip

# Who an OPD sees: any patient, children (under 15) or women of 15 to 49.
ANYONE, CHILDREN, WOMEN = "any", "child", "women"

# State OPDs: the general OPD (from the migrations) and the speciality OPDs the bench adds
# in every state, with their share of the state's own bookings.
STATE_OPDS: list[tuple[str, str, str | None, str, float]] = [
    # code, name suffix, speciality, who, share
    ("GM", "General OPD", None, ANYONE, 0.66),
    ("PED", "Paediatrics OPD", "paediatrics", CHILDREN, 0.13),
    ("OBG", "Gynaecology OPD", "obstetrics-gynaecology", WOMEN, 0.13),
    ("DRM", "Dermatology OPD", "dermatology", ANYONE, 0.08),
]
# National OPDs (the first five come from the migrations), for patients of every state.
NATIONAL_OPDS: list[tuple[str, str, str, str, float]] = [
    ("PED", "National Paediatrics OPD", "paediatrics", CHILDREN, 0.20),
    ("OBG", "National Gynaecology OPD", "obstetrics-gynaecology", WOMEN, 0.20),
    ("DRM", "National Dermatology OPD", "dermatology", ANYONE, 0.15),
    ("PSY", "National Psychiatry OPD", "psychiatry", ANYONE, 0.10),
    ("ENT", "National ENT OPD", "ent", ANYONE, 0.10),
    ("EYE", "National Ophthalmology OPD", "ophthalmology", ANYONE, 0.10),
    ("AYU", "National AYUSH OPD", "ayush", ANYONE, 0.10),
    ("CAR", "National Cardiology OPD", "cardiology", ANYONE, 0.05),
]
NATIONAL_SHARE = 0.12  # of all bookings

# Bookings by hour of the day (IST) while OPDs are open, 09:00 to 17:00.
OPENS_HOUR = 9
HOUR_WEIGHTS = [0.14, 0.18, 0.17, 0.14, 0.10, 0.11, 0.09, 0.07]
# Monday to Sunday; OPDs are closed on Sundays and national holidays.
WEEKDAY_WEIGHTS = [1.25, 1.10, 1.05, 1.00, 0.95, 0.75, 0.0]
HOLIDAYS = {(1, 26), (8, 15), (10, 2)}

# Of all tickets: completed 85 %, and for the rest (cancelled, no-show, left).
COMPLETED_SHARE = 0.85
NOT_COMPLETED = [("cancelled", 0.40), ("no_show", 0.33), ("left", 0.27)]
CONSULTATIONS_PER_DOCTOR_DAY = 30

COMPLAINTS: dict[str, list[str]] = {
    ANYONE: [
        "Fever for three days",
        "Cough and cold",
        "Headache since morning",
        "Body ache and weakness",
        "Stomach pain",
        "Loose motions",
        "Follow-up for blood pressure",
        "Follow-up for diabetes",
        "Joint pain in knees",
        "Skin rash and itching",
        "Burning while passing urine",
        "Back pain",
        "Dizziness",
        "Acidity after meals",
    ],
    CHILDREN: [
        "Child has fever",
        "Child has cough",
        "Child not eating well",
        "Loose motions in child",
        "Ear pain in child",
        "Rash on child's body",
    ],
    WOMEN: [
        "Irregular periods",
        "Antenatal check-up advice",
        "White discharge",
        "Lower abdominal pain",
        "Weakness during pregnancy",
    ],
}

# (diagnosis, ICD-10) written on prescriptions.
DIAGNOSES: list[tuple[str, str]] = [
    ("Acute upper respiratory infection", "J06.9"),
    ("Viral fever", "A99"),
    ("Acute gastroenteritis", "A09"),
    ("Essential hypertension", "I10"),
    ("Type 2 diabetes mellitus", "E11.9"),
    ("Dyspepsia", "K30"),
    ("Tension-type headache", "G44.2"),
    ("Allergic dermatitis", "L23.9"),
    ("Urinary tract infection", "N39.0"),
    ("Low back pain", "M54.5"),
    ("Iron deficiency anaemia", "D50.9"),
    ("Osteoarthritis of knee", "M17.9"),
]


def day_weight(day: date, index: int, days: int) -> float:
    """How busy a day is: growth over the year, the week's rhythm, the season."""
    if (day.month, day.day) in HOLIDAYS:
        return 0.0
    growth = 0.75 + 0.5 * index / max(days - 1, 1)
    season = 1.15 if day.month in (7, 8, 9) else 1.05 if day.month in (12, 1) else 1.0
    return growth * season * WEEKDAY_WEIGHTS[day.weekday()]
