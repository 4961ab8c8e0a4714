"""kill -9 in the middle of `read feed`: the pile stays consistent, and running again converges.

Five generated feeds (7,500 entries) are served on loopback. The real CLI reads them in a subprocess
and is killed with SIGKILL three times, each time once the run has committed new items of its own (the
first kill right after its first batch, the others deeper in). After every kill SQLite's integrity check
passes. A run to the end then leaves exactly the pile an uninterrupted run makes, and one more run reads
nothing new (the finished feeds answer 304).
"""

from __future__ import annotations

import pytest

from sabbatical.workspace import init_workspace
from tests.faults.feeds import write_feeds
from tests.faults.piles import assert_intact, count, ingested_state
from tests.faults.processes import kill_when, run_cli, start_cli

pytestmark = pytest.mark.slow

FEEDS, ENTRIES = 5, 1500
# New items a run must have committed before it is killed: the first batch, then deeper into the work.
KILL_AFTER = (1, 1200, 2500)


def test_three_kills_mid_ingest_then_a_rerun_matches_an_uninterrupted_run(feed_server, tmp_path):
    urls = [f"{feed_server.url}/{name}" for name in write_feeds(feed_server.root, FEEDS, ENTRIES)]
    reference, _ = init_workspace(tmp_path / "uninterrupted")
    done = run_cli(reference, "read", "feed", *urls)
    assert done.returncode == 0, done.stderr
    assert count(reference.pile_path, "items") == FEEDS * ENTRIES

    workspace, _ = init_workspace(tmp_path / "killed")
    pile = workspace.pile_path
    landed = []
    for _attempt in range(3 * len(KILL_AFTER)):
        if len(landed) == len(KILL_AFTER):
            break
        target = min(count(pile, "items") + KILL_AFTER[len(landed)], FEEDS * ENTRIES - ENTRIES)
        process = start_cli(workspace, "read", "feed", *urls)
        if kill_when(process, lambda target=target: count(pile, "items") >= target):
            landed.append(count(pile, "items"))
        assert_intact(pile)
    assert len(landed) == len(KILL_AFTER), f"kills landed with {landed} items; the rest ran to the end"
    assert landed[-1] < FEEDS * ENTRIES
    print(f"\nkilled with {landed} of {FEEDS * ENTRIES} items in the pile")

    finished = run_cli(workspace, "read", "feed", *urls)
    assert finished.returncode == 0, finished.stderr
    assert_intact(pile)
    assert ingested_state(pile) == ingested_state(reference.pile_path)
    again = run_cli(workspace, "read", "feed", *urls)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("0 new, 0 updated, 0 duplicate, 0 failed")
