"""Evaluate one mapping :class:`~predscore.ingest.mapping.Rule` over a source frame.

Stage: inside ingest, between reading and validation. A rule turns source columns
into one output column (text, number, boolean or UTC timestamp). Values that cannot be
read are not guessed: each gets a reason naming the source column and what was
expected, and the caller rejects its row. Vectorised over the frame; no argument is
modified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predscore.ingest.mapping import Cast, MonthSequence, Rule

__all__ = ["Derived", "apply_rule"]

_BOOL = {
    "yes": True,
    "y": True,
    "true": True,
    "t": True,
    "1": True,
    "no": False,
    "n": False,
    "false": False,
    "f": False,
    "0": False,
}
_EXPECTED = {
    "int": "an integer",
    "float": "a number",
    "bool": "yes/no, true/false or 1/0",
}


@dataclass(frozen=True)
class Derived:
    """Values of one output column and, per row, why it could not be derived."""

    values: pd.Series
    problems: pd.Series  # reason text, None where the row is fine

    @property
    def bad(self) -> np.ndarray:
        """Mask of the rows with a problem."""
        return self.problems.notna().to_numpy()


def _quote(value: object, limit: int = 40) -> str:
    return repr(str(value)[:limit])


def _first(problems: pd.Series, more: pd.Series) -> pd.Series:
    """Keep the first reason of each row."""
    return problems.where(problems.notna(), more)


def _none_problems(index: pd.Index) -> pd.Series:
    return pd.Series(None, index=index, dtype=object)


def _text(series: pd.Series) -> pd.Series:
    """Stripped text, None for missing or blank cells (numbers as written)."""
    if pd.api.types.is_float_dtype(series):
        integral = series.dropna() % 1 == 0
        if len(integral) and integral.all():
            series = series.astype("Int64")
    text = series.astype("string").str.strip()
    return text.astype(object).where(text.notna() & text.ne(""), None)


def _base(frame: pd.DataFrame, rule: Rule) -> tuple[pd.Series, pd.Series, str]:
    """Raw values of a rule, their problems and the name used in reasons."""
    if rule.column is not None:
        column = frame[rule.column]
        if pd.api.types.is_datetime64_any_dtype(column):
            return column, _none_problems(frame.index), rule.column
        return _text(column), _none_problems(frame.index), rule.column
    if rule.month_sequence is not None:
        values, problems = _month_sequence(frame, rule.month_sequence)
        return values, problems, rule.month_sequence.column
    if rule.row_number is not None:
        numbers = np.arange(len(frame)) + rule.row_number.start
        ids = pd.Series([f"{rule.row_number.prefix}{n}" for n in numbers], dtype=object)
        return ids.set_axis(frame.index), _none_problems(frame.index), "row number"
    constant = pd.Series([rule.constant] * len(frame), index=frame.index, dtype=object)
    return constant, _none_problems(frame.index), "constant"


def _month_sequence(
    frame: pd.DataFrame, spec: MonthSequence
) -> tuple[pd.Series, pd.Series]:
    """Timestamps from row order and month names (see :class:`MonthSequence`)."""
    names = _text(frame[spec.column])
    month = names.str.lower().map(spec.names)
    problems = _none_problems(frame.index)
    unknown = names.notna() & month.isna()
    problems[unknown] = (
        "unknown month "
        + names[unknown].astype(str).map(_quote)
        + f" in source column "
        f"'{spec.column}' (expected one of {sorted(spec.names)})"
    )
    values = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    known = month.dropna().astype(int)
    if known.empty:
        return values, problems
    # the rows are in time order: a month smaller than the previous one is a new year
    year = spec.first_year + (known < known.shift(fill_value=known.iloc[0])).cumsum()
    block = ((year != year.shift()) | (known != known.shift())).cumsum()
    rank = block.groupby(block).cumcount()
    size = block.map(block.value_counts())
    start = pd.to_datetime(
        pd.DataFrame({"year": year, "month": known, "day": 1}), utc=True
    )
    length = (start + pd.offsets.MonthBegin(1)) - start
    values[known.index] = (start + length * (rank / size)).dt.floor("s")
    return values, problems


def _cast(
    values: pd.Series, cast: Cast, rule: Rule, name: str
) -> tuple[pd.Series, pd.Series]:
    """Cast text to the target type; the second series holds the reasons."""
    problems = _none_problems(values.index)
    present = values.notna()
    if cast == "text":
        return _text(values), problems
    if cast == "timestamp":
        return _timestamps(values, rule, name)
    if cast == "bool":
        out = values.astype("string").str.strip().str.lower().map(_BOOL)
    else:
        out = pd.to_numeric(values.where(present), errors="coerce").astype("float64")
        out = out.where(np.isfinite(out))
        if cast == "int":
            out = out.where(out % 1 == 0)
    bad = present & out.isna()
    problems[bad] = (
        "unparseable value "
        + values[bad].astype(str).map(_quote)
        + f" in source column '{name}' (expected {_EXPECTED[cast]})"
    )
    if rule.scale is not None and cast != "bool":
        out = out * rule.scale
    if cast == "int":
        out = out.round().astype("Int64")
    elif cast == "bool":
        out = out.astype("boolean")
    return out, problems


def _timestamps(
    values: pd.Series, rule: Rule, name: str
) -> tuple[pd.Series, pd.Series]:
    """Parse dates with the rule's format and timezone; UTC timestamps out."""
    problems = _none_problems(values.index)
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        text = values.astype(object).where(values.notna(), None)
        fmt = rule.format or "ISO8601"
        try:
            parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        except (ValueError, TypeError):
            # mixed UTC offsets: read each with its own offset
            parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
        bad = values.notna() & parsed.isna()
        expected = f"format {rule.format!r}" if rule.format else "an ISO 8601 date"
        problems[bad] = (
            "unparseable date "
            + values[bad].astype(str).map(_quote)
            + f" in source column '{name}' (expected {expected})"
        )
    if getattr(parsed.dt, "tz", None) is None:
        local = parsed.dt.tz_localize(
            rule.timezone, ambiguous="NaT", nonexistent="shift_forward"
        )
        # the hour repeated when clocks go back cannot be placed: say so
        ambiguous = parsed.notna() & local.isna()
        if ambiguous.any():
            problems[ambiguous] = (
                "ambiguous local time "
                + values[ambiguous].astype(str).map(_quote)
                + f" in source column '{name}' (clocks go back in {rule.timezone})"
            )
        parsed = local
    out = parsed.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    if rule.offset_days is not None:
        out = out + pd.Timedelta(days=rule.offset_days)
    return out, problems


