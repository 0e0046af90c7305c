"""What a booking accepts, written once for both doors: the booking page's ``BookingForm``
(``queues/forms.py``) and the API's ``BookingSerializer`` (``queues/api.py``) take their limits,
claims and upload checks from here.

Rules that need the member's record or the OPD — the OPD's state and hours, a priority claim the
record rules out, one token per OPD — are the booking service's (``queues/services/booking.py``),
so both doors answer them alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from queues import claims
from queues.attachments import CheckedUpload, check_upload
from queues.models import Ticket

COMPLAINT_MIN_LENGTH = 3
COMPLAINT_MAX_LENGTH: int = Ticket._meta.get_field("complaint").max_length or 1000

# What a family may declare on the page (a senior's priority comes from the record unasked);
# the API also accepts ``senior``, to check it: ``claims.CLAIMS``.
DECLARABLE = (Ticket.PriorityReason.NONE, *claims.DECLARED)


def check_uploads(
    files: Sequence[UploadedFile[bytes]], *, name_each: bool = False
) -> list[CheckedUpload]:
    """At most ``ATTACHMENT_MAX_FILES`` files, each checked by ``check_upload``. The page shows
    a refusal under its field; the API (``name_each``) starts it with the file's name."""
    if len(files) > settings.ATTACHMENT_MAX_FILES:
        raise ValidationError(
            _("At most %(count)d files.") % {"count": settings.ATTACHMENT_MAX_FILES}
        )
    checked = []
    for upload in files:
        try:
            checked.append(check_upload(upload))
        except ValidationError as exc:
            if not name_each:
                raise
            raise ValidationError(
                [f"{getattr(upload, 'name', '')}: {m}" for m in exc.messages]
            ) from exc
    return checked
