"""What the waiting room tells apps above it, which subscribe without queues knowing them.

``opd_changed`` is sent with ``opd_id`` inside the transaction that changed an OPD's queue or
one of its tickets (``queues.broadcast.queue_changed`` and ``ticket_changed`` send it). A
receiver that publishes does so after commit, with ``queues.broadcast.after_commit_once``, so
that nobody hears of a change that was rolled back and a claim's messages still leave together.
The dashboards' live panels connect to it (``dashboards.apps``)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent with sender=Opd and opd_id=<the OPD's id>. Cached receivers: it is sent on every change.
opd_changed = Signal(use_caching=True)
