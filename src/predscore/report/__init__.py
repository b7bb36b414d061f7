"""The HTML report of a scored batch (``predscore report``): one self-contained file.

Public API
----------
``render_report(batch, explain, generated_at, top=None) -> str``
    The ranked queue and a card per lead (score, points waterfall, rules beside),
    with the templates of the web pages; nothing is fetched when it opens.
"""

from predscore.report.html import render_report

__all__ = ["render_report"]
