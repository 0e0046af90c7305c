"""OPDs, their hours, doctors on duty, and the tickets patients wait with.

PostgreSQL is the source of truth for the queue: a ticket's place is its ``(priority, seq)``
key, claims are compare-and-set updates, and constraints make double assignment impossible.
Redis only carries messages about changes.
"""

from queues.models.duty import DoctorPresence, DutyShift
from queues.models.opds import Opd, OpdDay, OpdHours, OpdRevision
from queues.models.tickets import Attachment, PresenceLease, Ticket, TicketEvent

__all__ = [
    "Attachment",
    "DoctorPresence",
    "DutyShift",
    "Opd",
    "OpdDay",
    "OpdHours",
    "OpdRevision",
    "PresenceLease",
    "Ticket",
    "TicketEvent",
]
