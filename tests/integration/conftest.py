"""Fixtures of the integration tests of the web app, the API and the report."""

from __future__ import annotations

import pytest

from served_data import Served, build_served


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    """The real pipeline's batch with markup in CRM fields (see served_data.py)."""
    return build_served(tmp_path_factory.mktemp("served"))
