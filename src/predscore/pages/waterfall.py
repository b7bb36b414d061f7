"""The points waterfall of a lead: from the base score, one step per reason, to the score.

Stage: outputs. Input: a base, reasons with points (the model's, or the rules'), and
the total they add up to; output: :class:`Waterfall`, the geometry of one horizontal
bar per step in points, which the single SVG template ``_waterfall.svg`` draws for the
lead pages and for the report alike. Pure: no I/O, no HTML here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Bar", "Waterfall", "build_waterfall"]

BarKind = Literal["base", "up", "down", "total"]


@dataclass(frozen=True)
class Bar:
    """One step: from ``start`` to ``end`` points (``end - start`` = its points)."""

    label: str
    start: float
    end: float
    kind: BarKind
    family: str | None = None

    @property
    def points(self) -> float:
        """Points of the step (the whole value for base and total bars)."""
        return self.end - self.start if self.kind in ("up", "down") else self.end


@dataclass(frozen=True)
class Waterfall:
    """The bars of a waterfall and the range of its axis (always includes 0)."""

    bars: tuple[Bar, ...]
    low: float
    high: float

    def x(self, value: float, width: float) -> float:
        """Position of ``value`` points on an axis ``width`` wide."""
        span = self.high - self.low
        return (value - self.low) / span * width if span else 0.0

    @property
    def zero_visible(self) -> bool:
        """Whether 0 lies strictly inside the axis (then a zero line is drawn)."""
        return self.low < 0 < self.high


def build_waterfall(
    base: float,
    reasons: Sequence[Mapping[str, Any]],
    total: float,
    *,
    base_label: str,
    total_label: str,
) -> Waterfall:
    """Steps from ``base`` through each reason's points, in the given order, to ``total``.

    Parameters
    ----------
    base : float
        Where the steps start (the model's base score; 0 for the rules).
    reasons : sequence of mapping
        Each with ``text`` (the label) and ``points``; ``family`` is kept when present.
    total : float
        The score the steps end at. The last step ends at ``base + Σ points``; the
        total bar shows ``total`` itself, so a gap would be visible, not hidden.
    base_label, total_label : str
        Labels of the first and last bars.

    Examples
    --------
    >>> w = build_waterfall(20.0, [{"text": "webinars", "points": 9.0},
    ...                            {"text": "no budget", "points": -12.0}], 17.0,
    ...                     base_label="base", total_label="score")
    >>> [(b.kind, b.start, b.end) for b in w.bars]
    [('base', 0.0, 20.0), ('up', 20.0, 29.0), ('down', 29.0, 17.0), ('total', 0.0, 17.0)]
    >>> (w.low, w.high)
    (0.0, 29.0)
    """
    bars = [Bar(base_label, 0.0, float(base), "base")]
    level = float(base)
    for reason in reasons:
        points = float(reason["points"])
        kind: BarKind = "up" if points >= 0 else "down"
        bars.append(
            Bar(
                str(reason["text"]),
                level,
                level + points,
                kind,
                None if reason.get("family") is None else str(reason["family"]),
            )
        )
        level += points
    bars.append(Bar(total_label, 0.0, float(total), "total"))
    ends = [0.0, *(b.start for b in bars), *(b.end for b in bars)]
    return Waterfall(bars=tuple(bars), low=min(ends), high=max(ends))
