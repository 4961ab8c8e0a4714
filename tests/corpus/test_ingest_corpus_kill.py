"""kill -9 in the middle of a real ingest: the pile stays consistent, and running again completes it.

The real CLI runs in a subprocess over the OAI-PMH pages, the AI-blog feeds and a week of daily listings
(about 8,000 entries, ~60 sources). It is killed with SIGKILL at random moments after its first write to
the pile, a dozen times (a run that ends before its moment is tried again); after each kill SQLite's
integrity check must pass. Runs alternate between resuming (sources finished before are
skipped, so the remaining work shrinks) and `--force` (everything is read again, so the kill lands mid-run).
Then the command runs to the end, and the pile must hold exactly what an uninterrupted run produces.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from sabbatical.workspace import init_workspace

pytestmark = pytest.mark.slow
KILLS = 12


def inputs(corpus) -> list[str]:
    pages = [str(corpus / "arxiv/oai_pmh_2023-03-07" / f"ListRecords_data_{n}.xml") for n in range(3)]
    return [*pages, str(corpus / "feeds/ai_blogs"), str(corpus / "arxiv/daily_listings_cs.CV_cs.CL")]


def command(workspace, corpus, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sabbatical",
        "--workspace",
        str(workspace.root),
        "read",
        "file",
        *options,
        *inputs(corpus),
    ]


def run_to_the_end(workspace, corpus) -> subprocess.CompletedProcess:
    done = subprocess.run(command(workspace, corpus), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def state(workspace) -> dict:
    """Everything an ingest writes, in a form two piles can be compared by."""
    conn = sqlite3.connect(workspace.pile_path)
    try:
        return {
            "items": sorted(conn.execute("SELECT id, kind, content_hash, substr(metadata_from, 1, 5) FROM items")),
            "aliases": sorted(conn.execute("SELECT alias, item_id FROM aliases")),
            "item_sources": sorted(
                conn.execute(
                    "SELECT x.item_id, s.kind, s.locator FROM item_sources x JOIN sources s ON s.id = x.source_id"
                )
            ),
            "versions": sorted(conn.execute("SELECT item_id, version FROM item_versions")),
            "links": sorted(conn.execute("SELECT from_item, to_item FROM links")),
            "fts": conn.execute("SELECT COUNT(*) FROM items_fts").fetchone()[0],
        }
    finally:
        conn.close()


def check_consistent(workspace) -> None:
    if not workspace.pile_path.exists():
        return
    conn = sqlite3.connect(workspace.pile_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'items_fts'").fetchone():
            conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
    finally:
        conn.close()


def wal_stamp(workspace) -> tuple[int, int] | None:
    """Size and mtime of the pile's write-ahead log: every commit changes them."""
    try:
        stat = workspace.pile_path.with_name(workspace.pile_path.name + "-wal").stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def wait_for_a_write(workspace, process, before, patience: float = 120.0) -> None:
    """Wait until `process` has committed to the pile (start-up is over) or has ended."""
    deadline = time.monotonic() + patience
    while process.poll() is None and wal_stamp(workspace) == before and time.monotonic() < deadline:
        time.sleep(0.01)


def test_kill_9_at_random_moments_then_complete(corpus, tmp_path):
    reference, _ = init_workspace(tmp_path / "uninterrupted")
    started = time.monotonic()
    run_to_the_end(reference, corpus)
    full_run = time.monotonic() - started

    workspace, _ = init_workspace(tmp_path / "killed")
    chooser = random.Random(20260122)
    moments = []
    for attempt in range(KILLS * 4):  # bounded; a run that ends before its kill is simply tried again
        if len(moments) >= KILLS:
            break
        options = ("--force",) if attempt % 2 else ()
        before = wal_stamp(workspace)
        process = subprocess.Popen(
            command(workspace, corpus, *options), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_a_write(workspace, process, before)
        moment = chooser.uniform(0.0, max(0.5, full_run * 0.6))  # after its first write: mid-ingest
        time.sleep(moment)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            moments.append(round(moment, 2))
        process.wait(timeout=60)
        check_consistent(workspace)
    assert len(moments) >= 10, f"too few kills landed mid-run: {moments}"
    print(f"\nkilled {moments} s after each run's first write (an uninterrupted run takes {full_run:.1f} s)")

    run_to_the_end(workspace, corpus)
    check_consistent(workspace)
    assert state(workspace) == state(reference)
    again = run_to_the_end(workspace, corpus)
    assert again.stdout.strip().endswith("0 new, 0 updated, 0 duplicate, 0 failed")
