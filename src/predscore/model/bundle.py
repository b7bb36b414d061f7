"""Model bundles on disk, and the MLflow pyfunc that serves them.

Stage: model (I/O edge). A bundle is a folder a user without MLflow can read:
``booster.txt`` (LightGBM's text model, when the model has trees), ``bundle.json``
(feature list, category levels, the components with their weights, the linear
model's terms as numbers, calibration map, and the features / ICP configuration the
features must be built with, the split, the seed and the training metadata). No pickle: loading needs
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
from predscore.model.estimator import Component, LeadModel, ModelSpec
from predscore.model.linear import LinearComponent
from predscore.model.trees import TreeComponent

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
FORMAT_VERSION = 3


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
        components = []
        for i, (weight, component) in enumerate(model.components_):
            if isinstance(component, TreeComponent):
                name = BOOSTER_FILE if i == 0 else f"booster_{i}.txt"
                component.booster.save_model(
                    str(tmp / name), num_iteration=component.trees
                )
                components.append(
                    {
                        "family": "lightgbm",
                        "weight": weight,
                        "file": name,
                        "trees": component.trees,
                    }
                )
            else:
                components.append(
                    {"family": "linear", "weight": weight, **component.to_dict()}
                )
        doc = {
            "format_version": FORMAT_VERSION,
            "features": model.features_,
            "categories": model.categories_,
            "components": components,
            "calibrator": model.calibrator_.to_dict(),
            "estimator": {
                "spec": model.spec.to_dict(),
                "lead_weight": model.lead_weight,
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
    if not doc_path.is_file():
        raise ModelError(
            f"{path}: not a predscore model bundle (expected {BUNDLE_FILE}); train "
            "one with `predscore train`"
        )
    doc = json.loads(doc_path.read_text())
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{doc_path}: bundle format {doc.get('format_version')!r}, this predscore "
            f"reads format {FORMAT_VERSION}: train the model again with this version"
        )
    components: list[tuple[float, Component]] = []
    for part in doc["components"]:
        if part["family"] == "lightgbm":
            booster = lgb.Booster(model_file=str(path / part["file"]))
            components.append(
                (float(part["weight"]), TreeComponent(booster, int(part["trees"])))
            )
        else:
            components.append((float(part["weight"]), LinearComponent.from_dict(part)))
    est = doc["estimator"]
    model = LeadModel.from_parts(
        components,
        doc["features"],
        doc["categories"],
        Calibrator.from_dict(doc["calibrator"]),
        spec=ModelSpec.from_dict(est["spec"]),
        lead_weight=est["lead_weight"],
        threads=est["threads"],
        seed=est["seed"],
    )
    return ModelBundle(
        model=model,
        features=FeaturesConfig.model_validate(doc["features_config"]),
        icp=IcpConfig.model_validate(doc["icp"]),
        split=SplitConfig.model_validate(doc["split"]),
        seed=int(doc["seed"]),
        metadata=doc.get("metadata", {}),
    )
