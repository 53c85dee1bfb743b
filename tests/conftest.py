"""Shared fixtures. Hypothesis profile: few examples and no deadline, so the suite stays fast on 2 cores."""

import shutil
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("project", max_examples=60, deadline=None, derandomize=True)  # reproducible CI
settings.load_profile("project")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of data/ for corruption tests."""
    dst = tmp_path / "data"
    shutil.copytree(ROOT / "data", dst)
    return dst
