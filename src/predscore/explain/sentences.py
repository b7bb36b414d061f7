"""Sentences of the reasons, from the templates of ``configs/explain.yaml``.

Stage: explain. Input: the feature rows, the reasons chosen for display (row, group,
displayed points) and the groups' templates; output: one sentence per reason, such as
"attended 2 webinars in the last 90 days: +9 pts". A group's template is chosen per
reason (first ``case`` whose condition holds, else ``unknown`` when the value is
missing, else ``text``) and filled with the lead's actual values. A missing value reads
as the configured ``unknown`` word whatever the format, never "nan".

Vectorised: conditions are evaluated per group over all its reasons at once, and each
distinct combination of (template, values, points) is formatted once, so the cost
grows with the number of distinct sentences, not of leads.
"""

from __future__ import annotations

import logging
import math
import string
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from predscore.config import ExplainConfig, IcpConfig
from predscore.config.explain import template_fields
from predscore.errors import ConfigError
from predscore.explain.groups import Group, Grouping
from predscore.rules.conditions import column_array, condition_mask

__all__ = ["SentenceRenderer", "display_value", "format_points"]

_LOG = logging.getLogger(__name__)
#: Up to this many reasons of a kind are written in a loop that remembers the
#: sentences written; beyond, pandas groups the distinct combinations of values
#: first (a batch repeats itself), each then written once and spread.
_FEW = 2_048
#: Points formatted one by one up to this many (beyond, each distinct value once).
_FEW_POINTS = 16
#: ICP bands usable in templates and conditions: band name → ICP range attribute.
_BANDS = {"employees": "employees", "annual_revenue": "annual_revenue"}


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def display_value(value: object) -> object:
    """Plain Python value: whole floats as int, numpy scalars unwrapped, missing None."""
    if isinstance(value, np.generic):
        value = value.item()
    if _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def format_points(shown: np.ndarray, decimals: int, minus: str) -> np.ndarray:
    """Signed text of displayed points: ``+9``, ``−12`` (``minus`` sign), ``0``."""

    def signed(v: float) -> str:
        return f"{'+' if v > 0 else minus if v < 0 else ''}{abs(v):.{decimals}f}"

    values = np.asarray(shown, dtype=float)
    if len(values) <= _FEW_POINTS:  # a few reasons: formatted as they come
        return np.asarray([signed(v) for v in values.tolist()], dtype=object)
    # many (rounded points, few distinct values): each distinct value formatted once
    distinct, inverse = np.unique(values, return_inverse=True)
    texts = [signed(v) for v in distinct.tolist()]
    return np.asarray(texts, dtype=object)[inverse.reshape(-1)]


class _Formatter(string.Formatter):
    """``str.format`` where a missing value reads as the ``unknown`` word."""

    def __init__(self, unknown: str) -> None:
        super().__init__()
        self.unknown = unknown

    def format_field(self, value: Any, format_spec: str) -> Any:
        if _missing(value):
            return self.unknown
        return super().format_field(value, format_spec)


