# %% [markdown]
# # 03 — Explain a lead
#
# Why does one open lead score what it scores? predscore splits the model's
# log-odds into per-feature contributions (LightGBM's TreeSHAP), groups the encoded
# columns back into the features a rep knows ("webinars attended", "timeline"),
# turns them into **points that add up exactly to the score** (100 × calibrated
# closing probability), and writes a sentence for each reason from
# `configs/explain.yaml`. The rule grid's own reasons are shown beside them.
# The second half looks at the whole test period: which features matter overall.
#
# | variable | meaning | default |
# |---|---|---|
# | `PREDSCORE_NB_LEADS` | leads of the demo CRM | `configs/demo.yaml` (5,000) |
# | `PREDSCORE_NB_WORK` | folder for the generated data | `data/notebooks/` |
# | `PREDSCORE_NB_MODEL` | model settings file, as `predscore train --config` | `configs/model.yaml` |

# %% tags=["parameters"]
import os
from pathlib import Path

# the project folder: the one holding configs/, from here or above
ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "configs").is_dir())
LEADS = os.environ.get("PREDSCORE_NB_LEADS")  # None: configs/demo.yaml
WORK = Path(os.environ.get("PREDSCORE_NB_WORK", ROOT / "data" / "notebooks"))
MODEL_CONFIG = os.environ.get("PREDSCORE_NB_MODEL")  # None: configs/model.yaml

# %%
# %matplotlib inline
import numpy as np
import pandas as pd
from IPython.display import display

from predscore import (
    Explainer,
    build_features,
    build_snapshots,
    explain_leads,
    generate_demo_data,
    load_config,
    load_dataset,
    train_model,
)
from predscore.config import load_section
from predscore.evaluation import QUIET_DEADLINE, trap_segments
from predscore.explain import check_additivity, global_view, reference_contributions

pd.set_option("display.precision", 3)
pd.set_option("display.max_colwidth", 90)
config = load_config(ROOT / "configs")
if MODEL_CONFIG:
    config = config.model_copy(
        update={"model": load_section(Path(MODEL_CONFIG), "model")}
    )
demo = config.demo.model_copy(update={"leads": int(LEADS)}) if LEADS else config.demo

# %% [markdown]
# ## A model and the open leads
#
# Train as in `02_rules_vs_model`, then build the features of every lead still open
# at the end of the CRM's history, with the feature settings the model was trained
# with (kept in its bundle), and explain them all.

# %%
folder = WORK / "03_demo"
generate_demo_data(folder, demo, config.icp)
as_of = pd.Timestamp(demo.end)
tables = load_dataset(folder, as_of, config.validation).tables
result = train_model(tables, config, config.rules)
bundle = result.bundle
rows = build_features(tables, as_of, bundle.features, bundle.icp)
explainer = Explainer.from_bundle(bundle, config.explain)
explained = explain_leads(rows, explainer, config.rules)
print(
    f"{len(explained):,} open leads as of {as_of:%Y-%m-%d}; largest gap between "
    f"base + reasons and the score: {check_additivity(explained):.2e} points"
)

# %% [markdown]
# The queue a rep would see, best first: the model's score, tier (the timeline's
# temperature) and route, and what the rule grid says.

# %%
queue = explained.sort_values("score", ascending=False)
queue.loc[
    :,
    [
        "lead_id",
        "score",
        "tier",
        "route",
        "grid",
        "rule_points",
        "rule_route",
        "eliminated_by",
    ],
].head(10)

# %% [markdown]
# ## One lead
#
# The lead chosen is the best-scored "quiet decision-maker with a deadline" (the
# segment the rule grid underrates), or the top of the queue when no open lead is
# in that segment.

# %%
quiet = trap_segments(rows)[QUIET_DEADLINE]
pool = explained.loc[quiet] if quiet.any() else explained
lead = pool.sort_values("score", ascending=False).iloc[0]
print(
    f"lead {lead['lead_id']}: score {lead['score']:.1f} / {config.explain.scale:g} "
    f"(closing probability {lead['probability']:.1%}), tier {lead['tier']}, "
    f"route {lead['route']}, grid {lead['grid']}\n"
    f"base {lead['base']:.1f} + fit {lead['fit_points']:.1f} + engagement "
    f"{lead['engagement_points']:.1f} + qualification "
    f"{lead['qualification_points']:.1f} points\n"
    f"rules: {lead['rule_points']:g} points → {lead['rule_route']}"
    + (f" ({lead['eliminated_by']})" if pd.notna(lead["eliminated_by"]) else "")
)

# %% [markdown]
# The model's reasons (strongest first; small ones folded into "N other factors"):

# %%
pd.DataFrame(lead["reasons"])

# %% [markdown]
# The rule grid's reasons for the same lead (every rule that fired):

# %%
pd.DataFrame(lead["rule_reasons"])

# %% [markdown]
# Every human feature of this lead, not only the top reasons (what
# `predscore explain --all` prints): base plus all the points is the score.

# %%
everything = config.explain.model_copy(update={"top_reasons": 10_000, "min_points": 0})
one = rows.loc[rows["lead_id"] == lead["lead_id"]]
full = explain_leads(one, Explainer.from_bundle(bundle, everything), config.rules)
reasons = pd.DataFrame(full.iloc[0]["reasons"])
print(
    f"base {full.iloc[0]['base']:.2f} + {reasons['points'].sum():.2f} points "
    f"= score {full.iloc[0]['score']:.2f}"
)
reasons.loc[:, ["family", "feature", "points", "text"]]

# %% [markdown]
# A check a sceptical reader can run: the contributions come from LightGBM's native
# TreeSHAP; shap's own TreeSHAP algorithm, run on the same trees, gives the same
# numbers.

# %%
native = bundle.model.contributions(one)
independent = reference_contributions(bundle.model, one)
gap = np.abs(native.to_numpy() - independent.loc[:, native.columns].to_numpy())
print(f"largest difference, native vs shap TreeSHAP: {gap.max():.2e} (log-odds)")

# %% [markdown]
# ## What matters overall
#
# The explanations of every test snapshot of the training (leads the model never
# saw): mean |contribution| per human feature, and the beeswarm (one dot per
# snapshot; colour = the feature's value, red high).

# %%
snapshots = build_snapshots(tables, bundle.features, bundle.icp)
test_rows = snapshots.loc[snapshots["lead_id"].isin(result.test["lead_id"])]
view = global_view(explainer.explain(test_rows), test_rows, explainer)
display(view.figure)
view.table.head(15)

# %% [markdown]
# By family (fit, engagement, qualification), the share of the model's attention:

# %%
view.table.groupby("family")["share"].sum().sort_values(ascending=False).to_frame()
