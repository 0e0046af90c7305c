"""Histogram buckets and age bands shared by the rollups and by the raw queries.

Durations are whole seconds (rounded down). Bucket ``i`` holds values from ``edges[i]`` up to,
not including, ``edges[i + 1]``; the last bucket is open-ended. Rollup rows store one count per
bucket, so medians and percentiles over any range are read from summed histograms instead of
from every ticket; the tests' raw reading (``tests/dashboards/raw.py``) buckets the same way, so
both agree to the second.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date

# Waits: booking to the start of the consultation. Fine-grained while short (that is where
# targets lie), coarse beyond an hour, open-ended past eight hours.
WAIT: tuple[int, ...] = (
    0,
    30,
    60,
    120,
    180,
    300,
    420,
    600,
    900,
    1200,
    1800,
    2700,
    3600,
    5400,
    7200,
    10800,
    14400,
    21600,
    28800,
)

# Consultations: start to end of a completed consultation.
CONSULT: tuple[int, ...] = (0, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 2700, 3600)

# (label, youngest age in years); each band runs to the next band's youngest age.
AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("0-4", 0),
    ("5-14", 5),
    ("15-29", 15),
    ("30-44", 30),
    ("45-59", 45),
    ("60+", 60),
)
AGE_BAND_LABELS: tuple[str, ...] = tuple(label for label, _youngest in AGE_BANDS)


def bucket_of(seconds: int, edges: Sequence[int]) -> int:
    """Index of the bucket holding ``seconds`` (negative values, clock skew, go in the first)."""
    return max(bisect_right(edges, seconds) - 1, 0)


def empty(edges: Sequence[int]) -> list[int]:
    return [0] * len(edges)


def add(histogram: list[int], other: Sequence[int]) -> None:
    """Add ``other`` into ``histogram`` bucket by bucket (both over the same edges)."""
    for i, count in enumerate(other):
        histogram[i] += int(count)


def percentile(histogram: Sequence[int], edges: Sequence[int], q: float) -> float | None:
    """The ``q``-quantile (0 < q < 1), interpolated linearly inside its bucket; ``None`` if the
    histogram is empty. A value in the open last bucket is reported as that bucket's lower edge.
    """
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, count in enumerate(histogram):
        if count and seen + count >= rank:
            low = edges[i]
            if i + 1 == len(edges):
                return float(low)
            high = edges[i + 1]
            return low + (high - low) * (rank - seen) / count
        seen += count
    return float(edges[-1])  # unreachable: rank <= total


def age_on(born: date, day: date) -> int:
    """Completed years on ``day`` (as ``Patient.age_on``)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def age_band(age: int) -> str:
    """The band label for an age in years (a birth date after the visit counts as 0-4)."""
    label = AGE_BANDS[0][0]
    for band, youngest in AGE_BANDS:
        if age >= youngest:
            label = band
    return label
