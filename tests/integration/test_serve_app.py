"""The web app through FastAPI's test client: access control, pages, POST /score.

The batch and the model come from the real pipeline (``served`` in conftest.py); the
API's scores are checked against the batch job's for the same leads and as-of time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from predscore.config import load_config
from predscore.errors import ConfigError
from predscore.features import KeptConnection
from predscore.schema.store import read_table
from predscore.scoring import Scorer, score_canonical_many
from predscore.serve import SESSION_COOKIE, create_app, read_token
from predscore.serve.balance import ConnectionBalance
from predscore.serve.canonical import canonical_tables
from predscore.serve.models import score_request_model
from rep_store import csrf_of
from served_data import AS_OF, TOKEN, XSS_NAME, XSS_TITLE, Served, lead_body

pytestmark = pytest.mark.filterwarnings(
    "ignore::PendingDeprecationWarning:shap",
    "ignore:LightGBM binary classifier:UserWarning",
)
ROOT = Path(__file__).resolve().parents[2]
BEARER = {"Authorization": f"Bearer {TOKEN}"}
PAGES = ["/", "/queue", "/queue?tier=hot", "/leads/L-0000001", "/docs", "/openapi.json"]


def _config(served: Served, **serve: Any):
    return load_config(
        ROOT / "configs", {"serve": {"scores": str(served.scores), **serve}}
    )


@pytest.fixture(scope="module")
def scorer(served: Served) -> Scorer:
    return Scorer.load(_config(served), model=str(served.bundle))


@pytest.fixture(scope="module")
def client(served: Served, scorer: Scorer) -> Iterator[TestClient]:
    app = create_app(_config(served), TOKEN, scorer)
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def scores(served: Served) -> pd.DataFrame:
    return pd.read_parquet(served.batch / "scores.parquet").sort_values("rank")


# --- access control -------------------------------------------------------------------


def test_every_page_needs_the_token(served: Served, scorer: Scorer) -> None:
    anonymous = TestClient(create_app(_config(served), TOKEN, scorer))
    for path in PAGES:
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 401, path
        assert TOKEN not in response.text
    assert anonymous.post("/score", json={"leads": []}).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert anonymous.get("/queue", headers=wrong).status_code == 401
    assert anonymous.post("/score", json={}, headers=wrong).status_code == 401
    assert anonymous.get("/healthz").json() == {"status": "ok"}


def test_token_link_becomes_a_cookie_and_leaves_the_url(
    served: Served, scorer: Scorer
) -> None:
    browser = TestClient(create_app(_config(served), TOKEN, scorer))
    response = browser.get(
        f"/queue?tier=hot&token={TOKEN}&owner=Dana+Brooks", follow_redirects=False
    )
    assert response.status_code == 303
    assert TOKEN not in response.headers["location"]
    assert response.headers["location"] == "/queue?tier=hot&owner=Dana+Brooks"
    cookie = response.headers["set-cookie"]
    assert TOKEN not in cookie
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert browser.get("/queue").status_code == 200  # the cookie now opens pages
    # but never the API: a cross-site form cannot score with a rep's cookie
    assert browser.post("/score", json=lead_body(served.valid, [])).status_code == 401
    bad = browser.get("/queue?token=wrong-token-123456789", follow_redirects=False)
    assert bad.status_code == 401 and "not valid" in bad.text


def _login(client: TestClient, **data: str) -> Any:
    """Post the sign-in form with the CSRF token of a freshly fetched form."""
    csrf = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf": csrf, **data}, follow_redirects=False)


def test_login_form_and_logout(served: Served, scorer: Scorer) -> None:
    browser = TestClient(create_app(_config(served), TOKEN, scorer))
    assert browser.get("/login").status_code == 200
    refused = _login(browser, token="nope", next="/queue")
    assert refused.status_code == 401 and SESSION_COOKIE not in browser.cookies
    # without the form's CSRF token the right token is refused too
    forged = browser.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert forged.status_code == 401 and SESSION_COOKIE not in browser.cookies
    signed = _login(browser, token=TOKEN, next="https://evil.example/")
    assert signed.status_code == 303 and signed.headers["location"] == "/queue"
    queue = browser.get("/queue")
    assert queue.status_code == 200
    assert browser.post("/logout").status_code == 403  # no CSRF token: refused
    assert browser.get("/queue").status_code == 200
    browser.post("/logout", data={"csrf": csrf_of(queue.text)})
    assert browser.get("/queue").status_code == 401


def test_guessing_the_token_is_throttled(served: Served, scorer: Scorer) -> None:
    config = _config(served, max_token_failures=3)
    guesser = TestClient(create_app(config, TOKEN, scorer))
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert guesser.post("/score", json={}, headers=wrong).status_code == 401
    assert guesser.get("/queue?token=wrong-token-123456789").status_code == 401
    assert _login(guesser, token="nope").status_code == 401
    # three wrong tokens: now even the right one waits, on every way in
    for attempt in (
        guesser.post("/score", json={}, headers=BEARER),
        guesser.get(f"/queue?token={TOKEN}", follow_redirects=False),
        _login(guesser, token=TOKEN),
        guesser.get("/queue", headers=BEARER),
    ):
        assert attempt.status_code == 429, attempt.request.url
        assert int(attempt.headers["retry-after"]) > 0
        assert TOKEN not in attempt.text
    assert "Too many wrong tokens" in guesser.get(f"/queue?token={TOKEN}").text
    # no token presented is not a guess: the login form still shows
    assert guesser.get("/queue").status_code == 401
    assert guesser.get("/healthz").status_code == 200


def test_server_refuses_to_start_without_a_token(served: Served) -> None:
    config = _config(served)
    with pytest.raises(ConfigError, match="PREDSCORE_API_TOKEN"):
        read_token(config.serve, {})
    with pytest.raises(ConfigError, match="min_token_length"):
        read_token(config.serve, {"PREDSCORE_API_TOKEN": "short"})
    with pytest.raises(ConfigError, match="token is required"):
        create_app(config, "")


def test_security_headers(client: TestClient) -> None:
    page = client.get("/queue", headers=BEARER)
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "http" not in csp  # no outside source of any kind
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    docs = client.get("/docs", headers=BEARER)
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    assert "http" not in docs.text.replace('xmlns="http', "")  # assets from here
    assert (
        client.get("/docs/assets/swagger-ui-bundle.js", headers=BEARER).status_code
        == 200
    )
    assert client.get("/docs/assets/../auth.py", headers=BEARER).status_code == 404


# --- pages ----------------------------------------------------------------------------


class _Text(HTMLParser):
    """Visible text, script elements and event attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.scripts = 0
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.handlers += [k for k, _ in attrs if k.startswith("on")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


def test_queue_is_ranked_and_filters(client: TestClient, scores: pd.DataFrame) -> None:
    page = client.get("/queue", headers=BEARER).text
    ranks = [int(r) for r in re.findall(r'<td class="num">(\d+)</td>', page)]
    assert ranks == sorted(ranks) and ranks[0] == 1
    hot = client.get("/queue?tier=hot", headers=BEARER).text
    expected = scores.loc[scores["tier"] == "hot", "lead_id"].tolist()
    shown = re.findall(r'href="/leads/([^"]+)"', hot)
    assert shown == expected[: len(shown)] and len(shown) == min(len(expected), 50)
    owner = scores["owner"].iloc[0]
    mine = client.get("/queue", params={"owner": owner}, headers=BEARER).text
    assert f"<strong>{int((scores['owner'] == owner).sum())}</strong>" in mine
    name = scores["account_name"].dropna().iloc[3]
    found = client.get("/queue", params={"q": name.upper()}, headers=BEARER).text
    hits = set(re.findall(r'href="/leads/([^"]+)"', found))
    assert hits == set(scores.loc[scores["account_name"] == name, "lead_id"])


def test_lead_page_shows_score_reasons_rules_history(
    client: TestClient, scores: pd.DataFrame, served: Served
) -> None:
    lead = scores.iloc[0]
    page = client.get(f"/leads/{lead['lead_id']}", headers=BEARER)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert html.count('<svg class="waterfall"') == 2  # model and rules
    assert f">{lead['score']:.0f}<small>" in html
    for reason in lead["reasons"]:
        assert reason["text"].rsplit(":", 1)[0] in html
    acts = read_table(served.valid, "activities")
    known = acts[acts["lead_id"] == lead["lead_id"]]
    assert f"of {len(known)} activities" in html or len(known) <= 25
    assert client.get("/leads/NO-SUCH-LEAD", headers=BEARER).status_code == 404


def test_crm_markup_is_shown_as_text(client: TestClient, served: Served) -> None:
    for path in ("/queue?q=script", f"/leads/{served.xss_lead}"):
        html = client.get(path, headers=BEARER).text
        parsed = _parse(html)
        assert parsed.scripts == 0 and parsed.handlers == []
        assert XSS_NAME in "".join(parsed.text)
        assert XSS_TITLE in "".join(parsed.text)


# --- POST /score ----------------------------------------------------------------------


def test_api_scores_equal_the_batch(
    client: TestClient, scores: pd.DataFrame, served: Served
) -> None:
    ids = scores["lead_id"].iloc[[0, 5, 50]].tolist()
    body = lead_body(served.valid, ids)
    # leads as the validated folder holds them take the short path (no validation)
    request = score_request_model(100, 10_000).model_validate(body)
    assert canonical_tables(request, pd.Timestamp(AS_OF).to_pydatetime()) is not None
    response = client.post("/score", json=body, headers=BEARER)
    assert response.status_code == 200, response.text
    got = {s["lead_id"]: s for s in response.json()["scores"]}
    assert set(got) == set(ids) and response.json()["rejections"] == []
    batch = scores.set_index("lead_id")
    for lead_id, score in got.items():
        assert score["probability"] == pytest.approx(batch.loc[lead_id, "probability"])
        assert score["tier"] == batch.loc[lead_id, "tier"]
        assert score["route"] == batch.loc[lead_id, "route"]
        total = score["base"] + sum(r["points"] for r in score["reasons"])
        assert total == pytest.approx(score["score"])
        assert [r["text"] for r in score["reasons"]] == [
            r["text"] for r in batch.loc[lead_id, "reasons"]
        ]


def _canonical(served: Served, ids: list[str]) -> dict:
    request = score_request_model(100, 10_000).model_validate(
        lead_body(served.valid, ids)
    )
    tables = canonical_tables(request, pd.Timestamp(AS_OF).to_pydatetime())
    assert tables is not None
    return tables


def test_requests_scored_together_get_what_they_get_alone(
    scorer: Scorer, scores: pd.DataFrame, served: Served
) -> None:
    ids = scores["lead_id"].iloc[[0, 3, 7, 20, 50, 90]].tolist()
    requests = [
        _canonical(served, ids[:1]),
        _canonical(served, ids[1:4]),
        _canonical(served, ids[4:]),
    ]
    as_of = pd.Timestamp(AS_OF)
    kept = KeptConnection(scorer.engine)
    together = score_canonical_many(requests, as_of, scorer, kept)
    assert len(together) == 3
    for tables, batch in zip(requests, together, strict=True):
        alone = score_canonical_many([tables], as_of, scorer, kept)[0]
        own = sorted(tables["leads"]["lead_id"].to_pylist())
        assert sorted(batch.scores["lead_id"]) == own
        # ranked among the request's own leads, as when scored alone
        assert batch.scores["rank"].tolist() == list(range(1, len(own) + 1))
        pd.testing.assert_frame_equal(batch.scores, alone.scores, rtol=1e-12)
        assert batch.rejections.empty and alone.rejections.empty
    with pytest.raises(ValueError, match="share a lead"):
        score_canonical_many(requests[:1] * 2, as_of, scorer, kept)


def test_concurrent_requests_each_get_their_own_answer(
    served: Served, scorer: Scorer, scores: pd.DataFrame
) -> None:
    ids = scores["lead_id"].iloc[:16].tolist()
    bodies = [lead_body(served.valid, [lead_id]) for lead_id in ids]
    app = create_app(_config(served), TOKEN, scorer)
    with TestClient(app) as client:
        alone = [
            client.post("/score", json=b, headers=BEARER).json()["scores"]
            for b in bodies
        ]
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda b: client.post("/score", json=b, headers=BEARER), bodies * 2
                )
            )
    for k, response in enumerate(answers):
        assert response.status_code == 200, response.text
        (got,) = response.json()["scores"]
        (want,) = alone[k % len(bodies)]
        # the same lead's answer; floats to the last bits of a sum over a matrix
        # whose row count differs (as between the batch job and the API)
        assert got["lead_id"] == want["lead_id"] and set(got) == set(want)
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-12), key
            elif key != "reasons":
                assert got[key] == value, key
        assert [r["text"] for r in got["reasons"]] == [
            r["text"] for r in want["reasons"]
        ]


