"""Read the files of a CRM export as delivered, and join lookup files into them.

Stage: the disk edge of ingest. CSV files are read as text, with no type inference
(the mapping's rules cast), only empty cells and the source's ``na_values`` being
missing; Parquet and Excel files keep their stored types. Nothing is cleaned or
dropped here: row ``i`` of a frame is row ``i`` of its file (0-based, header
excluded), which is the ``row`` that rejections report.

A CSV file's structure is checked record by record before pandas reads it: a record
with fewer or more fields than the header (a file cut mid-row, a stray delimiter) or
an unterminated quote is a *malformed row*: it stays in the frame at its position with
every value missing, and :class:`SourceFile` names it (line, reason) so that every
table derived from it rejects it; the records after it are read as usual (after an
unterminated quote, from the next line). A byte that is not valid in the declared
encoding stops the read with the file, the line and a hint, unless the mapping asks
for replacement (``encoding_errors: replace``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from predscore.errors import ConfigError, DataValidationError
from predscore.ingest.mapping import JoinSpec, SourceSpec
from predscore.io import read_parquet

__all__ = ["JoinStats", "SourceFile", "join_lookups", "read_source", "resolve_source"]

#: An unterminated quote is given up after this many lines (its record is malformed
#: and reading resumes on the line after the quote's).
_MAX_RECORD_LINES = 1_000


@dataclass(frozen=True)
class SourceFile:
    """A source file as read: its frame and its malformed rows.

    ``malformed`` maps the 0-based position of a malformed row (header excluded) to
    its 1-based line in the file and the reason.
    """

    frame: pd.DataFrame
    malformed: dict[int, tuple[int, str]] = field(default_factory=dict)


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


def _bad_byte(path: Path, encoding: str) -> tuple[int, str]:
    """Line (1-based) and description of the first byte ``encoding`` cannot read."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError as exc:
                byte = line[exc.start : exc.start + 1].hex()
                return number, f"byte 0x{byte} at column {exc.start + 1}"
    return 0, "a byte sequence cut across lines"


def _text(spec: SourceSpec, path: Path) -> str:
    """The file decoded as declared; an invalid byte names its line."""
    data = path.read_bytes()
    try:
        return data.decode(spec.encoding, errors=spec.encoding_errors)
    except UnicodeDecodeError:
        line, what = _bad_byte(path, spec.encoding)
        raise DataValidationError(
            f"{path}, line {line}: {what} is not valid {spec.encoding}; declare the "
            "file's encoding in the mapping's source (`encoding: latin-1`, `cp1252`, "
            "...) or read the bytes as U+FFFD with `encoding_errors: replace`"
        ) from None
    except LookupError as exc:
        raise ConfigError(f"{path}: unknown encoding {spec.encoding!r}") from exc


def _quote_state(
    text: str, delimiter: str, inside: bool = False, at_start: bool = True
) -> tuple[bool, bool]:
    """Scan ``text`` from a state (inside a quoted field? at a field's start?) and
    return the state at its end. A quote opens a quoted field only at the start of
    a field, as pandas and the csv module read it (``5'11"`` in an unquoted field is
    a character); ``""`` inside one is a quote."""
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if inside:
            if char == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 1
                else:
                    inside = False
        elif char == '"' and at_start:
            inside = True
        at_start = not inside and char in (delimiter, "\n", "\r")
        i += 1
    return inside, at_start


def _records(
    lines: list[str], delimiter: str
) -> tuple[list[list[str] | None], dict[int, tuple[int, str]], list[str]]:
    """Split the lines into records (header first); a malformed record is None.

    A record ends where its quotes are balanced; when they never are (within
    ``_MAX_RECORD_LINES``), the record is malformed and reading resumes on the next
    line. Blank lines are skipped, as pandas does.
    """
    records: list[list[str] | None] = []
    malformed: dict[int, tuple[int, str]] = {}
    header: list[str] | None = None
    i, n = 0, len(lines)
    while i < n:
        start, text = i, lines[i]
        i += 1
        # most lines hold an even number of quotes: no field left open
        open_, at_start = (
            _quote_state(text, delimiter) if text.count('"') % 2 else (False, True)
        )
        while open_ and i < n and i - start < _MAX_RECORD_LINES:
            open_, at_start = _quote_state(lines[i], delimiter, open_, at_start)
            text += lines[i]
            i += 1
        if open_:
            if header is None:
                raise DataValidationError("the header line has an unterminated quote")
            malformed[len(records)] = (start + 1, "unterminated quote")
            records.append(None)
            i = start + 1
            continue
        if not text.strip("\r\n"):
            continue  # a blank line is no row
        fields = next(csv.reader([text], delimiter=delimiter, strict=False))
        if header is None:
            header = fields
            continue
        if len(fields) != len(header) and i - start > 1:
            # a quote opened a field that closed lines later, in another record:
            # the quote is the fault; read again from the line after it
            malformed[len(records)] = (start + 1, "unterminated quote")
            records.append(None)
            i = start + 1
            continue
        if len(fields) != len(header):
            short = "fewer" if len(fields) < len(header) else "more"
            cut = " (the row is cut short)" if short == "fewer" and i == n else ""
            malformed[len(records)] = (
                start + 1,
                f"{len(fields)} fields, {short} than the header's {len(header)}{cut}",
            )
            records.append(None)
            continue
        records.append(fields)
    return records, malformed, header or []


def _clean_csv(spec: SourceSpec, path: Path) -> tuple[str, dict[int, tuple[int, str]]]:
    """The file's text with each malformed record replaced by empty fields."""
    text = _text(spec, path)
    records, malformed, header = _records(
        text.splitlines(keepends=True), spec.delimiter
    )
    if not malformed:
        return text, {}
    out = io.StringIO()
    writer = csv.writer(out, delimiter=spec.delimiter, lineterminator="\n")
    writer.writerow(header)
    empty = [""] * len(header)
    for record in records:
        writer.writerow(empty if record is None else record)
    return out.getvalue(), malformed


def _read_excel(spec: SourceSpec, path: Path) -> pd.DataFrame:
    """An Excel sheet; any failure of the parser on a damaged file is named."""
    try:
        return pd.read_excel(
            path,
            sheet_name=spec.sheet,
            na_values=spec.na_values,
            keep_default_na=False,
        )
    except Exception as exc:  # a zip, XML or zlib error of a damaged workbook
        raise DataValidationError(
            f"{path}: not a readable Excel workbook (sheet {spec.sheet!r}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def read_source(spec: SourceSpec, path: Path) -> SourceFile:
    """Read one source file as-is (CSV as text; Parquet and Excel typed).

    Raises
    ------
    DataValidationError
        When the file cannot be read in the declared format, or holds a byte that is
        not valid in its declared encoding (file, line and a hint in the message).
    """
    malformed: dict[int, tuple[int, str]] = {}
    try:
        if spec.kind == "parquet":
            frame = read_parquet(path)
        elif spec.kind == "excel":
            frame = _read_excel(spec, path)
        else:
            text, malformed = _clean_csv(spec, path)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=spec.delimiter,
                dtype=str,
                keep_default_na=False,
                na_values=["", *spec.na_values],
            )
    except DataValidationError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise DataValidationError(f"{path}: {exc}") from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataValidationError(
            f"{path}: cannot read as {spec.kind} "
            f"(delimiter {spec.delimiter!r}, encoding {spec.encoding}): {exc}"
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if spec.kind == "parquet" and spec.na_values:
        frame = frame.mask(frame.isin(spec.na_values))
    return SourceFile(frame.reset_index(drop=True), malformed)


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
