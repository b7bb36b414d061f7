"""Invariants of the point-in-time features, for any small CRM Hypothesis can draw.

* the future is invisible: adding, removing or changing any activity or qualification
  stamped after ``as_of`` leaves every feature row unchanged (the leakage test);
* row order is irrelevant;
* a snapshot's features are those of the data cut at its ``as_of``;
* with a label horizon H and a cutoff C, events after C change no snapshot, and a
  row's presence and label depend on nothing after ``min(as_of + H, C)``;
* counts are non-negative and windows nest (7-day <= 30-day <= 90-day);
* the engine equals the pandas reference;
* leads held in memory (Arrow tables, staged without SQL) get the same features.

Times are drawn near the edges that matter (exactly at ``as_of``, one second around it,
exactly a window length before it) as well as anywhere.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracles import oracle_features
from predscore.config import FeaturesConfig
from predscore.errors import DataValidationError
from predscore.features import build_features, build_snapshots, feature_specs, frame
from predscore.features.in_memory import stages_in_memory
from predscore.features.registry import FeatureSpec
from predscore.schema import ACTIONS, CHANNELS, QUALIFICATION_FIELDS, conform
from predscore.schema.store import to_arrow

T0 = pd.Timestamp("2026-01-01T00:00:00Z")
AS_OF = T0 + pd.Timedelta(days=100)
HORIZON = 140 * 86400  # seconds after T0 that rows may take
DAY = 86400
SPECIAL = [100 * DAY + d for d in (0, 1, -1)] + [
    100 * DAY - w * DAY + d for w in (7, 30, 60, 90) for d in (0, 1)
]
PAIRS = [(c, a) for c in CHANNELS for a in ACTIONS[c]]
DETAILS = [None, "/home", "/pricing", "asset-1"]
VALUES = {
    "flag": ["yes", "no", "unknown"],
    "number": ["3", "6", "12.5"],
    "text": ["committee", "roi", "cfo"],
}
FIELDS = ["budget", "authority", "timeline_months", "budget_amount", "metrics", "pain"]


def examples(n: int) -> settings:
    """``n`` examples, no deadline: one feature build costs ~0.15 s of DuckDB setup."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


seconds = st.one_of(st.integers(0, HORIZON), st.sampled_from(SPECIAL))


def _at(offset: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=offset)


@st.composite
def crm(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    """Canonical tables of 1-4 leads with activities, qualifications and outcomes."""
    n = draw(st.integers(1, 4))
    created = [
        draw(st.one_of(st.integers(0, 100 * DAY), st.sampled_from(SPECIAL)))
        for _ in range(n)
    ]
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "account_id": [draw(st.sampled_from([None, "A0", "A1"])) for _ in range(n)],
            "created_at": [_at(c) for c in created],
            "role": [
                draw(st.sampled_from([None, "decision_maker", "user"]))
                for _ in range(n)
            ],
            "seniority": [
                draw(st.sampled_from([None, "vp", "manager"])) for _ in range(n)
            ],
            "department": [
                draw(st.sampled_from([None, "sales", "it"])) for _ in range(n)
            ],
            "country": [draw(st.sampled_from([None, "FR", "US"])) for _ in range(n)],
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["A0", "A1"],
            "sector": [
                draw(st.sampled_from([None, "fintech", "retail"])) for _ in range(2)
            ],
            "employees": [
                draw(st.sampled_from([None, 0, 30, 200, 5000])) for _ in range(2)
            ],
            "annual_revenue": [
                draw(st.sampled_from([None, 1e6, 1e8, 1e9])) for _ in range(2)
            ],
            "country": [draw(st.sampled_from([None, "DE", "US"])) for _ in range(2)],
            "region": [draw(st.sampled_from([None, "EMEA", "NA"])) for _ in range(2)],
            "tech_stack": [
                draw(st.sampled_from([None, [], ["aws"], ["aws", "x", "aws"]]))
                for _ in range(2)
            ],
        }
    )

    def after_creation(lead: int) -> int:
        # validated activities never precede their lead's creation
        return created[lead] + draw(
            st.one_of(
                st.integers(0, HORIZON - created[lead]),
                st.sampled_from([0, 60, 1800, 1799]),
            )
        )

    acts = []
    for _ in range(draw(st.integers(0, 25))):
        lead = draw(st.integers(0, n - 1))
        c, a = draw(st.sampled_from(PAIRS))
        t = draw(st.one_of(st.just(None), seconds))
        t = after_creation(lead) if t is None or t < created[lead] else t
        acts.append(
            (
                f"L{lead}",
                _at(t),
                c,
                a,
                draw(st.sampled_from(DETAILS)),
                draw(st.sampled_from([None, 0.0, 12.5, 300.0])),
            )
        )
    quals = []
    for _ in range(draw(st.integers(0, 10))):
        lead = draw(st.integers(0, n - 1))
        field = draw(st.sampled_from(FIELDS))
        value = draw(st.sampled_from(VALUES[QUALIFICATION_FIELDS[field]]))
        quals.append((f"L{lead}", _at(after_creation(lead)), field, value))
    outs = []
    for lead in range(n):
        if draw(st.booleans()):
            outs.append(
                (
                    f"L{lead}",
                    _at(after_creation(lead) + 1),
                    draw(st.sampled_from(["won", "lost"])),
                )
            )
    return {
        "accounts": conform(accounts, "accounts"),
        "leads": conform(leads, "leads"),
        "activities": conform(
            pd.DataFrame(
                acts,
                columns=[
                    "lead_id",
                    "occurred_at",
                    "channel",
                    "action",
                    "detail",
                    "quantity",
                ],
            ),
            "activities",
        ),
        "qualifications": conform(
            pd.DataFrame(quals, columns=["lead_id", "recorded_at", "field", "value"]),
            "qualifications",
        ),
        "outcomes": conform(
            pd.DataFrame(outs, columns=["lead_id", "closed_at", "outcome"]), "outcomes"
        ),
    }


