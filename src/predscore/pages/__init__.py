"""What reps read: the ranked queue, lead pages and the HTML report, from a scored batch.

Stage: outputs, below ``serve`` (the web app) and ``report`` (one self-contained
HTML file), which share everything here: reading a batch folder, the queue's filters,
the points waterfall and the Jinja2 templates (autoescaped, no JavaScript, nothing
loaded from elsewhere).

Public API
----------
``read_batch(folder) -> ScoresFolder`` / ``find_batch(root)`` / ``BatchSource(root)``
    A folder written by ``predscore score --out`` (the latest one under a root).
``read_lead_history(data_dir, lead_id, as_of, limit) -> LeadHistory``
    A lead's recent activities and latest qualification answers at the batch's as-of.
``QueueQuery``, ``filter_queue(scores, query, page_size) -> QueuePage``
    The queue's filters (owner, tier, route, sector, name search) and paging.
``build_waterfall(base, reasons, total, ...) -> Waterfall``
    Geometry of the points waterfall (one SVG template draws it everywhere).
``PageRenderer(explain_config)``
    HTML of the queue, lead, login, feedback and message pages and of the report.
``reason_changes(before, after)``, ``score_trend(probabilities, trend)``, ``sparkline``
    What moved when a lead was re-scored; its trend and score over runs.
"""

from predscore.pages.changes import Sparkline, reason_changes, score_trend, sparkline
from predscore.pages.queue import (
    ROUTES,
    TIERS,
    QueuePage,
    QueueQuery,
    filter_queue,
    queue_choices,
)
from predscore.pages.render import PageRenderer
from predscore.pages.scores_folder import (
    BatchSource,
    LeadHistory,
    ScoresFolder,
    find_batch,
    plain_records,
    read_batch,
    read_lead_history,
)
from predscore.pages.waterfall import Bar, Waterfall, build_waterfall

__all__ = [
    "ROUTES",
    "TIERS",
    "Bar",
    "BatchSource",
    "LeadHistory",
    "PageRenderer",
    "QueuePage",
    "QueueQuery",
    "ScoresFolder",
    "Sparkline",
    "Waterfall",
    "build_waterfall",
    "filter_queue",
    "find_batch",
    "plain_records",
    "queue_choices",
    "read_batch",
    "read_lead_history",
    "reason_changes",
    "score_trend",
    "sparkline",
]
