"""The feature table's columns: every family's declarations, in output order.

Stage: features. Fit, then engagement, then qualification features; the column set
depends on the configuration (windows, ICP) and on the extra lead attributes of a data
set, never on the rows.
"""

from __future__ import annotations

from collections.abc import Mapping

from predscore.config import FeaturesConfig, IcpConfig
from predscore.features.engagement import engagement_columns
from predscore.features.fit import fit_columns
from predscore.features.qualification import qualification_columns
from predscore.features.registry import FeatureSpec

__all__ = ["feature_specs"]


def feature_specs(
    config: FeaturesConfig | None = None,
    icp: IcpConfig | None = None,
    lead_extras: Mapping[str, str] | None = None,
) -> tuple[FeatureSpec, ...]:
    """Declarations of every feature column, in output order.

    Parameters
    ----------
    config : FeaturesConfig, optional
        Windows and other knobs that shape the column set (defaults when omitted).
    icp : IcpConfig, optional
        Ideal Customer Profile (defaults when omitted).
    lead_extras : mapping of str to str, optional
        Extra lead columns of a data set and their DuckDB types; they follow the fit
        features.

    Returns
    -------
    tuple of FeatureSpec
        Fit, then engagement, then qualification features.
    """
    config = config or FeaturesConfig()
    icp = icp or IcpConfig()
    others = [*engagement_columns(config), *qualification_columns()]
    reserved = {spec.name for spec in others}
    fit = fit_columns(icp, config, lead_extras or {}, reserved)
    return (*fit, *others)