def _mapped(
    values: pd.Series, rule: Rule, name: str, key: str
) -> tuple[pd.Series, pd.Series]:
    """Apply the value map; unmapped values per the rule's policy."""
    problems = _none_problems(values.index)
    assert rule.map is not None
    text = values.astype("string").astype(object).where(values.notna(), None)
    listed = text.isin(list(rule.map)) & text.notna()
    out = text.map(lambda v: rule.map.get(v) if v is not None else None).astype(object)
    out = out.where(listed, values.astype(object))
    others = text.notna() & ~listed
    if rule.unmapped == "missing":
        out = out.where(~others, None)
    elif rule.unmapped == "reject":
        problems[others] = (
            "value "
            + text[others].astype(str).map(_quote)
            + f" of source column '{name}' is not in the value map of {key}"
        )
    return out.where(out.notna(), None), problems


def apply_rule(frame: pd.DataFrame, rule: Rule, cast: Cast, key: str) -> Derived:
    """Evaluate ``rule`` over ``frame`` and cast the result to ``cast``.

    Parameters
    ----------
    frame : DataFrame
        The rule's source (after joins); every column the rule reads must exist.
    rule : Rule
        The rule; its own ``cast`` wins over ``cast``.
    cast : {"text", "int", "float", "bool", "timestamp"}
        Type of the output column.
    key : str
        Dotted key of the rule in the mapping, for reasons.

    Returns
    -------
    Derived
        The values (None / NaT / <NA> where missing) and a reason per bad row.
    """
    cast = rule.cast or cast
    values, problems, name = _base(frame, rule)
    if rule.map is not None:
        values, map_problems = _mapped(values, rule, name, key)
        problems = _first(problems, map_problems)
    values, cast_problems = _cast(values, cast, rule, name)
    problems = _first(problems, cast_problems)
    if rule.fallback is not None:
        use = values.isna() & problems.isna()
        if use.any():
            fallback = apply_rule(frame, rule.fallback, cast, f"{key}.fallback")
            values = values.where(~use, fallback.values)
            problems = problems.where(~use, fallback.problems)
    if cast == "timestamp":
        values = values.astype("datetime64[us, UTC]")
    return Derived(values=values.where(problems.isna()), problems=problems)
