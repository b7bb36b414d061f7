"""Score feature rows: calibrated probability, tier, route, reasons, rules beside them.

Stage: scoring (above explain, model and rules). Input: feature rows built with the
scorer's features configuration (the model's own, or the configured one in rules-only
mode); output: an Arrow table of :data:`SCORE_SCHEMA`, one row per feature row, in
the same order. Reasons are written straight from the explainer's long reason frame to
Arrow lists (no Python object per reason), so that explaining a million leads costs
little more than LightGBM's ``pred_contrib``.

Two modes:

* **model**: the calibrated probability decides the route (thresholds of
  ``explain.routing``), an eliminatory criterion listed in
  ``routing.disqualify_when_eliminated_by`` disqualifies whatever the model says, and
  the rule baseline (points, route, reasons) is kept beside it;
* **rules**: no trained model (too little history, or ``--rules-only``): the rules'
  route and points decide, ``probability`` and ``score`` are null.

With segment models (:class:`~predscore.model.SegmentModels`), each lead is scored
and explained by its segment's model when it has one, else by the global model;
``model_segment`` names the segment (null: the global model).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from predscore.config import (
    EngineConfig,
    ExplainConfig,
    FeaturesConfig,
    IcpConfig,
    PredscoreConfig,
    RulesConfig,
)
from predscore.errors import DataValidationError, ModelError
from predscore.explain import NUMBER_COLUMNS, Explainer, route_leads
from predscore.features import feature_specs
from predscore.model import ModelBundle
from predscore.rules import rule_columns, temperature

__all__ = [
    "REASON_TYPE",
    "RULE_REASON_TYPE",
    "SCORE_SCHEMA",
    "Scorer",
]

_UTC = pa.timestamp("us", tz="UTC")
#: One model reason: the human feature, its family, the lead's value (as text), the
#: exact points (``base`` + the points of a lead's reasons = its ``score``) and the
#: sentence shown to the rep.
REASON_TYPE = pa.struct(
    [
        ("feature", pa.string()),
        ("family", pa.string()),
        ("value", pa.string()),
        ("points", pa.float64()),
        ("text", pa.string()),
    ]
)
#: One rule that fired: the rules' reason format (no family).
RULE_REASON_TYPE = pa.struct(
    [
        ("feature", pa.string()),
        ("value", pa.string()),
        ("points", pa.float64()),
        ("text", pa.string()),
    ]
)
#: Columns of :meth:`Scorer.score`, in order (the batch job adds ``rank``, ``delta``
#: and the display context).
SCORE_SCHEMA = pa.schema(
    [
        ("lead_id", pa.string()),
        ("as_of", _UTC),
        ("probability", pa.float64()),
        ("score", pa.float64()),
        ("tier", pa.string()),
        ("route", pa.string()),
        ("grid", pa.string()),
        ("base", pa.float64()),
        ("fit_points", pa.float64()),
        ("engagement_points", pa.float64()),
        ("qualification_points", pa.float64()),
        ("rule_points", pa.float64()),
        ("rule_route", pa.string()),
        ("eliminated_by", pa.string()),
        ("reasons", pa.list_(REASON_TYPE)),
        ("rule_reasons", pa.list_(RULE_REASON_TYPE)),
        ("model_version", pa.string()),
        ("model_segment", pa.string()),
    ]
)


#: The model's numbers: probability, score, then the points (null in rules mode).
_NUMBERS = NUMBER_COLUMNS


def _text(value: Any) -> str | None:
    """A reason's value as text: None for missing, integral floats without ``.0``."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(str(v) for v in value)
    return str(value)


def _lists(
    rows: np.ndarray, columns: dict[str, Any], n_rows: int, kind: pa.DataType
) -> pa.Array:
    """Arrow lists of structs, one list per row, from long columns sorted by row."""
    counts = np.bincount(np.asarray(rows, dtype=np.int64), minlength=n_rows)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    struct = pa.StructArray.from_arrays(
        [pa.array(columns[f.name], f.type) for f in kind],
        fields=list(kind),
    )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct)


