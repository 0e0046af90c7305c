"""Reading one-time codes out of test SMS."""

from __future__ import annotations

import re


def code_in(body: str) -> str:
    match = re.search(r"\b(\d{6})\b", body)
    if match is None:
        raise AssertionError(f"no 6-digit code in SMS: {body!r}")
    return match.group(1)
