from __future__ import annotations

from django.db import migrations

from core.reference import load_districts, load_languages, load_states


def load(apps, schema_editor):
    State = apps.get_model("core", "State")
    load_states(State)
    load_districts(State, apps.get_model("core", "District"))
    load_languages(apps.get_model("core", "Language"))


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
