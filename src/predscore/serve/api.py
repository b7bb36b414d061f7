"""``POST /score``: score one lead or a small batch the moment the CRM sends it.

Stage: serve. Input: a JSON body (:func:`~predscore.serve.models.score_request_model`)
with a bearer token; the request becomes the five canonical tables
(:mod:`~predscore.serve.frames`) and goes through the batch scoring stage once
(:func:`predscore.scoring.score_tables`, with the :class:`~predscore.scoring.Scorer`
loaded at start), so an API score equals the batch score of the same lead at the same
as-of time. A request that validation would keep whole (the usual form submit:
:func:`~predscore.serve.canonical.canonical_tables`) takes the short path instead:
its canonical tables go straight to the same feature engine, staged in memory
without SQL (:func:`predscore.scoring.score_canonical_many`): requests that arrive
while another is scored share the next scoring pass (:mod:`~predscore.serve.coalesce`),
each with its own answer. Output: each lead's probability, tier, route and reasons,
and the rows that could not be scored with their reason and place in the request.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the request model
# built at run time (its limits come from the config), not a string naming it.

from collections.abc import Callable
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException

from predscore.config import PredscoreConfig
from predscore.errors import PredscoreError
from predscore.features import KeptConnection
from predscore.pages import plain_records
from predscore.scoring import (
    ScoredBatch,
    Scorer,
    score_canonical_many,
    score_tables,
)
from predscore.serve.canonical import canonical_tables
from predscore.serve.coalesce import Coalescer
from predscore.serve.frames import RequestError, RequestTables, request_tables
from predscore.serve.models import (
    LeadScore,
    Rejection,
    ScoreResponse,
    score_request_model,
)

__all__ = ["score_router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not valid JSON"},
    401: {"description": "missing or wrong bearer token"},
    413: {"description": "request body larger than serve.max_body_bytes"},
    429: {
        "description": "too many wrong tokens from this address "
        "(serve.max_token_failures); see the Retry-After header"
    },
}


def _unprocessable(loc: tuple[Any, ...], message: str, kind: str) -> HTTPException:
    return HTTPException(
        status_code=422, detail=[{"loc": list(loc), "msg": message, "type": kind}]
    )


def score_router(
    config: PredscoreConfig,
    scorer: Scorer,
    require_bearer: Callable[..., None],
    clock: Callable[[], pd.Timestamp],
) -> APIRouter:
    """The router of ``POST /score`` for a loaded scorer.

    Parameters
    ----------
    config : PredscoreConfig
        ``serve`` gives the request limits.
    scorer : Scorer
        Loaded once at start.
    require_bearer : callable
        Dependency that refuses a request without the bearer token (401).
    clock : callable
        The current time (UTC), the default as-of.
    """
    serve = config.serve
    request_model = score_request_model(
        serve.max_batch_leads, serve.max_events_per_lead
    )
    # one scoring pass at a time (the scorer's model and DuckDB connection are
    # shared, and parallel passes would only slow each other down); requests that
    # arrive meanwhile share the next pass
    kept = KeptConnection(scorer.engine)
    passes: Coalescer[ScoredBatch] = Coalescer(
        lambda requests, as_of: score_canonical_many(requests, as_of, scorer, kept),
        serve.coalesce_leads,
        wait=serve.coalesce_wait_ms / 1000,
    )
    tolerance = config.validation.activity_before_creation_tolerance_days
    router = APIRouter()

    def score(body: request_model) -> ScoreResponse:  # type: ignore[valid-type]
        """Score leads: probability, tier, route and reasons of each.

        Each lead is validated and scored as the batch job would score it at
        ``as_of``: rows that fail validation (an activity after ``as_of`` or before
        the lead's creation, an action that does not belong to its channel...) are
        returned in ``rejections`` with their place in the request, and a lead whose
        own row is rejected gets no score.
        """
        as_of = pd.Timestamp(body.as_of) if body.as_of is not None else clock()
        as_of = as_of.tz_convert("UTC")
        built: RequestTables | None = None
        try:
            canonical = canonical_tables(body, as_of.to_pydatetime(), tolerance)
            if canonical is not None:
                batch = passes.score(canonical, as_of)
            else:
                built = request_tables(body)
                with passes.exclusive():
                    batch = score_tables(
                        built.tables,
                        as_of,
                        scorer,
                        owner_column=config.scoring.owner_column,
                        validation=config.validation,
                    )
        except RequestError as exc:
            raise _unprocessable(exc.loc, str(exc), "inconsistent") from None
        except PredscoreError as exc:
            raise _unprocessable(("body",), str(exc), "unscorable") from None
        scores = [LeadScore.model_validate(r) for r in batch.records()]
        rejections = [
            Rejection(
                **{
                    k: r.get(k) for k in ("lead_id", "table", "row", "column", "reason")
                },
                location=None
                if built is None
                else built.location(str(r.get("table")), r.get("row")),
            )
            for r in plain_records(batch.rejections)
        ]
        return ScoreResponse(as_of=as_of, scores=scores, rejections=rejections)

    router.add_api_route(
        "/score",
        score,
        methods=["POST"],
        response_model=ScoreResponse,
        responses=_ERRORS,
        dependencies=[Depends(require_bearer)],
        summary="Score one lead or a small batch",
        tags=["scoring"],
    )
    return router
