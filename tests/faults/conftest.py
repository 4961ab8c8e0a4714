"""Fixtures of the fault suite.

`corpus` is the corpus tests' own fixture, re-exported so fault tests on ../shared/corpus skip when it is
absent and fail under SABBATICAL_REQUIRE_CORPUS=1, exactly like tests/corpus/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus.conftest import corpus  # noqa: F401  (re-exported fixture)
from tests.faults.feeds import GatedServer


@pytest.fixture
def feed_server(tmp_path: Path):
    """A loopback server for generated feeds in tmp_path/feeds (ETags, 304s; paths can be held back)."""
    root = tmp_path / "feeds"
    root.mkdir()
    server = GatedServer(root).start()
    yield server
    server.release_all()
    server.stop()
