from __future__ import annotations

import uuid


def parse_uuid(value: object) -> uuid.UUID | None:
    """A public id from a URL or a message, or None when it is not a UUID at all."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)[:64])
    except ValueError:
        return None