class SentenceRenderer:
    """Render the sentences of reasons for one grouping and configuration.

    Parameters
    ----------
    grouping : Grouping
        The human features (their templates, value columns and families).
    config : ExplainConfig
        Wrapping template, unit, ``unknown`` word, minus sign, rest sentence.
    icp : IcpConfig
        The ICP bands templates may quote (``{icp_employees_min}``...).
    """

    def __init__(
        self, grouping: Grouping, config: ExplainConfig, icp: IcpConfig
    ) -> None:
        self.grouping = grouping
        self.config = config
        self.icp = icp
        self._formatter = _Formatter(config.unknown)
        self._constants: dict[str, object] = {}
        for band, attribute in _BANDS.items():
            bounds = getattr(icp, attribute)
            self._constants[f"icp_{band}_min"] = bounds.min
            self._constants[f"icp_{band}_max"] = bounds.max
        self._warned: set[str] = set()
        # plans by (group, the rows' columns): a server renders the same plans often
        self._plans: dict[tuple[str, tuple[str, ...]], tuple] = {}

    # -- context -----------------------------------------------------------------
    def context(self, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The columns plus the ICP band columns (``employees_band``...) they allow."""
        out = dict(columns)
        for band, attribute in _BANDS.items():
            if band not in columns:
                continue
            bounds = getattr(self.icp, attribute)
            x = np.asarray(columns[band])
            if x.dtype.kind not in "biuf":  # text that should hold numbers
                x = pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(
                    dtype=float, na_value=np.nan
                )
            x = x.astype(float, copy=False)
            lo = -np.inf if bounds.min is None else bounds.min
            hi = np.inf if bounds.max is None else bounds.max
            out[f"{band}_band"] = np.select(
                [np.isnan(x), x < lo, x > hi], ["unknown", "below", "above"], "inside"
            ).astype(object)
        return out

    # -- one reason per (row, group) ---------------------------------------------
    def render(
        self,
        rows: pd.DataFrame,
        positions: np.ndarray,
        groups: np.ndarray,
        shown: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values and sentences of the reasons ``(positions[i], groups[i])``.

        Parameters
        ----------
        rows : DataFrame
            The feature rows; ``positions`` are row positions in it.
        positions, groups : array of int
            Row position and group index of each reason.
        shown : array of float
            Displayed (rounded) points of each reason.

        Returns
        -------
        (values, texts) : arrays of object
            The group's value for the lead (plain Python, None when missing) and the
            full sentence ("…: +9 pts").
        """
        values = np.empty(len(positions), dtype=object)
        texts = np.empty(len(positions), dtype=object)
        present = [int(g) for g in np.unique(groups)]
        names = tuple(rows.columns.tolist())
        plans = {}
        for g in present:
            group = self.grouping.groups[g]
            key = (group.name, names)
            if key not in self._plans:
                self._plans[key] = self._plan(group, rows.columns)
            plans[g] = self._plans[key]
        # each column the sentences read, once, as numpy, at the reasons' rows only
        read = sorted({c for plan in plans.values() for c in plan[-1]})
        at_rows = {c: column_array(rows[c])[positions] for c in read}
        for g in present:
            at = np.flatnonzero(groups == g)
            plan = plans[g]
            sub = self.context({c: at_rows[c][at] for c in plan[-1]})
            values[at], texts[at] = self._render_group(
                self.grouping.groups[g], plan, sub, shown[at]
            )
        return values, texts

    def render_rest(
        self, families: np.ndarray, counts: np.ndarray, shown: np.ndarray
    ) -> np.ndarray:
        """Sentences of the folded reasons ("4 other engagement factors: +1 pt")."""
        names = self.config.family_names
        frame = {
            "family": np.asarray([names[f] for f in families], dtype=object),
            "count": np.asarray(counts, dtype=int),
        }
        return self._fill(frame, self.config.rest_text, shown, "explain.rest_text")

    def _render_group(
        self,
        group: Group,
        plan: tuple,
        sub: dict[str, np.ndarray],
        shown: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        where = f"explain.groups '{group.name}'"
        cases, unknown, fallback, value_column, _ = plan
        raw = sub[value_column]
        n = len(shown)
        labels = group.config.labels if group.config is not None else {}
        # each distinct value converted once, then spread back (missing: None)
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        plain = [display_value(v) for v in np.asarray(uniques, dtype=object)]
        labelled = [labels.get(v, v) if isinstance(v, str) else v for v in plain]
        value = np.asarray([*plain, None], dtype=object)[codes]
        shown_value = np.asarray([*labelled, None], dtype=object)[codes]
        choice = np.full(n, -1)
        for i, (condition, _) in enumerate(cases):
            if condition is None:
                choice[choice == -1] = i
                continue
            mask = condition_mask(sub, condition, where)
            choice[(choice == -1) & mask] = i
        templates = [text for _, text in cases]
        if unknown is not None:
            choice[(choice == -1) & (codes < 0)] = len(templates)
            templates.append(unknown)
        choice[choice == -1] = len(templates)
        templates.append(fallback)
        texts = np.empty(n, dtype=object)
        frame = {
            **sub,
            "value": shown_value,
            "doc": np.full(n, group.doc, dtype=object),
        }
        for i in np.unique(choice):
            at = np.flatnonzero(choice == i)
            part = {name: column[at] for name, column in frame.items()}
            texts[at] = self._fill(part, templates[i], shown[at], where)
        return value, texts

    def _plan(
        self, group: Group, columns: pd.Index
    ) -> tuple[list[tuple[Any, str]], str | None, str, str, list[str]]:
        """Cases, unknown and fallback texts of a group, its value column, and the
        row columns its sentences read.

        A configured group whose value column or template fields the rows lack (a data
        set other than the one the file was written for) falls back to the generic
        sentence ``default_text`` on its first column, with a warning.
        """
        spec = group.config
        if spec is None:
            return [], None, self.config.default_text, group.value, [group.value]
        texts = [c.text for c in spec.cases] + [
            t for t in (spec.unknown, spec.text) if t is not None
        ]
        needed = {group.value} | {f for t in texts for f in template_fields(t)}
        needed |= {
            f for c in spec.cases if c.when is not None for f in c.when.features()
        }
        bands = {f"{b}_band": b for b in _BANDS if b in columns}
        known = set(columns) | set(bands) | set(self._constants)
        lacking = sorted(needed - known - {"value", "doc", "points"})
        if lacking:
            if group.name not in self._warned:
                self._warned.add(group.name)
                _LOG.warning(
                    "explain.groups '%s' reads %s, absent from the feature rows; "
                    "using the generic sentence",
                    group.name,
                    lacking,
                )
            first = group.columns[0]
            return [], None, self.config.default_text, first, [first]
        read = {bands.get(f, f) for f in needed} & set(columns)
        cases = [(c.when, c.text) for c in spec.cases]
        fallback = spec.text or self.config.default_text
        return cases, spec.unknown, fallback, group.value, sorted(read)

    def _fill(
        self,
        frame: Mapping[str, np.ndarray],
        template: str,
        shown: np.ndarray,
        where: str,
    ) -> np.ndarray:
        """Format ``template`` + points once per distinct combination of its fields."""
        fields = [
            f
            for f in dict.fromkeys(template_fields(template))
            if f not in self._constants and f != "points"
        ]
        cfg = self.config
        points = format_points(shown, cfg.decimals, cfg.minus)
        one = np.abs(np.abs(np.asarray(shown, dtype=float)) - 1.0) <= 1e-5 + 1e-8
        if len(shown) <= _FEW:  # a few leads (the API): no frame to group with
            columns = [np.asarray(frame[f], dtype=object) for f in fields]
            memo: dict[tuple, str] = {}
            texts = []
            for i, (p, o) in enumerate(zip(points, one, strict=True)):
                values = [c[i] for c in columns]
                key = (*values, p, bool(o))
                try:
                    text = memo.get(key)
                except TypeError:  # a value that cannot be a key: written as it is
                    key, text = (), None
                if text is None:
                    text = self._render(fields, values, p, o, template, where)
                    if key:
                        memo[key] = text
                texts.append(text)
            return np.asarray(texts, dtype=object)
        keys = pd.DataFrame(
            {
                **{
                    f"f{i}": np.asarray(frame[f], dtype=object)
                    for i, f in enumerate(fields)
                },
                "_points": points,
                "_one": one,
            },
            dtype=object,
        )
        grouped = keys.groupby(list(keys.columns), dropna=False, sort=False)
        codes = grouped.ngroup()
        unique = grouped.head(1)  # first rows, in the order ngroup numbers them
        rendered = [
            self._render(
                fields, record[: len(fields)], record[-2], record[-1], template, where
            )
            for record in unique.itertuples(index=False)
        ]
        return np.asarray(rendered, dtype=object)[codes.to_numpy()]

    def _render(
        self,
        fields: list[str],
        values: Sequence[object],
        point_text: str,
        is_one: bool,
        template: str,
        where: str,
    ) -> str:
        """One sentence: the template filled with one combination of field values."""
        context: dict[str, object] = dict(self._constants)
        context.update(
            {f: display_value(v) for f, v in zip(fields, values, strict=True)}
        )
        context["points"] = point_text
        return self._sentence(template, context, is_one, where)

    def _sentence(
        self, template: str, context: Mapping[str, object], one: bool, where: str
    ) -> str:
        cfg = self.config
        try:
            body = self._formatter.vformat(template, (), context)
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(
                f"{where}: template {template!r} cannot be filled with the lead's "
                f"values ({exc}); check its format specs against the column types"
            ) from exc
        return cfg.points_text.format(
            text=body,
            points=context["points"],
            unit=cfg.unit_one if one else cfg.unit,
        )
