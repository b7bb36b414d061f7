"""The reps' pages: queue, lead page with its forms, and the feedback page.

Stage: serve. Routes (every one behind the page guard; every POST checks the
session's CSRF token, 403 without it):

* ``GET /queue`` — the ranked queue; a rep sees their own leads only (asking for
  another owner's queue is 403), an admin every lead; with a store, a lead's change
  since the previous run of the score history where the batch has none;
* ``GET /leads/{lead_id}`` — score, waterfall, rules, timeline, qualification;
  with a store: the qualification and feedback forms, the answers reps recorded,
  the score over time and its trend, and the lead re-scored with answers newer
  than the batch;
* ``POST /leads/{lead_id}/qualification`` — record answers (who, when) and show
  the lead re-scored at once: the new score, its change and the reasons that moved;
* ``POST /leads/{lead_id}/feedback`` — a verdict on the score, a reason, a text;
* ``GET /feedback`` — feedback per reason, rep and score band (admins).

Whatever comes from the CRM or from a rep is rendered by the autoescaped templates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pandas as pd
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from predscore.config import PredscoreConfig
from predscore.errors import DataValidationError, StoreError
from predscore.pages import (
    BatchSource,
    PageRenderer,
    QueueQuery,
    ScoresFolder,
    read_lead_history,
    reason_changes,
    score_trend,
    sparkline,
)
from predscore.serve.access import Principal, csrf_ok, read_form
from predscore.serve.rescore import LeadRescorer
from predscore.store import (
    Store,
    add_entries,
    add_feedback,
    lead_entries,
    lead_history,
    previous_scores,
    read_feedback,
    summarise_feedback,
)

__all__ = ["RepPages", "add_rep_routes"]

_NOBODY = "\x00"  # an owner no lead has: a rep without an owner name sees nothing


@dataclass
class RepPages:
    """What the reps' routes work with."""

    config: PredscoreConfig
    renderer: PageRenderer
    source: BatchSource
    store: Store | None
    scorer: Any | None
    clock: Callable[[], pd.Timestamp]

    def __post_init__(self) -> None:
        self.rescorer = (
            None if self.scorer is None else LeadRescorer(self.config, self.scorer)
        )

    # -- helpers -------------------------------------------------------------------

    def message(
        self, principal: Principal, title: str, text: str, status: int
    ) -> HTMLResponse:
        page = self.renderer.message_page(title, text, principal.view())
        return HTMLResponse(page, status_code=status)

    def refused_form(self, principal: Principal) -> HTMLResponse:
        return self.message(
            principal,
            "Form refused",
            "This form has expired or did not come from this site: reload the page "
            "and send it again.",
            403,
        )

    def lead_row(
        self, principal: Principal, lead_id: str
    ) -> tuple[ScoresFolder, dict[str, Any]] | HTMLResponse:
        """The batch and the lead's row, or the page saying why not (404, 403)."""
        batch = self.source.current()
        row = None if batch is None else batch.lead(lead_id)
        if batch is None or row is None:
            return self.message(
                principal,
                "Lead not found",
                "This lead is not in the latest scored batch.",
                404,
            )
        if not principal.may_see(row.get("owner")):
            return self.message(
                principal,
                "Not your lead",
                "This lead belongs to another rep; ask an admin.",
                403,
            )
        return batch, row

    def rescored(
        self,
        batch: ScoresFolder,
        lead_id: str,
        entries: pd.DataFrame,
        new: pd.Series,
    ) -> dict[str, Any]:
        """The lead re-scored with every entry, against itself without ``new`` ones."""
        if self.rescorer is None:
            return {
                "error": "Re-scoring needs the model: start the server with the "
                "scoring API (serve.score_api) to see the new score here."
            }
        data_dir = self.config.serve.data or batch.data_dir
        if data_dir is None:
            return {"error": "No data folder for this batch: cannot re-score."}
        times = [self.clock(), *entries["recorded_at"]]
        if batch.as_of is not None:
            times.append(batch.as_of)
        as_of = max(pd.Timestamp(t) for t in times)
        try:
            done = self.rescorer.rescore(data_dir, lead_id, entries, new, as_of)
        except DataValidationError as exc:
            return {"error": f"Could not re-score this lead: {exc}"}
        after = self.renderer.row_view(done.after)
        before = self.renderer.row_view(done.before)
        change = None
        if after.get("score") is not None and before.get("score") is not None:
            change = float(after["score"]) - float(before["score"])
        elif after.get("rule_points") is not None:
            change = float(after["rule_points"]) - float(before["rule_points"])
        # a move smaller than the pages' last shown digit reads as "+0 pts": left out
        shown = 0.5 * 10.0**-self.config.explain.decimals

        def moved(key: str) -> list[dict[str, Any]]:
            changes = reason_changes(before[key], after[key])
            return [m for m in changes if abs(m["change"]) >= shown]

        return {
            "after": after,
            "before": before,
            "change": change,
            "moved": moved("reasons"),
            "rules_moved": moved("rule_reasons"),
            "as_of": done.as_of,
            "error": None,
        }

    def rep_context(
        self,
        principal: Principal,
        batch: ScoresFolder,
        lead_id: str,
        rescored: dict[str, Any] | None = None,
        error: str | None = None,
        feedback_saved: bool = False,
    ) -> dict[str, Any] | None:
        """The forms, answers, history and trend of a lead page (None: no store)."""
        if self.store is None:
            return None
        reps = self.config.reps
        entries = lead_entries(self.store, lead_id)
        if rescored is None and batch.as_of is not None and len(entries):
            newer = entries["recorded_at"] > batch.as_of
            if newer.any():
                rescored = self.rescored(batch, lead_id, entries, newer)
        history = lead_history(self.store, lead_id)
        spark = sparkline(history["score"].tolist())
        return {
            "csrf": principal.csrf,
            "questions": [q.model_dump() for q in reps.questions],
            "reasons": [r.model_dump() for r in reps.feedback_reasons],
            "max_text_chars": reps.max_text_chars,
            "entries": entries.sort_values("recorded_at", ascending=False).to_dict(
                "records"
            ),
            "history": history.to_dict("records"),
            "trend": score_trend(history["probability"].tolist(), reps.trend),
            "spark": None if spark is None else dataclasses.asdict(spark),
            "rescored": rescored,
            "error": error,
            "feedback_saved": feedback_saved,
        }

    def lead_page(
        self,
        principal: Principal,
        batch: ScoresFolder,
        row: dict[str, Any],
        status: int = 200,
        **rep: Any,
    ) -> HTMLResponse:
        lead_id = str(row["lead_id"])
        as_of = batch.as_of if batch.as_of is not None else self.clock()
        serve = self.config.serve
        history = read_lead_history(
            serve.data or batch.data_dir, lead_id, as_of, serve.timeline_events
        )
        context = self.rep_context(principal, batch, lead_id, **rep)
        page = self.renderer.lead_page(
            batch, row, history, viewer=principal.view(), rep=context
        )
        return HTMLResponse(page, status_code=status)


