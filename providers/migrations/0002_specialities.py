from __future__ import annotations

from django.db import migrations

SPECIALITIES = [
    ("general-medicine", "General Medicine", "सामान्य चिकित्सा"),
    ("paediatrics", "Paediatrics", "बाल रोग"),
    ("obstetrics-gynaecology", "Obstetrics and Gynaecology", "प्रसूति एवं स्त्री रोग"),
    ("dermatology", "Dermatology", "त्वचा रोग"),
    ("psychiatry", "Psychiatry", "मनोरोग"),
    ("ent", "ENT (Ear, Nose and Throat)", "नाक, कान, गला"),
    ("ophthalmology", "Ophthalmology", "नेत्र रोग"),
    ("orthopaedics", "Orthopaedics", "हड्डी रोग"),
    ("dental", "Dental", "दंत चिकित्सा"),
    ("cardiology", "Cardiology", "हृदय रोग"),
    ("ayush", "AYUSH", "आयुष"),
    ("geriatrics", "Geriatrics", "वृद्धावस्था चिकित्सा"),
]


def load(apps, schema_editor):
    Speciality = apps.get_model("providers", "Speciality")
    for code, name, name_hi in SPECIALITIES:
        Speciality.objects.update_or_create(code=code, defaults={"name": name, "name_hi": name_hi})


class Migration(migrations.Migration):
    dependencies = [("providers", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
