"""Every input path tried with broken data: a named error or rejection rows, never a
traceback, and no row lost.

Hypothesis draws broken inputs for each path a user feeds predscore: CSV files
through a mapping (truncated, ragged, stray quotes and delimiters, bytes of other
encodings, nasty values), the mapping YAML and every configuration file (unknown
keys, wrong types, out-of-range values), the five canonical tables into validation
(wrong types, missing required values, duplicate keys, timestamps far off or naive,
huge and negative numbers, empty tables, missing columns) and Parquet files (cut,
corrupted). The invariant everywhere: either a :class:`~predscore.PredscoreError`
whose message names the file or the key, or a result in which, for every table,
rows in = kept + rejected. Any other exception fails the test.

The bounded run is part of ``make test``; ``make test-all`` runs ``SLOW_EXAMPLES``
per path (marked slow). Counts per path (examples, named errors, results with
rejections, crashes) are written to ``fuzz_inputs.json`` in the artifacts folder.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predscore.config import load_config
from predscore.errors import PredscoreError
from predscore.ingest import ingest, load_mapping
from predscore.io import read_parquet
from predscore.schema import TABLE_ORDER
from predscore.schema.validate import validate_tables
from tiny_export import MAPPING

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "golden"
GOLDEN_AS_OF = pd.Timestamp("2025-03-01T00:00:00Z")
FAST_EXAMPLES = 40
SLOW_EXAMPLES = 1_000
COUNTS: dict[str, Counter] = {}

LEADS_CSV = """\
id,created,stage,visits,title_role,closed,amount,company
L1,2024-01-05,won,3,boss,2024-02-01,100,A1
L2,2024-01-06,lost,0,staff,2024-02-02,0,A2
L3,2024-01-07,won,1,boss,2024-02-03,50,A1
L4,2024-01-08,open,2,staff,,,A2
"""
ACCOUNTS_CSV = """\
account,sector,employees
A1,software,120
A2,retail,40
"""

FUZZ = settings(
    max_examples=FAST_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same inputs on every run: a failure reproduces
    database=None,
    suppress_health_check=list(HealthCheck),
)
SLOW = settings(FUZZ, max_examples=SLOW_EXAMPLES)


def _outcome(path: str, run: Callable[[], object]) -> None:
    """Run one example; count how it ended; fail on anything but a named error or
    a result that conserves rows."""
    counts = COUNTS.setdefault(path, Counter())
    counts["examples"] += 1
    try:
        result = run()
    except PredscoreError as exc:
        assert str(exc).strip(), "a named error has a message"
        counts["named_errors"] += 1
        return
    except Exception:
        counts["crashes"] += 1
        raise
    summary = getattr(result, "summary", None)
    if summary is not None:
        frame = summary.set_index("table")
        assert (frame["rows_in"] == frame["kept"] + frame["rejected"]).all()
        counts["results_with_rejections" if frame["rejected"].sum() else "clean"] += 1
    else:
        counts["clean"] += 1


@pytest.fixture(scope="module", autouse=True)
def _report(artifacts: Path) -> Iterator[None]:
    yield
    path = artifacts / "fuzz_inputs.json"
    runs = json.loads(path.read_text()) if path.is_file() else {}
    runs.update({k: dict(v) for k, v in COUNTS.items()})
    path.write_text(json.dumps(runs, indent=2, sort_keys=True))


# --- strategies ---------------------------------------------------------------------

NASTY = st.sampled_from(
    [
        "",
        " ",
        '"',
        '""',
        ",",
        ";",
        "\n",
        "\r\n",
        "NULL",
        "nan",
        "-1",
        "-999999999999999999999",
        "1e308",
        "1e309",
        "NaN",
        "inf",
        "0x1F",
        "9999-12-31",
        "0001-01-01",
        "2024-02-30",
        "2024-01-05T25:00:00",
        "2024-01-05T10:00:00+14:00",
        "1970-01-01",
        "Indiaé",
        "\u202e",
        "<script>alert(1)</script>",
        "'; DROP TABLE leads; --",
        "\x00",
    ]
)
CELL = st.one_of(NASTY, st.text(max_size=12))


@st.composite
def broken_csv(draw: st.DrawFn) -> bytes:
    """The tiny leads export with a few lines broken the ways real exports are."""
    lines = LEADS_CSV.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(1, len(lines) - 1))
        fields = lines[i].rstrip("\n").split(",")
        action = draw(
            st.sampled_from(["cell", "drop_field", "add_field", "quote", "cut"])
        )
        if action == "cell":
            fields[draw(st.integers(0, len(fields) - 1))] = draw(CELL)
        elif action == "drop_field":
            fields.pop(draw(st.integers(0, len(fields) - 1)))
        elif action == "add_field":
            fields.append(draw(CELL))
        elif action == "quote":
            j = draw(st.integers(0, len(fields) - 1))
            fields[j] = '"' + fields[j]
        lines[i] = ",".join(fields) + "\n"
        if action == "cut":
            text = "".join(lines)
            lines = [text[: draw(st.integers(len(lines[0]), len(text)))]]
            break
    data = "".join(lines).encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):  # a byte of another encoding, somewhere after the header
        at = draw(st.integers(len(LEADS_CSV.splitlines()[0]) + 1, max(len(data), 60)))
        data = (
            data[:at] + draw(st.sampled_from([b"\xe9", b"\xff", b"\x80"])) + data[at:]
        )
    return data


def _export(folder: Path, leads: bytes, mapping: str = MAPPING) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "leads.csv").write_bytes(leads)
    (folder / "accounts.csv").write_text(ACCOUNTS_CSV)
    path = folder / "fuzz.yaml"
    path.write_text(textwrap.dedent(mapping))
    return path


def _ingest(folder: Path, mapping_path: Path) -> object:
    return ingest(load_mapping(mapping_path), folder, GOLDEN_AS_OF, None, mapping_path)


# --- CSV sources through a mapping ----------------------------------------------------


def _csv_case(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    folder = tmp_path_factory.mktemp("csv")
    path = _export(folder, data)
    _outcome("csv source through a mapping", lambda: _ingest(folder, path))


@FUZZ
@given(data=broken_csv())
def test_broken_csv_sources(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    _csv_case(tmp_path_factory, data)


@pytest.mark.slow
@SLOW
@given(data=broken_csv())
def test_broken_csv_sources_long(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    _csv_case(tmp_path_factory, data)


# --- the mapping YAML -------------------------------------------------------------------

YAML_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=10),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)


def _paths(tree: object, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a nested mapping."""
    out = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.append((*prefix, key))
            out.extend(_paths(value, (*prefix, key)))
    return out


