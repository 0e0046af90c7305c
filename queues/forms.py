from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.clock import IST, india_today
from patients.models import Patient
from queues import claims
from queues.attachments import CheckedUpload
from queues.booking_input import (
    COMPLAINT_MAX_LENGTH,
    COMPLAINT_MIN_LENGTH,
    DECLARABLE,
    check_uploads,
)
from queues.hours import opening_state, opens_later_today
from queues.models import Opd


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[CheckedUpload]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        return check_uploads(files)


def opd_label(opd: Opd, now: Any) -> str:
    state = opening_state(opd, now)
    if state.is_open:
        when = gettext("open now")
    elif opens_later_today(state, now) and state.next_opening:
        when = gettext("opens today at %(time)s") % {
            "time": date_format(state.next_opening.astimezone(IST), "TIME_FORMAT")
        }
    elif state.next_opening:
        when = gettext("closed, opens %(when)s") % {
            "when": date_format(state.next_opening.astimezone(IST), "DATETIME_FORMAT")
        }
    else:
        when = gettext("closed")
    return f"{opd.display_name} ({when})"


PRIORITY_CHOICES = [(claim.value, claim.label) for claim in DECLARABLE]


class BookingForm(forms.Form):
    opd = forms.ChoiceField(label=_("OPD"), widget=forms.RadioSelect)
    complaint = forms.CharField(
        label=_("What is the problem?"),
        min_length=COMPLAINT_MIN_LENGTH,
        max_length=COMPLAINT_MAX_LENGTH,
        help_text=_("For example: fever and cough for three days."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    priority_reason = forms.ChoiceField(
        label=_("Priority (optional)"),
        required=False,
        # Every claim is accepted here and checked against the member's record by the booking
        # service (queues/claims.py); the page offers only those that can apply.
        choices=PRIORITY_CHOICES,
        help_text=_(
            "Patients aged 60 or more get priority automatically, by the date of birth on "
            "record. Pregnancy or a disability is your declaration: it is recorded with your "
            "account, and the doctor sees that the family declared it."
        ),
        widget=forms.RadioSelect,
    )
    documents = MultipleFileField(
        label=_("Earlier prescriptions or test reports (optional)"),
        required=False,
        help_text=_("PDF, JPEG or PNG, up to %(count)d files of %(mb)d MB each.")
        % {
            "count": settings.ATTACHMENT_MAX_FILES,
            "mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
        },
    )

    def __init__(self, *args: Any, opds: list[Opd], member: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.now()
        self.opds = {str(opd.public_id): opd for opd in opds}
        field = self.fields["opd"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(key, opd_label(opd, now)) for key, opd in self.opds.items()]
        offered = claims.declarable(sex=member.sex, age=member.age_on(india_today()))
        widget = self.fields["priority_reason"].widget
        assert isinstance(widget, forms.RadioSelect)
        widget.choices = [choice for choice in PRIORITY_CHOICES if choice[0] in ("", *offered)]

    def clean_opd(self) -> Opd:
        return self.opds[self.cleaned_data["opd"]]
