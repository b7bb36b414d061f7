"""What reps write, through the web app: sign-in, per-rep access, CSRF, answers that
re-score a lead at once, feedback and the feedback page, the audit of every write.

The batch and the model come from the real pipeline (``served``); the store is an
SQLite file of the test (the same store tests run on PostgreSQL in
tests/unit/test_rep_store.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from predscore.config import load_config
from predscore.scoring import Scorer
from predscore.serve import create_app
from predscore.store import lead_entries, read_audit, read_feedback
from rep_store import csrf_of, seeded_store, sign_in, two_owners
from served_data import TOKEN, Served

pytestmark = pytest.mark.filterwarnings(
    "ignore::PendingDeprecationWarning:shap",
    "ignore:LightGBM binary classifier:UserWarning",
)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scores(served: Served) -> pd.DataFrame:
    return pd.read_parquet(served.batch / "scores.parquet").sort_values("rank")


@pytest.fixture(scope="module")
def app_and_store(
    served: Served, scores: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[object, object]]:
    config = load_config(ROOT / "configs", {"serve": {"scores": str(served.scores)}})
    scorer = Scorer.load(config, model=str(served.bundle))
    db = tmp_path_factory.mktemp("store") / "predscore.db"
    store = seeded_store(f"sqlite:///{db}", two_owners(scores))
    yield create_app(config, TOKEN, scorer, store=store), store
    store.dispose()


def _client(app_and_store: tuple[object, object], user: str) -> TestClient:
    client = TestClient(app_and_store[0])
    assert sign_in(client, user).status_code == 303
    return client


def _lead_of(scores: pd.DataFrame, owner: str) -> str:
    open_ = scores[(scores["owner"] == owner) & (scores["route"] != "disqualify")]
    return str(open_.iloc[0]["lead_id"])


def test_a_rep_sees_their_own_queue_only(
    app_and_store: tuple[object, object], scores: pd.DataFrame
) -> None:
    ana_owner, bo_owner = two_owners(scores)
    ana = _client(app_and_store, "ana")
    page = ana.get("/queue")
    assert page.status_code == 200
    mine = set(scores.loc[scores["owner"] == ana_owner, "lead_id"])
    theirs = _lead_of(scores, bo_owner)
    assert f"/leads/{theirs}" not in page.text
    assert any(f'/leads/{lead}"' in page.text for lead in list(mine)[:50])
    assert ana.get("/queue", params={"owner": bo_owner}).status_code == 403
    assert ana.get(f"/leads/{theirs}").status_code == 403
    assert ana.get("/feedback").status_code == 403
    root = _client(app_and_store, "root")
    assert root.get("/queue", params={"owner": bo_owner}).status_code == 200
    assert root.get(f"/leads/{theirs}").status_code == 200


def test_wrong_password_and_removed_sessions(
    app_and_store: tuple[object, object],
) -> None:
    client = TestClient(app_and_store[0])
    assert sign_in(client, "ana", "wrong password!").status_code == 401
    assert sign_in(client, "nobody", "wrong password!").status_code == 401
    assert client.get("/queue").status_code == 401
    # the form's CSRF token is required to sign in, too
    refused = client.post(
        "/login",
        data={"username": "ana", "password": "correct horse battery"},
        follow_redirects=False,
    )
    assert refused.status_code == 401 and "expired" in refused.text


def test_answers_rescore_the_lead_at_once(
    app_and_store: tuple[object, object], scores: pd.DataFrame
) -> None:
    app, store = app_and_store
    lead = _lead_of(scores, two_owners(scores)[0])
    ana = _client(app_and_store, "ana")
    form = ana.get(f"/leads/{lead}")
    assert form.status_code == 200 and 'name="budget"' in form.text
    before = len(read_audit(store))
    page = ana.post(
        f"/leads/{lead}/qualification",
        data={"csrf": csrf_of(form.text), "budget": "no", "timeline_months": "2"},
    )
    assert page.status_code == 200, page.text[:500]
    assert "Re-scored with the reps" in page.text
    assert "now eliminated by" in page.text and "cannot_fund" in page.text
    assert page.text.count("<tr>") > form.text.count("<tr>")  # reasons that moved
    entries = lead_entries(store, lead)
    assert entries[["field", "value", "recorded_by"]].values.tolist() == [
        ["budget", "no", "ana"],
        ["timeline_months", "2", "ana"],
    ]
    audit = read_audit(store).iloc[before:]
    assert audit["action"].tolist() == ["qualification.add"]
    assert audit["actor"].tolist() == ["ana"]
    # an answer outside the vocabulary is refused, nothing written
    bad = ana.post(
        f"/leads/{lead}/qualification",
        data={"csrf": csrf_of(form.text), "budget": "<b>maybe</b>"},
    )
    assert bad.status_code == 422 and "<b>maybe" not in bad.text
    assert len(lead_entries(store, lead)) == 2


def test_every_post_needs_the_csrf_token(
    app_and_store: tuple[object, object], scores: pd.DataFrame
) -> None:
    app, store = app_and_store
    lead = _lead_of(scores, two_owners(scores)[0])
    ana = _client(app_and_store, "ana")
    n_entries, n_feedback = len(lead_entries(store, lead)), len(read_feedback(store))
    for path, data in (
        (f"/leads/{lead}/qualification", {"budget": "yes"}),
        (f"/leads/{lead}/feedback", {"verdict": "agree", "reason": "other"}),
        ("/logout", {}),
    ):
        assert ana.post(path, data=data).status_code == 403, path
        forged = ana.post(path, data={**data, "csrf": "0" * 64})
        assert forged.status_code == 403, path
    assert len(lead_entries(store, lead)) == n_entries
    assert len(read_feedback(store)) == n_feedback
    assert ana.get("/queue").status_code == 200  # still signed in


def test_feedback_and_the_feedback_page(
    app_and_store: tuple[object, object], scores: pd.DataFrame
) -> None:
    app, store = app_and_store
    lead = _lead_of(scores, two_owners(scores)[1])
    bo = _client(app_and_store, "bo")
    form = bo.get(f"/leads/{lead}")
    sent = bo.post(
        f"/leads/{lead}/feedback",
        data={
            "csrf": csrf_of(form.text),
            "verdict": "too_high",
            "reason": "wrong_contact",
            "text": "<script>alert(3)</script>",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert "Thank you" in bo.get(sent.headers["location"]).text
    row = read_feedback(store).iloc[-1]
    assert (row["lead_id"], row["verdict"], row["given_by"]) == (lead, "too_high", "bo")
    assert row["run_id"] == "2026-10-01" and row["probability"] is not None
    page = _client(app_and_store, "root").get("/feedback")
    assert page.status_code == 200
    assert "wrong_contact" in page.text and "<script>alert(3)" not in page.text
    assert "&lt;script&gt;alert(3)" in page.text


def test_the_token_still_opens_pages_as_admin(
    app_and_store: tuple[object, object],
) -> None:
    client = TestClient(app_and_store[0])
    assert client.get(f"/queue?token={TOKEN}").status_code == 200
    assert client.get("/feedback").status_code == 200
