"""``import predscore``: one public surface, no side effects, the installed version."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import predscore


def _fresh(code: str) -> dict:
    """Run ``code`` in a new interpreter (nothing imported yet); it prints JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_public_name_resolves_and_is_listed_once() -> None:
    assert len(set(predscore.__all__)) == len(predscore.__all__)
    for name in predscore.__all__:
        assert getattr(predscore, name) is not None, name
    assert set(predscore.__all__) <= set(dir(predscore))
    # what a command does is one function here
    for name in ("read_dataset", "build_features", "train_and_register", "score_leads"):
        assert callable(getattr(predscore, name))


def test_version_is_the_installed_package_metadata() -> None:
    assert predscore.__version__ == version("predscore")


def test_import_is_light_and_changes_nothing_global() -> None:
    seen = _fresh(
        "import json, sys, warnings\n"
        "before = list(warnings.filters)\n"
        "import predscore\n"
        "heavy = [m for m in ('lightgbm', 'mlflow', 'shap', 'sklearn', 'duckdb',"
        " 'matplotlib', 'pandera') if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'filters': warnings.filters == before}))"
    )
    assert seen == {"heavy": [], "filters": True}


def test_plotting_modules_leave_the_backend_alone() -> None:
    seen = _fresh(
        "import json, warnings, matplotlib\n"
        "matplotlib.use('svg')\n"
        # the libraries predscore builds on first: some add filters of their own
        "import pandera.pandas, shap, sklearn, lightgbm, scipy.stats\n"
        "before = list(warnings.filters)\n"
        "import predscore.explain, predscore.evaluation.plots, predscore.schema\n"
        "print(json.dumps({'backend': matplotlib.get_backend(),"
        " 'filters': [str(f) for f in warnings.filters if f not in before]}))"
    )
    assert seen == {"backend": "svg", "filters": []}  # predscore adds none
