# %% [markdown]
# # 01 — Explore the demo CRM
#
# The synthetic CRM of `predscore demo-data` (accounts, leads, activity log,
# BANT/MEDDICC answers, won/lost outcomes), seen the way a data team would first look
# at a real export: how many leads reach each stage of the funnel, whether the
# engaged leads close more often, and **the trap** — leads who read, click and
# attend everything without authority or project, who close far less than quiet
# decision-makers with a deadline, yet collect more points from a classic rule grid.
#
# Everything below calls predscore's public API; the notebook only chooses what to
# show. Parameters come from environment variables so that `make test` can run it on
# a small CRM:
#
# | variable | meaning | default |
# |---|---|---|
# | `PREDSCORE_NB_LEADS` | leads of the demo CRM | `configs/demo.yaml` (5,000) |
# | `PREDSCORE_NB_WORK` | folder for the generated data | `data/notebooks/` |

# %% tags=["parameters"]
import os
from pathlib import Path

# the project folder: the one holding configs/, from here or above
ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "configs").is_dir())
LEADS = os.environ.get("PREDSCORE_NB_LEADS")  # None: configs/demo.yaml
WORK = Path(os.environ.get("PREDSCORE_NB_WORK", ROOT / "data" / "notebooks"))

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import display
from matplotlib.figure import Figure

from predscore import build_snapshots, generate_demo_data, load_config, load_dataset
from predscore.demo.trap import segment_close_rates
from predscore.evaluation import engagement_close_rates, funnel_table
from predscore.rules import evaluate_rules

pd.set_option("display.precision", 3)
config = load_config(ROOT / "configs")
demo = config.demo.model_copy(update={"leads": int(LEADS)}) if LEADS else config.demo

# %% [markdown]
# ## The data
#
# Generate the CRM (same configuration and seed ⇒ byte-identical files), then
# validate it as of the end of its history: the generator corrupts a few rows on
# purpose, as real exports are, and validation rejects them with a reason.

# %%
folder = WORK / "01_demo"
summary = generate_demo_data(folder, demo, config.icp)
validated = load_dataset(folder, pd.Timestamp(demo.end), config.validation)
tables = validated.tables
print(
    f"{demo.leads:,} leads drawn: {summary.won:,} won, {summary.lost:,} lost, "
    f"{summary.open:,} open; {len(validated.rejections):,} rows rejected"
)
validated.summary

# %%
validated.rejections.groupby(["table", "reason"]).size().rename("rows").to_frame()

# %% [markdown]
# ## The funnel
#
# A lead counts in every stage it reached (`predscore.evaluation.FUNNEL_STAGES`
# lists the activities of each stage; stages are not forced to nest). The close rate
# is won / closed among the leads of the stage: it climbs from the engaged leads to
# those who had a sales conversation, a meeting, and gave qualification answers.

# %%
funnel = funnel_table(tables)
funnel

# %%
fig = Figure(figsize=(11, 3.8))
ax_leads, ax_rate = fig.subplots(1, 2)
ax_leads.barh(funnel["stage"][::-1], funnel["leads"][::-1])
ax_leads.set(xlabel="leads", title="Leads that reached each stage")
stages = funnel[funnel["closed"] > 0]
ax_rate.barh(stages["stage"][::-1], stages["close_rate"][::-1], color="tab:green")
ax_rate.set(xlabel="close rate (won / closed)", title="How those leads closed")
fig.tight_layout()
fig

# %% [markdown]
# ## Engagement and closing
#
# Closed leads in five equal bands of lifetime marketing engagement (email opens and
# clicks, webinar attendance, content downloads). Engagement goes with closing
# overall — which is why every rule grid rewards it. Split by role, the picture
# changes: at every level of engagement decision-makers close more often than the
# other roles, and the most engaged users close less often than decision-makers of
# middling engagement.

# %%
by_band = engagement_close_rates(tables, bins=5)
by_band

# %%
by_role = engagement_close_rates(tables, bins=5, by="role")
rates = by_role.pivot(index="band", columns="role", values="close_rate")
fig = Figure(figsize=(7, 4))
ax = rates.plot(marker="o", ax=fig.subplots())
ax.set(
    xlabel="engagement band (1 = least engaged)",
    ylabel="close rate",
    title="Close rate by engagement band and role",
)
fig.tight_layout()
display(rates, fig)

# %% [markdown]
# ## The trap
#
# Two segments of the closed leads, measured on the raw tables: the **engaged**
# (top-quartile engagement) with no authority and no confirmed project, and the
# **quiet** (at most median engagement) decision-makers with a confirmed need and a
# deadline within 3 months.

# %%
segment_close_rates(tables)

# %% [markdown]
# ### The rule grid falls into it
#
# `configs/rules.yaml` is the classic grid (fit points, engagement points, ≥ 40 →
# meeting). Scored on every training snapshot (one row per closed lead every
# `snapshot_every_days` until its close), it gives the engaged leads more points on
# average than the quiet decision-makers and sends them to a meeting more often,
# although they close about ten times less; on the rows of the two segments, its
# points rank no better than chance (ROC AUC near 0.5).

# %%
snapshots = build_snapshots(tables, config.features, config.icp)
rules = evaluate_rules(snapshots, config.rules)
print(
    f"{len(snapshots):,} snapshots of {snapshots['lead_id'].nunique():,} closed leads; "
    f"rule points: ROC AUC {rules.metrics['roc_auc']:.3f}, "
    f"on the trap segments only {rules.metrics['trap_roc_auc']:.3f}"
)
rules.segments

# %%
rules.routes

# %%
rules.criteria

# %% [markdown]
# Next: `02_rules_vs_model` trains the calibrated model on the same kind of data and
# compares it with these rules on the same held-out leads.
