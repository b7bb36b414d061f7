"""Configuration: shipped files load, typos and bad values name the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from predscore.config import PredscoreConfig, load_config
from predscore.errors import ConfigError

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_shipped_configs_load() -> None:
    config = load_config(REPO_CONFIGS)
    assert isinstance(config, PredscoreConfig)
    assert config.demo.leads == 5000


def test_defaults_without_a_folder() -> None:
    assert load_config(None) == PredscoreConfig()


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    folder = _write(tmp_path / "c", "icp.yaml", "sectors: [saas]\nemployes: {min: 1}\n")
    with pytest.raises(ConfigError, match=r"icp\.yaml: key 'icp\.employes'"):
        load_config(folder)


def test_bad_value_names_file_and_key(tmp_path: Path) -> None:
    folder = _write(tmp_path / "c", "demo.yaml", "won_rate: 2\n")
    with pytest.raises(
        ConfigError, match=r"demo\.yaml: key 'demo\.won_rate'.*less than"
    ):
        load_config(folder)


def test_bad_icp_weight_dimension(tmp_path: Path) -> None:
    folder = _write(tmp_path / "c", "icp.yaml", "weights: {sector: 1, colour: 2}\n")
    with pytest.raises(ConfigError, match=r"unknown ICP dimension.*colour"):
        load_config(folder)


def test_invalid_yaml(tmp_path: Path) -> None:
    folder = _write(tmp_path / "c", "base.yaml", "seed: [1,\n")
    with pytest.raises(ConfigError, match=r"base\.yaml: not valid YAML"):
        load_config(folder)


def test_section_in_two_files(tmp_path: Path) -> None:
    folder = _write(tmp_path / "c", "base.yaml", "demo: {leads: 10}\n")
    _write(folder, "demo.yaml", "leads: 20\n")
    with pytest.raises(ConfigError, match="also defined"):
        load_config(folder)


def test_local_yaml_merges_last(tmp_path: Path) -> None:
    folder = _write(tmp_path / "c", "demo.yaml", "leads: 20\nseed: 3\n")
    _write(folder, "local.yaml", "demo: {leads: 30}\n")
    config = load_config(folder)
    assert (config.demo.leads, config.demo.seed) == (30, 3)


def test_naive_demo_dates_are_refused(tmp_path: Path) -> None:
    folder = _write(tmp_path / "c", "demo.yaml", "start: 2024-01-01T00:00:00\n")
    with pytest.raises(ConfigError, match="timezone"):
        load_config(folder)


def test_overrides_win(tmp_path: Path) -> None:
    config = load_config(None, {"demo": {"leads": 12}})
    assert config.demo.leads == 12


def test_shipped_serve_yaml_mirrors_the_defaults() -> None:
    assert load_config(REPO_CONFIGS).serve == PredscoreConfig().serve


def test_serve_host_is_not_a_url(tmp_path: Path) -> None:
    folder = _write(tmp_path / "c", "serve.yaml", "host: http://localhost\n")
    with pytest.raises(ConfigError, match=r"serve\.yaml: key 'serve\.host'.*not a URL"):
        load_config(folder)
