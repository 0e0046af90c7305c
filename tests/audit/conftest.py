from __future__ import annotations

from tests.consultations.conftest import visit

__all__ = ["visit"]
