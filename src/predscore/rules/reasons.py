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
    n = len(rows)
    # object columns: plain Python values, no string-array round trip per record
    return pd.DataFrame(
        {
            "row": np.asarray(rows, dtype=np.int64),
            "order": np.full(n, order, dtype=np.int64),
            "feature": pd.Series([feature] * n, dtype=object),
            "value": pd.Series(shown, dtype=object),
            "points": np.asarray(points, dtype=float),
            "text": pd.Series(texts, dtype=object),
        }
    )


def collect_reasons(parts: list[pd.DataFrame], n_rows: int) -> list[list[dict]]:
    """One list of reason records per row position ``0 .. n_rows - 1``."""
    out: list[list[dict]] = [[] for _ in range(n_rows)]
    if not parts:
        return out
    long = pd.concat(parts, ignore_index=True)
    # rows sorted, then rule order: each lead's reasons read in the order of the YAML
    sort = np.lexsort((long["order"].to_numpy(), long["row"].to_numpy()))
    columns = [long[key].to_numpy(dtype=object)[sort] for key in REASON_KEYS]
    columns[REASON_KEYS.index("points")] = (
        long["points"].to_numpy(dtype=float)[sort].tolist()
    )
    for row, *values in zip(long["row"].to_numpy()[sort], *columns, strict=True):
        out[row].append(dict(zip(REASON_KEYS, values, strict=True)))
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