def test_bad_fields_are_422_naming_the_field(
    client: TestClient, scores: pd.DataFrame, served: Served
) -> None:
    body = lead_body(served.valid, [scores["lead_id"].iloc[0]])
    cases = {
        ("leads", 0, "role"): {"role": "boss"},
        ("leads", 0, "created_at"): {"created_at": "2026-01-01T00:00:00"},  # no zone
        ("leads", 0, "activities", 0, "channel"): {
            "activities": [{"occurred_at": AS_OF, "channel": "fax", "action": "open"}]
        },
        ("leads", 0, "colour"): {"colour": "blue"},
        # true / false is not a number, though pydantic alone reads it as 1 / 0
        ("leads", 0, "account", "employees"): {
            "account": {"account_id": "A-flag", "employees": False}
        },
        ("leads", 0, "activities", 0, "quantity"): {
            "activities": [
                {
                    "occurred_at": AS_OF,
                    "channel": "web",
                    "action": "view",
                    "quantity": True,
                }
            ]
        },
    }
    for loc, change in cases.items():
        bad = {**body, "leads": [{**body["leads"][0], **change}]}
        response = client.post("/score", json=bad, headers=BEARER)
        assert response.status_code == 422, loc
        locs = [tuple(e["loc"][1:]) for e in response.json()["detail"]]
        assert any(loc == got[: len(loc)] for got in locs), (loc, locs)
    empty = client.post("/score", json={"leads": []}, headers=BEARER)
    assert empty.status_code == 422


