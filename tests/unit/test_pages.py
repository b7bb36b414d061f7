"""Pages and report on a hand-written batch: reading, queue filters, waterfall, escaping."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from predscore.config import ExplainConfig
from predscore.errors import DataValidationError, SchemaError
from predscore.pages import (
    BatchSource,
    PageRenderer,
    QueueQuery,
    build_waterfall,
    filter_queue,
    find_batch,
    read_batch,
    read_lead_history,
)
from predscore.report import render_report
from predscore.schema import write_table
from scored_batch import AS_OF, XSS, batch_frame, write_batch

NOW = pd.Timestamp("2026-10-02T08:00:00Z")


@pytest.fixture()
def batch_dir(tmp_path: Path) -> Path:
    return write_batch(tmp_path / "run")


# --- reading a batch ------------------------------------------------------------------


def test_batch_is_read_by_rank_with_its_manifest(batch_dir: Path) -> None:
    frame = batch_frame().sample(frac=1, random_state=3)  # stored in any order
    batch = read_batch(write_batch(batch_dir, frame))
    assert batch.scores["rank"].tolist() == [1, 2, 3, 4]
    assert batch.as_of == AS_OF
    lead = batch.lead("L-0000002")
    assert lead is not None and lead["account_name"] == XSS
    assert isinstance(lead["reasons"], list) and isinstance(lead["reasons"][0], dict)
    assert lead["delta"] is None  # NaN read back as None
    assert batch.lead("L-404") is None


def test_missing_column_or_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="scores.parquet: file not found"):
        read_batch(tmp_path)
    folder = write_batch(tmp_path / "b", batch_frame().drop(columns="tier"))
    with pytest.raises(SchemaError, match="column 'tier'"):
        read_batch(folder)
    folder = write_batch(tmp_path / "c", batch_frame().drop(columns=["owner", "grid"]))
    assert read_batch(folder).scores["owner"].isna().all()  # display columns optional


def test_latest_batch_by_as_of(tmp_path: Path) -> None:
    old = write_batch(tmp_path / "a")
    new = write_batch(tmp_path / "b")
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["as_of"] = "2026-11-01T00:00:00+00:00"
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert find_batch(tmp_path) == old  # later as-of wins over a later write
    assert find_batch(new) == new
    assert find_batch(tmp_path / "none") is None


def test_source_rereads_only_a_changed_batch(tmp_path: Path) -> None:
    source = BatchSource(tmp_path)
    assert source.current() is None
    folder = write_batch(tmp_path / "a")
    first = source.current()
    assert first is not None and source.current() is first  # cached
    frame = batch_frame().assign(tier="cold")
    write_batch(folder, frame)
    stat = (folder / "scores.parquet").stat()
    os.utime(folder / "scores.parquet", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert set(source.current().scores["tier"]) == {"cold"}


def test_history_shows_nothing_after_as_of(
    tmp_path: Path, canonical_tables: dict[str, pd.DataFrame]
) -> None:
    for table, frame in canonical_tables.items():
        write_table(frame, tmp_path, table)
    cutoff = pd.Timestamp("2024-01-03T11:30:00Z")  # one microsecond before L1's 2nd
    history = read_lead_history(tmp_path, "L1", cutoff, limit=10)
    assert history.total == 1 and len(history.activities) == 1
    assert history.qualifications.empty
    later = read_lead_history(
        tmp_path, "L1", pd.Timestamp("2025-01-01T00:00:00Z"), limit=1
    )
    assert later.total == 2 and len(later.activities) == 1  # newest first, cut
    assert later.activities["occurred_at"].iloc[0].day == 3
    assert later.qualifications["field"].tolist() == ["budget", "timeline_months"]
    missing = read_lead_history(tmp_path / "nowhere", "L1", cutoff, limit=5)
    assert missing.note and missing.activities.empty


# --- queue ----------------------------------------------------------------------------


def test_queue_filters_combine(batch_dir: Path) -> None:
    scores = read_batch(batch_dir).scores
    ids = lambda q: filter_queue(scores, q, 50).rows["lead_id"].tolist()  # noqa: E731
    assert ids(QueueQuery(tier="hot")) == ["L-0000001", "L-0000002"]
    assert ids(QueueQuery(owner="Dana Brooks")) == ["L-0000001", "L-0000003"]
    assert ids(QueueQuery(owner="Dana Brooks", tier="hot")) == ["L-0000001"]
    assert ids(QueueQuery(route="disqualify")) == ["L-0000004"]
    assert ids(QueueQuery(sector="fintech")) == ["L-0000002"]
    assert ids(QueueQuery(q="<SCRIPT>")) == ["L-0000002"]  # literal, any case
    assert ids(QueueQuery(q="student")) == ["L-0000004"]  # job title
    assert ids(QueueQuery(q=".*")) == []  # not a pattern


def test_queue_pages(batch_dir: Path) -> None:
    scores = read_batch(batch_dir).scores
    page = filter_queue(scores, QueueQuery(page=2), 3)
    assert (page.page, page.pages, page.matched) == (2, 2, 4)
    assert page.rows["rank"].tolist() == [4]
    last = filter_queue(scores, QueueQuery(page=99), 3)
    assert last.page == 2  # a stale bookmark shows the last page


def test_query_parsing_ignores_unknown_values() -> None:
    query = QueueQuery.from_params({"tier": "boiling", "route": "meeting", "page": "x"})
    assert (query.tier, query.route, query.page) == ("", "meeting", 1)
    assert query.params(page=2) == {"route": "meeting", "page": "2"}
    assert QueueQuery.from_params({"q": "a" * 500}).q == "a" * 200


# --- waterfall ------------------------------------------------------------------------


def test_waterfall_steps_end_at_the_score() -> None:
    reasons = [{"text": "a", "points": 9.0}, {"text": "b", "points": -12.0}]
    w = build_waterfall(20.0, reasons, 17.0, base_label="base", total_label="score")
    kinds = [b.kind for b in w.bars]
    assert kinds == ["base", "up", "down", "total"]
    assert w.bars[-2].end == pytest.approx(w.bars[-1].end)  # last step meets total
    assert [b.points for b in w.bars] == [20.0, 9.0, -12.0, 17.0]
    assert (w.low, w.high) == (0.0, 29.0)
    negative = build_waterfall(0.0, [{"text": "x", "points": -5.0}], -5.0,
                               base_label="s", total_label="t")  # fmt: skip
    assert negative.low == -5.0 and negative.zero_visible is False
    assert w.x(29.0, 100) == 100 and w.x(0.0, 100) == 0


# --- rendering ------------------------------------------------------------------------


class _Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Parsed:
    parsed = _Parsed()
    parsed.feed(html)
    return parsed


def test_pages_escape_crm_text(batch_dir: Path) -> None:
    batch = read_batch(batch_dir)
    renderer = PageRenderer(ExplainConfig())
    lead = batch.lead("L-0000002")
    history = read_lead_history(None, "L-0000002", AS_OF, 5)
    for html in (
        renderer.queue_page(batch, QueueQuery(), 50),
        renderer.lead_page(batch, lead, history),
    ):
        parsed = _parse(html)
        assert "script" not in parsed.tags and "b" not in parsed.tags
        assert "i" not in parsed.tags
        text = "".join(parsed.text)
        assert XSS in text and "CTO & <b>Founder</b>" in text
        assert not [k for k, _ in parsed.attrs if k.startswith("on")]


def test_lead_page_waterfall_has_a_bar_per_reason(batch_dir: Path) -> None:
    batch = read_batch(batch_dir)
    renderer = PageRenderer(ExplainConfig())
    lead = batch.lead("L-0000001")
    html = renderer.lead_page(batch, lead, read_lead_history(None, "x", AS_OF, 5))
    model_svg = html.split('<svg class="waterfall"')[1].split("</svg>")[0]
    assert model_svg.count("<rect") == len(lead["reasons"]) + 2
    assert "+30 pts" in model_svg and "−2 pts" in model_svg  # signed, minus sign
    assert "62 pts" in model_svg  # the total
    assert html.count('<svg class="waterfall"') == 2  # the rules beside


def test_points_sentences_lose_their_suffix() -> None:
    renderer = PageRenderer(ExplainConfig())
    assert renderer.sentence("need confirmed: +18 pts") == "need confirmed"
    assert renderer.sentence("sector: fintech: −5 pts") == "sector: fintech"
    assert renderer.sentence("no points here") == "no points here"
    french = PageRenderer(ExplainConfig(points_text="{points} {unit} — {text}"))
    assert french.sentence("+9 pts — a assisté à 2 webinaires") == (
        "a assisté à 2 webinaires"
    )
    assert (
        renderer.signed_points(1.0) == "+1 pt" and renderer.points(-12.4) == "−12 pts"
    )


def test_rules_only_batch_shows_the_rules(tmp_path: Path) -> None:
    frame = batch_frame().assign(probability=None, score=None, base=None)
    batch = read_batch(write_batch(tmp_path / "r", frame))
    renderer = PageRenderer(ExplainConfig())
    html = renderer.lead_page(batch, batch.lead("L-0000001"),
                              read_lead_history(None, "x", AS_OF, 5))  # fmt: skip
    assert "Rules-only batch" in html and html.count('<svg class="waterfall"') == 1


def test_report_is_self_contained(batch_dir: Path) -> None:
    html = render_report(read_batch(batch_dir), ExplainConfig(), NOW, top=3)
    parsed = _parse(html)
    assert "script" not in parsed.tags and "link" not in parsed.tags
    assert "img" not in parsed.tags and "iframe" not in parsed.tags
    urls = [v for k, v in parsed.attrs if k in ("src", "href") and v]
    assert all(u.startswith("#") for u in urls), urls  # only in-page anchors
    assert not re.search(r"url\(|@import|https?://(?!www\.w3\.org/2000/svg)", html)
    meta = "Content-Security-Policy" in html and "default-src 'none'" in html
    assert meta
    assert html.count('class="card lead-card"') == 3  # --top
    assert html.count("<tr>") >= 4  # every lead is in the queue
    assert XSS in "".join(parsed.text)
