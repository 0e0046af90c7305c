from __future__ import annotations

from datetime import time

from django.db import migrations

# Every state and UT runs a general OPD; speciality OPDs are national and serve every state.
# Hours (IST) are a starting point that each state's administrator edits.
NATIONAL = [
    ("PED", "National Paediatrics OPD", "राष्ट्रीय बाल रोग ओपीडी", "paediatrics"),
    ("OBG", "National Gynaecology OPD", "राष्ट्रीय स्त्री रोग ओपीडी", "obstetrics-gynaecology"),
    ("DRM", "National Dermatology OPD", "राष्ट्रीय त्वचा रोग ओपीडी", "dermatology"),
    ("PSY", "National Psychiatry OPD", "राष्ट्रीय मनोरोग ओपीडी", "psychiatry"),
    ("ENT", "National ENT OPD", "राष्ट्रीय नाक, कान, गला ओपीडी", "ent"),
]


def create(apps, schema_editor):
    State = apps.get_model("core", "State")
    Speciality = apps.get_model("providers", "Speciality")
    Opd = apps.get_model("queues", "Opd")
    OpdHours = apps.get_model("queues", "OpdHours")

    def hours(opd, opens, closes, days=range(6)):
        OpdHours.objects.bulk_create(
            [OpdHours(opd=opd, weekday=d, opens_at=opens, closes_at=closes) for d in days]
        )

    for state in State.objects.all():
        opd, created = Opd.objects.get_or_create(
            state=state,
            code="GM",
            defaults={
                "name": f"{state.name} General OPD",
                "name_hi": f"{state.name_hi} सामान्य ओपीडी" if state.name_hi else "",
            },
        )
        if created:
            hours(opd, time(9, 0), time(17, 0))
    for code, name, name_hi, speciality in NATIONAL:
        opd, created = Opd.objects.get_or_create(
            state=None,
            code=code,
            defaults={
                "name": name,
                "name_hi": name_hi,
                "speciality": Speciality.objects.get(code=speciality),
            },
        )
        if created:
            hours(opd, time(9, 0), time(17, 0))


class Migration(migrations.Migration):
    dependencies = [
        ("queues", "0001_initial"),
        ("core", "0002_reference_data"),
        ("providers", "0002_specialities"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
