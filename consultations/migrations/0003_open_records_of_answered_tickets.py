"""Consultations are now opened when the patient answers the call (``start_consultation``), no
longer by the first page or API read. Tickets answered before that (in consultation now, or
ended without the doctor opening the form) get their record here, as that first read would have
made it: the consultation, and a first draft from the ticket's complaint for every consultation
that has no prescription yet."""

from django.db import migrations


def open_records(apps, schema_editor):
    Ticket = apps.get_model("queues", "Ticket")
    Consultation = apps.get_model("consultations", "Consultation")
    Prescription = apps.get_model("consultations", "Prescription")
    unopened = Ticket.objects.filter(
        status__in=["in_consultation", "completed"],
        doctor__isnull=False,
        consultation__isnull=True,
    )
    Consultation.objects.bulk_create(
        [
            Consultation(
                ticket_id=ticket.pk,
                patient_id=ticket.patient_id,
                doctor_id=ticket.doctor_id,
                opd_id=ticket.opd_id,
                started_at=ticket.consult_started_at or ticket.status_changed_at,
            )
            for ticket in unopened.iterator()
        ],
        batch_size=500,
    )
    unwritten = Consultation.objects.filter(prescriptions__isnull=True).select_related("ticket")
    Prescription.objects.bulk_create(
        [
            Prescription(
                consultation_id=consultation.pk,
                version=1,
                status="draft",
                chief_complaints=consultation.ticket.complaint,
            )
            for consultation in unwritten.iterator()
        ],
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("consultations", "0002_outbox_for_unrendered_prescriptions"),
        ("queues", "0006_ticket_priority_declared_by"),
    ]

    operations = [migrations.RunPython(open_records, migrations.RunPython.noop)]
