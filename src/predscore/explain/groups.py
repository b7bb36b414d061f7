"""Group model columns into the human features a rep understands.

Stage: explain. Input: the model's feature columns, the feature declarations
(:func:`predscore.features.feature_specs`: family, window, doc) and the ``groups`` of
``configs/explain.yaml``; output: a :class:`Grouping` that sums per-column
contributions into per-group ones (all webinar counts, recencies and decays →
"webinars"). A column belongs to exactly one group, so grouping preserves the sum of
the contributions; every group belongs to exactly one family (fit, engagement,
qualification).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from predscore.config import FAMILIES, ExplainConfig, FeatureGroup
from predscore.errors import ConfigError
from predscore.features import FeatureSpec

__all__ = ["Group", "Grouping", "build_grouping"]

#: Family of a model column the feature declarations do not know (an extra lead
#: attribute declared by an ingest mapping is a fit attribute).
_DEFAULT_FAMILY = "fit"


@dataclass(frozen=True)
class Group:
    """One human feature: its model columns, family, shown value and sentences."""

    name: str
    family: str
    columns: tuple[str, ...]
    value: str
    doc: str
    config: FeatureGroup | None = None  # None: a column (or window set) no group names


@dataclass(frozen=True)
class Grouping:
    """Which model column goes to which group, and the vectorised sum that does it.

    ``order`` permutes the model columns so that each group's columns are contiguous;
    ``starts`` are the offsets of the groups in that order (for ``np.add.reduceat``).
    """

    features: tuple[str, ...]
    groups: tuple[Group, ...]
    order: np.ndarray
    starts: np.ndarray

    @property
    def names(self) -> list[str]:
        """Group names, in group order."""
        return [g.name for g in self.groups]

    @property
    def families(self) -> np.ndarray:
        """Family of each group, in group order."""
        return np.array([g.family for g in self.groups], dtype=object)

    def family_matrix(self) -> np.ndarray:
        """0/1 matrix (groups × :data:`FAMILIES`): which family each group is in."""
        fam = self.families
        return np.stack([(fam == f).astype(float) for f in FAMILIES], axis=1)

    def sum(self, contributions: np.ndarray) -> np.ndarray:
        """Per-group sums of per-column values (rows × model columns → rows × groups)."""
        values = np.asarray(contributions, dtype=float)
        if values.shape[1] != len(self.features):
            raise ValueError(
                f"expected {len(self.features)} columns, got {values.shape[1]}"
            )
        if not len(self.groups):
            return np.zeros((len(values), 0))
        return np.add.reduceat(values[:, self.order], self.starts, axis=1)


def _window_key(spec: FeatureSpec | None) -> int:
    return -1 if spec is None or spec.window_days is None else spec.window_days


def build_grouping(
    features: Sequence[str], config: ExplainConfig, specs: Sequence[FeatureSpec]
) -> Grouping:
    """Assign every model column to one human feature.

    A column goes to the first configured group with a matching pattern; columns no
    group names are grouped by their name without the window suffix
    (``n_email_open_7d``, ``_30d``, ``_90d`` → ``n_email_open``), showing the value of
    the longest window with the sentence ``default_text``. Configured groups that match
    no model column are left out.

    Parameters
    ----------
    features : sequence of str
        The model's columns, in model order.
    config : ExplainConfig
        ``groups`` (patterns, family, value column, sentences).
    specs : sequence of FeatureSpec
        Feature declarations (family, window, doc of each column).

    Raises
    ------
    ConfigError
        When a group's columns span several families and the group sets none.
    """
    by_name = {spec.name: spec for spec in specs}
    members: dict[str, list[str]] = {}
    configured = {g.name: g for g in config.groups}
    defaults: dict[str, list[str]] = {}
    for column in features:
        group = next(
            (
                g
                for g in config.groups
                if any(fnmatch.fnmatchcase(column, p) for p in g.columns)
            ),
            None,
        )
        if group is not None:
            members.setdefault(group.name, []).append(column)
            continue
        spec = by_name.get(column)
        defaults.setdefault(spec.stem if spec else column, []).append(column)
    groups = [
        _configured(configured[name], cols, by_name)
        for name in configured
        if (cols := members.get(name))
    ]
    taken = {g.name for g in groups}
    for stem, cols in defaults.items():
        name = stem if stem not in taken else f"{stem} (column)"
        groups.append(_default(name, cols, by_name))
    index = {c: i for i, c in enumerate(features)}
    order = np.array([index[c] for g in groups for c in g.columns], dtype=np.intp)
    sizes = np.array([len(g.columns) for g in groups], dtype=np.intp)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    return Grouping(tuple(features), tuple(groups), order, starts)


def _family(columns: Sequence[str], by_name: dict[str, FeatureSpec]) -> set[str]:
    return {by_name[c].family if c in by_name else _DEFAULT_FAMILY for c in columns}


def _configured(
    group: FeatureGroup, columns: list[str], by_name: dict[str, FeatureSpec]
) -> Group:
    """A configured group; its family is stated or common to its columns."""
    families = _family(columns, by_name)
    if group.family is None and len(families) > 1:
        raise ConfigError(
            f"explain.groups '{group.name}': its columns span the families "
            f"{sorted(families)}; set 'family' or split the group (columns: "
            f"{columns[:8]}{' ...' if len(columns) > 8 else ''})"
        )
    family = group.family or families.pop()
    value = group.value or columns[0]
    spec = by_name.get(value)
    return Group(
        name=group.name,
        family=family,
        columns=tuple(columns),
        value=value,
        doc=spec.doc if spec else value,
        config=group,
    )


def _default(name: str, columns: list[str], by_name: dict[str, FeatureSpec]) -> Group:
    """A group for a column (or the windows of one measure) no group names."""
    value = max(columns, key=lambda c: _window_key(by_name.get(c)))
    spec = by_name.get(value)
    return Group(
        name=name,
        family=spec.family if spec else _DEFAULT_FAMILY,
        columns=tuple(columns),
        value=value,
        doc=spec.doc if spec else value,
    )