def test_rejected_rows_point_into_the_request(
    client: TestClient, scores: pd.DataFrame, served: Served
) -> None:
    body = lead_body(served.valid, [scores["lead_id"].iloc[0]])
    lead = body["leads"][0]
    late = {"occurred_at": "2026-12-01T00:00:00Z", "channel": "web", "action": "view"}
    body["leads"][0] = {**lead, "activities": [*lead["activities"], late]}
    response = client.post("/score", json=body, headers=BEARER).json()
    assert len(response["scores"]) == 1
    (rejection,) = response["rejections"]
    n = len(lead["activities"])
    assert rejection["location"] == f"leads[0].activities[{n}]"
    assert "after the as-of time" in rejection["reason"]


def test_limits_on_batch_and_body_size(served: Served, scorer: Scorer) -> None:
    app = create_app(
        _config(served, max_batch_leads=2, max_body_bytes=4096), TOKEN, scorer
    )
    client = TestClient(app)
    body = lead_body(served.valid, ["L-0000001"])
    three = {"leads": [body["leads"][0]] * 3}
    too_many = client.post("/score", json=three, headers=BEARER)
    assert too_many.status_code in (413, 422)
    small = {"leads": [{**body["leads"][0], "activities": []}] * 3}
    assert client.post("/score", json=small, headers=BEARER).status_code == 422
    big = json.dumps({"leads": [{"lead_id": "x" * 10_000}]})
    response = client.post(
        "/score", content=big, headers={**BEARER, "content-type": "application/json"}
    )
    assert response.status_code == 413


