"""The HTML report: one self-contained file with the ranked queue and a card per lead.

Stage: outputs, for teams that mail a report instead of running a server. Input: a
scored batch (:class:`~predscore.pages.ScoresFolder`) and the explanations section;
output: HTML text (``io`` writes it). The report uses the templates of the web pages
(the same queue table, score panel, waterfall and reasons), with its stylesheet inline
and a Content-Security-Policy that forbids every fetch: it opens with no network and
cannot call out, whatever the CRM put in a name.
"""

from __future__ import annotations

import pandas as pd

from predscore.config import ExplainConfig
from predscore.pages import PageRenderer, ScoresFolder, queue_choices
from predscore.pages.render import batch_view

__all__ = ["render_report"]


def render_report(
    batch: ScoresFolder,
    explain: ExplainConfig,
    generated_at: pd.Timestamp,
    top: int | None = None,
) -> str:
    """HTML of the report of ``batch``.

    Parameters
    ----------
    batch : ScoresFolder
        The scored batch.
    explain : ExplainConfig
        How points read (as in the reasons' sentences).
    generated_at : Timestamp
        When the report is made (shown; passed in, never read here).
    top : int, optional
        Cards for the ``top`` best-ranked leads only; the queue lists every lead.

    Returns
    -------
    str
        A complete HTML document that loads nothing from elsewhere.
    """
    renderer = PageRenderer(explain)
    scores = batch.scores
    cards = scores if top is None else scores.head(top)
    return renderer.render(
        "report.html",
        title=f"predscore report {batch.as_of:%Y-%m-%d}" if batch.as_of else "report",
        batch=batch_view(batch),
        rows=[renderer.row_view(r) for r in scores.to_dict("records")],
        cards=[renderer.lead_view(r) for r in cards.to_dict("records")],
        generated_at=generated_at,
        style_source=renderer.style_source,
        choices=queue_choices(scores),
    )
