"""Which function drives which operation of the schema."""

from __future__ import annotations

from collections.abc import Callable

from tests.core.apicontract.checker import Contract
from tests.core.apicontract.world import World

Driver = Callable[[Contract, World], None]
DRIVERS: dict[str, Driver] = {}


def drives(operation_id: str) -> Callable[[Driver], Driver]:
    """Register a function that exercises one operation: its success and its refusals."""

    def register(driver: Driver) -> Driver:
        assert operation_id not in DRIVERS, f"{operation_id} is driven twice"
        DRIVERS[operation_id] = driver
        return driver

    return register