def _with_future(
    tables: dict[str, pd.DataFrame], future: dict[str, pd.DataFrame], at: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    """``tables`` with every activity, qualification and outcome after ``at`` replaced
    by those of ``future`` (of the same leads): future rows added, removed, changed."""
    mutated = dict(tables)
    for table, column in (
        ("activities", "occurred_at"),
        ("qualifications", "recorded_at"),
        ("outcomes", "closed_at"),
    ):
        past = tables[table][tables[table][column] <= at]
        later = future[table][future[table][column] > at]
        later = later[later["lead_id"].isin(tables["leads"]["lead_id"])]
        if table == "outcomes":  # one outcome per lead
            later = later[~later["lead_id"].isin(past["lead_id"])]
        mutated[table] = pd.concat([past, later], ignore_index=True)
    return mutated


def _cut(
    tables: dict[str, pd.DataFrame], as_of: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    """The tables as they were at ``as_of``: no row stamped after it."""
    out = dict(tables)
    for table, column in (
        ("activities", "occurred_at"),
        ("qualifications", "recorded_at"),
        ("outcomes", "closed_at"),
    ):
        frame = tables[table]
        out[table] = frame[frame[column] <= as_of].reset_index(drop=True)
    return out


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories as plain values: category sets depend on which rows are present."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    return frame.astype(dict.fromkeys(cats, object))


@examples(20)
@given(tables=crm(), data=st.data())
def test_future_rows_change_nothing(
    tables: dict[str, pd.DataFrame], data: st.DataObject
) -> None:
    # Replace every activity, qualification and outcome after as_of by others, also
    # after it: that adds, removes and changes future rows at once.
    mutated = _with_future(tables, data.draw(crm()), AS_OF)
    pd.testing.assert_frame_equal(
        build_features(mutated, AS_OF), build_features(tables, AS_OF)
    )


@examples(15)
@given(tables=crm(), data=st.data())
def test_row_order_changes_nothing_and_counts_nest(
    tables: dict[str, pd.DataFrame], data: st.DataObject
) -> None:
    shuffled = {
        name: frame.iloc[data.draw(st.permutations(range(len(frame))))].reset_index(
            drop=True
        )
        for name, frame in tables.items()
    }
    frame = build_features(tables, AS_OF)
    pd.testing.assert_frame_equal(build_features(shuffled, AS_OF), frame)
    # counts are non-negative, and a longer window holds at least as much
    stems: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for spec in feature_specs():
        if spec.kind in ("count", "sum", "known"):
            assert (frame[spec.name] >= 0).all(), spec.name
        if spec.kind in ("count", "sum") and spec.window_days is not None:
            stems[spec.stem].append((spec.window_days, spec.name))
    for columns in stems.values():
        names = [name for _, name in sorted(columns)]
        for short, long in zip(names, names[1:], strict=False):
            assert (frame[short] <= frame[long]).all(), (short, long)


def _some_rows(data: st.DataObject, frame: pd.DataFrame) -> list[int]:
    """One or two positions of ``frame`` (not empty) drawn by Hypothesis."""
    return data.draw(
        st.lists(st.integers(0, len(frame) - 1), min_size=1, max_size=2, unique=True)
    )


@examples(12)
@given(tables=crm(), data=st.data())
def test_snapshots_never_see_past_their_as_of(
    tables: dict[str, pd.DataFrame], data: st.DataObject
) -> None:
    config = FeaturesConfig(snapshot_every_days=9.5)
    snaps = build_snapshots(tables, config)
    assert (snaps["as_of"] < snaps["closed_at"]).all()
    if snaps.empty:
        return
    for i in _some_rows(data, snaps):
        row = snaps.iloc[[i]]
        as_of = row["as_of"].iloc[0]
        seen = build_features(_cut(tables, as_of), as_of, config)
        seen = seen[seen["lead_id"] == row["lead_id"].iloc[0]]
        pd.testing.assert_frame_equal(
            _plain(seen.reset_index(drop=True)),
            _plain(row.drop(columns=["closed_at", "label"]).reset_index(drop=True)),
        )


@pytest.mark.parametrize("rows", ["complete", "known"])
@examples(10)
@given(tables=crm(), offset=seconds, data=st.data())
def test_horizon_labels_know_nothing_after_the_cutoff(
    rows: str, tables: dict[str, pd.DataFrame], offset: int, data: st.DataObject
) -> None:
    config = FeaturesConfig(snapshot_every_days=9.5, horizon_days=20, horizon_rows=rows)
    cutoff = _at(offset)
    snaps = build_snapshots(tables, config, cutoff=cutoff)
    horizon = pd.Timedelta(days=config.horizon_days)
    # every row's label is known at the cutoff: its window passed, or ("known") its
    # lead closed by then
    known = (snaps["as_of"] + horizon).le(cutoff)
    if rows == "known":
        known |= snaps["closed_at"].le(cutoff)
    assert known.all()
    assert (snaps.loc[snaps["closed_at"].isna(), "label"] == 0).all()
    # events after the cutoff change nothing
    mutated = _with_future(tables, data.draw(crm()), cutoff)
    pd.testing.assert_frame_equal(
        _plain(build_snapshots(mutated, config, cutoff=cutoff)), _plain(snaps)
    )
    if snaps.empty:
        return
    # a row's presence, label and features depend on nothing after min(as_of + H, C)
    for i in _some_rows(data, snaps):
        row = snaps.iloc[[i]]
        until = min(row["as_of"].iloc[0] + horizon, cutoff)
        then = build_snapshots(_cut(tables, until), config, cutoff=until)
        then = then[
            then["lead_id"].eq(row["lead_id"].iloc[0])
            & then["as_of"].eq(row["as_of"].iloc[0])
        ]
        pd.testing.assert_frame_equal(
            _plain(then.drop(columns="closed_at").reset_index(drop=True)),
            _plain(row.drop(columns="closed_at").reset_index(drop=True)),
        )


@examples(12)
@given(tables=crm(), offset=seconds)
def test_engine_equals_the_reference(
    tables: dict[str, pd.DataFrame], offset: int
) -> None:
    as_of = _at(offset)
    engine, oracle = build_features(tables, as_of), oracle_features(tables, as_of)
    assert sorted(engine.columns) == sorted(oracle.columns)
    pd.testing.assert_frame_equal(
        engine, oracle[engine.columns], check_exact=False, rtol=1e-12, atol=1e-12
    )


@examples(40)
@given(tables=crm(), offset=seconds, extra_lead=st.booleans())
def test_leads_held_in_memory_get_the_batch_engines_features(
    tables: dict[str, pd.DataFrame], offset: int, extra_lead: bool
) -> None:
    """Arrow tables of a few leads are staged without SQL (the API's path): the
    features equal those the batch engine stages in DuckDB, values and dtypes, closed
    leads, leads created later and unknown accounts included."""
    if extra_lead:  # a lead whose account the tables do not hold
        lead = tables["leads"].iloc[:1].assign(lead_id="L9", account_id="A7")
        tables = {**tables, "leads": pd.concat([tables["leads"], lead])}
    as_of = _at(offset)
    arrow = {name: to_arrow(frame, name) for name, frame in tables.items()}
    assert stages_in_memory(arrow, FeaturesConfig())
    pd.testing.assert_frame_equal(
        build_features(arrow, as_of), build_features(tables, as_of)
    )


@examples(3)
@given(tables=crm())
def test_a_duplicate_lead_held_in_memory_is_refused_as_in_the_batch_engine(
    tables: dict[str, pd.DataFrame],
) -> None:
    tables["leads"] = pd.concat([tables["leads"], tables["leads"].iloc[:1]])
    tables["outcomes"] = tables["outcomes"].iloc[0:0]  # every lead open
    as_of = _at(HORIZON)
    arrow = {name: to_arrow(frame, name) for name, frame in tables.items()}
    for source in (arrow, tables):
        with pytest.raises(DataValidationError, match="lead_id must be unique"):
            build_features(source, as_of)


@examples(200)
@given(values=st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=80))
def test_a_few_texts_get_the_categories_of_many(values: list[str | None]) -> None:
    """The categorical of a short text column (built in Python) equals the one Arrow
    builds for a long one: same sorted levels, same codes."""
    column = pa.chunked_array([pa.array(values, pa.string())])
    small = frame._as_category(column)
    before, frame._FEW_VALUES = frame._FEW_VALUES, -1
    try:
        large = frame._as_category(column)
    finally:
        frame._FEW_VALUES = before
    assert small.dictionary.to_pylist() == large.dictionary.to_pylist()
    assert small.indices.to_pylist() == large.indices.to_pylist()


def _maybe(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), values)


