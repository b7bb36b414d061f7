"""The reps' pages in a real browser: headless Chromium driven by Playwright.

A uvicorn server on a free loopback port serves the batch of the real pipeline
(``served``). The browser is the system's Chromium (``/usr/bin/chromium``, the Debian
package ``make install`` adds; Playwright's own browser download is not used), so the
test skips with that reason when it is missing. Screenshots of the queue and of lead
pages are saved in the ``artifacts`` folder ($PREDSCORE_TEST_OUTPUT, else a temporary one).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import uvicorn

from predscore.config import load_config
from predscore.serve import create_app
from served_data import TOKEN, XSS_NAME, XSS_TITLE, Served

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
]
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(served: Served) -> Iterator[str]:
    """A pages-only server over the served batch, stopped after the module."""
    config = load_config(
        ROOT / "configs",
        {"serve": {"scores": str(served.scores), "score_api": False}},
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, TOKEN),
            host="127.0.0.1",
            port=port,
            access_log=False,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs  # alerts a page managed to raise
    yield page
    context.close()


@pytest.fixture(scope="module")
def scores(served: Served) -> pd.DataFrame:
    return pd.read_parquet(served.batch / "scores.parquet").sort_values("rank")


def _shot(page: object, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / name), full_page=True)


def test_without_the_token_every_page_is_401(page: object, base_url: str) -> None:
    for path in ("/queue", "/queue?tier=hot", "/leads/L-0000001", "/docs", "/"):
        response = page.goto(base_url + path)
        assert response.status == 401, path
        assert page.locator("input[name=token]").is_visible()  # the login form
    assert page.goto(base_url + "/healthz").status == 200


def test_queue_filter_and_lead_page(
    page: object, base_url: str, scores: pd.DataFrame, artifacts: Path
) -> None:
    response = page.goto(f"{base_url}/queue?token={TOKEN}")
    assert response.status == 200
    assert TOKEN not in page.url and page.url.endswith("/queue")  # dropped from the URL
    ranks = page.locator("table.queue tbody tr td:first-child").all_inner_texts()
    assert [int(r) for r in ranks] == list(range(1, len(ranks) + 1))
    _shot(page, artifacts, "queue.png")

    page.select_option("select[name=tier]", "hot")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(lambda url: "tier=hot" in url)
    hot = scores[scores["tier"] == "hot"]
    assert len(hot) > 0
    tiers = page.locator("table.queue tbody .badge.tier-hot").all_inner_texts()
    assert tiers == ["hot"] * min(len(hot), 50)
    assert page.locator("table.queue tbody tr").count() == min(len(hot), 50)
    _shot(page, artifacts, "queue-hot.png")

    first = hot.iloc[0]
    page.click(f"a[href='/leads/{first['lead_id']}']")
    page.wait_for_url(lambda url: url.endswith(f"/leads/{first['lead_id']}"))
    waterfalls = page.locator("svg.waterfall")
    assert waterfalls.count() == 2 and waterfalls.first.is_visible()
    # base, one bar per reason, score
    bars = waterfalls.first.locator("rect").count()
    assert bars == len(first["reasons"]) + 2
    reasons = page.locator("table.reasons").first.inner_text()
    for reason in first["reasons"]:
        assert reason["text"].rsplit(":", 1)[0] in reasons
    assert page.locator("text=Rule baseline").is_visible()
    assert page.locator("table.timeline tbody tr").count() >= 1
    assert page.locator("table.qualification").is_visible()
    _shot(page, artifacts, "lead.png")


def test_markup_from_the_crm_is_text(
    page: object, base_url: str, served: Served, artifacts: Path
) -> None:
    page.goto(f"{base_url}/queue?token={TOKEN}")
    page.fill("input[name=q]", "<script>")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(lambda url: "q=" in url)
    link = page.locator(f"a[href='/leads/{served.xss_lead}']")
    assert link.inner_text() == XSS_NAME
    link.click()
    page.wait_for_url(lambda url: url.endswith(f"/leads/{served.xss_lead}"))
    assert page.locator("h1").inner_text() == XSS_NAME
    assert XSS_TITLE in page.locator("main").inner_text()
    assert page.locator("script").count() == 0
    assert page.locator("img").count() == 0
    assert page.dialogs == []
    _shot(page, artifacts, "lead-markup.png")
