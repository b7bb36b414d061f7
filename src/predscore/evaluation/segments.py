"""The engagement-trap segments, defined on feature rows.

Stage: evaluation. Input: a feature (or snapshot) frame; output: named boolean masks,
so that rules and model are compared on the same two groups (DESIGN.md "Model"):

* **engaged, no authority, no project**: marketing engagement over 90 days (email opens
  and clicks, webinar attendance, content downloads) in the top quartile of the frame
  and above zero, the contact is not a decision-maker and has no confirmed authority,
  and no need was confirmed;
* **quiet decision-maker with a deadline**: engagement at most the frame's median,
  decision-maker role, confirmed need and a timeline of 3 months or less.

Quartile and median are taken over the rows given, so the segments are relative to
the population evaluated. Mirrors :mod:`predscore.demo.trap` (lifetime engagement on
raw tables) at the feature level.

The segments need both an engagement log and qualification answers: on a frame without
any recorded engagement or without a single known authority, need or timeline answer
(e.g. a wide snapshot export), or lacking one of the columns, both masks are empty
rather than "everybody is engaged and unqualified".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "ENGAGED_NO_PROJECT",
    "MARKETING_COUNTS",
    "QUIET_DEADLINE",
    "SEGMENT_COLUMNS",
    "trap_segments",
]

MARKETING_COUNTS = (
    "n_email_open_90d",
    "n_email_click_90d",
    "n_webinar_attend_90d",
    "n_content_download_90d",
)
_QUALIFICATION = ("qual_authority", "qual_need", "qual_timeline_months")
#: every column the segments read
SEGMENT_COLUMNS = (*MARKETING_COUNTS, "role", *_QUALIFICATION)
ENGAGED_NO_PROJECT = "engaged, no authority, no project"
QUIET_DEADLINE = "quiet decision-maker, need, deadline <= 3 months"


def _defined(features: pd.DataFrame) -> bool:
    """Whether the frame has the columns, some engagement and some answers."""
    if not set(SEGMENT_COLUMNS) <= set(features.columns) or features.empty:
        return False
    engaged = features.loc[:, list(MARKETING_COUNTS)].fillna(0).to_numpy().any()
    answered = features.loc[:, list(_QUALIFICATION)].notna().to_numpy().any()
    return bool(engaged and answered)


def trap_segments(features: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean masks of the two trap segments over the rows of ``features``.

    Parameters
    ----------
    features : DataFrame
        Feature or snapshot rows (see :data:`SEGMENT_COLUMNS` for what is read).

    Returns
    -------
    dict of str to ndarray of bool
        ``{ENGAGED_NO_PROJECT: mask, QUIET_DEADLINE: mask}``, one value per row; both
        all ``False`` when the frame cannot define them (see the module docstring).
    """
    if not _defined(features):
        empty = np.zeros(len(features), dtype=bool)
        return {ENGAGED_NO_PROJECT: empty, QUIET_DEADLINE: empty.copy()}
    engagement = features.loc[:, list(MARKETING_COUNTS)].fillna(0).sum(axis=1)
    decision_maker = features["role"].astype(object).eq("decision_maker")
    authority = features["qual_authority"].eq(1)
    need = features["qual_need"].eq(1)
    soon = features["qual_timeline_months"].le(3)
    # "> 0" keeps the top quartile meaningful when most rows have no engagement at all
    engaged = (engagement >= engagement.quantile(0.75)) & (engagement > 0)
    quiet = engagement <= engagement.median()
    return {
        ENGAGED_NO_PROJECT: (engaged & ~decision_maker & ~authority & ~need).to_numpy(),
        QUIET_DEADLINE: (quiet & decision_maker & need & soon).to_numpy(),
    }
