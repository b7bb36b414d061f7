"""Model bundles on disk, and the MLflow pyfunc that serves them.

Stage: model (I/O edge). A bundle is a folder a user without MLflow can read:
``booster.txt`` (LightGBM's text model, when the model has trees), ``bundle.json``
(feature list, category levels, the components with their weights, the linear
model's terms as numbers, calibration map, and the features / ICP configuration the
features must be built with, the split, the seed and the training metadata). With
segment models (:mod:`predscore.model.segments`), each segment's model is described
the same way under ``segments`` in ``bundle.json``, its boosters in
``segments/<n>/``. No pickle: loading needs
lightgbm and numpy only, and the file is reviewable. The MLflow pyfunc wrapping a
bundle is :mod:`predscore.model.pyfunc`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from predscore.config import FeaturesConfig, IcpConfig, SplitConfig
from predscore.errors import ModelError
from predscore.model.calibrate import Calibrator
from predscore.model.estimator import Component, LeadModel, ModelSpec
from predscore.model.linear import LinearComponent
from predscore.model.segments import SegmentModels
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
FORMAT_VERSION = 4
#: formats this predscore reads (4 adds the optional segment models)
_READS = (3, 4)


@dataclass(frozen=True)
class ModelBundle:
    """A fitted model with everything needed to score new feature rows the same way.

    ``model`` is the global model; ``segments``, when set, the models of the
    segments that have one: a row of such a segment is scored by its model.
    """

    model: LeadModel
    features: FeaturesConfig
    icp: IcpConfig
    split: SplitConfig
    seed: int
    metadata: dict[str, Any] = field(default_factory=dict)
    segments: SegmentModels | None = None

    def models(self) -> dict[str | None, LeadModel]:
        """Every model of the bundle: the global one (key None), then the segments'."""
        own = {} if self.segments is None else self.segments.models
        return {None: self.model, **own}

    def for_segment(self, segment: str | None) -> ModelBundle:
        """The bundle of one model alone (None: the global model), for scoring and
        explaining the rows :meth:`SegmentModels.groups` gives it."""
        model = self.models()[segment]
        return replace(self, model=model, segments=None)

    def predict_proba(self, frame: pd.DataFrame) -> pd.Series:
        """Calibrated closing probability per feature row (same index), each row by
        its segment's model when it has one."""
        out = np.zeros(len(frame))
        if self.segments is None:
            out[:] = self.model.predict_proba(frame)
        else:
            for segment, at in self.segments.groups(frame):
                out[at] = self.models()[segment].predict_proba(frame.iloc[at])
        return pd.Series(out, index=frame.index, name="probability")


def _model_doc(model: LeadModel, folder: Path, prefix: str = "") -> dict[str, Any]:
    """One model's part of ``bundle.json``; its boosters written into ``folder``
    (``prefix`` is that folder relative to the bundle)."""
    components = []
    for i, (weight, component) in enumerate(model.components_):
        if isinstance(component, TreeComponent):
            name = BOOSTER_FILE if i == 0 else f"booster_{i}.txt"
            folder.mkdir(parents=True, exist_ok=True)
            component.booster.save_model(
                str(folder / name), num_iteration=component.trees
            )
            components.append(
                {
                    "family": "lightgbm",
                    "weight": weight,
                    "file": prefix + name,
                    "trees": component.trees,
                }
            )
        else:
            components.append(
                {"family": "linear", "weight": weight, **component.to_dict()}
            )
    return {
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
    }


def _model_from_doc(doc: dict[str, Any], path: Path) -> LeadModel:
    """Inverse of :func:`_model_doc` (``path``: the bundle folder)."""
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
    return LeadModel.from_parts(
        components,
        doc["features"],
        doc["categories"],
        Calibrator.from_dict(doc["calibrator"]),
        spec=ModelSpec.from_dict(est["spec"]),
        lead_weight=est["lead_weight"],
        threads=est["threads"],
        seed=est["seed"],
    )


def save_bundle(bundle: ModelBundle, path: Path) -> Path:
    """Write ``bundle`` to the folder ``path`` (replaced whole, never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        doc = {
            "format_version": FORMAT_VERSION,
            **_model_doc(bundle.model, tmp),
            "features_config": bundle.features.model_dump(mode="json"),
            "icp": bundle.icp.model_dump(mode="json"),
            "split": bundle.split.model_dump(mode="json"),
            "seed": bundle.seed,
            "metadata": bundle.metadata,
        }
        if bundle.segments is not None:
            doc["segments"] = {
                "column": bundle.segments.column,
                "models": [
                    {
                        "segment": value,
                        **_model_doc(model, tmp / f"segments/{n}", f"segments/{n}/"),
                    }
                    for n, (value, model) in enumerate(
                        bundle.segments.models.items(), 1
                    )
                ],
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
    if doc.get("format_version") not in _READS:
        raise ModelError(
            f"{doc_path}: bundle format {doc.get('format_version')!r}, this predscore "
            f"reads formats {list(_READS)}: train the model again with this version"
        )
    segments = None
    if doc.get("segments"):
        part = doc["segments"]
        segments = SegmentModels(
            part["column"],
            {m["segment"]: _model_from_doc(m, path) for m in part["models"]},
        )
    return ModelBundle(
        model=_model_from_doc(doc, path),
        features=FeaturesConfig.model_validate(doc["features_config"]),
        icp=IcpConfig.model_validate(doc["icp"]),
        split=SplitConfig.model_validate(doc["split"]),
        seed=int(doc["seed"]),
        metadata=doc.get("metadata", {}),
        segments=segments,
    )