@st.composite
def mutated(draw: st.DrawFn, tree: dict) -> dict:
    """``tree`` with a few keys replaced, removed or misspelt, or values retyped."""
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(tree)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        if not isinstance(parent, dict) or path[-1] not in parent:
            continue
        action = draw(st.sampled_from(["value", "remove", "rename", "add"]))
        if action == "value":
            parent[path[-1]] = draw(YAML_VALUE)
        elif action == "remove":
            del parent[path[-1]]
        elif action == "rename":
            parent[str(path[-1]) + draw(st.sampled_from(["s", "_", "X"]))] = parent.pop(
                path[-1]
            )
        else:
            parent[draw(st.text(min_size=1, max_size=8))] = draw(YAML_VALUE)
    return tree


def _mapping_case(tmp_path_factory: pytest.TempPathFactory, tree: dict) -> None:
    folder = tmp_path_factory.mktemp("mapping")
    path = _export(folder, LEADS_CSV.encode(), yaml.safe_dump(tree))
    _outcome("mapping YAML", lambda: _ingest(folder, path))


@FUZZ
@given(tree=mutated(yaml.safe_load(MAPPING)))
def test_broken_mappings(tmp_path_factory: pytest.TempPathFactory, tree: dict) -> None:
    _mapping_case(tmp_path_factory, tree)


@pytest.mark.slow
@SLOW
@given(tree=mutated(yaml.safe_load(MAPPING)))
def test_broken_mappings_long(
    tmp_path_factory: pytest.TempPathFactory, tree: dict
) -> None:
    _mapping_case(tmp_path_factory, tree)


# --- every configuration file -------------------------------------------------------------

CONFIG_FILES = sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))
SHIPPED = {
    name: yaml.safe_load((ROOT / "configs" / name).read_text()) or {}
    for name in CONFIG_FILES
}


@st.composite
def broken_config(draw: st.DrawFn) -> tuple[str, dict]:
    name = draw(st.sampled_from(CONFIG_FILES))
    return name, draw(mutated(SHIPPED[name]))


