"""Read the files of a CRM export as delivered, and join lookup files into them.

Stage: the disk edge of ingest. CSV files are read as text, with no type inference
(the mapping's rules cast), only empty cells and the source's ``na_values`` being
missing; Parquet and Excel files keep their stored types. Nothing is cleaned or
dropped here: row ``i`` of a frame is row ``i`` of its file (0-based, header
excluded), which is the ``row`` that rejections report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from predscore.errors import ConfigError, DataValidationError
from predscore.ingest.mapping import JoinSpec, SourceSpec
from predscore.io import read_parquet

__all__ = ["JoinStats", "join_lookups", "read_source", "resolve_source"]


@dataclass(frozen=True)
class JoinStats:
    """How many rows of a source found their lookup row."""

    into: str
    lookup: str
    matched: int
    unmatched: int


def resolve_source(spec: SourceSpec, source: Path, only: bool) -> Path:
    """Path of a source file: ``source`` itself when it is a file of the only source."""
    if source.is_file():
        if not only:
            raise ConfigError(
                f"{source}: --source is a file but the mapping has several sources; "
                "pass the folder that holds them"
            )
        return source
    path = source / spec.file
    if not path.is_file():
        raise DataValidationError(
            f"{path}: source file not found (from the mapping's 'file: {spec.file}' "
            f"under --source {source})"
        )
    return path


def read_source(spec: SourceSpec, path: Path) -> pd.DataFrame:
    """Read one source file as-is (CSV as text; Parquet and Excel typed).

    Raises
    ------
    DataValidationError
        When the file cannot be read in the declared format and encoding.
    """
    try:
        if spec.kind == "parquet":
            frame = read_parquet(path)
        elif spec.kind == "excel":
            frame = pd.read_excel(
                path,
                sheet_name=spec.sheet,
                na_values=spec.na_values,
                keep_default_na=False,
            )
        else:
            frame = pd.read_csv(
                path,
                sep=spec.delimiter,
                encoding=spec.encoding,
                dtype=str,
                keep_default_na=False,
                na_values=["", *spec.na_values],
            )
    except (ValueError, UnicodeDecodeError, OSError, pd.errors.ParserError) as exc:
        raise DataValidationError(
            f"{path}: cannot read as {spec.kind} "
            f"(delimiter {spec.delimiter!r}, encoding {spec.encoding}): {exc}"
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if spec.kind == "parquet" and spec.na_values:
        frame = frame.mask(frame.isin(spec.na_values))
    return frame.reset_index(drop=True)


def _key_text(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip()


def join_lookups(
    frames: dict[str, pd.DataFrame], joins: list[JoinSpec], files: dict[str, Path]
) -> tuple[dict[str, pd.DataFrame], list[JoinStats]]:
    """Apply the joins in order; return the new frames and the match counts.

    Each join is a left join on text keys (stripped): the source keeps its rows and
    their order, unmatched rows get missing lookup columns.

    Raises
    ------
    ConfigError
        When a join key is not a column, or added columns would collide.
    DataValidationError
        When the lookup key is not unique (the join would duplicate source rows).
    """
    frames = dict(frames)
    stats = []
    for i, join in enumerate(joins):
        left, right = frames[join.into], frames[join.lookup]
        for side, frame, column, name in (
            ("left_on", left, join.left_on, join.into),
            ("right_on", right, join.right_on, join.lookup),
        ):
            if column not in frame.columns:
                raise ConfigError(
                    f"key 'joins.{i}.{side}': unknown column {column!r} of source "
                    f"'{name}' ({files[name]}); columns: {list(frame.columns)}"
                )
        right_key = _key_text(right[join.right_on])
        duplicated = right_key[right_key.duplicated(keep=False) & right_key.notna()]
        if len(duplicated):
            raise DataValidationError(
                f"{files[join.lookup]}: column '{join.right_on}' must be unique to "
                f"join into '{join.into}', found {duplicated.nunique()} repeated "
                f"value(s) such as {duplicated.iloc[0]!r}"
            )
        added = {c: f"{join.prefix}{c}" for c in right.columns if c != join.right_on}
        clash = sorted(set(added.values()) & set(left.columns))
        if clash:
            raise ConfigError(
                f"key 'joins.{i}.prefix': columns {clash} of '{join.lookup}' already "
                f"exist in '{join.into}'; set a prefix such as '{join.lookup}.'"
            )
        key = _key_text(left[join.left_on])
        key = key.replace(join.key_map) if join.key_map else key
        lookup = right.assign(_key=right_key).dropna(subset=["_key"]).set_index("_key")
        joined = lookup.reindex(pd.Index(key, dtype=object))[list(added)]
        joined = joined.rename(columns=added).set_axis(left.index)
        matched = int(key.isin(lookup.index).sum())
        frames[join.into] = pd.concat([left, joined], axis=1)
        stats.append(JoinStats(join.into, join.lookup, matched, len(left) - matched))
    return frames, stats
