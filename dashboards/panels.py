"""The dashboard page's sections: each table of ``dashboards.tables`` beside the chart drawn
from the same figures (Chart.js-ready data, drawn by static/js/dashboard.js)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from dashboards.buckets import AGE_BAND_LABELS
from dashboards.cells import Table
from dashboards.queries import Count, StateRow, Trends
from dashboards.tables import TREND_TABLES, sex_label, states_table
from patients.models import Sex

CHART_TOP = 20  # bars in a chart; the table beside it lists every row


@dataclass(frozen=True)
class Panel:
    """A section of the page: a chart a person looks at and the table a screen reader reads."""

    table: Table
    chart: dict[str, Any] | None = None
    heat_map: bool = False  # the table itself is the picture
    summary: str = ""  # what the chart shows, for its accessible name
    csv_url: str = ""

    @property
    def chart_id(self) -> str:
        """The id of the chart's data (a json_script element)."""
        return f"chart-data-{self.table.slug}"


def _chart(
    kind: str,
    labels: Iterable[str],
    series: Iterable[tuple[str, list[int | float | None]]],
    *,
    horizontal: bool = False,
    stacked: bool = False,
    percent: bool = False,
) -> dict[str, Any]:
    return {
        "type": kind,
        "horizontal": horizontal,
        "stacked": stacked,
        "percent": percent,
        "labels": list(labels),
        "datasets": [{"label": label, "data": data} for label, data in series],
    }


def _per_day_chart(trends: Trends) -> dict[str, Any]:
    return _chart(
        "line",
        [date_format(p.day, "MONTH_DAY_FORMAT") for p in trends.per_day],
        [
            (_("Booked"), [p.booked for p in trends.per_day]),
            (_("Completed"), [p.completed for p in trends.per_day]),
            (_("Cancelled"), [p.cancelled for p in trends.per_day]),
            (_("No-shows"), [p.no_show for p in trends.per_day]),
        ],
    )


def _count_chart(counts: list[Count]) -> dict[str, Any]:
    top = sorted(counts, key=lambda c: (-c.booked, c.label))[:CHART_TOP]
    return _chart(
        "bar",
        [c.label for c in top],
        [
            (_("Booked"), [c.booked for c in top]),
            (_("Completed"), [c.completed for c in top]),
        ],
        horizontal=True,
    )


def _sex_age_chart(trends: Trends) -> dict[str, Any]:
    booked: dict[tuple[str, str], int] = {}
    for c in trends.by_sex_age:
        sex, _sep, band = c.key.partition(":")
        booked[sex, band] = booked.get((sex, band), 0) + c.booked
    bands = list(AGE_BAND_LABELS) + sorted({b for _s, b in booked} - set(AGE_BAND_LABELS))
    sexes = [code for code, _label in Sex.choices if any(s == code for s, _b in booked)]
    return _chart(
        "bar",
        bands,
        [(sex_label(s), [booked.get((s, b), 0) for b in bands]) for s in sexes],
    )


def _doctors_chart(trends: Trends) -> dict[str, Any]:
    top = sorted(trends.doctors, key=lambda d: (-d.consultations, d.name))[:CHART_TOP]
    return _chart(
        "bar",
        [d.name for d in top],
        [(_("Utilisation (%)"), [round((d.utilisation or 0) * 100, 1) for d in top])],
        horizontal=True,
        percent=True,
    )


def trend_panels(trends: Trends) -> list[Panel]:
    """The trend sections of a dashboard, in page order."""
    tables = {slug: build(trends) for slug, build in TREND_TABLES.items()}
    return [
        Panel(tables["summary"]),
        Panel(
            tables["per-day"],
            _per_day_chart(trends),
            summary=_(
                "Line chart of bookings, completed consultations, cancellations and "
                "no-shows for each day."
            ),
        ),
        Panel(
            tables["by-opd"],
            _count_chart(trends.by_opd),
            summary=_("Bar chart of bookings and completed consultations for each OPD."),
        ),
        Panel(
            tables["by-speciality"],
            _count_chart(trends.by_speciality),
            summary=_("Bar chart of bookings and completed consultations for each speciality."),
        ),
        Panel(
            tables["by-district"],
            _count_chart(trends.by_district),
            summary=_(
                "Bar chart of bookings and completed consultations for the districts "
                "with the most bookings."
            ),
        ),
        Panel(
            tables["by-sex-age"],
            _sex_age_chart(trends),
            summary=_("Bar chart of bookings for each age band, by sex."),
        ),
        Panel(tables["busiest-hours"], heat_map=True),
        Panel(
            tables["doctors"],
            _doctors_chart(trends),
            summary=_("Bar chart of the utilisation of the doctors with the most consultations."),
        ),
    ]


def states_panel(
    rows: list[StateRow], link_for: Callable[[str], str], *, median: float | None
) -> Panel:
    ordered = sorted(rows, key=lambda r: r.name)
    return Panel(
        states_table(ordered, link_for, median=median),
        _chart(
            "bar",
            [r.name for r in ordered],
            [
                (_("Booked"), [r.booked for r in ordered]),
                (_("Completed"), [r.completed for r in ordered]),
            ],
            horizontal=True,
        ),
        summary=_("Bar chart of bookings and completed consultations in every state and UT."),
    )
