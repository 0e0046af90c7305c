"""What the waiting room tells the apps above it, which it must not import.

Receivers run inside the transaction that made the change: what they write commits or rolls
back with it, and an error in a receiver refuses the change.
"""

from __future__ import annotations

from django.dispatch import Signal

# An OPD's queue or one of its tickets changed (``queues.broadcast.queue_changed`` and
# ``ticket_changed`` send it). Sent with ``opd_id``. A receiver that publishes does so after
# commit with ``queues.broadcast.after_commit_once``, so that nobody hears of a change that was
# rolled back and a claim's messages still leave together. The dashboards' live panels nudge
# their groups here (dashboards/events.py). Cached receivers: it is sent on every change.
opd_changed = Signal(use_caching=True)

# A patient answered the call: the ticket is now in consultation with its doctor
# (``queues.services.visits.answer_call`` sends it). Sent with ``ticket`` (its doctor, patient
# and OPD) and ``at`` (when the consultation started). The consultations app opens the visit's
# record here (consultations/apps.py), in the same transaction, so the record exists as soon as
# the call page can show it.
consultation_started = Signal()
