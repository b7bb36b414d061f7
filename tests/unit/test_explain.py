"""The explain stage: TreeSHAP checked against shap, grouping, points, sentences."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from model_data import fast_config, small_demo
from predscore.config import (
    ExplainConfig,
    FeatureGroup,
    GridConfig,
    RoutingConfig,
    load_config,
)
from predscore.errors import ConfigError
from predscore.experiment import fit_procedure
from predscore.explain import (
    Explainer,
    build_grouping,
    check_additivity,
    explain_leads,
    global_view,
    points_scale,
    reference_contributions,
    round_to_total,
    route_leads,
)
from predscore.features import build_snapshots, feature_specs
from predscore.model import ModelBundle, holdout_leads, labelled_rows

pytestmark = pytest.mark.filterwarnings(
    "ignore::PendingDeprecationWarning:shap",
    "ignore:LightGBM binary classifier:UserWarning",
)
ROOT = Path(__file__).resolve().parents[2]
SHIPPED = load_config(ROOT / "configs")
#: one tree complexity (the 15-leaf one, which reads every feature group the
#: sentence tests quote), no linear model
TREES_ONLY = {
    "linear": {"enabled": False},
    "trees": [
        {"name": "trees_medium", "params": {"num_leaves": 15, "min_child_samples": 30}}
    ],
}


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    demo = small_demo(tmp_path_factory.mktemp("demo"))
    config = fast_config()
    snapshots = build_snapshots(demo, config.features, config.icp)
    rows, strategy, _ = labelled_rows(snapshots, config.model.split)
    held = rows["lead_id"].isin(holdout_leads(rows, 0.2, strategy, config.seed))
    return {
        "train": rows.loc[~held.to_numpy()].reset_index(drop=True),
        "test": rows.loc[held.to_numpy()].reset_index(drop=True),
    }


@pytest.fixture(scope="module")
def bundle(parts: dict[str, pd.DataFrame]) -> ModelBundle:
    # trees alone: their contributions are checked against shap's own TreeSHAP
    config = fast_config(**TREES_ONLY)
    fitted = fit_procedure([(config.features, parts["train"])], 1, config, "time")
    return ModelBundle(
        model=fitted.model,
        features=config.features,
        icp=config.icp,
        split=config.model.split,
        seed=config.seed,
    )


@pytest.fixture(scope="module")
def test_rows(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return parts["test"].reset_index(drop=True)


@pytest.fixture(scope="module")
def explainer(bundle: ModelBundle) -> Explainer:
    return Explainer.from_bundle(bundle, SHIPPED.explain)


def _every_group(bundle: ModelBundle, **changes: object) -> Explainer:
    """An explainer that shows every human feature (no folding)."""
    config = SHIPPED.explain.model_copy(
        update={"top_reasons": 1000, "min_points": 0.0, **changes}
    )
    return Explainer.from_bundle(bundle, config)


# -- contributions --------------------------------------------------------------------
def test_contributions_equal_shap_tree_explainer(
    bundle: ModelBundle, test_rows: pd.DataFrame
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap

    model = bundle.model
    native = model.contributions(test_rows)
    # shap's own C++ TreeSHAP on the parsed trees (not its pred_contrib shortcut)
    ours = reference_contributions(model, test_rows)
    np.testing.assert_allclose(ours.to_numpy(), native.to_numpy(), atol=1e-6, rtol=0)
    # and shap.TreeExplainer's default path on the same booster and rows
    matrix = pd.DataFrame(model.matrix(test_rows), columns=model.features_)
    default = shap.TreeExplainer(model.booster_).shap_values(
        matrix, tree_limit=model.best_iteration_
    )
    np.testing.assert_allclose(default, native.iloc[:, :-1], atol=1e-6, rtol=0)
    np.testing.assert_allclose(
        native.sum(axis=1), model.predict_raw(test_rows), atol=1e-6, rtol=0
    )


# -- points that add up -----------------------------------------------------------------
def test_points_add_up_to_the_score_on_every_test_lead(
    bundle: ModelBundle, explainer: Explainer, test_rows: pd.DataFrame
) -> None:
    e = explainer.explain(test_rows)
    np.testing.assert_allclose(
        e.probability, bundle.model.predict_proba(test_rows), atol=1e-9
    )
    np.testing.assert_allclose(e.score, 100 * e.probability)
    np.testing.assert_allclose(e.base + e.points.sum(axis=1), e.score, atol=1e-6)
    families = e.family_points().to_numpy()
    np.testing.assert_allclose(e.base + families.sum(axis=1), e.score, atol=1e-6)
    # kept reasons plus the folded rest of each family add up too
    kept = e.reasons.groupby("row")["points"].sum().reindex(range(len(e.score)))
    np.testing.assert_allclose(e.base + kept.fillna(0.0), e.score, atol=1e-6)
    # and so do the displayed (rounded) points with the displayed score and base
    shown = e.reasons.groupby("row")["shown"].sum().reindex(range(len(e.score)))
    np.testing.assert_allclose(
        np.floor(e.base + 0.5) + shown.fillna(0.0), np.floor(e.score + 0.5), atol=1e-9
    )
    assert set(e.reasons["family"]) <= {"fit", "engagement", "qualification"}


def test_points_keep_the_sign_and_order_of_the_contributions(
    explainer: Explainer, test_rows: pd.DataFrame
) -> None:
    e = explainer.explain(test_rows)
    moved = np.abs(e.score - e.base) > 1e-6
    assert np.all(
        np.sign(e.points[moved]) == np.sign(np.round(e.contributions[moved], 15))
    )
    row = int(np.flatnonzero(moved)[0])
    assert np.array_equal(
        np.argsort(e.points[row], kind="stable"),
        np.argsort(e.contributions[row], kind="stable"),
    )


def test_points_scale_at_the_base_uses_the_slope() -> None:
    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-z))

    s = points_scale(np.array([0.3, 0.3 + 1e-12]), 0.3, sigmoid, 100.0)
    slope = 100 * sigmoid(0.3) * (1 - sigmoid(0.3))
    np.testing.assert_allclose(s.ratio, slope, rtol=1e-6)
    phi = np.array([[0.5, -0.5], [1e-12, 0.0]])
    np.testing.assert_allclose(s.base + s.points(phi).sum(axis=1), s.score, atol=1e-9)


def test_isotonic_steps_still_add_up() -> None:
    def steps(z: np.ndarray) -> np.ndarray:
        return np.interp(z, [-2.0, 0.0, 0.1, 2.0], [0.05, 0.2, 0.2, 0.9])

    z = np.array([0.05, 1.0, -1.0, 0.0])
    s = points_scale(z, 0.0, steps, 100.0)
    phi = np.column_stack([z * 0.25, z * 0.75])
    np.testing.assert_allclose(s.base + s.points(phi).sum(axis=1), s.score, atol=1e-9)
    assert np.all(s.points(phi)[0] == 0)  # same flat step as the base: no movement


def test_round_to_total_makes_displayed_points_add_up() -> None:
    rng = np.random.default_rng(0)
    rows = np.repeat(np.arange(50), 5)
    points = rng.normal(0, 7, len(rows))
    base = 17.4
    score = base + np.bincount(rows, weights=points)
    shown = round_to_total(rows, points, score, base, 0, 50)
    assert np.all(shown == np.round(shown))
    assert np.all(np.abs(shown - points) < 1.0 + 1e-9)
    np.testing.assert_allclose(
        np.floor(base + 0.5) + np.bincount(rows, weights=shown), np.floor(score + 0.5)
    )


# -- grouping ---------------------------------------------------------------------------
def test_grouping_preserves_the_sum(
    bundle: ModelBundle, explainer: Explainer, test_rows: pd.DataFrame
) -> None:
    grouping = explainer.grouping
    columns = [c for g in grouping.groups for c in g.columns]
    assert sorted(columns) == sorted(bundle.model.features_)  # each column once
    phi = bundle.model.contributions(test_rows).to_numpy()[:, :-1]
    grouped = grouping.sum(phi)
    np.testing.assert_allclose(grouped.sum(axis=1), phi.sum(axis=1), atol=1e-12)
    webinars = next(g for g in grouping.groups if g.name == "webinars")
    assert {"n_webinar_attend_7d", "n_webinar_attend_90d", "decayed_webinar"} <= set(
        webinars.columns
    )
    assert webinars.family == "engagement"
    j = grouping.names.index("webinars")
    idx = [bundle.model.features_.index(c) for c in webinars.columns]
    np.testing.assert_allclose(grouped[:, j], phi[:, idx].sum(axis=1), atol=1e-12)


def test_default_grouping_sums_windows_of_one_measure(bundle: ModelBundle) -> None:
    grouping = build_grouping(
        bundle.model.features_,
        ExplainConfig(),
        feature_specs(bundle.features, bundle.icp),
    )
    group = next(g for g in grouping.groups if g.name == "n_email_open")
    assert group.columns == ("n_email_open_7d", "n_email_open_30d", "n_email_open_90d")
    assert group.value == "n_email_open_90d" and group.family == "engagement"


def test_a_group_across_families_must_name_its_family(bundle: ModelBundle) -> None:
    config = ExplainConfig(
        groups=[FeatureGroup(name="mixed", columns=["sector", "n_webinar_*"])]
    )
    specs = feature_specs(bundle.features, bundle.icp)
    with pytest.raises(ConfigError, match="'mixed'.*span the families"):
        build_grouping(bundle.model.features_, config, specs)
    fixed = config.model_copy(
        update={
            "groups": [
                FeatureGroup(
                    name="mixed", columns=["sector", "n_webinar_*"], family="fit"
                )
            ]
        }
    )
    assert (
        build_grouping(bundle.model.features_, fixed, specs).groups[0].family == "fit"
    )


# -- sentences --------------------------------------------------------------------------
def _lead(test_rows: pd.DataFrame, **values: object) -> pd.DataFrame:
    row = test_rows.iloc[[0]].copy()
    for column, value in values.items():
        if isinstance(row[column].dtype, pd.CategoricalDtype):
            row[column] = pd.Categorical([value], categories=row[column].cat.categories)
        else:
            row[column] = value
    return row.reset_index(drop=True)


def _texts(explainer: Explainer, rows: pd.DataFrame) -> dict[str, str]:
    reasons = explainer.explain(rows).reasons
    return dict(zip(reasons["feature"], reasons["text"], strict=True))


def test_templates_render_the_real_values(
    bundle: ModelBundle, test_rows: pd.DataFrame
) -> None:
    row = _lead(
        test_rows,
        # a consistent record (2 attended of 2 registered): the model reads the
        # webinar columns it split on, not only the one the sentence quotes
        n_webinar_attend_90d=2,
        n_webinar_register_90d=2,
        n_webinar_90d=2,
        n_distinct_webinar_detail_90d=1,
        employees=30.0,
        role="user",
        qual_timeline_months=3.0,
    )
    texts = _texts(_every_group(bundle), row)
    assert texts["webinars"].startswith("attended 2 webinars in the last 90 days: ")
    assert texts["company size"].startswith(
        "company of 30 employees, below the 50–1,000 target: "
    )
    assert texts["buying role"].startswith("no decision-maker identified (role: user)")
    assert texts["timeline"].startswith("project expected within 3 months: ")
    # the points in the sentence are the displayed points of the reason
    reasons = _every_group(bundle).explain(row).reasons.set_index("feature")
    shown = reasons.loc["webinars", "shown"]
    sign = "+" if shown > 0 else "−" if shown < 0 else ""
    unit = "pt" if abs(shown) == 1 else "pts"
    assert texts["webinars"].endswith(f": {sign}{abs(shown):.0f} {unit}")


def test_missing_values_read_unknown_never_nan(
    bundle: ModelBundle, test_rows: pd.DataFrame
) -> None:
    row = _lead(
        test_rows,
        employees=np.nan,
        annual_revenue=np.nan,
        sector=None,
        role=None,
        seniority=None,
        department=None,
        qual_timeline_months=np.nan,
        qual_budget=np.nan,
        days_since_last_touch=np.nan,
        icp_fit_score=np.nan,
    )
    texts = _texts(_every_group(bundle), row)
    for text in texts.values():
        assert "nan" not in text.lower().split() and "None" not in text, text
    assert texts["company size"].startswith("company size unknown: ")
    assert texts["buying role"].startswith("no decision-maker identified: ")
    assert texts["timeline"].startswith("project timeline unknown: ")
    assert texts["recent activity"].startswith("never engaged with us: ")
    # a template without an `unknown` sentence still says unknown, whatever the format
    assert texts["profile fit"].startswith("unknown match with the ideal customer")
    values = _every_group(bundle).explain(row).reasons.set_index("feature")["value"]
    assert values["company size"] is None


def test_templates_can_be_french(bundle: ModelBundle, test_rows: pd.DataFrame) -> None:
    groups = [
        FeatureGroup(
            name="webinaires",
            columns=["*webinar*"],
            value="n_webinar_attend_90d",
            text="a assisté à {value} webinaires ces 90 derniers jours",
        ),
        FeatureGroup(
            name="taille",
            columns=["employees"],
            unknown="taille de l'entreprise inconnue",
            text="entreprise de {value:.0f} salariés",
        ),
        FeatureGroup(name="budget", columns=["qual_budget*"], text="budget : {value}"),
    ]
    explainer = _every_group(
        bundle,
        groups=groups,
        unknown="inconnu",
        points_text="{text} : {points} {unit}",
        unit="points",
        unit_one="point",
    )
    row = _lead(test_rows, n_webinar_attend_90d=3, employees=np.nan, qual_budget=np.nan)
    texts = _texts(explainer, row)
    assert texts["webinaires"].startswith("a assisté à 3 webinaires ces 90 derniers")
    assert texts["webinaires"].endswith((" point", " points"))
    assert texts["taille"].startswith("taille de l'entreprise inconnue : ")
    assert texts["budget"].startswith("budget : inconnu : ")


def test_a_template_that_does_not_fit_the_values_names_the_group(
    bundle: ModelBundle, test_rows: pd.DataFrame
) -> None:
    groups = [FeatureGroup(name="bad", columns=["sector"], text="{value:.0f} sector")]
    explainer = _every_group(bundle, groups=groups)
    with pytest.raises(ConfigError, match="'bad'.*cannot be filled"):
        explainer.explain(_lead(test_rows, sector="fintech"))


# -- batch output, routes, grid, global view ---------------------------------------------
def test_explain_leads_carries_family_points_tier_route_and_rules(
    explainer: Explainer, test_rows: pd.DataFrame
) -> None:
    out = explain_leads(test_rows, explainer, SHIPPED.rules)
    for column in ("fit_points", "engagement_points", "qualification_points"):
        assert out[column].notna().all()
    assert set(out["grid"]) <= {f"{a}{b}" for a in "ABCD" for b in "1234"}
    assert set(out["tier"]) <= {"hot", "warm", "cold"}
    assert set(out["route"]) <= {"meeting", "nurture", "disqualify"}
    vetoed = out["eliminated_by"].isin(["student_or_job_seeker"])
    assert (out.loc[vetoed, "route"] == "disqualify").all()
    # the other criteria do not veto the model: strong leads they eliminate stay
    assert (
        out.loc[out["eliminated_by"].notna() & ~vetoed, "route"] != "disqualify"
    ).any()
    assert check_additivity(out) < 1e-6
    assert all(len(r) for r in out["reasons"])
    assert set(out["reasons"].iloc[0][0]) == {
        "feature",
        "family",
        "value",
        "points",
        "text",
    }


def test_routes_follow_the_configured_probabilities() -> None:
    config = RoutingConfig(
        meeting_min_probability=0.5, disqualify_below_probability=0.1
    )
    routes = route_leads(np.array([0.5, 0.49, 0.1, 0.09]), None, config)
    assert routes.tolist() == ["meeting", "nurture", "nurture", "disqualify"]
    with pytest.raises(ValidationError, match="must be <="):
        RoutingConfig(meeting_min_probability=0.1, disqualify_below_probability=0.2)
    with pytest.raises(ValidationError, match="descending"):
        GridConfig(fit=[0, 5, -5])


def test_chunks_give_the_same_explanation(
    bundle: ModelBundle, explainer: Explainer, test_rows: pd.DataFrame
) -> None:
    rows = test_rows.head(40)
    whole = explainer.explain(rows)
    small = Explainer.from_bundle(
        bundle, SHIPPED.explain.model_copy(update={"chunk_rows": 7})
    ).explain(rows)
    np.testing.assert_array_equal(whole.points, small.points)
    pd.testing.assert_frame_equal(whole.reasons, small.reasons)


def test_no_rows_give_an_empty_explanation(
    explainer: Explainer, test_rows: pd.DataFrame
) -> None:
    e = explainer.explain(test_rows.head(0))
    assert e.points.shape == (0, len(explainer.grouping.groups))
    assert len(e.reasons) == 0 and 0 < e.base < 100
    assert explain_leads(test_rows.head(0), explainer, SHIPPED.rules).empty


def test_global_view_ranks_human_features(
    explainer: Explainer, test_rows: pd.DataFrame
) -> None:
    rows = test_rows.head(300)
    view = global_view(explainer.explain(rows), rows, explainer)
    table = view.table
    assert len(table) == len(explainer.grouping.groups)
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["mean_abs_logodds"].is_monotonic_decreasing
    assert view.figure.axes


def test_shipped_config_loads_and_rejects_typos(tmp_path: Path) -> None:
    assert SHIPPED.explain.scale == 100
    assert any(g.name == "webinars" for g in SHIPPED.explain.groups)
    (tmp_path / "explain.yaml").write_text("top_reason: 3\n")
    with pytest.raises(ConfigError, match="explain.yaml: key 'explain.top_reason'"):
        load_config(tmp_path)
