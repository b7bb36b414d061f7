# %% [markdown]
# # 04 — A real, public data set
#
# The same workflow on a real CRM export: ingest it through its column mapping
# (`configs/mappings/<name>.yaml`: which source column feeds which canonical column,
# and which columns **leak the outcome** and are never imported), train the model,
# and judge it out of sample with the data set's rule grid
# (`configs/rules/<name>.yaml`) and with the references fitted on the same rows:
# `LGBMClassifier()` with its defaults, a logistic regression (and FLAML when the
# configuration lists it).
#
# The public data sets live outside the repository, in `../shared/datasets` (or the
# folder named by `PREDSCORE_DATASETS`); nothing is copied into the repository.
# `make test` runs this notebook on X Education and skips it, saying why, when the
# folder is absent. `make results` measures every data set with retraining at
# several origins or cross-validation by lead (`docs/results.md`); here the test
# leads are those `evaluate_model` holds out.
#
# | variable | meaning | default |
# |---|---|---|
# | `PREDSCORE_DATASETS` | folder of the public data sets | `../shared/datasets` |
# | `PREDSCORE_NB_DATASET` | which one (a mapping name below) | `x_education` |
# | `PREDSCORE_NB_MODEL` | model settings file, as `predscore train --config` | `configs/model.yaml` |

# %% tags=["parameters"]
import os
from pathlib import Path

# the project folder: the one holding configs/, from here or above
ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "configs").is_dir())
DATASETS = Path(
    os.environ.get("PREDSCORE_DATASETS", ROOT.parent / "shared" / "datasets")
)
DATASET = os.environ.get("PREDSCORE_NB_DATASET", "x_education")
MODEL_CONFIG = os.environ.get("PREDSCORE_NB_MODEL")  # None: configs/model.yaml
# mapping name → its folder under DATASETS
FOLDERS = {
    "x_education": "x_education_leads",
    "uci_bank": "uci_bank_marketing",
    "ibm_sales": "ibm_sales_win_loss",
    "olist": "olist_marketing_funnel",
    "maven_crm": "maven_crm_sales_opportunities",
}
# validation cut-off: after every record of the public data sets
AS_OF = "2026-10-01T00:00:00Z"

# %%
# %matplotlib inline
import pandas as pd
from IPython.display import display

from predscore import evaluate_model, load_config, load_mapping, load_rules, train_model
from predscore.config import load_section
from predscore.experiment import evaluation_figures, intervals_table, metrics_table
from predscore.ingest import ingest

pd.set_option("display.precision", 3)
config = load_config(ROOT / "configs")
if MODEL_CONFIG:
    config = config.model_copy(
        update={"model": load_section(Path(MODEL_CONFIG), "model")}
    )
source = DATASETS / FOLDERS[DATASET]
if not source.is_dir():
    raise FileNotFoundError(
        f"{source} not found: set PREDSCORE_DATASETS to the folder of the public "
        "data sets (see ../shared/datasets/README.md)"
    )

# %% [markdown]
# ## Ingest
#
# Every source row ends up in a canonical table or among the rejections, with its
# reason; the leak columns are listed with why they leak.

# %%
mapping_path = ROOT / "configs" / "mappings" / f"{DATASET}.yaml"
mapping = load_mapping(mapping_path)
ingested = ingest(mapping, source, pd.Timestamp(AS_OF), config.validation, mapping_path)
tables = ingested.tables
print(f"{mapping.description}: {len(ingested.rejections):,} rows rejected")
display(ingested.summary, ingested.labels)
pd.DataFrame(mapping.leaks.items(), columns=["leak column (dropped)", "why"])

# %% [markdown]
# ## Train, then judge out of sample beside the notebook references

# %%
rules = load_rules(ROOT / "configs" / "rules" / f"{DATASET}.yaml")
result = train_model(tables, config, rules, progress=print)
print(f"split by {result.strategy}; trained in {result.timings['total_s']:.1f} s")
pd.DataFrame(result.parts).T

# %%
metrics, scored = evaluate_model(tables, result.bundle, config, rules)
print(f"{metrics['rows']:,} test rows of {metrics['leads']:,} leads")
display(metrics_table(metrics), intervals_table(metrics["intervals"]))

# %%
figures = evaluation_figures(scored, result.importance)
display(figures["roc_pr.png"], figures["calibration.png"], figures["gains.png"])

# %% [markdown]
# What the model leans on. On a one-table export every feature is a lead attribute;
# a feature that dominates suspiciously is the first place to look for a leak the
# mapping missed.

# %%
display(figures["importance.png"])
result.importance.head(10).rename("share").to_frame()
