"""What the consultations app tells the apps above it, which it must not import."""

from __future__ import annotations

from django.dispatch import Signal

# A prescription was signed (a first version or a correction) and the signing committed
# (``consultations.services.finalise`` sends it from ``transaction.on_commit``). Sent with
# ``prescription`` (the final version). ABDM links the visit to the patient's ABHA here
# (abdm/apps.py). A receiver runs after the commit: what it writes is its own transaction.
prescription_finalised = Signal()
