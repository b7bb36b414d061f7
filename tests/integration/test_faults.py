"""Faults: a scoring job killed at random points, a disk that refuses to write, an
MLflow store that cannot be reached.

* ``predscore score`` is killed (SIGKILL, in its own process) after a delay drawn from
  a seed; ``--resume`` then always publishes files byte-identical to an uninterrupted
  run, and nothing is ever published half-written (one seed in ``make test``, ten
  in the slow run);
* when the disk refuses a write (the process's file-size limit: writes past it fail
  as on a full disk) or ``--out`` cannot be a folder, the command ends with a
  one-line error naming the file and publishes nothing;
* ``predscore train`` with an MLflow store it cannot reach fails before any training,
  naming the URI.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from model_data import demo_folders, small_bundle

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-10-01T00:00:00Z"
PREDSCORE = [str(Path(sys.executable).with_name("predscore"))]
FAST_SEEDS = [0]
ALL_SEEDS = list(range(10))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = demo_folders(tmp_path_factory.mktemp("faults"), ROOT)
    small_bundle(work / "valid", work / "bundle")
    return work


def _env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PREDSCORE_CONFIG_DIR": str(ROOT / "configs"),
        "OMP_NUM_THREADS": "1",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db",
    }


def _score_cmd(work: Path, out: Path, *extra: str) -> list[str]:
    return [
        *PREDSCORE,
        "score",
        "--data",
        str(work / "valid"),
        "--validated",
        "--as-of",
        AS_OF,
        "--model",
        str(work / "bundle"),
        "--out",
        str(out),
        "--chunk-leads",
        "40",
        *extra,
    ]


@pytest.fixture(scope="module")
def reference(work: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """An uninterrupted run: its files and how long it took."""
    tmp = tmp_path_factory.mktemp("reference")
    started = time.perf_counter()
    subprocess.run(_score_cmd(work, tmp / "out"), env=_env(tmp), check=True)
    return {
        "out": tmp / "out",
        "seconds": time.perf_counter() - started,
    }


def _killed_then_resumed(work: Path, reference: dict, tmp: Path, seed: int) -> None:
    out = tmp / "out"
    delay = np.random.default_rng(seed).uniform(0.2, reference["seconds"])
    child = subprocess.Popen(
        _score_cmd(work, out),
        env=_env(tmp),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    if out.exists():  # it finished before the kill: then it is complete
        assert (out / "manifest.json").is_file()
    else:
        subprocess.run(
            _score_cmd(work, out, "--resume"),
            env=_env(tmp),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    for name in ("scores.parquet", "rejections.parquet"):
        assert (out / name).read_bytes() == (reference["out"] / name).read_bytes()
    assert not (tmp / ".out.partial").exists()


@pytest.mark.parametrize("seed", FAST_SEEDS)
def test_a_killed_score_resumes_to_identical_files(
    work: Path, reference: dict, tmp_path: Path, seed: int
) -> None:
    _killed_then_resumed(work, reference, tmp_path, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", ALL_SEEDS)
def test_a_killed_score_resumes_to_identical_files_ten_seeds(
    work: Path, reference: dict, tmp_path: Path, seed: int
) -> None:
    _killed_then_resumed(work, reference, tmp_path, seed)


def _limited_disk() -> None:
    """In the child: writes past 64 KiB fail (EFBIG) instead of killing it."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_disk_that_refuses_writes_gives_one_line_and_publishes_nothing(
    work: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        _score_cmd(work, out),
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        preexec_fn=_limited_disk,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    text = done.stderr.replace("\n", "")
    assert "error:" in text and ": cannot write (" in text and "File too large" in text
    assert not out.exists()  # nothing published where the CRM looks


def test_an_out_that_cannot_be_a_folder_is_refused(work: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = subprocess.run(
        _score_cmd(work, blocker / "out"),
        env=_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert str(blocker) in done.stderr.replace("\n", "")


def test_an_unreachable_mlflow_store_fails_before_training(
    work: Path, tmp_path: Path
) -> None:
    uri = "http://127.0.0.1:9"  # the discard port: nothing listens
    env = {**_env(tmp_path), "MLFLOW_TRACKING_URI": uri}
    started = time.perf_counter()
    done = subprocess.run(
        [*PREDSCORE, "train", "--data", str(work / "valid"), "--validated"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    text = done.stderr.replace("\n", "")
    assert f"MLflow store {uri} cannot be reached" in text
    # told at once (one attempt, short timeout), before the minutes of a training
    assert time.perf_counter() - started < 20
