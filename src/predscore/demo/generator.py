"""Write a synthetic B2B CRM in the canonical tables, streamed in chunks.

Stage: source. ``predscore demo-data`` calls :func:`generate_demo_data`, which draws
leads chunk by chunk (``chunk_leads`` at a time, each chunk from its own seed derived
from the configured seed) and appends every chunk to the five Parquet files, so memory
stays bounded whatever the number of leads. Same configuration and seed ⇒ byte-identical
files. A small share of rows (``dirty_rows``) is corrupted on purpose the way real
exports are (duplicates, orphans, impossible dates, bad values) so that validation has
something to catch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from predscore.config import DemoConfig, IcpConfig
from predscore.demo.drift import drift_channels
from predscore.demo.journeys import (
    close_delays,
    draw_activities,
    draw_outcomes,
    draw_qualifications,
)
from predscore.demo.population import draw_population, won_logit
from predscore.io import AtomicParquetWriter
from predscore.schema import TABLE_ORDER, arrow_schema
from predscore.schema.store import table_path, to_arrow

__all__ = ["DemoSummary", "generate_demo_data", "won_intercept"]

_DAY = np.timedelta64(86_400_000_000, "us")
_PILOT_KEY = 2**32 - 1  # seed stream of the calibration pilot, apart from every chunk
_DRIFT_KEY = 2**32 - 2  # seed stream of an injected drift, apart from the rest


@dataclass(frozen=True)
class DemoSummary:
    """Rows written per table and the outcome counts of the generated leads."""

    rows: dict[str, int]
    won: int
    lost: int
    open: int
    intercept: float

    @property
    def won_rate(self) -> float:
        """Share of won among closed leads."""
        closed = self.won + self.lost
        return self.won / closed if closed else float("nan")


def _end(config: DemoConfig) -> np.datetime64:
    return np.datetime64(config.end.replace(tzinfo=None), "us")


def won_intercept(
    config: DemoConfig, icp: IcpConfig, pilot_leads: int = 40_000
) -> float:
    """Intercept of the closing log-odds giving ``config.won_rate`` among closed leads.

    Solved by bisection on the expected won share over a pilot population drawn from its
    own seed stream (so it does not depend on the number of leads asked for).
    """
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, _PILOT_KEY]))
    # without the drift: the same intercept, so that a drifted demo differs from
    # the plain one by the drift alone
    pop = draw_population(rng, pilot_leads, 0, 0, config, icp)
    base = won_logit(pop, rng.normal(0, 0.7, pilot_leads))
    won_days, lost_days, stale_u = close_delays(rng, pop)
    end = _end(config)
    live = stale_u >= config.stale_share
    closes_if_won = live & (
        pop.created + (won_days * _DAY).astype("timedelta64[us]") <= end
    )
    closes_if_lost = live & (
        pop.created + (lost_days * _DAY).astype("timedelta64[us]") <= end
    )
    lo, hi = -15.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        p = 1 / (1 + np.exp(-(mid + base)))
        won = (p * closes_if_won).sum()
        share = won / (won + ((1 - p) * closes_if_lost).sum())
        lo, hi = (mid, hi) if share < config.won_rate else (lo, mid)
    return (lo + hi) / 2


def _sample(rng: np.random.Generator, n_rows: int, share: float) -> np.ndarray:
    """Positions of the rows to corrupt: a binomial count, drawn without replacement."""
    k = min(int(rng.binomial(n_rows, share)) if n_rows else 0, n_rows)
    return (
        np.sort(rng.choice(n_rows, k, replace=False)) if k else np.array([], dtype=int)
    )


def _corrupt(
    rng: np.random.Generator,
    tables: dict[str, pd.DataFrame],
    share: float,
    first_lead: int,
) -> dict[str, pd.DataFrame]:
    """Inject the kinds of bad rows real CRM exports carry."""
    if share <= 0:
        return tables
    out = {name: frame.copy() for name, frame in tables.items()}
    leads, acts = out["leads"], out["activities"]
    created = leads.set_index("lead_id")["created_at"]

    rows = _sample(rng, len(out["accounts"]), share)
    out["accounts"].loc[rows, "employees"] = (
        -out["accounts"].loc[rows, "employees"].fillna(1)
    )
    dup = leads.iloc[_sample(rng, len(leads), share)]
    out["leads"] = pd.concat([leads, dup], ignore_index=True)

    rows = _sample(rng, len(acts), share)
    acts.loc[rows, "lead_id"] = [f"L-GHOST-{first_lead + i}" for i in range(len(rows))]
    rows = _sample(rng, len(acts), share)
    acts.loc[rows, "occurred_at"] = (
        acts.loc[rows, "lead_id"].map(created) - pd.Timedelta(days=30)
    ).fillna(acts.loc[rows, "occurred_at"])
    rows = _sample(rng, len(acts), share)
    acts.loc[rows, "occurred_at"] = acts.loc[rows, "occurred_at"] + pd.DateOffset(
        years=36
    )

    quals = out["qualifications"]
    rows = _sample(rng, len(quals), share)
    quals.loc[rows, "value"] = np.where(
        quals.loc[rows, "field"] == "timeline_months", "soon", "?"
    )
    outcomes = out["outcomes"]
    rows = _sample(rng, len(outcomes), share)
    outcomes.loc[rows, "outcome"] = "pending"
    rows = _sample(rng, len(outcomes), share)
    outcomes.loc[rows, "closed_at"] = outcomes.loc[rows, "lead_id"].map(
        created
    ) - pd.Timedelta(days=10)
    return out


def _chunk(
    index: int,
    first_lead: int,
    first_account: int,
    n: int,
    config: DemoConfig,
    icp: IcpConfig,
    intercept: float,
) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, index]))
    drift_rng = np.random.default_rng(
        np.random.SeedSequence([config.seed, index, _DRIFT_KEY])
    )
    pop = draw_population(rng, n, first_lead, first_account, config, icp, drift_rng)
    p_won = 1 / (1 + np.exp(-(intercept + won_logit(pop, rng.normal(0, 0.7, n)))))
    timeline, outcomes = draw_outcomes(
        rng, pop, p_won, _end(config), config.stale_share
    )
    tables = {
        "accounts": pop.accounts,
        "leads": pop.leads,
        "activities": drift_channels(
            draw_activities(rng, pop, timeline), config, drift_rng
        ),
        "qualifications": draw_qualifications(rng, pop, timeline),
        "outcomes": outcomes,
    }
    return _corrupt(rng, tables, config.dirty_rows, first_lead)


def generate_demo_data(
    out_dir: Path,
    config: DemoConfig,
    icp: IcpConfig,
    on_progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Generate ``config.leads`` leads into ``out_dir`` as the five canonical tables.

    Parameters
    ----------
    out_dir : Path
        Folder to write ``<table>.parquet`` into (created if needed). Each file appears
        only when complete.
    config : DemoConfig
        Size, seed, time span, won rate, share of enthusiasts and of dirty rows.
    icp : IcpConfig
        The ICP; a contact's true fit (which raises need and closing) is measured on it.
    on_progress : callable, optional
        Called with the number of leads done after each chunk.

    Returns
    -------
    DemoSummary
        Rows written per table and outcome counts as written (a corrupted outcome
        counts as neither won nor lost).
    """
    out_dir = Path(out_dir)
    intercept = won_intercept(config, icp)
    extra = {"leads": pa.schema([pa.field("owner", pa.string())])}
    schemas = {t: arrow_schema(t, extra.get(t)) for t in TABLE_ORDER}
    writers = {
        t: AtomicParquetWriter(table_path(out_dir, t), schemas[t]) for t in TABLE_ORDER
    }
    won = lost = 0
    first_account = 0
    for writer in writers.values():
        writer.__enter__()
    try:
        for index, first_lead in enumerate(range(0, config.leads, config.chunk_leads)):
            n = min(config.chunk_leads, config.leads - first_lead)
            tables = _chunk(index, first_lead, first_account, n, config, icp, intercept)
            first_account += len(tables["accounts"])
            clean = tables["outcomes"]["outcome"]
            won += int((clean == "won").sum())
            lost += int((clean == "lost").sum())
            for table, frame in tables.items():
                writers[table].write(
                    to_arrow(frame, table)
                    .replace_schema_metadata(None)
                    .cast(schemas[table])
                )
            if on_progress is not None:
                on_progress(first_lead + n)
    except BaseException as exc:
        for writer in writers.values():
            writer.__exit__(type(exc), exc, exc.__traceback__)
        raise
    for writer in writers.values():
        writer.__exit__(None, None, None)
    rows = {t: w.rows for t, w in writers.items()}
    return DemoSummary(
        rows=rows,
        won=won,
        lost=lost,
        open=config.leads - won - lost,
        intercept=intercept,
    )
