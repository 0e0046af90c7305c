"""The date range every dashboard page, export and API call is asked for: IST days, inclusive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.clock import india_today

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_query(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def default_range(today: date | None = None) -> DateRange:
    """The last 30 days in India, today included."""
    end = today or india_today()
    return DateRange(end - timedelta(days=DEFAULT_DAYS - 1), end)


def check_range(start: date | None, end: date | None) -> tuple[DateRange, dict[str, list[str]]]:
    """The range asked for, a missing end filled from the default, and what is wrong with it
    (field name → messages; empty when it may be shown)."""
    today = india_today()
    asked_start = start
    end = end or (min(start + timedelta(days=DEFAULT_DAYS - 1), today) if start else today)
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    problems: dict[str, list[str]] = {}
    if end > today:
        problems["end"] = [str(_("The end date cannot be after today."))]
    if asked_start is not None and start > today:
        problems["start"] = [str(_("The start date cannot be after today."))]
    elif start > end:
        problems["start"] = [str(_("The start date must be on or before the end date."))]
    elif (end - start).days + 1 > MAX_DAYS:
        problems["start"] = [str(_("Choose at most %(days)d days.") % {"days": MAX_DAYS})]
    return DateRange(start, end), problems


class DateRangeForm(forms.Form):
    """A small GET form; both dates may be left out (the last 30 days)."""

    period: DateRange

    start = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )
    end = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        today = india_today().isoformat()
        for name in ("start", "end"):
            self.fields[name].widget.attrs["max"] = today

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        period, problems = check_range(cleaned.get("start"), cleaned.get("end"))
        if problems:
            raise ValidationError(
                {
                    name: [ValidationError(m) for m in messages]
                    for name, messages in problems.items()
                }
            )
        self.period = period
        return cleaned

    @classmethod
    def for_request(cls, query: Any) -> DateRangeForm:
        """Bound to the query string's dates; an empty query means the default range."""
        form = cls({"start": query.get("start", ""), "end": query.get("end", "")})
        if not form.is_valid():
            return form
        # Show the chosen range in the fields, including a default filled in.
        form.data = form.period.as_query()
        return form
