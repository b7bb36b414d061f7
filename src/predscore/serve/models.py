"""Request and response bodies of ``POST /score`` (pydantic; they make the OpenAPI schema).

Stage: serve. A request holds one lead or a small batch, each lead in the canonical
shape (``DESIGN.md``, canonical tables) with its account, activities and qualification
answers nested inside it; vocabularies (role, seniority, channel, action) are the
canonical ones, timestamps must carry a time zone. Anything else is a 422 naming the
field. Batch and list sizes come from ``serve`` config, so the models are built by
:func:`score_request_model` for given limits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from predscore.schema import ACTIONS, CHANNELS, ROLES, SENIORITIES

__all__ = [
    "AccountIn",
    "ActivityIn",
    "LeadScore",
    "QualificationIn",
    "Reason",
    "Rejection",
    "RuleReason",
    "ScoreResponse",
    "score_request_model",
]

_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _sane_time(value: datetime) -> datetime:
    if not _EARLIEST <= value < _LATEST:
        raise ValueError("must lie between 1970-01-01 and 2200-01-01 (UTC)")
    return value


#: A time with its zone, between 1970 and 2200 (a CRM date outside is a typo).
Timestamp = Annotated[
    AwareDatetime,
    AfterValidator(_sane_time),
    Field(description="ISO 8601 with a time zone, between 1970-01-01 and 2200-01-01"),
]
Id = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")
]
Label = Annotated[str, StringConstraints(max_length=200)]
Text = Annotated[str, StringConstraints(max_length=2_000)]


def _not_a_flag(value: object) -> object:
    # JSON true/false is not a number (pydantic would read it as 1/0)
    if isinstance(value, bool):
        raise ValueError("expected a number, not true or false")
    return value


Amount = Annotated[
    float, BeforeValidator(_not_a_flag), Field(ge=0, le=1e15, allow_inf_nan=False)
]
_ATTRIBUTE_NAME = r"^[a-z][a-z0-9_]{0,62}$"
AttributeName = Annotated[
    str, StringConstraints(pattern=_ATTRIBUTE_NAME, max_length=63)
]
AttributeValue = (
    Annotated[str, StringConstraints(max_length=2_000)]
    | bool
    | Annotated[float, Field(ge=-1e15, le=1e15, allow_inf_nan=False)]
)
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
Action = Literal[tuple(sorted({a for acts in ACTIONS.values() for a in acts}))]  # type: ignore[valid-type]
Role = Literal[ROLES]  # type: ignore[valid-type]
Seniority = Literal[SENIORITIES]  # type: ignore[valid-type]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountIn(_Body):
    """The lead's company (canonical ``accounts`` row)."""

    account_id: Id
    name: Text | None = None
    sector: Label | None = None
    employees: (
        Annotated[int, BeforeValidator(_not_a_flag), Field(ge=0, le=10_000_000)] | None
    ) = None
    annual_revenue: Amount | None = None
    country: Label | None = Field(None, description="ISO 3166-1 alpha-2")
    region: Label | None = None
    tech_stack: list[Label] | None = Field(None, max_length=200)
    created_at: Timestamp | None = None


class ActivityIn(_Body):
    """One marketing or sales touch (canonical ``activities`` row, without lead_id)."""

    occurred_at: Timestamp
    channel: Channel
    action: Action = Field(description="must be an action of the channel")
    detail: Label | None = Field(None, description="page, asset or campaign")
    quantity: Amount | None = Field(None, description="e.g. seconds on page")


class QualificationIn(_Body):
    """One qualification answer (canonical ``qualifications`` row, without lead_id)."""

    recorded_at: Timestamp
    field: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="budget, authority, need, timeline_months, champion..."
    )
    value: Annotated[str, StringConstraints(min_length=1, max_length=2_000)]


class _LeadBase(_Body):
    lead_id: Id
    account_id: Id | None = Field(None, description="default: the nested account's id")
    created_at: Timestamp
    source: Label | None = Field(None, description="inbound, outbound, event...")
    job_title: Text | None = None
    role: Role | None = None
    seniority: Seniority | None = None
    department: Label | None = None
    country: Label | None = None
    owner: Text | None = Field(None, description="the rep who owns the lead")
    attributes: dict[AttributeName, AttributeValue | None] = Field(
        default_factory=dict,
        max_length=100,
        description="extra lead attributes the model was trained with (mapped data "
        "sets); names in snake_case",
        # pydantic states the names as patternProperties, which lets any other name
        # through in the schema; say that no other name is allowed
        json_schema_extra={
            "additionalProperties": False,
            "propertyNames": {"pattern": _ATTRIBUTE_NAME, "maxLength": 63},
        },
    )
    account: AccountIn | None = Field(
        None,
        description="the lead's company; without it the lead is scored with unknown "
        "firmographics",
    )


def score_request_model(max_leads: int, max_events: int) -> type[BaseModel]:
    """The ``POST /score`` request body with the configured limits.

    Parameters
    ----------
    max_leads : int
        Leads per request.
    max_events : int
        Activities, and qualification answers, per lead.
    """

    class Lead(_LeadBase):
        """An open lead with what is known about it."""

        activities: list[ActivityIn] = Field(
            default_factory=list, max_length=max_events
        )
        qualifications: list[QualificationIn] = Field(
            default_factory=list, max_length=max_events
        )

    class ScoreRequest(_Body):
        """One lead or a small batch of leads to score."""

        as_of: Timestamp | None = Field(
            None,
            description="score as of this time (default: now); events after it are "
            "rejected, as in batch validation",
        )
        leads: list[Lead] = Field(min_length=1, max_length=max_leads)

    return ScoreRequest


class Reason(BaseModel):
    """One reason of the model's score: its points and the sentence a rep reads."""

    feature: str
    family: str
    value: str | None = None
    points: float
    text: str


class RuleReason(BaseModel):
    """One reason of the rule baseline's points."""

    feature: str
    value: str | None = None
    points: float
    text: str


class LeadScore(BaseModel):
    """The score of one lead, as a row of ``scores.parquet``."""

    lead_id: str
    as_of: datetime
    probability: float | None = Field(
        description="calibrated chance to close; null with the rules alone"
    )
    score: float | None = Field(description="100 × probability, in points")
    tier: Literal["hot", "warm", "cold"]
    route: Literal["meeting", "nurture", "disqualify"]
    grid: str | None = None
    base: float | None = None
    fit_points: float | None = None
    engagement_points: float | None = None
    qualification_points: float | None = None
    rule_points: float
    rule_route: str
    eliminated_by: str | None = None
    reasons: list[Reason] = Field(description="base + Σ points = score")
    rule_reasons: list[RuleReason]
    model_version: str
    model_segment: str | None = Field(
        None,
        description="the segment whose model scored the lead (model.segments); "
        "null: the global model",
    )


class Rejection(BaseModel):
    """A row of the request that could not be scored, and why."""

    lead_id: str | None = None
    table: str
    row: int | None = None
    column: str | None = None
    reason: str
    location: str | None = Field(
        None, description="where in the request, e.g. leads[0].activities[2]"
    )


class ScoreResponse(BaseModel):
    """Scores of the leads that could be scored, rejections of the rest."""

    as_of: datetime
    scores: list[LeadScore]
    rejections: list[Rejection]