def _rule_reason_lists(lists: Sequence[list[dict]]) -> pa.Array:
    """The rules' reason lists (records) as Arrow, values as text."""
    n = len(lists)
    rows = np.repeat(np.arange(n), [len(x) for x in lists])
    flat = [r for x in lists for r in x]
    columns = {
        "feature": [r["feature"] for r in flat],
        "value": [_text(r["value"]) for r in flat],
        "points": np.array([r["points"] for r in flat], dtype=float),
        "text": [r["text"] for r in flat],
    }
    return _lists(rows, columns, n, RULE_REASON_TYPE)


def _null(n: int, kind: pa.DataType) -> pa.Array:
    return pa.nulls(n, kind)


@dataclass(frozen=True)
class Scorer:
    """Everything needed to score feature rows the same way every time.

    Attributes
    ----------
    rules : RulesConfig
        The rule baseline (eliminatory criteria, points, temperature → tier).
    explain : ExplainConfig
        Points scale, reasons, routing thresholds.
    features, icp : FeaturesConfig, IcpConfig
        How feature rows must be built: the model's own configuration (the engagement
        windows and half-life it was trained with), or the configured ones without a
        model.
    engine : EngineConfig
        The resources of the machine that scores (``PredscoreConfig.engine``), never
        the training machine's: they change no score.
    bundle : ModelBundle or None
        The calibrated model; None in rules-only mode.
    model_version : str
        Where the model came from (``models:/predscore@champion`` …), or ``rules``.
    """

    rules: RulesConfig
    explain: ExplainConfig
    features: FeaturesConfig
    icp: IcpConfig
    bundle: ModelBundle | None
    model_version: str
    engine: EngineConfig = EngineConfig()

    @property
    def mode(self) -> str:
        """``model`` or ``rules``."""
        return "rules" if self.bundle is None else "model"

    @classmethod
    def load(
        cls,
        config: PredscoreConfig,
        model: str | None = None,
        rules_only: bool = False,
        rules: RulesConfig | None = None,
    ) -> Scorer:
        """The scorer of a configuration and a model URI.

        Parameters
        ----------
        config : PredscoreConfig
            Rules, explanations, features and tracking settings.
        model : str, optional
            Bundle folder or MLflow model URI; default: the registry's champion, then
            challenger, then the exported ``models/champion``.
        rules_only : bool
            Score with the rules alone, whatever models exist.
        rules : RulesConfig, optional
            Rule baseline replacing ``config.rules``.

        Raises
        ------
        ModelError
            When ``model`` is given and cannot be loaded, or when no model exists and
            ``scoring.when_no_model`` is ``error``.
        """
        from predscore.model.tracking import resolve_model

        rules = rules if rules is not None else config.rules
        if rules_only:
            return cls.rules_only(config, rules)
        try:
            bundle, origin = resolve_model(model, config.model.tracking)
        except ModelError:
            if model is not None or config.scoring.when_no_model == "error":
                raise
            return cls.rules_only(config, rules)
        return cls(
            rules=rules,
            explain=config.explain,
            features=bundle.features,
            icp=bundle.icp,
            bundle=bundle,
            model_version=_version(origin, config),
            engine=config.engine,
        )

    @classmethod
    def rules_only(cls, config: PredscoreConfig, rules: RulesConfig) -> Scorer:
        """A scorer that routes with the rule baseline alone."""
        return cls(
            rules=rules,
            explain=config.explain,
            features=config.features,
            icp=config.icp,
            bundle=None,
            model_version="rules",
            engine=config.engine,
        )

    def settings(self) -> dict[str, Any]:
        """The configuration that shapes the scores, as JSON (hashed into a scoring
        run's fingerprint and written to its manifest): rules, explanations, and
        the features and ICP the rows are built with. Engine settings are left out:
        they change no score."""
        return {
            "rules": self.rules.model_dump(mode="json"),
            "explain": self.explain.model_dump(mode="json"),
            "features": self.features.model_dump(mode="json"),
            "icp": self.icp.model_dump(mode="json"),
        }

    def model_digest(self) -> str | None:
        """A SHA-256 of the model itself (its components, calibration and features),
        beyond its name; None in rules-only mode."""
        if self.bundle is None:
            return None
        documents: list[object] = []
        for segment, model in self.bundle.models().items():
            parts: list[object] = []
            for weight, component in model.components_:
                if component.family == "lightgbm":
                    text = component.booster.model_to_string(
                        num_iteration=component.trees
                    )
                    parts.append([weight, text])
                else:
                    parts.append([weight, component.to_dict()])
            document = [parts, model.calibrator_.to_dict(), model.features_]
            # a bundle without segments keeps the digest it always had
            documents.append(document if segment is None else [segment, document])
        if self.bundle.segments is not None:
            documents.insert(1, self.bundle.segments.column)
        text = json.dumps(
            documents[0] if len(documents) == 1 else documents,
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def check_columns(self, lead_extras: dict[str, str]) -> None:
        """Fail before any work when the data cannot give the model's features.

        ``lead_extras`` are the extra lead columns of the data set (name → type).

        Raises
        ------
        DataValidationError
            Naming the model's features that these data cannot produce.
        """
        if self.bundle is None:
            return
        available = {
            s.name for s in feature_specs(self.features, self.icp, lead_extras)
        }
        missing = [c for c in self.bundle.model.features_ if c not in available]
        if missing:
            shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
            raise DataValidationError(
                f"the model ({self.model_version}) expects {len(missing)} feature(s) "
                f"these data cannot give: {shown}; was it trained on another data set "
                "or mapping?"
            )

    def score(self, rows: pd.DataFrame, reasons: bool = True) -> pa.Table:
        """Score feature rows (``lead_id``, ``as_of`` and the feature columns).

        Parameters
        ----------
        rows : DataFrame
            Built with :attr:`features` and :attr:`icp`.
        reasons : bool
            Explain each score (model reasons and rule reasons); when False the
            reason, points and grid columns are null, which is faster.

        Returns
        -------
        pyarrow.Table
            :data:`SCORE_SCHEMA`, one row per input row, same order.
        """
        n = len(rows)
        if not rows.index.equals(pd.RangeIndex(n)):
            rows = rows.reset_index(drop=True)
        if self.bundle is not None and self.bundle.segments is not None:
            return self._by_segment(rows, reasons)
        ruled = rule_columns(rows, self.rules)
        eliminated = ruled["eliminated_by"]
        columns: dict[str, pa.Array] = {
            "lead_id": pa.array(rows["lead_id"].astype(str).to_numpy(), pa.string()),
            "as_of": pa.array(rows["as_of"], _UTC),
            "tier": pa.array(ruled["tier"], pa.string()),
            "rule_points": pa.array(ruled["rule_points"], pa.float64()),
            "rule_route": pa.array(ruled["rule_route"], pa.string()),
            "eliminated_by": pa.array(eliminated, pa.string()),
            "model_version": pa.array([self.model_version] * n, pa.string()),
            "model_segment": _null(n, pa.string()),
        }
        columns["rule_reasons"] = (
            _rule_reason_lists(ruled["rule_reasons"])
            if reasons
            else _null(n, pa.list_(RULE_REASON_TYPE))
        )
        if self.bundle is None:
            columns.update(self._rules_mode(ruled, n))
        elif reasons:
            columns.update(self._explained(rows, eliminated))
        else:
            probability = (
                self.bundle.model.predict_proba(rows, self.engine.prediction_threads())
                if n
                else np.zeros(0)
            )
            columns.update(
                {
                    "probability": pa.array(probability, pa.float64()),
                    "score": pa.array(probability * self.explain.scale, pa.float64()),
                    "route": pa.array(
                        route_leads(probability, eliminated, self.explain.routing),
                        pa.string(),
                    ),
                    "grid": _null(n, pa.string()),
                    "reasons": _null(n, pa.list_(REASON_TYPE)),
                    **{k: _null(n, pa.float64()) for k in _NUMBERS[2:]},
                }
            )
        if self.bundle is not None:
            # the model's tier: the timeline's temperature, cold only when disqualified
            # (the rules' tier also cools every lead a rule eliminates)
            route = columns["route"].to_numpy(zero_copy_only=False)
            columns["tier"] = pa.array(
                np.where(route == "disqualify", "cold", temperature(rows, self.rules)),
                pa.string(),
            )
        return pa.table([columns[f.name] for f in SCORE_SCHEMA], schema=SCORE_SCHEMA)

    def _by_segment(self, rows: pd.DataFrame, reasons: bool) -> pa.Table:
        """Each group of rows scored by its own model's scorer, back in row order."""
        assert self.bundle is not None and self.bundle.segments is not None
        parts, positions = [], []
        for segment, at in self.bundle.segments.groups(rows):
            part = self._segment_scorers[segment].score(rows.iloc[at], reasons)
            if segment is not None:
                index = SCORE_SCHEMA.get_field_index("model_segment")
                part = part.set_column(
                    index,
                    SCORE_SCHEMA.field(index),
                    pa.array([segment] * len(at), pa.string()),
                )
            parts.append(part)
            positions.append(at)
        if not parts:
            return SCORE_SCHEMA.empty_table()
        order = np.argsort(np.concatenate(positions), kind="stable")
        return pa.concat_tables(parts).take(pa.array(order))

    @functools.cached_property
    def _segment_scorers(self) -> dict[str | None, Scorer]:
        """A scorer per model of the bundle (None: the global model), each with its
        own explainer."""
        assert self.bundle is not None
        return {
            segment: dataclasses.replace(self, bundle=self.bundle.for_segment(segment))
            for segment in self.bundle.models()
        }

    def _rules_mode(self, ruled: dict, n: int) -> dict[str, pa.Array]:
        out = {k: _null(n, pa.float64()) for k in _NUMBERS}
        out["route"] = pa.array(ruled["rule_route"], pa.string())
        out["grid"] = _null(n, pa.string())
        out["reasons"] = _null(n, pa.list_(REASON_TYPE))
        return out

    def __getstate__(self) -> dict[str, Any]:
        # what travels (to Spark's executors) is the configuration and the model;
        # each process builds its own explainer
        return {
            k: v
            for k, v in self.__dict__.items()
            if k not in {"_explainer", "_segment_scorers"}
        }

    @functools.cached_property
    def _explainer(self) -> Explainer:
        """The bundle's explainer, built once per scorer (a server scores many times)."""
        assert self.bundle is not None
        return Explainer.from_bundle(
            self.bundle, self.explain, self.engine.prediction_threads()
        )

    def _explained(self, rows: pd.DataFrame, eliminated: np.ndarray) -> dict:
        explanation = self._explainer.explain(rows)
        summary = explanation.summary_arrays(self.explain)
        long = explanation.reason_columns
        n = len(rows)
        reasons = _lists(
            long["row"],
            {
                "feature": long["feature"],
                "family": long["family"],
                "value": [_text(v) for v in long["value"]],
                "points": long["points"],
                "text": long["text"],
            },
            n,
            REASON_TYPE,
        )
        probability = explanation.probability
        out = {k: pa.array(summary[k], pa.float64()) for k in _NUMBERS}
        out["grid"] = pa.array(summary["grid"], pa.string())
        out["route"] = pa.array(
            route_leads(probability, eliminated, self.explain.routing), pa.string()
        )
        out["reasons"] = reasons
        return out


def _version(origin: str, config: PredscoreConfig) -> str:
    """``origin`` and, when known, its registry version: ``models:/predscore@champion
    (v3)``."""
    from predscore.model.tracking import registered_version

    version = registered_version(origin, config.model.tracking)
    return f"{origin} (v{version})" if version else origin
