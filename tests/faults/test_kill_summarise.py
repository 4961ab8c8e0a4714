"""kill -9 in the middle of `pile summarise` against a slow endpoint: nothing half-written, and a re-run converges.

The loopback OpenAI-compatible server answers after a short latency, so the real CLI (in a subprocess)
is mid-run for seconds. It is killed three times: once its first calls are logged, and twice once it
has stored new summaries of its own. After each kill the pile passes SQLite's integrity check; a run to
the end leaves the same summaries, by (item, prompt, model, status), as an uninterrupted run, and a
further run makes no call at all.
"""

from __future__ import annotations

import pytest

from sabbatical import db
from sabbatical.workspace import init_workspace
from tests.faults.piles import assert_intact, count, summaries_state
from tests.faults.processes import kill_when, run_cli, start_cli
from tests.helpers.fake_openai import FakeOpenAI, configure_llm, insert_items, sample_documents

pytestmark = pytest.mark.slow

ITEMS = 150


def summarising_workspace(root, server):
    workspace, _ = init_workspace(root)
    conn = db.connect(workspace.pile_path)
    insert_items(conn, sample_documents(ITEMS))
    conn.close()
    configure_llm(workspace.root, base_url=server.url, model="loopback", concurrency=4, timeout=30.0)
    return workspace


def kill_points(pile):
    """The conditions of the three kills, given the counts before the run."""
    calls, stored = count(pile, "llm_calls"), count(pile, "summaries")
    return [
        lambda: count(pile, "llm_calls") >= calls + 3,  # calls logged, no batch stored yet
        lambda: count(pile, "summaries") > stored,  # the first batch of this run stored
        lambda: count(pile, "summaries") > stored,
    ]


def test_three_kills_mid_summarise_then_a_rerun_matches_an_uninterrupted_run(tmp_path):
    with FakeOpenAI(latency=0.05) as server:
        reference = summarising_workspace(tmp_path / "uninterrupted", server)
        done = run_cli(reference, "pile", "summarise")
        assert done.returncode == 0, done.stderr

        workspace = summarising_workspace(tmp_path / "killed", server)
        pile = workspace.pile_path
        landed = []
        for _attempt in range(9):
            if len(landed) == 3:
                break
            condition = kill_points(pile)[len(landed)]
            process = start_cli(workspace, "pile", "summarise")
            if kill_when(process, condition):
                landed.append((count(pile, "llm_calls"), count(pile, "summaries")))
            assert_intact(pile)
        assert len(landed) == 3, f"kills landed at (calls, summaries) {landed}; the rest ran to the end"
        assert landed[-1][1] < ITEMS
        print(f"\nkilled at (calls, summaries) {landed} of {ITEMS} items")

        calls_before = count(pile, "llm_calls")
        finished = run_cli(workspace, "pile", "summarise")
        assert finished.returncode == 0, finished.stderr
        assert_intact(pile)
        assert summaries_state(pile) == summaries_state(reference.pile_path)
        assert count(pile, "summaries", "status = 'ok'") == ITEMS
        assert count(pile, "llm_calls", "status != 'ok'") == 0
        # The finishing run asked only about the items without a stored summary, once each.
        assert count(pile, "llm_calls") - calls_before == ITEMS - landed[-1][1]

        calls = count(pile, "llm_calls")
        again = run_cli(workspace, "pile", "summarise")
        assert again.returncode == 0, again.stderr
        assert count(pile, "llm_calls") == calls