@examples(100)
@given(
    rows=st.integers(0, 6).flatmap(
        lambda n: st.fixed_dictionaries(
            {
                "count": st.lists(st.integers(-5, 5), min_size=n, max_size=n),
                "count_missing": st.lists(
                    _maybe(st.integers(-5, 5)), min_size=n, max_size=n
                ),
                "ratio": st.lists(
                    _maybe(st.floats(allow_nan=False)), min_size=n, max_size=n
                ),
                "flag": st.lists(st.booleans(), min_size=n, max_size=n),
                "flag_missing": st.lists(_maybe(st.booleans()), min_size=n, max_size=n),
                "sector": st.lists(_maybe(st.text(max_size=3)), min_size=n, max_size=n),
                "note": st.lists(_maybe(st.text(max_size=3)), min_size=n, max_size=n),
                "at": st.lists(_maybe(st.integers(0, 2**40)), min_size=n, max_size=n),
            }
        )
    )
)
def test_a_few_feature_rows_make_the_frame_arrow_makes(rows: dict[str, list]) -> None:
    """The frame of a few rows (built block by block) equals the one Arrow's
    ``to_pandas`` makes of many: same dtypes, same values, same categories."""
    table = pa.table(
        {
            "count": pa.array(rows["count"], pa.int32()),
            "count_missing": pa.array(rows["count_missing"], pa.int32()),
            "ratio": pa.array(rows["ratio"], pa.float64()),
            "flag": pa.array(rows["flag"], pa.bool_()),
            "flag_missing": pa.array(rows["flag_missing"], pa.bool_()),
            "sector": pa.array(rows["sector"], pa.string()),
            "note": pa.array(rows["note"], pa.string()),
            "at": pa.array(rows["at"], pa.timestamp("us", tz="UTC")),
        }
    )
    specs = tuple(
        FeatureSpec(name, "fit", "category", "leads", "") for name in ("sector",)
    )
    few = frame.to_frame([table.slice(0, 3), table.slice(3)], specs)
    before, frame._FEW_ROWS = frame._FEW_ROWS, -1
    try:
        many = frame.to_frame([table], specs)
    finally:
        frame._FEW_ROWS = before
    assert isinstance(few["sector"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(few, many)


@examples(50)
@given(
    numbers=st.lists(
        st.tuples(
            st.one_of(st.floats(allow_nan=False, width=32), st.just(float("nan"))),
            st.integers(-(2**31), 2**31 - 1),
            st.booleans(),
        ),
        max_size=8,
    ),
    levels=st.integers(0, 150),
)
def test_the_engines_numpy_columns_make_the_frame_of_their_table(
    numbers: list[tuple[float, int, bool]], levels: int
) -> None:
    """The columns of a few leads as the engine hands them over (numbers in numpy,
    texts in Arrow) give the frame their Arrow table gives, many levels included."""
    n = len(numbers)
    columns = {
        "ratio": np.array([r for r, _, _ in numbers], dtype=np.float64),
        "count": np.array([c for _, c, _ in numbers], dtype=np.int32),
        "flag": np.array([f for _, _, f in numbers], dtype=bool),
        "sector": pa.array([f"s{(i * 7) % max(levels, 1)}" for i in range(n)]),
        "many": pa.array([f"v{i}" for i in range(levels)][:n] + [None] * (n - levels)),
    }
    specs = tuple(
        FeatureSpec(name, "fit", "category", "leads", "") for name in ("sector", "many")
    )
    before, frame._FEW_ROWS = frame._FEW_ROWS, -1
    try:
        arrow = frame.to_frame([pa.table(columns)], specs)
    finally:
        frame._FEW_ROWS = before
    pd.testing.assert_frame_equal(frame.columns_frame(columns, specs), arrow)
    long = pa.array([f"w{i:03d}" for i in range(levels)])  # beyond the few values
    wide = {"many": pa.chunked_array([long])}
    before, frame._FEW_ROWS = frame._FEW_ROWS, -1
    try:
        arrow = frame.to_frame([pa.table(wide)], specs[1:])
    finally:
        frame._FEW_ROWS = before
    pd.testing.assert_frame_equal(frame.columns_frame(wide, specs[1:]), arrow)
