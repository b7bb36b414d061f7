"""Ideal Customer Profile section (``configs/icp.yaml``)."""

from __future__ import annotations

from pydantic import (
    field_validator,
)

from predscore.config._base import Range, _Section

ICP_DIMENSIONS = (
    "sector",
    "employees",
    "annual_revenue",
    "geography",
    "tech_stack",
    "role",
    "seniority",
    "department",
)  # the dimensions matched one by one; ``weights`` is keyed by them


class IcpConfig(_Section):
    """Ideal Customer Profile: what a perfect-fit account and contact look like.

    Each dimension is matched independently (feature stage); ``weights`` combine the
    matches into the overall ICP fit score in [0, 1].
    """

    sectors: list[str] = ["software_saas", "fintech", "it_services"]
    employees: Range = Range(min=50, max=1000)
    annual_revenue: Range = Range(min=5_000_000, max=250_000_000)
    countries: list[str] = ["FR", "DE", "GB", "NL", "BE", "ES", "IT", "CH", "SE", "DK"]
    regions: list[str] = ["EMEA"]
    tech_stack: list[str] = ["salesforce", "hubspot", "snowflake", "aws", "segment"]
    roles: list[str] = ["decision_maker", "influencer"]
    seniorities: list[str] = ["c_level", "vp", "director"]
    departments: list[str] = ["executive", "sales", "marketing", "revenue_operations"]
    weights: dict[str, float] = {
        "sector": 0.25,
        "employees": 0.15,
        "annual_revenue": 0.10,
        "geography": 0.15,
        "tech_stack": 0.10,
        "role": 0.10,
        "seniority": 0.10,
        "department": 0.05,
    }

    @field_validator("weights")
    @classmethod
    def _weights_known_and_positive(cls, value: dict[str, float]) -> dict[str, float]:
        known = set(ICP_DIMENSIONS)
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"unknown ICP dimension(s) {unknown}; known: {sorted(known)}"
            )
        if any(w < 0 for w in value.values()) or sum(value.values()) <= 0:
            raise ValueError("weights must be >= 0 and not all zero")
        return value
