"""How well could any model rank the test period of ``predscore evaluate``?

Run ``.venv/bin/python benchmarks/ceiling.py --only uci_bank``. For a data set of
``benchmarks/results.py``, the newest ``split.test`` share of the labelled leads (the
leads ``predscore evaluate`` holds out) is scored by 5-fold cross-validation
*inside* that period: a default LightGBM and the logistic-regression reference,
trained on the test period's own leads. No deployable model can know that much of
the period it scores; the ROC AUC it reaches is a ceiling for an out-of-time model,
not a target.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import results
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold


def main(argv: list[str] | None = None) -> int:
    from predscore.config import load_config
    from predscore.experiment import reference_probability
    from predscore.model import holdout_leads

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="uci_bank")
    args = parser.parse_args(argv)
    data_set = next(d for d in results.DATA_SETS if d.name == args.only)
    config, _ = results._config_for(data_set, load_config(results.CONFIGS))
    candidates, strategy, _, _ = results.candidate_rows(data_set, config)
    rows = candidates[0][1]
    share = config.model.split.test
    held = holdout_leads(rows, share, strategy, config.seed)
    test = rows.loc[rows["lead_id"].isin(held).to_numpy()].reset_index(drop=True)
    codes = np.unique(test["lead_id"].to_numpy(), return_inverse=True)[1]
    folds = StratifiedGroupKFold(5, shuffle=True, random_state=config.seed)
    for name in ("lgbm_default", "logreg"):
        p = np.zeros(len(test))
        for fit, scored in folds.split(test, test["label"], codes):
            p[scored] = reference_probability(
                name, test.iloc[fit], test.iloc[scored], 1, config.seed
            )
        auc = roc_auc_score(test["label"], p)
        print(  # noqa: T201 - a benchmark script reports on stdout
            f"{data_set.name}: newest {share:.0%} ({test['lead_id'].nunique():,} "
            f"leads, close rate {test['label'].mean():.3f}); {name} cross-validated "
            f"inside that period: ROC AUC {auc:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
