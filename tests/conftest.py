"""Shared test fixtures.

Reference instrument files are found through ``SSB_REFERENCE_DATA`` (default
``../shared/reference_data`` next to the repository). Where they are absent the tests that
need them skip with a clear message, except when ``CI`` is set: then they fail.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def in_ci() -> bool:
    """True when running under CI (the ``CI`` environment variable is set and not 0/false)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def reference_dir() -> Path:
    """Folder of the shared reference instrument files."""
    return Path(os.environ.get("SSB_REFERENCE_DATA", REPO.parent / "shared" / "reference_data"))


def require(condition: bool, reason: str) -> None:
    """Skip the current test with ``reason`` unless ``condition``; fail instead under CI."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """Path of the reference-data folder (``eis/`` and ``cycling/`` inside)."""
    d = reference_dir()
    require(d.is_dir(), f"reference data not found at {d} (set SSB_REFERENCE_DATA)")
    return d


@pytest.fixture
def ref_file(reference_data):
    """Return a function ``ref_file('eis/name.csv') -> Path`` that skips/fails when absent."""

    def _get(rel: str) -> Path:
        p = reference_data / rel
        require(p.is_file(), f"reference file {p} not found")
        return p

    return _get