def _config_case(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, dict]
) -> None:
    name, tree = case
    folder = tmp_path_factory.mktemp("configs")
    for other in CONFIG_FILES:
        text = (ROOT / "configs" / other).read_text()
        (folder / other).write_text(yaml.safe_dump(tree) if other == name else text)

    def load() -> object:
        try:
            return load_config(folder)
        except PredscoreError as exc:
            assert name in str(exc), f"the message names the file: {exc}"
            raise

    _outcome("configuration YAML", load)


@FUZZ
@given(case=broken_config())
def test_broken_configurations(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, dict]
) -> None:
    _config_case(tmp_path_factory, case)


@pytest.mark.slow
@SLOW
@given(case=broken_config())
def test_broken_configurations_long(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, dict]
) -> None:
    _config_case(tmp_path_factory, case)


# --- the five canonical tables into validation ------------------------------------------

RAW = {
    table: pd.read_csv(GOLDEN / f"{table}.csv", dtype=str, keep_default_na=False)
    .replace("", None)
    .astype(object)
    for table in TABLE_ORDER
}


@st.composite
def broken_tables(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    """The golden tables with cells, rows and columns broken."""
    tables = {t: frame.copy() for t, frame in RAW.items()}
    for _ in range(draw(st.integers(1, 5))):
        table = draw(st.sampled_from(TABLE_ORDER))
        frame = tables[table]
        action = draw(
            st.sampled_from(
                ["cell", "cell", "cell", "duplicate", "empty", "drop_column"]
            )
        )
        if action == "empty":
            tables[table] = frame.iloc[0:0]
        elif action == "drop_column" and len(frame.columns) > 1:
            tables[table] = frame.drop(columns=draw(st.sampled_from(list(frame))))
        elif action == "duplicate" and len(frame):
            row = draw(st.integers(0, len(frame) - 1))
            tables[table] = pd.concat([frame, frame.iloc[[row]]], ignore_index=True)
        elif len(frame) and len(frame.columns):
            row = draw(st.integers(0, len(frame) - 1))
            column = draw(st.sampled_from(list(frame.columns)))
            value = draw(st.one_of(CELL, st.none(), YAML_VALUE))
            frame.at[row, column] = value
    return tables


def _validate_case(tables: dict[str, pd.DataFrame]) -> None:
    paths = {t: f"{t}.csv" for t in TABLE_ORDER}
    _outcome(
        "canonical tables into validate",
        lambda: validate_tables(tables, GOLDEN_AS_OF, None, paths),
    )


@FUZZ
@given(tables=broken_tables())
def test_broken_tables_into_validate(tables: dict[str, pd.DataFrame]) -> None:
    _validate_case(tables)


@pytest.mark.slow
@SLOW
@given(tables=broken_tables())
def test_broken_tables_into_validate_long(tables: dict[str, pd.DataFrame]) -> None:
    _validate_case(tables)


# --- Parquet files ------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_broken_parquet_files(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("parquet")
    good = folder / "good.parquet"
    RAW["leads"].astype("string").to_parquet(good)
    path = folder / "leads.parquet"
    path.write_bytes(_broken_bytes(good.read_bytes(), data))
    _outcome("Parquet file", lambda: read_parquet(path))


def _broken_bytes(raw: bytes, data: st.DataObject) -> bytes:
    """``raw`` whole, or cut anywhere, with up to four bytes flipped."""
    cut = data.draw(st.one_of(st.just(len(raw)), st.integers(0, len(raw))))
    flips = data.draw(st.lists(st.integers(0, max(cut - 1, 0)), max_size=4))
    broken = bytearray(raw[:cut])
    for at in flips:
        if at < len(broken):
            broken[at] ^= 0xFF
    return bytes(broken)


# --- Excel files ----------------------------------------------------------------------------

_XLSX: list[bytes] = []


def _xlsx(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The golden accounts as an .xlsx, written once (the format stamps its time)."""
    if not _XLSX:
        good = tmp_path_factory.mktemp("xlsx") / "good.xlsx"
        RAW["accounts"].to_excel(good, index=False)
        _XLSX.append(good.read_bytes())
    return _XLSX[0]


@FUZZ
@given(data=st.data())
def test_broken_excel_files(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    from predscore.ingest.mapping import SourceSpec
    from predscore.ingest.readers import read_source

    folder = tmp_path_factory.mktemp("excel")
    path = folder / "accounts.xlsx"
    path.write_bytes(_broken_bytes(_xlsx(tmp_path_factory), data))
    spec = SourceSpec(file="accounts.xlsx")
    _outcome("Excel file", lambda: read_source(spec, path))
