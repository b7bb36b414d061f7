"""POST /score fuzzed against its own OpenAPI schema (schemathesis): never a 500.

Schemathesis generates request bodies from the published schema, valid ones and
invalid ones (wrong types, missing fields, out-of-range values...), sends them with
the bearer token through the ASGI app and checks each response: no server error, a
documented status code and content type, a body that matches the response schema,
invalid bodies refused.
The fast run sends ``FAST_EXAMPLES`` bodies of each kind; ``make test-all`` adds a
longer run. (Schemathesis' strategies are driven by Hypothesis directly: its pytest
plugin does not run under the pytest of this project.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.formats import unregister_string_format

from predscore.config import load_config
from predscore.scoring import Scorer
from predscore.serve import create_app
from served_data import TOKEN, Served

pytestmark = pytest.mark.filterwarnings(
    "ignore::PendingDeprecationWarning:shap",
    "ignore:LightGBM binary classifier:UserWarning",
)
ROOT = Path(__file__).resolve().parents[2]
BEARER = {"Authorization": f"Bearer {TOKEN}"}
FAST_EXAMPLES = 100
SLOW_EXAMPLES = 1000


@pytest.fixture(scope="module", autouse=True)
def documented_times() -> Iterator[None]:
    """Generate date-times in the documented range (1970-2200) for valid bodies.

    The range is in each field's description, which generators do not read; invalid
    bodies still get any string, and times outside the range are refused (422) by
    the API, which the negative run checks.
    """
    times = st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2199, 12, 31)
    ).map(lambda t: t.replace(tzinfo=UTC).isoformat())
    schemathesis.openapi.format("date-time", times)
    yield
    unregister_string_format("date-time")


@pytest.fixture(scope="module")
def operation(served: Served) -> schemathesis.APIOperation:
    # generated bodies may carry a wrong token: with the default budget the address
    # would be locked out (429) after ten, and the rest would never reach the scorer
    config = load_config(
        ROOT / "configs",
        {"serve": {"scores": str(served.scores), "max_token_failures": 1_000_000}},
    )
    scorer = Scorer.load(config, model=str(served.bundle))
    app = create_app(config, TOKEN, scorer)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=BEARER)
    return schema["/score"]["POST"]


def _fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, n: int) -> dict:
    """Send ``n`` generated bodies; the count of each status code."""
    sent: list[int] = []

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=n,
        deadline=None,
        derandomize=True,  # the same bodies on every run: a failure reproduces
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        # a schema-valid body may still be refused with a 422 naming the field: the
        # schema cannot say that a timestamp must lie after 1970 or that an account
        # given twice must be the same; every other check applies
        response = case.call_and_validate(
            headers=BEARER, excluded_checks=[positive_data_acceptance]
        )
        sent.append(response.status_code)

    run()
    return {code: sent.count(code) for code in sorted(set(sent))}


def _report(folder: Path, label: str, counts: dict) -> None:
    """Add the run's size and status counts to ``fuzz.json`` in the artifacts folder."""
    path = folder / "fuzz.json"
    runs = json.loads(path.read_text()) if path.is_file() else {}
    runs[label] = {"requests": sum(counts.values()), "statuses": counts}
    path.write_text(json.dumps(runs, indent=2))


def test_valid_bodies_are_scored_or_refused_cleanly(
    operation: schemathesis.APIOperation, artifacts: Path
) -> None:
    counts = _fuzz(operation, GenerationMode.POSITIVE, FAST_EXAMPLES)
    _report(artifacts, "valid bodies", counts)
    assert max(counts) < 500 and counts.get(200, 0) > 0


def test_invalid_bodies_are_422_never_500(
    operation: schemathesis.APIOperation, artifacts: Path
) -> None:
    counts = _fuzz(operation, GenerationMode.NEGATIVE, FAST_EXAMPLES)
    _report(artifacts, "invalid bodies", counts)
    assert max(counts) < 500 and counts.get(422, 0) > 0


@pytest.mark.slow
def test_many_bodies_never_fail(
    operation: schemathesis.APIOperation, artifacts: Path
) -> None:
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        counts = _fuzz(operation, mode, SLOW_EXAMPLES)
        _report(artifacts, f"{mode.value} bodies, long run", counts)
        assert max(counts) < 500


# --- the reps' pages: the login form and the queue's filter form ------------------------

#: the fast run's settings for the page forms (the same bodies on every run)
FORMS = settings(
    max_examples=FAST_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
FORM_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["<script>alert(1)</script>", "\"'><img src=x onerror=1>", "%00", "\u202e"]
    ),
)


def _pages(served: Served) -> Iterator[object]:
    from fastapi.testclient import TestClient

    config = load_config(ROOT / "configs", {"serve": {"scores": str(served.scores)}})
    with TestClient(create_app(config, TOKEN)) as client:
        yield client


@pytest.fixture(scope="module")
def login_pages(served: Served) -> Iterator[object]:
    """An app of its own: wrong tokens lock its client address out (429)."""
    yield from _pages(served)


@pytest.fixture(scope="module")
def pages(served: Served) -> Iterator[object]:
    yield from _pages(served)


@FORMS
@given(
    token=FORM_TEXT,
    next_url=FORM_TEXT,
    raw=st.binary(max_size=200),
    use_raw=st.booleans(),
)
def test_the_login_form_never_fails_nor_echoes_markup(
    login_pages: object, token: str, next_url: str, raw: bytes, use_raw: bool
) -> None:
    if use_raw:  # any bytes as a form body
        response = login_pages.post(
            "/login",
            content=raw,
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
    else:
        response = login_pages.post(
            "/login", data={"token": token, "next": next_url}, follow_redirects=False
        )
    assert response.status_code in (303, 401, 429)
    assert "<script>" not in response.text and "<img src=x" not in response.text


@FORMS
@given(
    params=st.dictionaries(
        st.sampled_from(["owner", "tier", "route", "sector", "q", "page", "x"]),
        FORM_TEXT,
        max_size=5,
    )
)
def test_the_queue_filters_never_fail_nor_echo_markup(
    pages: object, params: dict[str, str]
) -> None:
    response = pages.get("/queue", params=params, headers=BEARER)
    assert response.status_code in (200, 422)
    assert "<script>" not in response.text and "<img src=x" not in response.text
