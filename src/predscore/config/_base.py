"""Base of every configuration section: frozen, unknown keys rejected."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Section):
    """Inclusive numeric interval; a missing bound is open."""

    min: float | None = None
    max: float | None = None

    def contains(self, value: float) -> bool:
        """Return whether ``value`` lies inside the interval (bounds included)."""
        lo = self.min if self.min is not None else float("-inf")
        hi = self.max if self.max is not None else float("inf")
        return lo <= value <= hi
