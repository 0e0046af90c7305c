"""Prescriptions signed before the outbox existed whose PDF was never rendered (their task was
lost, e.g. signed while Redis was down) get an outbox message, so the relay renders and
announces them."""

from django.db import migrations
from django.utils import timezone


def enqueue_unrendered(apps, schema_editor):
    Prescription = apps.get_model("consultations", "Prescription")
    OutboxMessage = apps.get_model("core", "OutboxMessage")
    now = timezone.now()
    unrendered = Prescription.objects.filter(status="final", pdf_sha256="").values_list(
        "pk", flat=True
    )
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                key=f"render-prescription:{pk}",
                task="consultations.tasks.render_prescription",
                args=[pk],
                created_at=now,
                relay_at=now,
            )
            for pk in unrendered.iterator()
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("consultations", "0001_initial"),
        ("core", "0003_outbox_message"),
    ]

    operations = [migrations.RunPython(enqueue_unrendered, migrations.RunPython.noop)]
