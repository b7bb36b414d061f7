# %% [markdown]
# # 02 — Rules versus model
#
# Train the calibrated closing-probability model on the demo CRM exactly as
# `predscore train` does (snapshots, split by lead and time, engagement grid, trees
# stopped early, probability calibration), then compare it with the rule grid on
# the **same held-out leads**: ranking (ROC and PR AUC, lift), calibration (does
# "0.30" mean 30 in 100?), and the two trap segments of `01_explore_crm`.
# Finally the model is saved, read back and evaluated again beside two
# off-the-shelf references (`LGBMClassifier()` with its defaults, a logistic
# regression) fitted on the same leads.
#
# No MLflow here: `train_model` returns everything in memory. To log and register a
# model, run `predscore train` (it calls the same function).
#
# | variable | meaning | default |
# |---|---|---|
# | `PREDSCORE_NB_LEADS` | leads of the demo CRM | `configs/demo.yaml` (5,000) |
# | `PREDSCORE_NB_WORK` | folder for the generated data and the model | `data/notebooks/` |
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
import pandas as pd
from IPython.display import display

from predscore import (
    evaluate_model,
    generate_demo_data,
    load_bundle,
    load_config,
    load_dataset,
    save_bundle,
    train_model,
)
from predscore.config import load_section
from predscore.evaluation.calibration import calibration_table
from predscore.experiment import (
    evaluation_figures,
    intervals_table,
    metrics_table,
    segments_table,
)

pd.set_option("display.precision", 3)
config = load_config(ROOT / "configs")
if MODEL_CONFIG:
    config = config.model_copy(
        update={"model": load_section(Path(MODEL_CONFIG), "model")}
    )
demo = config.demo.model_copy(update={"leads": int(LEADS)}) if LEADS else config.demo

# %% [markdown]
# ## Data and training

# %%
folder = WORK / "02_demo"
generate_demo_data(folder, demo, config.icp)
tables = load_dataset(folder, pd.Timestamp(demo.end), config.validation).tables
result = train_model(tables, config, config.rules, progress=print)
print(
    f"split by {result.strategy}; trained in {result.timings['total_s']:.1f} s; "
    f"calibration: {result.metrics['calibration']['method']}"
)
pd.DataFrame(result.parts).T

# %% [markdown]
# Every choice was made by time-series cross-validation by lead: expanding-window
# folds, the newest weighing most. The engagement grid (decay half-life and windows;
# empty when the settings hold a single candidate), then every model candidate (tree
# complexities, the linear model, their blend, recency weights; lower score is
# better), and what was chosen:

# %%
display(result.grid, result.candidates, result.metrics["selected"])

# %% [markdown]
# ## Side by side on the out-of-fold rows
#
# Every probability below was made by a fit that never saw its lead (the
# cross-validation's); the calibration and the choices were made on these rows, so
# the honest figures come from `evaluate_model` below. The rules rank by their
# points; their points are also mapped to a probability the same way, so that Brier
# score and calibration error (ECE) mean the same for both.

# %%
metrics_table(result.metrics)

# %%
figures = evaluation_figures(result.test, result.importance)
display(figures["roc_pr.png"], figures["gains.png"])

# %% [markdown]
# ### Calibration
#
# Per band of predicted probability, the observed close rate: on the diagonal, a
# predicted 0.30 closes 30 times in 100.

# %%
display(figures["calibration.png"])
calibration_table(result.test["label"], result.test["probability"], bins=10)

# %% [markdown]
# ### The trap segments
#
# Mean probability and mean rank percentile (1 = ranked first) of the engaged
# leads without authority or project and of the quiet decision-makers with a
# deadline, among the test snapshots. The model learns to rank the quiet
# decision-makers above the engaged ones; the rule grid does not. On a small CRM a
# segment may hold only a few leads.

# %%
segments_table(result.metrics)

# %%
display(figures["importance.png"])
result.importance.head(15).rename("share").to_frame()

# %% [markdown]
# ## Out of time, beside the notebook references
#
# The bundle on disk holds the model, the features configuration it needs and the
# procedure that trained it. `evaluate_model` holds out the newest leads, replays
# that whole procedure at a few origins before them on what was known then, and
# fits the references (`model.evaluation.references`: a default `LGBMClassifier`, a
# logistic regression, optionally FLAML) on the same rows. The last table gives the
# model minus each other scorer with a paired bootstrap interval by lead: a
# difference whose interval holds 0 is inside the noise.

# %%
path = save_bundle(result.bundle, WORK / "02_model")
bundle = load_bundle(path)
metrics, scored = evaluate_model(tables, bundle, config, config.rules)
print(f"model read back from {path}; origins: {metrics['origins']}")
metrics_table(metrics)

# %%
segments_table(metrics)

# %%
intervals_table(metrics["intervals"])

# %% [markdown]
# Next: `03_explain_a_lead` opens the model up — why one lead scores what it
# scores, and which features matter overall.
