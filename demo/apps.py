from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Made-up data for ``make run``: the demo accounts (``seed_demo``) and past weeks of visits
    for the dashboards (``seed_history``). It sits above every app it fills and nothing imports
    it; it has no models."""

    name = "demo"
