from __future__ import annotations

import logging
import re

# Indian mobile numbers (with or without +91), e-mail addresses, ABHA numbers and 12-digit
# identifiers. A safety net: code should not log personal data in the first place.
_PATTERNS = (
    (re.compile(r"(?<!\d)(?:\+?91[\s-]?)?[6-9]\d{4}[\s-]?\d{5}(?!\d)"), "[mobile]"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"(?<!\d)\d{2}-?\d{4}-?\d{4}-?\d{4}(?!\d)"), "[abha]"),
    (re.compile(r"(?<!\d)\d{4}\s?\d{4}\s?\d{4}(?!\d)"), "[id]"),
)


# Public ids (UUIDs) name no one and are what a log line should carry; their digit runs are not
# phone numbers or Patient IDs, so they are left whole.
_UUID = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")


def redact(text: str) -> str:
    parts = _UUID.split(text)
    for index in range(0, len(parts), 2):  # the odd parts are the UUIDs
        for pattern, replacement in _PATTERNS:
            parts[index] = pattern.sub(replacement, parts[index])
    return "".join(parts)


class RedactPersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
