"""A hand-written scored batch in the shape ``predscore score --out`` writes.

For the tests of the pages and the report that need exact, known content (names with
markup, a rules-only batch, missing display columns); the integration tests use
batches from the real pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

AS_OF = pd.Timestamp("2026-10-01T00:00:00Z")
XSS = "<script>alert(1)</script>"

_REASON = pa.struct(
    [
        ("feature", pa.string()),
        ("family", pa.string()),
        ("value", pa.string()),
        ("points", pa.float64()),
        ("text", pa.string()),
    ]
)
_RULE_REASON = pa.struct(
    [
        ("feature", pa.string()),
        ("value", pa.string()),
        ("points", pa.float64()),
        ("text", pa.string()),
    ]
)


def _reasons(*items: tuple[str, str, float, str]) -> list[dict]:
    return [
        {"feature": f, "family": fam, "value": "x", "points": p, "text": t}
        for f, fam, p, t in items
    ]


def _rule_reasons(*items: tuple[str, float, str]) -> list[dict]:
    return [{"feature": f, "value": "x", "points": p, "text": t} for f, p, t in items]


def batch_frame() -> pd.DataFrame:
    """Four leads: a hot meeting, a lead named with markup, a warm one, a cold one."""
    rows = [
        # lead_id, prob, tier, route, owner, sector, account, title, reasons, rules
        (
            "L-0000001",
            0.62,
            "hot",
            "meeting",
            "Dana Brooks",
            "software_saas",
            "Nexora Labs",
            "VP Sales",
            _reasons(
                ("webinars", "engagement", 30.0, "attended 2 webinars"),
                ("authority", "qualification", 14.0, "decision-maker identified"),
                ("sector", "fit", -2.0, "retail company"),
            ),
            _rule_reasons(("webinars", 10.0, "webinars"), ("budget", 15.0, "budget")),
        ),
        (
            "L-0000002",
            0.41,
            "hot",
            "meeting",
            "Claire Dubois",
            "fintech",
            XSS,
            "CTO & <b>Founder</b>",
            _reasons(("pricing", "engagement", 25.0, "viewed the <i>pricing</i> page")),
            _rule_reasons(("pricing", 8.0, "pricing page")),
        ),
        (
            "L-0000003",
            0.20,
            "warm",
            "nurture",
            "Dana Brooks",
            "retail",
            "Velix Group",
            None,
            _reasons(
                ("webinars", "engagement", 4.0, "attended 1 webinar"),
                ("authority", "qualification", -8.0, "no decision-maker identified"),
            ),
            [],
        ),
        (
            "L-0000004",
            0.02,
            "cold",
            "disqualify",
            None,
            None,
            None,
            "Student",
            _reasons(("title", "fit", -14.0, "student")),
            _rule_reasons(("student", -20.0, "student or job seeker")),
        ),
    ]
    base = 16.0
    records = []
    for rank, (
        lead,
        p,
        tier,
        route,
        owner,
        sector,
        account,
        title,
        rs,
        rr,
    ) in enumerate(rows, start=1):
        # make the reasons add up: base + Σ points = score
        score = 100 * p
        gap = score - base - sum(r["points"] for r in rs)
        rs = [
            *rs,
            {
                "feature": "other fit",
                "family": "fit",
                "value": "2",
                "points": gap,
                "text": "2 other fit factors",
            },
        ]
        fam = {
            f: sum(r["points"] for r in rs if r["family"] == f)
            for f in ("fit", "engagement", "qualification")
        }
        records.append(
            {
                "lead_id": lead,
                "as_of": AS_OF,
                "rank": rank,
                "probability": p,
                "score": score,
                "delta": 3.0 if rank == 1 else None,
                "tier": tier,
                "route": route,
                "grid": "B2",
                "base": base,
                "fit_points": fam["fit"],
                "engagement_points": fam["engagement"],
                "qualification_points": fam["qualification"],
                "rule_points": sum(r["points"] for r in rr),
                "rule_route": "meeting" if rank < 3 else "nurture",
                "eliminated_by": "student_or_job_seeker" if rank == 4 else None,
                "reasons": rs,
                "rule_reasons": rr,
                "model_version": "predscore v1 @champion",
                "account_name": account,
                "sector": sector,
                "job_title": title,
                "country": "FR",
                "owner": owner,
            }
        )
    return pd.DataFrame(records)


def write_batch(
    folder: Path, frame: pd.DataFrame | None = None, data: Path | None = None
) -> Path:
    """Write ``frame`` (default :func:`batch_frame`) as scores.parquet + manifest.json."""
    frame = batch_frame() if frame is None else frame
    folder.mkdir(parents=True, exist_ok=True)
    fields = {"reasons": pa.list_(_REASON), "rule_reasons": pa.list_(_RULE_REASON)}
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name, kind in fields.items():
        table = table.set_column(
            table.schema.get_field_index(name),
            name,
            pa.array(frame[name].tolist(), type=kind),
        )
    pq.write_table(table, folder / "scores.parquet")
    manifest = {
        "inputs": {"data": str(data) if data else None},
        "as_of": AS_OF.isoformat(),
        "model": {"version": "predscore v1 @champion"},
        "counts": {"in": len(frame), "scored": len(frame), "rejected": 0},
        "timings": {},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder
