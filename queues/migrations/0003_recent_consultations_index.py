from django.db import migrations, models


class Migration(migrations.Migration):
    """The estimated wait reads an OPD's most recent consultations (queues.selectors)."""

    dependencies = [("queues", "0002_opds")]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("status", "completed")),
                fields=["opd", "-consult_ended_at"],
                name="recent_consultations",
            ),
        ),
    ]
