"""What the consultations app tells the apps above it, which it must not import."""

from __future__ import annotations

from django.dispatch import Signal

# A prescription was signed (a first version or a correction) and its record is complete: the
# signing committed and its PDF is stored (``consultations.documents.render_and_store``, run
# through the outbox until it is done). Sent with ``prescription`` (the final version), inside
# the transaction that completes that outbox message; a receiver must be idempotent (a run
# repeated after a crash sends it again). ABDM links the visit to the patient's ABHA here.
prescription_finalised = Signal()
