"""Indian Standard Time for what people see; the server itself keeps UTC."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

IST = ZoneInfo("Asia/Kolkata")


def india_now() -> datetime:
    return timezone.now().astimezone(IST)


def india_today() -> date:
    return india_now().date()
