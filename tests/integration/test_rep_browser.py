"""What reps write, in a real browser: sign in, answer, see the lead re-scored, give
feedback; per-rep access and CSRF refusals.

A uvicorn server on a free loopback port serves the batch of the real pipeline
(``served``) with its model loaded and a store (an SQLite file) holding two reps and
an admin. (``rep_server`` in conftest.py). The browser is the system's Chromium, as in test_browser.py (skipped with
the reason when it is missing). Screenshots go to the ``artifacts`` folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from predscore.store import lead_entries, read_feedback
from rep_store import PASSWORD, two_owners

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} not found: `make install` installs the Debian package "
        "chromium (needs apt-get)",
    ),
    pytest.mark.filterwarnings(
        "ignore::PendingDeprecationWarning:shap",
        "ignore:LightGBM binary classifier:UserWarning",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


def _signed_in(browser: object, base: str, user: str) -> object:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("form.password-login button[type=submit]")
    page.wait_for_url(lambda url: url.endswith("/queue"))
    return page


def _ana_lead(served_scores: pd.DataFrame) -> str:
    owner = two_owners(served_scores)[0]
    mine = served_scores[
        (served_scores["owner"] == owner) & (served_scores["route"] != "disqualify")
    ]
    return str(mine.iloc[0]["lead_id"])


def test_a_rep_answers_and_sees_the_lead_rescored_then_gives_feedback(
    browser: object,
    rep_server: tuple[str, object],
    served_scores: pd.DataFrame,
    artifacts: Path,
) -> None:
    base, store = rep_server
    lead = _ana_lead(served_scores)
    page = _signed_in(browser, base, "ana")
    assert "ana · rep" in page.locator("header").inner_text()
    page.click(f"a[href='/leads/{lead}']")
    page.wait_for_url(lambda url: url.endswith(f"/leads/{lead}"))
    shown_before = page.locator(".scorebox .bignum").first.inner_text()

    page.select_option("select[name=budget]", "no")
    page.fill("input[name=timeline_months]", "2")
    page.click("form.entry-form button[type=submit]")
    card = page.locator("#rescored")
    card.wait_for()
    text = card.inner_text()
    assert "Re-scored with the reps' answers" in text
    assert card.locator(".new-score").inner_text().strip()
    assert "now eliminated by" in text and "cannot_fund" in text
    moved = card.locator("table.moved tbody tr").all_inner_texts()
    moved += card.locator("table.rules-moved tbody tr").all_inner_texts()
    assert moved and not any("No reason" in row for row in moved[:1] if len(moved) == 1)
    assert any("2 months" in row or "budget" in row for row in moved), moved
    assert shown_before  # the batch's score is still on the page, above the card
    entries = page.locator("table.entries tbody tr").all_inner_texts()
    assert any("budget" in r and "no" in r and "ana" in r for r in entries)
    assert any("timeline_months" in r and "2" in r for r in entries)
    page.screenshot(path=str(artifacts / "lead-rescored.png"), full_page=True)
    assert len(lead_entries(store, lead)) >= 2

    page.check("input[name=verdict][value=too_high]")
    page.select_option("select[name=reason]", "knows_account")
    page.fill("textarea[name=text]", "they chose a competitor last year")
    page.click("form.feedback-form button[type=submit]")
    page.wait_for_url(lambda url: "feedback=saved" in url)
    assert page.locator("text=your feedback is recorded").is_visible()
    last = read_feedback(store).iloc[-1]
    assert (last["lead_id"], last["verdict"], last["given_by"]) == (
        lead,
        "too_high",
        "ana",
    )
    page.context.close()


def test_another_rep_cannot_see_the_first_reps_queue(
    browser: object, rep_server: tuple[str, object], served_scores: pd.DataFrame
) -> None:
    base, _ = rep_server
    ana_owner = two_owners(served_scores)[0]
    lead = _ana_lead(served_scores)
    bo = _signed_in(browser, base, "bo")
    assert f"/leads/{lead}" not in bo.content()
    assert bo.goto(f"{base}/queue?owner={ana_owner}").status == 403
    assert bo.goto(f"{base}/leads/{lead}").status == 403
    assert bo.goto(f"{base}/feedback").status == 403
    bo.context.close()
    root = _signed_in(browser, base, "root")
    assert root.goto(f"{base}/queue?owner={ana_owner}").status == 200
    assert root.locator(f"a[href='/leads/{lead}']").count() == 1
    assert root.goto(f"{base}/feedback").status == 200
    assert "too_high" in root.content() or "No feedback yet" in root.content()
    root.context.close()


def test_a_form_without_its_csrf_token_is_refused(
    browser: object, rep_server: tuple[str, object], served_scores: pd.DataFrame
) -> None:
    base, store = rep_server
    lead = _ana_lead(served_scores)
    page = _signed_in(browser, base, "ana")
    page.goto(f"{base}/leads/{lead}")
    before = len(lead_entries(store, lead))
    # the rep's own form, its hidden token taken out: the post is refused
    page.locator("form.entry-form input[name=csrf]").evaluate("e => e.remove()")
    page.select_option("select[name=budget]", "yes")
    with page.expect_navigation() as navigation:
        page.click("form.entry-form button[type=submit]")
    assert navigation.value.status == 403
    assert "Form refused" in page.locator("h1").inner_text()
    # a post from outside the page (the session's cookie, no token): refused too
    refused = page.context.request.post(
        f"{base}/leads/{lead}/feedback", form={"verdict": "agree", "reason": "other"}
    )
    assert refused.status == 403
    assert len(lead_entries(store, lead)) == before
    page.context.close()
