"""Rule baseline: criteria eliminate and name themselves, points equal their reasons,
thresholds are inclusive, bad configs name the key and the rule."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predscore.config import (
    Condition,
    PredscoreConfig,
    RulesConfig,
    TemperatureConfig,
    load_config,
    load_rules,
)
from predscore.errors import ConfigError
from predscore.rules import RULE_COLUMNS, RuleScorer, evaluate_rules, score_rules
from predscore.rules.conditions import condition_mask

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DATASET_RULES = sorted((REPO_CONFIGS / "rules").glob("*.yaml"))


def _frame() -> pd.DataFrame:
    """Six hand-written leads; each row exists for one behaviour (see ``why``)."""
    return pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4", "L5", "L6"],
            "why": [
                "CEO, 3 opens + 1 click + webinar: meeting, hot",
                "no need: eliminated by no_need",
                "public sector: eliminated by out_of_sector (first match)",
                "quiet, outside zone, timeline unknown: nurture, cold",
                "exactly at the meeting threshold",
                "missing values everywhere: nothing fires",
            ],
            "seniority": pd.Categorical(
                ["c_level", "vp", "c_level", "manager", "vp", None]
            ),
            "sector": pd.Categorical(
                ["software_saas", "fintech", "public_sector", "retail", "fintech", None]
            ),
            "region": ["EMEA", "EMEA", "EMEA", "NA", "EMEA", None],
            "qual_need": [1.0, 0.0, 0.0, np.nan, 1.0, np.nan],
            "n_email_open_30d": [3, 0, 0, 0, 0, 0],
            "n_email_click_30d": [1, 5, 0, 0, 0, 0],
            "n_webinar_attend_30d": [1, 0, 0, 0, 2, 0],
            "n_webinar_attend_90d": [1, 0, 0, 0, 2, 0],
            "qual_timeline_months": [3.0, 1.0, 2.0, np.nan, 12.0, np.nan],
        }
    )


def _config(**thresholds: float) -> RulesConfig:
    return RulesConfig.model_validate(
        {
            "eliminatory": [
                {
                    "name": "out_of_sector",
                    "when": {
                        "feature": "sector",
                        "op": "in",
                        "value": ["public_sector"],
                    },
                    "text": "sector {value} is out of target",
                },
                {
                    "name": "no_need",
                    "when": {"feature": "qual_need", "op": "eq", "value": 0},
                    "text": "no need",
                },
            ],
            "points": [
                {
                    "name": "ceo_saas",
                    "when": {
                        "all": [
                            {"feature": "seniority", "op": "eq", "value": "c_level"},
                            {"feature": "sector", "op": "eq", "value": "software_saas"},
                        ]
                    },
                    "points": 10,
                    "text": "CEO of a SaaS company: {points} pts",
                },
                {
                    "name": "opens",
                    "units": {"n_email_open_30d": 1},
                    "points": 3,
                    "max_points": 9,
                    "text": "opened {value} emails: {points} pts",
                },
                {
                    "name": "clicks",
                    "units": {"n_email_click_30d": 1},
                    "points": 6,
                    "max_points": 6,
                    "text": "clicked {value} links: {points} pts",
                },
                {
                    "name": "webinar",
                    "units": {"n_webinar_attend_30d": 0.5, "n_webinar_attend_90d": 0.5},
                    "points": 20,
                    "max_points": 20,
                    "text": "attended {value} webinars: {points} pts",
                },
                {
                    "name": "outside_zone",
                    "when": {"feature": "region", "op": "ne", "value": "EMEA"},
                    "points": -10,
                    "text": "outside the sales zone: {points} pts",
                },
            ],
            "thresholds": {"mql": 20, "sql": 40, "meeting": 40, **thresholds},
        }
    )


def _by_lead(frame: pd.DataFrame | None = None, **thresholds: float) -> pd.DataFrame:
    features = _frame() if frame is None else frame
    return score_rules(features, _config(**thresholds)).set_index("lead_id")


def test_output_columns_and_rows() -> None:
    out = score_rules(_frame(), _config())
    assert list(out.columns) == ["lead_id", *RULE_COLUMNS]
    assert out["lead_id"].tolist() == _frame()["lead_id"].tolist()


def test_classic_grid_example() -> None:
    lead = _by_lead().loc["L1"]
    # CEO of a SaaS company +10, 3 opens + 1 click +15, a webinar +20
    assert lead["rule_points"] == 45
    assert lead["rule_route"] == "meeting"
    assert lead["mql"] and lead["sql"]
    assert lead["tier"] == "hot"
    assert [r["text"] for r in lead["rule_reasons"]] == [
        "CEO of a SaaS company: +10 pts",
        "opened 3 emails: +9 pts",
        "clicked 1 links: +6 pts",
        "attended 1 webinars: +20 pts",
    ]


@pytest.mark.parametrize(
    ("lead", "criterion"), [("L2", "no_need"), ("L3", "out_of_sector")]
)
def test_criterion_eliminates_and_names_itself(lead: str, criterion: str) -> None:
    row = _by_lead().loc[lead]
    assert row["eliminated_by"] == criterion
    assert row["rule_route"] == "disqualify"
    assert not row["mql"] and not row["sql"]
    assert row["tier"] == "cold"
    first = row["rule_reasons"][0]
    assert first["points"] == 0
    assert first["feature"] in {"qual_need", "sector"}


def test_only_matching_rows_are_eliminated() -> None:
    out = _by_lead()
    assert out["eliminated_by"].isna().tolist() == [
        True,
        False,
        False,
        True,
        True,
        True,
    ]


def test_elimination_text_uses_the_value() -> None:
    reasons = _by_lead().loc["L3", "rule_reasons"]
    assert reasons[0]["text"] == "sector public_sector is out of target"


def test_points_add_up_to_reasons() -> None:
    out = _by_lead()
    for points, reasons in zip(out["rule_points"], out["rule_reasons"], strict=True):
        assert sum(r["points"] for r in reasons) == pytest.approx(points)
        assert all(set(r) == {"feature", "value", "points", "text"} for r in reasons)


def test_scoring_without_reasons_keeps_every_other_column() -> None:
    frame, config = _frame(), _config()
    full = score_rules(frame, config)
    quick = score_rules(frame, config, reasons=False)
    assert "rule_reasons" not in quick.columns
    pd.testing.assert_frame_equal(quick, full.drop(columns="rule_reasons"))


def test_negative_points_and_missing_values() -> None:
    out = _by_lead()
    assert out.loc["L4", "rule_points"] == -10
    assert out.loc["L4", "rule_route"] == "nurture"
    assert out.loc["L4", "tier"] == "cold"
    # a missing region is not "outside the zone": comparisons are false on NaN
    assert out.loc["L6", "rule_points"] == 0
    assert out.loc["L6", "rule_reasons"] == []


def test_cap_and_decay() -> None:
    frame = _frame().assign(n_email_open_30d=[10, 0, 0, 0, 0, 0])
    opens = [
        r for r in _by_lead(frame).loc["L1", "rule_reasons"] if "opened" in r["text"]
    ]
    assert opens[0]["points"] == 9  # capped
    old_only = _frame().assign(n_webinar_attend_30d=0, n_webinar_attend_90d=1)
    assert _by_lead(old_only).loc["L1", "rule_points"] == 10 + 9 + 6 + 10


@pytest.mark.parametrize(
    ("level", "reached"), [(25.5, True), (26.0, True), (26.5, False)]
)
def test_thresholds_are_inclusive(level: float, reached: bool) -> None:
    # L5: two webinars (capped at 20) and one click (6) = 26 points
    frame = _frame().assign(n_email_click_30d=[1, 5, 0, 0, 1, 0])
    out = _by_lead(frame, mql=level, sql=level, meeting=level).loc["L5"]
    assert out["rule_points"] == 26
    assert out["rule_route"] == ("meeting" if reached else "nurture")
    assert out["mql"] == reached
    assert out["sql"] == reached


def test_temperature_bounds_inclusive() -> None:
    out = _by_lead()
    assert out.loc["L1", "tier"] == "hot"  # 3 months, hot_max 3
    assert out.loc["L5", "tier"] == "warm"  # 12 months, warm_max 12


def test_unknown_feature_names_rule_and_feature() -> None:
    with pytest.raises(
        ConfigError, match=r"rules\.points 'opens': feature 'n_email_open_30d'"
    ):
        score_rules(_frame().drop(columns="n_email_open_30d"), _config())


def test_bad_comparison_names_rule() -> None:
    config = RulesConfig.model_validate(
        {
            "eliminatory": [
                {
                    "name": "weird",
                    "when": {"feature": "sector", "op": "lt", "value": 3},
                    "text": "x",
                }
            ]
        }
    )
    with pytest.raises(ConfigError, match=r"rules\.eliminatory 'weird'.*'sector'"):
        score_rules(_frame(), config)


def test_input_not_mutated() -> None:
    frame = _frame()
    before = frame.copy()
    score_rules(frame, _config())
    pd.testing.assert_frame_equal(frame, before)


def test_rule_scorer_contract() -> None:
    scorer = RuleScorer(config=_config())
    assert scorer.fit(_frame()) is scorer
    np.testing.assert_array_equal(
        scorer.score(_frame()), score_rules(_frame(), _config())["rule_points"]
    )


def _write_rules(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "rules.yaml").write_text(text)
    return folder


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "points:\n  - {name: a, points: 1, text: t, "
            "when: {feature: x, op: eqq, value: 1}}\n",
            r"rules\.yaml: key 'rules\.points\.0\.when\.op' \(rule 'a'\)",
        ),
        (
            "eliminatory:\n  - {name: b, text: t, when: {feature: x, op: in, value: 1}}\n",
            r"key 'rules\.eliminatory\.0\.when' \(rule 'b'\).*needs a list",
        ),
        (
            "points:\n  - {name: c, points: 1, text: 'x {vlue}', units: {n: 1}}\n",
            r"key 'rules\.points\.0\.text' \(rule 'c'\).*\{value\}",
        ),
        ("thresholds: {mql: 50, sql: 40}\n", r"key 'rules\.thresholds'.*mql"),
        ("threshold: {mql: 1}\n", r"key 'rules\.threshold'"),
        (
            "points:\n  - {name: d, points: 1, text: t}\n",
            r"\(rule 'd'\).*needs 'when', 'units'",
        ),
    ],
)
def test_invalid_config_names_key(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_config(_write_rules(tmp_path, text))


def test_shipped_rules_load_and_apply() -> None:
    rules = load_config(REPO_CONFIGS).rules
    assert rules != PredscoreConfig().rules
    assert rules.thresholds.meeting == 40
    names = {c.name for c in rules.eliminatory}
    assert {"no_need", "cannot_decide", "cannot_fund"} <= names
    features = {f for r in rules.points if r.when for f in r.when.features()}
    features |= {f for r in rules.points for f in (r.units or {})}
    features |= {f for c in rules.eliminatory for f in c.when.features()}
    frame = pd.DataFrame(0.0, index=range(2), columns=sorted(features))
    frame["qual_timeline_months"] = [2.0, np.nan]
    out = score_rules(frame, rules)
    assert out["rule_route"].isin(["meeting", "nurture", "disqualify"]).all()


def test_points_rounded_per_rule_still_add_up() -> None:
    frame = _frame().assign(n_webinar_attend_30d=0, n_webinar_attend_90d=1)
    config = _config().model_copy(update={"decimals": 0})
    rules = [r.model_copy(update={"points": 7}) for r in config.points[3:4]]
    out = score_rules(frame, config.model_copy(update={"points": rules}))
    first = out.set_index("lead_id").loc["L1"]
    assert first["rule_points"] == 4  # 0.5 unit x 7 = 3.5, rounded half to even
    assert [r["points"] for r in first["rule_reasons"]] == [4]


def test_no_timeline_feature_makes_everyone_cold() -> None:
    config = _config().model_copy(
        update={"temperature": TemperatureConfig(feature=None)}
    )
    out = score_rules(_frame().drop(columns="qual_timeline_months"), config)
    assert out["tier"].eq("cold").all()


@pytest.mark.parametrize("path", DATASET_RULES, ids=lambda p: p.stem)
def test_shipped_dataset_rules_load(path: Path) -> None:
    assert load_rules(path).points


def test_load_rules_error_names_file_key_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "points:\n  - {name: z, points: 1, text: t, units: {a: 1}, max_points: -1}\n"
    )
    with pytest.raises(
        ConfigError, match=r"r\.yaml: key 'rules\.points\.0\.max_points' \(rule 'z'\)"
    ):
        load_rules(path)


def test_template_format_mismatch_names_rule() -> None:
    config = RulesConfig.model_validate(
        {
            "points": [
                {
                    "name": "sector_pts",
                    "when": {"feature": "sector", "op": "eq", "value": "fintech"},
                    "points": 1,
                    "text": "sector {value:.0f}",
                }
            ]
        }
    )
    with pytest.raises(ConfigError, match=r"rules\.points 'sector_pts': text"):
        score_rules(_frame(), config)


def test_reasons_hold_plain_python_values() -> None:
    reasons = _by_lead().loc["L1", "rule_reasons"]
    assert all(type(r["points"]) is float for r in reasons)
    assert all(type(r["text"]) is str and type(r["feature"]) is str for r in reasons)


def test_shipped_default_has_the_issue_criteria() -> None:
    names = [c.name for c in load_config(REPO_CONFIGS).rules.eliminatory]
    assert set(names) >= {
        "out_of_target_sector",
        "no_need",
        "cannot_decide",
        "cannot_fund",
        "student_or_job_seeker",
    }


def test_shipped_default_eliminates_students() -> None:
    rules = load_config(REPO_CONFIGS).rules
    features = {f for c in rules.eliminatory for f in c.when.features()}
    features |= {f for r in rules.points if r.when for f in r.when.features()}
    features |= {f for r in rules.points for f in (r.units or {})}
    frame = pd.DataFrame(np.nan, index=range(2), columns=sorted(features))
    frame["role"] = pd.Categorical(["user", "user"])
    frame["department"] = pd.Categorical([None, "sales"])
    frame["qual_timeline_months"] = np.nan
    out = score_rules(frame, rules)
    assert out["eliminated_by"].tolist()[0] == "student_or_job_seeker"
    assert pd.isna(out["eliminated_by"].tolist()[1])


@pytest.mark.parametrize("path", DATASET_RULES, ids=lambda p: p.stem)
def test_shipped_dataset_rules_run_on_missing_features(path: Path) -> None:
    # every comparison is false on a missing value: only `is_null` rules may fire
    rules = load_rules(path)
    features = {f for c in rules.eliminatory for f in c.when.features()}
    features |= {f for r in rules.points if r.when for f in r.when.features()}
    features |= {f for r in rules.points for f in (r.units or {})}
    frame = pd.DataFrame(np.nan, index=range(3), columns=sorted(features))
    out = score_rules(frame, rules)
    null_points = sum(
        r.points for r in rules.points if r.when is not None and r.when.op == "is_null"
    )
    assert out["rule_points"].eq(null_points).all()
    assert out["rule_route"].eq("nurture").all()


def _labelled() -> pd.DataFrame:
    return _frame().assign(label=[1, 0, 0, 0, 1, 0])


def test_evaluate_rules_tables() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # empty segments give NaN, not warnings
        evaluation = evaluate_rules(_labelled(), _config())
    routes = evaluation.routes.set_index("route")
    assert routes.index.tolist() == ["meeting", "nurture", "disqualify"]
    assert routes["rows"].tolist() == [1, 3, 2]
    assert routes.loc["meeting", "close_rate"] == 1.0
    assert routes["share"].sum() == pytest.approx(1.0)
    criteria = evaluation.criteria.set_index("criterion")
    assert criteria.index.tolist() == ["out_of_sector", "no_need"]
    assert criteria["rows"].tolist() == [1, 1]
    metrics = evaluation.metrics
    assert metrics["precision"] == 1.0 and metrics["recall"] == 0.5
    # no qualification / engagement columns here: the trap segments are empty
    assert evaluation.segments["rows"].tolist() == [0, 0]
    assert np.isnan(metrics["trap_roc_auc"])


def test_evaluate_rules_trap_segments() -> None:
    frame = pd.DataFrame(
        {
            "label": [0, 0, 1, 1, 0, 0, 0, 0],
            "n_email_open_90d": [9, 8, 0, 0, 1, 1, 1, 1],
            "n_email_click_90d": 0,
            "n_webinar_attend_90d": 0,
            "n_content_download_90d": 0,
            "role": pd.Categorical(
                ["user"] * 2 + ["decision_maker"] * 2 + ["user"] * 4
            ),
            "qual_authority": [np.nan, np.nan, 1.0, 1.0, *[np.nan] * 4],
            "qual_need": [np.nan, np.nan, 1.0, 1.0, *[np.nan] * 4],
            "qual_timeline_months": [np.nan, np.nan, 2.0, 1.0, *[np.nan] * 4],
        }
    )
    config = RulesConfig.model_validate(
        {
            "points": [
                {
                    "name": "opens",
                    "units": {"n_email_open_90d": 1},
                    "points": 5,
                    "max_points": 50,
                    "text": "opened {value} emails: {points} pts",
                }
            ],
            "thresholds": {"mql": 40, "sql": 40, "meeting": 40},
        }
    )
    evaluation = evaluate_rules(frame, config)
    segments = evaluation.segments.set_index("segment")
    engaged, quiet = segments.index
    assert segments["rows"].tolist() == [2, 2]
    assert segments.loc[engaged, "meeting_share"] == 1.0
    assert segments.loc[quiet, "meeting_share"] == 0.0
    assert segments.loc[quiet, "close_rate"] == 1.0
    # the engaged losers outrank the quiet winners: the trap, in one number
    assert evaluation.metrics["trap_roc_auc"] == 0.0


_MIXED = pd.DataFrame(
    {
        "n": pd.array([1, None, 3, 2], dtype="Int64"),
        "flag": pd.array([True, None, False, True], dtype="boolean"),
        "text": pd.Series(["a", None, "b", "a"], dtype="str"),
        "cat": pd.Categorical(["x", None, "y", "x"]),
        "f": [1.0, 0.0, np.nan, 2.5],
        "i": np.array([0, 1, 2, 3], dtype=np.int32),
    }
)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"feature": "n", "op": "ge", "value": 2}, [False, False, True, True]),
        ({"feature": "flag", "op": "eq", "value": True}, [True, False, False, True]),
        ({"feature": "text", "op": "in", "value": ["a"]}, [True, False, False, True]),
        (
            {"feature": "cat", "op": "not_in", "value": ["x"]},
            [False, False, True, False],
        ),
        ({"feature": "cat", "op": "ne", "value": "x"}, [False, False, True, False]),
        ({"feature": "f", "op": "in", "value": [1, "1"]}, [True, False, False, False]),
        ({"feature": "f", "op": "lt", "value": 2}, [True, True, False, False]),
        ({"feature": "i", "op": "not_null"}, [True, True, True, True]),
        ({"feature": "cat", "op": "is_null"}, [False, True, False, False]),
        (
            {
                "any": [
                    {"feature": "i", "op": "eq", "value": 0},
                    {"feature": "n", "op": "eq", "value": 3},
                ]
            },
            [True, False, True, False],
        ),
    ],
)
def test_a_condition_reads_a_frame_and_its_numpy_columns_alike(
    condition: dict, expected: list[bool]
) -> None:
    """Missing values never match (but ``is_null``), nullable and categorical
    columns included; the columns as numpy arrays give the same mask."""
    parsed = Condition.model_validate(condition)
    mask = condition_mask(_MIXED, parsed, "rules.points 't'")
    assert mask.tolist() == expected
    columns = {
        name: _MIXED[name].to_numpy(dtype=object, na_value=np.nan)
        if name in ("text", "cat")
        else _MIXED[name].to_numpy(dtype=float, na_value=np.nan)
        for name in _MIXED.columns
    }
    assert condition_mask(columns, parsed, "rules.points 't'").tolist() == expected


def test_ordering_a_text_column_is_refused_with_the_rule_name() -> None:
    parsed = Condition.model_validate({"feature": "text", "op": "gt", "value": "a"})
    with pytest.raises(ConfigError, match=r"rules\.points 't'.*'text'.*no order"):
        condition_mask(_MIXED, parsed, "rules.points 't'")


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"op": "lt", "value": "2026-01-01T00:00:00Z"}, [True, False, False]),
        ({"op": "eq", "value": "2026-01-01T01:00:00+01:00"}, [False, True, False]),
        ({"op": "in", "value": ["2026-01-01"]}, [False, True, False]),
        ({"op": "not_in", "value": ["2026-01-01"]}, [True, False, False]),
    ],
)
def test_a_time_column_compares_with_times_given_as_text(
    condition: dict, expected: list[bool]
) -> None:
    times = pd.DataFrame(
        {
            "as_of": pd.to_datetime(
                ["2025-12-31T23:00Z", "2026-01-01T00:00Z", None], utc=True
            )
        }
    )
    parsed = Condition.model_validate({"feature": "as_of", **condition})
    assert condition_mask(times, parsed, "rules.points 't'").tolist() == expected
