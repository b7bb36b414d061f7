"""Re-score one lead the moment a rep records answers, before and after them at once.

Stage: serve. Input: the validated data folder the batch was scored from (the lead's
own rows, read with Parquet filters), the answers reps recorded in the store, and
the server's :class:`~predscore.scoring.Scorer`; output: the lead's score row after
the answers and, scored in the same call at the same as-of time, its row without
the answers just submitted (or without any rep answer), so that the change and the
reasons that moved come from the answers alone, not from time passing. The rows of
a validated folder and the store's checked answers are already canonical, so an open
lead takes the short path of ``POST /score`` (:func:`predscore.scoring.score_canonical`
on a DuckDB connection kept open); a lead with an outcome goes through
:func:`predscore.scoring.score_tables` (validation first), as the API would. Either
way: point-in-time features, model, rules and reasons, as in the batch job.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from predscore.config import PredscoreConfig
from predscore.errors import DataValidationError
from predscore.features import KeptConnection
from predscore.io import read_parquet
from predscore.schema import TABLE_ORDER
from predscore.schema.store import to_arrow
from predscore.scoring import ScoredBatch, Scorer, score_canonical, score_tables

__all__ = ["LeadRescorer", "Rescored"]

#: the suffix of the lead's copy scored without the new answers (not a CRM id:
#: validation keeps it as text, and it never leaves this module)
_BEFORE = "\u2063before"


@dataclass(frozen=True)
class Rescored:
    """A lead's score rows (plain values) after and before the answers, at ``as_of``."""

    after: dict[str, Any]
    before: dict[str, Any]
    as_of: pd.Timestamp


class LeadRescorer:
    """Scores one lead from its data folder plus rep answers (one at a time).

    Parameters
    ----------
    config : PredscoreConfig
        ``validation`` and ``scoring.owner_column``, as the batch job uses them.
    scorer : Scorer
        The model (or rules) loaded by the server.
    """

    def __init__(self, config: PredscoreConfig, scorer: Scorer) -> None:
        self.config = config
        self.scorer = scorer
        # the scorer's model and DuckDB settings are shared: one scoring at a time
        self._lock = threading.Lock()
        self._kept = KeptConnection(scorer.engine)

    def _lead_tables(self, data_dir: Path, lead_id: str) -> dict[str, pd.DataFrame]:
        """The lead's rows of each table of the validated folder."""
        by_lead = [("lead_id", "==", lead_id)]
        leads = read_parquet(data_dir / "leads.parquet", None, by_lead)
        if leads.empty:
            raise DataValidationError(f"lead {lead_id!r} is not in {data_dir}")
        account = leads["account_id"].dropna()
        accounts = read_parquet(
            data_dir / "accounts.parquet",
            None,
            [("account_id", "==", str(account.iloc[0]))] if len(account) else None,
        )
        if not len(account):
            accounts = accounts.iloc[0:0]
        tables = {"leads": leads, "accounts": accounts}
        for table in ("activities", "qualifications", "outcomes"):
            tables[table] = read_parquet(data_dir / f"{table}.parquet", None, by_lead)
        return tables

    @staticmethod
    def _with_copy(
        tables: dict[str, pd.DataFrame],
        lead_id: str,
        after: pd.DataFrame,
        before: pd.DataFrame,
    ) -> dict[str, pd.DataFrame]:
        """The lead (with ``after`` answers) and its copy (with ``before`` answers)."""
        twin = lead_id + _BEFORE
        out = {}
        for table in TABLE_ORDER:
            frame = tables[table]
            if table == "accounts":
                out[table] = frame
                continue
            if table == "qualifications":
                crm = frame[["lead_id", "recorded_at", "field", "value"]]
                mine = pd.concat([crm, after], ignore_index=True)
                theirs = pd.concat([crm, before], ignore_index=True)
                out[table] = pd.concat(
                    [mine, theirs.assign(lead_id=twin)], ignore_index=True
                )
                continue
            out[table] = pd.concat(
                [frame, frame.assign(lead_id=twin)], ignore_index=True
            )
        return out

    def _score(
        self, tables: dict[str, pd.DataFrame], as_of: pd.Timestamp
    ) -> ScoredBatch:
        created = pd.to_datetime(tables["leads"]["created_at"], utc=True)
        if tables["outcomes"].empty and bool((created <= as_of).all()):
            canonical = {t: to_arrow(tables[t], t) for t in TABLE_ORDER}
            return score_canonical(canonical, as_of, self.scorer, self._kept)
        return score_tables(
            tables,
            as_of,
            self.scorer,
            owner_column=self.config.scoring.owner_column,
            validation=self.config.validation,
        )

    def rescore(
        self,
        data_dir: Path,
        lead_id: str,
        entries: pd.DataFrame,
        new: pd.Series | None,
        as_of: pd.Timestamp,
    ) -> Rescored:
        """Score the lead with every answer of ``entries`` and without the ``new``
        ones (a boolean mask over ``entries``; None: without any).

        Raises
        ------
        DataValidationError
            When the lead is not in the folder or a row of it cannot be scored.
        """
        tables = self._lead_tables(data_dir, lead_id)
        answers = entries[["lead_id", "recorded_at", "field", "value"]]
        kept = answers.iloc[0:0] if new is None else answers[~new.to_numpy(bool)]
        both = self._with_copy(tables, lead_id, answers, kept)
        with self._lock:
            batch = self._score(both, as_of)
        rows = {r["lead_id"]: r for r in batch.records()}
        if lead_id not in rows or lead_id + _BEFORE not in rows:
            reasons = batch.rejections.loc[
                batch.rejections["lead_id"].astype(str) == lead_id, "reason"
            ]
            why = "; ".join(map(str, reasons.head(3))) or "not open at this time"
            raise DataValidationError(f"lead {lead_id!r} could not be scored: {why}")
        before = {**rows[lead_id + _BEFORE], "lead_id": lead_id}
        return Rescored(after=rows[lead_id], before=before, as_of=as_of)
