"""Assemble per-lead reason lists from the rules that fired.

Stage: rules. Input: the reasons each rule gave (row position, rule order, feature,
value, points, text; columns as arrays, a few per rule); output: for every lead, the
list of ``{feature, value, points, text}`` records, in rule order: the reason format
shared with the model's explanations (DESIGN.md "Outputs").
"""

from __future__ import annotations

import numpy as np

from predscore.errors import ConfigError

__all__ = ["REASON_KEYS", "Fired", "collect_reasons", "fired_reasons"]

REASON_KEYS = ("feature", "value", "points", "text")
#: The reasons of one rule: ``row``, ``order``, ``points`` (numbers) and ``feature``,
#: ``value``, ``text`` (objects), one entry per row where it fired.
Fired = dict[str, np.ndarray]


def fired_reasons(
    order: int,
    rows: np.ndarray,
    feature: str,
    values: np.ndarray,
    points: np.ndarray,
    template: str,
    where: str,
) -> Fired:
    """The reasons of one rule at the row positions ``rows``.

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
    return {
        "row": np.asarray(rows, dtype=np.int64),
        "order": np.full(n, order, dtype=np.int64),
        "feature": np.full(n, feature, dtype=object),
        "value": _objects(shown),
        "points": np.asarray(points, dtype=float),
        "text": _objects(texts),
    }


def _objects(values: list[object]) -> np.ndarray:
    """A 1-d object array of ``values`` (a value may itself be a list)."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out


def collect_reasons(parts: list[Fired], n_rows: int) -> list[list[dict]]:
    """One list of reason records per row position ``0 .. n_rows - 1``."""
    out: list[list[dict]] = [[] for _ in range(n_rows)]
    if not parts:
        return out
    long = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    # rows sorted, then rule order: each lead's reasons read in the order of the YAML
    sort = np.lexsort((long["order"], long["row"]))
    columns = [long[key][sort] for key in REASON_KEYS]
    columns[REASON_KEYS.index("points")] = long["points"][sort].tolist()
    for row, *values in zip(long["row"][sort], *columns, strict=True):
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
