"""Point-in-time feature section (``configs/features.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    field_validator,
)

from predscore.config._base import _Section


class FeaturesConfig(_Section):
    """Point-in-time feature pipeline (``predscore features``, training snapshots).

    Windows end at the as-of time and are half-open: a ``w``-day window holds the events
    of ``(as_of - w days, as_of]``. Fit features take their profile from
    :class:`IcpConfig`; this section only shapes how range matches degrade.
    """

    windows_days: list[int] = Field(
        [7, 30, 90],
        min_length=1,
        description="engagement windows ending at as_of, in days",
    )
    half_life_days: float = Field(
        30.0, gt=0, description="half-life of the exponentially decayed engagement"
    )
    trend_window_days: int = Field(
        30, ge=1, description="trend compares this many last days with as many before"
    )
    visit_gap_minutes: float = Field(
        30.0, gt=0, description="web views closer than this belong to the same visit"
    )
    passive_actions: dict[str, list[str]] = Field(
        {"email": ["sent", "bounce"], "call": ["attempt"], "meeting": ["no_show"]},
        description="actions done to the lead, not by it: counted, but not as engagement",
    )
    icp_range_tolerance_decades: float = Field(
        1.0,
        ge=0,
        description="outside an ICP range the match falls linearly to 0 over this many "
        "powers of ten (0: a plain in/out flag)",
    )
    snapshot_every_days: float = Field(
        7.0, gt=0, description="training snapshots: one per lead every this many days"
    )
    horizon_days: float | None = Field(
        None,
        gt=0,
        description="label = won within this many days of the snapshot; the leads "
        "still open at the data's cutoff then give the rows whose window has passed "
        "(label 0), and each row is kept only when its label is known at the cutoff "
        "(see horizon_rows); None: won at all, closed leads only",
    )
    horizon_rows: Literal["complete", "known"] = Field(
        "complete",
        description="with horizon_days, which rows are kept at a cutoff: 'complete', "
        "those whose window (as_of, as_of + horizon] has passed, whatever the "
        "outcome; 'known', also the later rows of the leads closed by then. "
        "'known' keeps more rows but selects them on the outcome: when wins are "
        "recorded sooner than losses, its newest rows are mostly wins",
    )
    non_feature_columns: list[str] = Field(
        ["owner"],
        description="extra lead columns that are never features (CRM bookkeeping such "
        "as the owning sales rep): dropped before the fit features",
    )

    @field_validator("windows_days")
    @classmethod
    def _windows_positive_unique(cls, value: list[int]) -> list[int]:
        if any(w < 1 for w in value):
            raise ValueError(f"windows must be >= 1 day, got {value}")
        if len(set(value)) != len(value):
            raise ValueError(f"windows must be distinct, got {value}")
        return sorted(value)