def add_rep_routes(
    app: FastAPI, pages: RepPages, page_dependency: Callable[..., Principal]
) -> None:
    """Add the reps' routes to ``app`` (see the module's docstring)."""
    renderer, store = pages.renderer, pages.store
    guard = Depends(page_dependency)

    @app.get("/queue", include_in_schema=False)
    def queue(request: Request, principal: Principal = guard) -> HTMLResponse:
        query = QueueQuery.from_params(request.query_params)
        owners = None
        if not principal.is_admin:
            own = principal.owner or _NOBODY
            if query.owner and query.owner != own:
                return pages.message(
                    principal,
                    "Not your queue",
                    "Another rep's queue is for admins only.",
                    403,
                )
            query = dataclasses.replace(query, owner=own)
            owners = [] if principal.owner is None else [principal.owner]
        batch = pages.source.current()
        changes = None
        if store is not None and batch is not None and batch.as_of is not None:
            changes = previous_scores(store, batch.as_of.to_pydatetime())
        page = renderer.queue_page(
            batch,
            query,
            pages.config.serve.page_size,
            viewer=principal.view(),
            changes=changes,
            owners=owners,
        )
        return HTMLResponse(page)

    @app.get("/feedback", include_in_schema=False)
    def feedback_page(principal: Principal = guard) -> HTMLResponse:
        if store is None:
            return pages.message(
                principal, "No store", "This server keeps no feedback.", 404
            )
        if not principal.is_admin:
            return pages.message(
                principal, "Admins only", "The feedback page is for admins.", 403
            )
        feedback = read_feedback(store)
        summary = summarise_feedback(feedback, pages.config.reps)
        latest = feedback.iloc[::-1].head(50)
        return HTMLResponse(
            renderer.feedback_page(summary, latest, viewer=principal.view())
        )

    @app.post("/leads/{lead_id:path}/qualification", include_in_schema=False)
    async def qualification(
        lead_id: str, request: Request, principal: Principal = guard
    ) -> Response:
        form = await read_form(request)
        if not csrf_ok(principal, form):
            return pages.refused_form(principal)
        found = pages.lead_row(principal, lead_id)
        if isinstance(found, HTMLResponse):
            return found
        batch, row = found
        if store is None:
            return pages.message(principal, "No store", "Answers are not kept.", 404)
        answers = {q.field: form.get(q.field, "") for q in pages.config.reps.questions}
        at = pages.clock().to_pydatetime()
        try:
            added = add_entries(
                store, lead_id, answers, pages.config.reps, principal.name, at
            )
        except StoreError as exc:
            return pages.lead_page(principal, batch, row, 422, error=str(exc))
        if not added:
            return pages.lead_page(
                principal, batch, row, 422, error="No answer given: choose a value."
            )
        entries = lead_entries(store, lead_id)
        new = (entries["recorded_at"] == pd.Timestamp(at)) & (
            entries["recorded_by"] == principal.name
        )
        rescored = pages.rescored(batch, lead_id, entries, new)
        return pages.lead_page(principal, batch, row, rescored=rescored)

    @app.post("/leads/{lead_id:path}/feedback", include_in_schema=False)
    async def feedback(
        lead_id: str, request: Request, principal: Principal = guard
    ) -> Response:
        form = await read_form(request)
        if not csrf_ok(principal, form):
            return pages.refused_form(principal)
        found = pages.lead_row(principal, lead_id)
        if isinstance(found, HTMLResponse):
            return found
        batch, row = found
        if store is None:
            return pages.message(principal, "No store", "Feedback is not kept.", 404)
        try:
            add_feedback(
                store,
                pages.config.reps,
                lead_id=lead_id,
                verdict=form.get("verdict", ""),
                reason=form.get("reason", ""),
                text=form.get("text"),
                who=principal.name,
                at=pages.clock().to_pydatetime(),
                run_id=batch.folder.name,
                model_version=row.get("model_version"),
                probability=row.get("probability"),
            )
        except StoreError as exc:
            return pages.lead_page(principal, batch, row, 422, error=str(exc))
        return RedirectResponse(
            f"/leads/{quote(lead_id, safe='')}?feedback=saved", status_code=303
        )

    @app.get("/leads/{lead_id:path}", include_in_schema=False)
    def lead(
        lead_id: str, request: Request, principal: Principal = guard
    ) -> HTMLResponse:
        found = pages.lead_row(principal, lead_id)
        if isinstance(found, HTMLResponse):
            return found
        batch, row = found
        saved = request.query_params.get("feedback") == "saved"
        return pages.lead_page(principal, batch, row, feedback_saved=saved)
