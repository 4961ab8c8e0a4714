"""Tests on the real third-party corpus in ../shared/corpus.

They skip with a reason when the corpus is absent, and fail instead when SABBATICAL_REQUIRE_CORPUS=1
(CI sets it), so a missing corpus can never pass silently there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import corpus_dir


@pytest.fixture(scope="session")
def corpus() -> Path:
    root = corpus_dir()
    if not (root / "SOURCES.md").is_file():
        message = f"the shared corpus is not at {root} (set SABBATICAL_CORPUS or check out ../shared)"
        if os.environ.get("SABBATICAL_REQUIRE_CORPUS") == "1":
            pytest.fail(message + " and SABBATICAL_REQUIRE_CORPUS=1")
        pytest.skip(message)
    return root.resolve()
