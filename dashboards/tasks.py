"""Beat-driven upkeep of the dashboard rollups (``dashboards.rollups``)."""

from __future__ import annotations

import logging

from celery import shared_task

from dashboards import rollups

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def refresh_rollups() -> int:
    """Every 30 s: refresh the slices touched since the last run."""
    refreshed = rollups.catch_up()
    logger.debug("Dashboard rollups: %d slices refreshed", refreshed)
    return refreshed


@shared_task(ignore_result=True)
def reconcile_rollups() -> int:
    """Hourly: recompute the last two days whatever the cursor says."""
    refreshed = rollups.reconcile()
    logger.info("Dashboard rollups reconciled: %d slices", refreshed)
    return refreshed
