"""Demo CRM generator section (``configs/demo.yaml``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import (
    Field,
    field_validator,
)

from predscore.config._base import _Section


class DemoDriftConfig(_Section):
    """A drift injected into the demo CRM (``predscore demo-data --drift``), so that
    ``predscore monitor`` has something to find.

    From ``start`` (a share of the time span) on, a growing share of the new leads,
    up to ``share`` at the end, changes: ``sector``: their account is in ``sector``
    (the account of such a lead is redrawn, which also moves its fit and so its
    chance to close); ``channel``: their activities on ``channel_from`` happen on
    ``channel_to`` instead. Draws come from a seed stream of their own: the rest of
    the data is what it is without drift.
    """

    kind: Literal["sector", "channel"] = "sector"
    start: float = Field(0.4, ge=0, lt=1, description="share of the span before drift")
    share: float = Field(
        1.0, gt=0, le=1, description="share of the new leads changed at the end"
    )
    sector: str = "public_sector"
    channel_from: str = "webinar"
    channel_to: str = "event"


class DemoConfig(_Section):
    """Knobs of the synthetic demo CRM (``predscore demo-data``).

    The catalogues (sectors, countries, job titles, tech stack, content) default to the
    ones in :mod:`predscore.demo.catalogue`; override any of them here.
    """

    leads: int = Field(5000, ge=1)
    seed: int = 42
    start: datetime = datetime(2024, 10, 1, tzinfo=UTC)
    end: datetime = datetime(2026, 9, 30, tzinfo=UTC)
    won_rate: float = Field(0.20, gt=0.01, lt=0.9)
    contacts_per_account: float = Field(2.5, ge=1.0)
    stale_share: float = Field(
        0.08,
        ge=0.0,
        lt=1.0,
        description="share of leads never worked to a close (stay open)",
    )
    trap_share: float = Field(
        0.15,
        ge=0.0,
        le=0.5,
        description="share of highly curious leads (engaged, no intent)",
    )
    dirty_rows: float = Field(
        0.001,
        ge=0.0,
        le=0.1,
        description="share of rows corrupted to exercise validation",
    )
    chunk_leads: int = Field(50_000, ge=1000)
    sector_weights: dict[str, float] | None = None
    country_weights: dict[str, float] | None = None
    drift: DemoDriftConfig | None = Field(
        None, description="a drift injected over time (null: none)"
    )
    owners: dict[str, list[str]] | None = Field(
        None,
        description="region -> sales reps owning its accounts (key OTHER for the "
        "rest); default: the catalogue's reps",
    )

    @field_validator("owners")
    @classmethod
    def _owners(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if value is not None:
            empty = sorted(region for region, reps in value.items() if not reps)
            if empty:
                raise ValueError(f"regions with no sales rep: {empty}")
            if "OTHER" not in value:
                raise ValueError("owners needs an OTHER entry for unlisted regions")
        return value

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamps need a timezone, e.g. 2026-09-30T00:00:00Z")
        return value.astimezone(UTC)
