"""The engagement-trap segments, defined on feature rows.

Stage: evaluation. Input: a feature (or snapshot) frame; output: named boolean masks,
so that rules and model are compared on the same two groups (DESIGN.md "Model"):

* **engaged, no authority, no project**: marketing engagement over 90 days (email opens
  and clicks, webinar attendance, content downloads) in the top quartile of the frame,
  the contact is not a decision-maker and has no confirmed authority, and no need was
  confirmed;
* **quiet decision-maker with a deadline**: engagement at most the frame's median,
  decision-maker role, confirmed need and a timeline of 3 months or less.

Quartile and median are taken over the rows given, so the segments are relative to
the population evaluated. Mirrors :mod:`predscore.demo.trap` (lifetime engagement on
raw tables) at the feature level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ENGAGED_NO_PROJECT", "MARKETING_COUNTS", "QUIET_DEADLINE", "trap_segments"]

MARKETING_COUNTS = (
    "n_email_open_90d",
    "n_email_click_90d",
    "n_webinar_attend_90d",
    "n_content_download_90d",
)
ENGAGED_NO_PROJECT = "engaged, no authority, no project"
QUIET_DEADLINE = "quiet decision-maker, need, deadline <= 3 months"


def trap_segments(features: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean masks of the two trap segments over the rows of ``features``."""
    engagement = features.loc[:, list(MARKETING_COUNTS)].fillna(0).sum(axis=1)
    decision_maker = features["role"].astype(object).eq("decision_maker")
    authority = features["qual_authority"].eq(1)
    need = features["qual_need"].eq(1)
    soon = features["qual_timeline_months"].le(3)
    engaged = engagement >= engagement.quantile(0.75)
    quiet = engagement <= engagement.median()
    return {
        ENGAGED_NO_PROJECT: (engaged & ~decision_maker & ~authority & ~need).to_numpy(),
        QUIET_DEADLINE: (quiet & decision_maker & need & soon).to_numpy(),
    }
