"""Placeholder."""

from __future__ import annotations

from aiohttp import web

from abdm_gateway.cm import ConsentManager
from abdm_gateway.hiu import HealthInformation


def install(app: web.Application, cm: ConsentManager, hi: HealthInformation) -> None:
    pass
