"""The notebooks of ``notebooks/`` run from top to bottom on small data.

Each notebook is a jupytext percent script (``NN_topic.py``). It is converted in
memory to a notebook and executed by a real Jupyter kernel (nbclient + ipykernel),
cell by cell, in the ``notebooks/`` folder, exactly as "Run all" would: a notebook
that no longer runs against the current package fails ``make test``. Small
parameters keep it to seconds per notebook:

* ``PREDSCORE_NB_LEADS=1500``: a small demo CRM;
* ``PREDSCORE_NB_WORK``: a temporary folder for the generated data;
* ``PREDSCORE_NB_MODEL=tests/notebooks/fast_model.yaml``: one engagement candidate,
  fewer boosting rounds, one LightGBM thread;
* one BLAS/OpenMP thread: the test machine's two cores are shared, and spinning
  threads that outnumber the free cores make LightGBM and the logistic regression
  many times slower;
* matplotlib's inline backend, as in Jupyter: it draws with Agg (no display needed)
  and renders every figure a cell shows to PNG, so a plot that cannot be drawn fails
  the test too.

``04_real_data`` reads a public data set of ``../shared/datasets`` (or
``$PREDSCORE_DATASETS``) and is skipped, with the reason, when the folder is absent.

Static checks keep the notebooks honest: no function or class is defined in a
notebook and nothing private of predscore is imported (logic lives in the package,
notebooks only call it), and each file is in jupytext's canonical percent format.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))
EXPECTED = ("01_explore_crm", "02_rules_vs_model", "03_explain_a_lead", "04_real_data")
DATASETS = Path(
    os.environ.get("PREDSCORE_DATASETS", REPO.parent / "shared" / "datasets")
)
#: notebooks that read the public data sets, and the folder each one needs
NEEDS_DATASET = {"04_real_data": "x_education_leads"}
FAST_MODEL = Path(__file__).parent / "fast_model.yaml"
LEADS = 1500
CELL_TIMEOUT = 600  # seconds; a cell takes a few on the small data


def _case(path: Path) -> object:
    """One parameter per notebook; those needing a data set skip without it."""
    marks = []
    folder = NEEDS_DATASET.get(path.stem)
    if folder is not None:
        marks = [
            pytest.mark.datasets,
            pytest.mark.skipif(
                not (DATASETS / folder).is_dir(),
                reason=f"{path.stem} reads the public data set {DATASETS / folder}, "
                "which is absent (set PREDSCORE_DATASETS to the data sets' folder)",
            ),
        ]
    return pytest.param(path, id=path.stem, marks=marks)


def _code_cells(path: Path) -> list[str]:
    """Python source of each code cell (magics turned into plain calls, as IPython)."""
    notebook = jupytext.read(path)
    python = TransformerManager()
    return [
        python.transform_cell(c.source) for c in notebook.cells if c.cell_type == "code"
    ]


def test_the_four_notebooks_are_there() -> None:
    assert tuple(p.stem for p in NOTEBOOKS) == EXPECTED
    listed = (NOTEBOOKS_DIR / "README.md").read_text()
    for name in EXPECTED:
        assert f"{name}.py" in listed, f"notebooks/README.md does not list {name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_canonical_percent_script(path: Path) -> None:
    """Saving it again through jupytext changes nothing: clean diffs, no outputs."""
    text = path.read_text()
    notebook = jupytext.reads(text, fmt="py:percent")
    assert jupytext.writes(notebook, fmt="py:percent") == text
    assert all(not c.get("outputs") for c in notebook.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_holds_no_logic_of_its_own(path: Path) -> None:
    """No def, class or lambda; only public names of predscore are imported."""
    for source in _code_cells(path):
        tree = ast.parse(source)
        for node in ast.walk(tree):
            assert not isinstance(
                node,
                ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda,
            ), f"{path.name}: line '{ast.unparse(node)[:60]}' defines logic"
            if isinstance(node, ast.Import):
                private = [a.name for a in node.names if re.search(r"\._", a.name)]
                assert not private, f"{path.name} imports private {private}"
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "predscore"
            ):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not re.search(r"(^|\.)_", node.module or ""), node.module
                assert not private, f"{path.name} imports private {private}"


@pytest.mark.parametrize("path", [_case(p) for p in NOTEBOOKS])
def test_notebook_runs(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Executed top to bottom by a Jupyter kernel; every cell succeeds."""
    # the kernel is a child process: it inherits these
    monkeypatch.setenv("PREDSCORE_NB_LEADS", str(LEADS))
    monkeypatch.setenv("PREDSCORE_NB_WORK", str(tmp_path))
    monkeypatch.setenv("PREDSCORE_NB_MODEL", str(FAST_MODEL))
    monkeypatch.setenv("PREDSCORE_DATASETS", str(DATASETS))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # no user-level "python3" kernel of another environment may shadow this one's
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    for threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(threads, "1")
    notebook = jupytext.read(path)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "a cell did not run"
    outputs = [o for c in code for o in c.outputs]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} shows no figure as a PNG"
    # every cell but the parameters and the imports shows something to its reader
    assert sum(bool(c.outputs) for c in code) >= len(code) - 2
    nbformat.validate(notebook)