def test_a_connection_is_closed_after_keepalive_requests(served: Served) -> None:
    """The third answer on a connection closes it (``serve.keepalive_requests``);
    the count starts again on the next one; None never closes."""
    app = create_app(_config(served, keepalive_requests=3), TOKEN, None)
    with TestClient(app) as client:  # one client address: one connection here
        answers = [client.get("/healthz") for _ in range(7)]
    assert [r.status_code for r in answers] == [200] * 7
    assert [r.headers.get("connection") for r in answers] == [
        None,
        None,
        "close",
        None,
        None,
        "close",
        None,
    ]
    with TestClient(app) as client:  # through a proxy: the address is not a connection
        forwarded = {"X-Forwarded-For": "203.0.113.7"}
        assert all(
            "connection" not in client.get("/healthz", headers=forwarded).headers
            for _ in range(5)
        )
    app = create_app(_config(served, keepalive_requests=None), TOKEN, None)
    with TestClient(app) as client:
        assert all("connection" not in client.get("/healthz").headers for _ in range(5))


def test_a_worker_over_its_share_closes_the_connection_it_answered(
    served: Served, tmp_path: Path
) -> None:
    """With a balance between two workers, the second of two keep-alive connections
    on one worker is closed (its share is one) once two exchanges of counts said so;
    a request through a proxy never."""
    balance = ConnectionBalance(tmp_path, 2, name="this", refresh=0.0)
    app = create_app(
        _config(served, keepalive_requests=None), TOKEN, None, balance=balance
    )
    first = TestClient(app, client=("127.0.0.1", 40001))
    second = TestClient(app, client=("127.0.0.1", 40002))
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    answers = [first.get("/healthz"), first.get("/healthz")]
    answers += [second.get("/healthz", headers=forwarded) for _ in range(3)]
    answers += [second.get("/healthz") for _ in range(3)]
    closing = [r.headers.get("connection") for r in answers]
    assert closing == [None] * 7 + ["close"]
    assert balance.closed == 1


def test_openapi_documents_the_score_api(client: TestClient) -> None:
    schema = client.get("/openapi.json", headers=BEARER).json()
    assert set(schema["paths"]) == {"/healthz", "/score"}
    assert "HTTPBearer" in json.dumps(schema["components"]["securitySchemes"])
    lead = schema["components"]["schemas"]["Lead"]["properties"]
    assert lead["activities"]["maxItems"] == 2000
