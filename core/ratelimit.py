"""Fixed-window counters in the shared cache (Redis in production).

Used where a limit must hold for pages and API alike, e.g. one-time codes per client address.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def client_key(address: str) -> str:
    """A keyed hash of a client address: counts per client without storing the address."""
    digest = hashlib.blake2b(
        address.encode(), key=settings.SECRET_KEY.encode()[:64], digest_size=16
    )
    return digest.hexdigest()


def hit(name: str, key: str, *, limit: int, window_seconds: int) -> int | None:
    """Count one event; return None while within ``limit``, else seconds until the next window."""
    now = time.time()
    bucket = int(now // window_seconds)
    cache_key = f"rl:{name}:{key}:{bucket}"
    cache.add(cache_key, 0, timeout=window_seconds + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds + 5)
        count = 1
    if count > limit:
        return max(1, int((bucket + 1) * window_seconds - now))
    return None
