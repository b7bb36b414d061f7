"""HTML of the pages reps read: queue, lead page, login, and the self-contained report.

Stage: outputs. Input: a :class:`~predscore.pages.scores_folder.ScoresFolder` (and a lead's
history), the explanations section (how points are written); output: HTML text. One
Jinja2 environment with autoescaping on renders every page from the templates of
``predscore/pages/templates``: whatever comes from the CRM (names, titles, reasons)
is escaped, never trusted. The web app and the report share the templates, the
stylesheet and the single waterfall SVG template. No I/O beyond reading the package's
own templates; pages use no JavaScript and load nothing from elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import string
from collections.abc import Mapping
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from predscore.config import ExplainConfig
from predscore.pages.queue import QueueQuery, filter_queue, queue_choices
from predscore.pages.scores_folder import LeadHistory, ScoresFolder
from predscore.pages.waterfall import Waterfall, build_waterfall

__all__ = ["PageRenderer", "batch_view", "plain_row"]

_LABEL_CHARS = 42  # longer waterfall labels are cut (the full text is the tooltip)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


class PageRenderer:
    """Renders every page from the shared templates.

    Parameters
    ----------
    explain : ExplainConfig
        How points read (decimals, minus sign, unit), as in the reasons' sentences.
    """

    def __init__(self, explain: ExplainConfig) -> None:
        self.explain = explain
        self.css = (
            resources.files("predscore.pages")
            .joinpath("templates/pages.css")
            .read_text(encoding="utf-8")
        )
        digest = hashlib.sha256(self.css.encode("utf-8")).digest()
        #: CSP source allowing exactly the inline stylesheet of the pages.
        self.style_source = f"'sha256-{base64.b64encode(digest).decode()}'"
        self.env = Environment(
            loader=PackageLoader("predscore.pages", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            points=self.points,
            signed=self.signed_points,
            pct=_pct,
            when=_when,
            day=_day,
            path=lambda value: quote(str(value), safe=""),
            short=_short,
            orblank=lambda value: "" if _is_missing(value) else value,
        )
        self.env.globals.update(css=Markup(self.css), missing=_is_missing)
        self._sentence = _sentence_pattern(explain.points_text)

    # -- formatting --------------------------------------------------------------------

    def points(self, value: Any) -> str:
        """``12 pts`` (unsigned, for a base or a total); blank when missing."""
        if _is_missing(value):
            return "–"
        text = f"{abs(value):,.{self.explain.decimals}f}"
        unit = self.explain.unit_one if text in ("1", "1.0") else self.explain.unit
        return f"{self.explain.minus if value < 0 else ''}{text} {unit}"

    def signed_points(self, value: Any) -> str:
        """``+9 pts`` / ``−12 pts``, as the reasons' sentences write them."""
        if _is_missing(value):
            return "–"
        text = self.points(value)
        return text if text.startswith(self.explain.minus) else f"+{text}"

    def sentence(self, text: str) -> str:
        """A reason's sentence without the points its text ends with.

        Reasons are stored as the rep reads them (``explain.points_text``: "attended
        2 webinars: +9 pts"); pages show the points in a column and on the bar.
        """
        match = self._sentence.fullmatch(text)
        return match.group("text") if match else text

    # -- view models -------------------------------------------------------------------

    def waterfalls(self, lead: Mapping[str, Any]) -> dict[str, Waterfall | None]:
        """The model's waterfall (absent in rules-only batches) and the rules'."""
        model = None
        if not _is_missing(lead.get("score")) and not _is_missing(lead.get("base")):
            model = build_waterfall(
                lead["base"],
                lead.get("reasons") or [],
                lead["score"],
                base_label="base score",
                total_label="score",
            )
        rules = build_waterfall(
            0.0,
            lead.get("rule_reasons") or [],
            lead["rule_points"],
            base_label="start",
            total_label="rule points",
        )
        return {"model": model, "rules": rules}

    def lead_view(self, lead: Mapping[str, Any]) -> dict[str, Any]:
        """A score row ready for the templates: display name and waterfalls added."""
        lead = self.row_view(lead)
        name = lead.get("account_name")
        return {
            **lead,
            "name": lead["lead_id"] if _is_missing(name) or not name else name,
            "waterfall": self.waterfalls(lead),
        }

    def row_view(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A score row with plain lists of reasons whose ``text`` is the bare sentence."""
        row = plain_row(record)
        for key in ("reasons", "rule_reasons"):
            row[key] = [
                {**r, "text": self.sentence(str(r.get("text", "")))} for r in row[key]
            ]
        return row

    # -- pages -------------------------------------------------------------------------

    def queue_page(
        self,
        batch: ScoresFolder | None,
        query: QueueQuery,
        page_size: int,
        viewer: Mapping[str, Any] | None = None,
        changes: pd.Series | None = None,
        owners: list[str] | None = None,
    ) -> str:
        """The ranked queue with its filters, or how to get a batch when none exists.

        ``changes``: score change per lead since the previous run (from the score
        history), shown where the batch itself has none; ``owners``: the owners a
        rep may choose from (theirs), instead of every owner of the batch.
        """
        if batch is None:
            return self.env.get_template("empty.html").render(
                title="Queue", viewer=viewer
            )
        page = filter_queue(batch.scores, query, page_size)
        frame = page.rows
        if changes is not None and len(changes) and len(frame):
            before = changes.reindex(pd.Index(frame["lead_id"], dtype=object))
            now = pd.to_numeric(frame["score"], errors="coerce").to_numpy(float)
            delta = pd.to_numeric(frame["delta"], errors="coerce").to_numpy(float)
            filled = [
                d if not math.isnan(d) else n - b
                for d, n, b in zip(delta, now, before.to_numpy(float), strict=True)
            ]
            frame = frame.assign(delta=filled)
        rows = [self.row_view(r) for r in frame.to_dict("records")]
        choices = queue_choices(batch.scores)
        if owners is not None:
            choices = {**choices, "owner": owners}
        links = {
            "prev": "?" + urlencode(query.params(page=page.page - 1))
            if page.page > 1
            else None,
            "next": "?" + urlencode(query.params(page=page.page + 1))
            if page.page < page.pages
            else None,
        }
        return self.env.get_template("queue.html").render(
            title="Queue",
            batch=batch_view(batch),
            query=query,
            page=page,
            rows=rows,
            choices=choices,
            links=links,
            viewer=viewer,
        )

    def lead_page(
        self,
        batch: ScoresFolder,
        lead: Mapping[str, Any],
        history: LeadHistory,
        viewer: Mapping[str, Any] | None = None,
        rep: Mapping[str, Any] | None = None,
    ) -> str:
        """A lead: score, points waterfall, rules beside, timeline, qualification.

        ``rep`` (with a store): the qualification and feedback forms, the answers
        recorded, the score history and trend, and a re-scoring's result.
        """
        view = self.lead_view(lead)
        return self.env.get_template("lead.html").render(
            title=view["name"],
            batch=batch_view(batch),
            lead=view,
            history=history,
            activities=history.activities.to_dict("records"),
            qualifications=history.qualifications.to_dict("records"),
            viewer=viewer,
            rep=rep,
        )

    def feedback_page(
        self,
        summary: pd.DataFrame,
        latest: pd.DataFrame,
        viewer: Mapping[str, Any] | None = None,
    ) -> str:
        """Feedback per reason, per rep and per score band, and the latest comments."""
        total = summary.loc[summary["by"] == "all", "n"]
        return self.env.get_template("feedback.html").render(
            title="Feedback",
            summary=summary.to_dict("records"),
            latest=latest.to_dict("records"),
            total=int(total.iloc[0]) if len(total) else 0,
            viewer=viewer,
        )

    def login_page(
        self,
        next_url: str,
        error: str | None = None,
        csrf: str = "",
        users: bool = False,
    ) -> str:
        """The sign-in forms (also the body of a 401 on any page): user name and
        password when the server has a store of users, and the access token."""
        return self.env.get_template("login.html").render(
            title="Sign in", next_url=next_url, error=error, csrf=csrf, users=users
        )

    def message_page(
        self, title: str, text: str, viewer: Mapping[str, Any] | None = None
    ) -> str:
        """A short page for errors (unknown lead, no such page, not allowed)."""
        return self.env.get_template("message.html").render(
            title=title, text=text, viewer=viewer
        )

    def render(self, template: str, **context: Any) -> str:
        """Render any template of the shared folder (the report uses this)."""
        return self.env.get_template(template).render(**context)


def plain_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A score row with list cells as plain lists of dicts (empty, not null)."""
    out = dict(record)
    for key in ("reasons", "rule_reasons"):
        value = out.get(key)
        if hasattr(value, "tolist"):
            value = value.tolist()
        out[key] = list(value) if isinstance(value, list | tuple) else []
    return out


def batch_view(batch: ScoresFolder) -> dict[str, Any]:
    """What the pages show about a batch: as-of, size, model version(s), counts."""
    scores = batch.scores
    versions = sorted(set(scores["model_version"].dropna().astype(str)))
    return {
        "as_of": batch.as_of,
        "leads": len(scores),
        "model_version": ", ".join(versions) or "unknown",
        "rules_only": bool(scores["probability"].isna().all())
        if len(scores)
        else False,
        "counts": batch.manifest.get("counts", {}),
    }


def _sentence_pattern(template: str) -> re.Pattern[str]:
    """A pattern whose ``text`` group is the sentence inside ``template``'s output."""
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field == "text":
            parts.append("(?P<text>.*)")
        elif field is not None:
            parts.append(".+?")
    pattern = "".join(parts)
    return re.compile(pattern if "(?P<text>" in pattern else "(?P<text>.*)", re.S)


def _pct(value: Any) -> str:
    if _is_missing(value):
        return "–"
    return f"{100 * float(value):.0f}%"


def _when(value: Any) -> str:
    if _is_missing(value):
        return "–"
    stamp = pd.Timestamp(value)
    stamp = (
        stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    )
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def _day(value: Any) -> str:
    if _is_missing(value):
        return "–"
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"
