"""Time from submitting an answer to the page with the new score (slow: 50 posts).

Each submission is the lead page's qualification form posted over HTTP to a uvicorn
server on loopback (store: an SQLite file; model: the served bundle); the time runs
from sending the form to the whole answer page (new score, change, reasons that
moved) being received. The median and the spread are written to
``rep_answer_latency.json`` in the ``artifacts`` folder and printed.

    PYTHONPATH=src python -m pytest tests/integration/test_rep_latency.py -m slow -s
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import httpx2 as httpx
import pandas as pd
import pytest

from rep_store import csrf_of, sign_in, two_owners

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(
        "ignore::PendingDeprecationWarning:shap",
        "ignore:LightGBM binary classifier:UserWarning",
    ),
]
SUBMISSIONS = 50


def test_answer_to_new_score_latency(
    rep_server: tuple[str, object],
    served_scores: pd.DataFrame,
    artifacts: Path,
) -> None:
    base, _ = rep_server
    owner = two_owners(served_scores)[0]
    leads = (
        served_scores.loc[served_scores["owner"] == owner, "lead_id"]
        .astype(str)
        .tolist()
    )
    with httpx.Client(base_url=base) as client:
        assert sign_in(client, "ana").status_code == 303
        csrf = csrf_of(client.get(f"/leads/{leads[0]}").text)
        times = []
        for i in range(SUBMISSIONS):
            lead = leads[i % len(leads)]
            answer = {"budget": ("yes", "no")[i % 2], "timeline_months": str(i % 12)}
            started = time.perf_counter()
            page = client.post(
                f"/leads/{lead}/qualification", data={"csrf": csrf, **answer}
            )
            times.append(time.perf_counter() - started)
            assert page.status_code == 200 and "new-score" in page.text
    result = {
        "submissions": SUBMISSIONS,
        "median_s": statistics.median(times),
        "p90_s": sorted(times)[int(0.9 * len(times)) - 1],
        "min_s": min(times),
        "max_s": max(times),
    }
    (artifacts / "rep_answer_latency.json").write_text(json.dumps(result, indent=2))
    print("answer → new score on the page:", json.dumps(result))  # noqa: T201
    assert result["median_s"] < 2.0
