"""Assemble per-lead reason lists from the rules that fired.

Stage: rules. Input: one long frame of fired rules (row position, rule order, feature,
value, points, text); output: for every lead, the list of ``{feature, value, points,
text}`` records, in rule order: the reason format shared with the model's explanations
(DESIGN.md "Outputs").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predscore.errors import ConfigError

__all__ = ["REASON_KEYS", "collect_reasons", "fired_reasons"]

REASON_KEYS = ("feature", "value", "points", "text")


def fired_reasons(
    order: int,
    rows: np.ndarray,
    feature: str,
    values: np.ndarray,
    points: np.ndarray,
    template: str,
    where: str,
) -> pd.DataFrame:
    """Long frame of the reasons of one rule at the row positions ``rows``.

    Raises
    ------
    ConfigError
        When the template's format does not suit the values (e.g. ``{value:.0f}`` on
        text); the message names the rule (``where``).
    """
    shown = [_display(v) for v in values]
    try:
        texts = [
            template.format(value=v, points=_signed(p))
            for v, p in zip(shown, points, strict=True)
        ]
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where}: text {template!r} cannot format a {type(shown[0]).__name__} "
            f"value: {exc}"
        ) from exc
    return pd.DataFrame(
        {
            "row": rows,
            "order": order,
            "feature": feature,
            "value": pd.Series(shown, dtype=object),
            "points": points.astype(float),
            "text": texts,
        }
    )


def collect_reasons(parts: list[pd.DataFrame], n_rows: int) -> list[list[dict]]:
    """One list of reason records per row position ``0 .. n_rows - 1``."""
    out: list[list[dict]] = [[] for _ in range(n_rows)]
    if not parts:
        return out
    # rows sorted, then rule order: each lead's reasons read in the order of the YAML
    long = pd.concat(parts, ignore_index=True).sort_values(
        ["row", "order"], kind="stable"
    )
    records = long[list(REASON_KEYS)].to_dict("records")
    for row, record in zip(long["row"].to_numpy(), records, strict=True):
        out[row].append(record)
    return out


def _display(value: object) -> object:
    """Whole floats print without a trailing ``.0`` in sentences."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _signed(points: float) -> str:
    return f"{points:+g}"
