"""The limits of what a doctor may write, read from the model fields that define them.

The API's serializers and the page's form take every length and range from here, so a limit is
written once, on the model, and the page, the API and the database refuse the same values.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


def _field(model: type[models.Model], name: str) -> models.Field[object, object]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def max_length(model: type[models.Model], name: str) -> int:
    """The model field's ``max_length``."""
    limit = _field(model, name).max_length
    if limit is None:
        raise TypeError(f"{model.__name__}.{name} has no max_length")
    return limit


def value_range(model: type[models.Model], name: str) -> tuple[int, int]:
    """The lowest and highest value the model field's validators allow."""
    validators = _field(model, name).validators
    lowest = [v.limit_value for v in validators if isinstance(v, MinValueValidator)]
    highest = [v.limit_value for v in validators if isinstance(v, MaxValueValidator)]
    if len(lowest) != 1 or len(highest) != 1:
        raise TypeError(f"{model.__name__}.{name} has no single range")
    return int(lowest[0]), int(highest[0])
