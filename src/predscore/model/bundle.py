"""Model bundles on disk, and the MLflow pyfunc that serves them.

Stage: model (I/O edge). A bundle is a folder a user without MLflow can read:
``booster.txt`` (LightGBM's text model), ``bundle.json`` (feature list, category
levels, calibration map, and the features / ICP configuration the features must be
built with, the split, the seed and the training metadata). No pickle: loading needs
lightgbm and numpy only, and the file is reviewable. The MLflow pyfunc wrapping a
bundle is :mod:`predscore.model.pyfunc`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import pandas as pd

from predscore.config import FeaturesConfig, IcpConfig, SplitConfig
from predscore.errors import ModelError
from predscore.model.calibrate import Calibrator
from predscore.model.estimator import LeadModel

__all__ = [
    "BOOSTER_FILE",
    "BUNDLE_FILE",
    "FORMAT_VERSION",
    "ModelBundle",
    "load_bundle",
    "save_bundle",
]

BUNDLE_FILE = "bundle.json"
BOOSTER_FILE = "booster.txt"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelBundle:
    """A fitted model with everything needed to score new feature rows the same way."""

    model: LeadModel
    features: FeaturesConfig
    icp: IcpConfig
    split: SplitConfig
    seed: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, frame: pd.DataFrame) -> pd.Series:
        """Calibrated closing probability per feature row (same index)."""
        return pd.Series(
            self.model.predict_proba(frame), index=frame.index, name="probability"
        )


def save_bundle(bundle: ModelBundle, path: Path) -> Path:
    """Write ``bundle`` to the folder ``path`` (replaced whole, never half-written)."""
    model = bundle.model
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        model.booster_.save_model(
            str(tmp / BOOSTER_FILE), num_iteration=model.best_iteration_
        )
        doc = {
            "format_version": FORMAT_VERSION,
            "features": model.features_,
            "categories": model.categories_,
            "best_iteration": model.best_iteration_,
            "calibrator": model.calibrator_.to_dict(),
            "estimator": {
                "params": model.params,
                "class_weight": model.class_weight,
                "lead_weight": model.lead_weight,
                "recency_half_life_days": model.recency_half_life_days,
                "refit": model.refit,
                "threads": model.threads,
                "seed": model.seed,
            },
            "features_config": bundle.features.model_dump(mode="json"),
            "icp": bundle.icp.model_dump(mode="json"),
            "split": bundle.split.model_dump(mode="json"),
            "seed": bundle.seed,
            "metadata": bundle.metadata,
        }
        (tmp / BUNDLE_FILE).write_text(json.dumps(doc, indent=2, sort_keys=True))
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_bundle(path: Path) -> ModelBundle:
    """Read a bundle folder written by :func:`save_bundle`.

    Raises
    ------
    ModelError
        When the folder is not a bundle or was written by an unknown format version.
    """
    path = Path(path)
    doc_path = path / BUNDLE_FILE
    if not doc_path.is_file() or not (path / BOOSTER_FILE).is_file():
        raise ModelError(
            f"{path}: not a predscore model bundle (expected {BUNDLE_FILE} and "
            f"{BOOSTER_FILE}); train one with `predscore train`"
        )
    doc = json.loads(doc_path.read_text())
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{doc_path}: bundle format {doc.get('format_version')!r}, this predscore "
            f"reads format {FORMAT_VERSION}"
        )
    booster = lgb.Booster(model_file=str(path / BOOSTER_FILE))
    est = doc["estimator"]
    model = LeadModel.from_parts(
        booster,
        doc["features"],
        doc["categories"],
        Calibrator.from_dict(doc["calibrator"]),
        doc["best_iteration"],
        params=est["params"],
        class_weight=est["class_weight"],
        lead_weight=est["lead_weight"],
        recency_half_life_days=est.get("recency_half_life_days"),
        refit=est.get("refit", False),
        threads=est["threads"],
        seed=est["seed"],
    )
    return ModelBundle(
        model=model,
        features=FeaturesConfig.model_validate(doc["features_config"]),
        icp=IcpConfig.model_validate(doc["icp"]),
        # a bundle written before `mature_quantile` existed split every closed lead:
        # evaluating it again must give the same periods
        split=SplitConfig.model_validate({"mature_quantile": None, **doc["split"]}),
        seed=int(doc["seed"]),
        metadata=doc.get("metadata", {}),
    )
