"""What moved: a lead's reasons before and after new answers, its trend over runs.

Stage: outputs. Pure functions over plain values for the lead page:
:func:`reason_changes` pairs two lists of reasons by feature and keeps those whose
points changed (the largest move first); :func:`score_trend` classifies a lead's
probability over its last scoring runs as improving, steady or declining, with the
thresholds of ``reps.trend``; :func:`sparkline` draws the scores over time as the
points of an SVG polyline (no script: the pages allow none).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from predscore.config import TrendConfig

__all__ = ["Sparkline", "reason_changes", "score_trend", "sparkline"]

_EPS = 1e-9


def _points(reason: Mapping[str, Any]) -> float:
    value = reason.get("points")
    return 0.0 if value is None or not math.isfinite(float(value)) else float(value)


def reason_changes(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Reasons whose points differ between two scorings, largest change first.

    A reason present on one side only counts 0 points on the other. Each item has
    ``feature``, ``text`` (the newer sentence when there is one), ``before``,
    ``after`` and ``change``.

    Examples
    --------
    >>> b = [{"feature": "budget", "points": 2.0, "text": "budget unknown"}]
    >>> a = [{"feature": "budget", "points": -9.0, "text": "no budget"},
    ...      {"feature": "fit", "points": 1.0, "text": "fit"}]
    >>> [(m["text"], m["change"]) for m in reason_changes(b, a)]
    [('no budget', -11.0), ('fit', 1.0)]
    """
    old = {str(r.get("feature")): r for r in before}
    new = {str(r.get("feature")): r for r in after}
    moved = []
    for feature in sorted(old.keys() | new.keys()):
        was, now = old.get(feature), new.get(feature)
        p_was = 0.0 if was is None else _points(was)
        p_now = 0.0 if now is None else _points(now)
        if abs(p_now - p_was) <= _EPS:
            continue
        text = (now or was or {}).get("text") or feature
        moved.append(
            {
                "feature": feature,
                "text": str(text),
                "before": p_was,
                "after": p_now,
                "change": p_now - p_was,
            }
        )
    return sorted(moved, key=lambda m: (-abs(m["change"]), m["feature"]))


def score_trend(
    probabilities: Sequence[float | None], trend: TrendConfig
) -> str | None:
    """``improving``, ``steady`` or ``declining``: the newest probability against the
    one ``trend.runs - 1`` runs before it (or the oldest); None with fewer than two.

    Examples
    --------
    >>> score_trend([0.1, 0.2, 0.3], TrendConfig())
    'improving'
    >>> score_trend([0.30, 0.28], TrendConfig())
    'steady'
    """
    values = [p for p in probabilities if p is not None and math.isfinite(p)]
    if len(values) < 2:
        return None
    window = values[-trend.runs :]
    change = window[-1] - window[0]
    if change > trend.improving_above:
        return "improving"
    if change < trend.declining_below:
        return "declining"
    return "steady"


@dataclass(frozen=True)
class Sparkline:
    """An SVG polyline of scores over runs (``points`` is its attribute value)."""

    width: int
    height: int
    points: str
    dots: list[tuple[float, float]]


def sparkline(
    scores: Sequence[float | None], width: int = 320, height: int = 60
) -> Sparkline | None:
    """Scores (0-100) drawn left (oldest) to right; None with fewer than two."""
    values = [s for s in scores if s is not None and math.isfinite(s)]
    if len(values) < 2:
        return None
    pad = 5.0
    step = (width - 2 * pad) / (len(values) - 1)
    dots = [
        (
            round(pad + i * step, 1),
            round(height - pad - v / 100 * (height - 2 * pad), 1),
        )
        for i, v in enumerate(values)
    ]
    return Sparkline(width, height, " ".join(f"{x},{y}" for x, y in dots), dots)
