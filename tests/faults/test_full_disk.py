"""A full disk under the pile: one clear error, no traceback, the pile intact, and a later run completes.

Two ways to run out of space while the real CLI writes: a file-size limit (RLIMIT_FSIZE, no privileges
needed; with SIGXFSZ ignored a write past it fails with EFBIG, which SQLite reports as an I/O error) and,
where the tests may mount, a tiny tmpfs holding the workspace (ENOSPC, SQLite's "database or disk is
full"). Both hit mid-run, after earlier work was stored.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess

import pytest

from sabbatical import db
from sabbatical.workspace import init_workspace
from tests.faults.feeds import write_feeds
from tests.faults.piles import assert_intact, count, ingested_state
from tests.faults.processes import assert_clean_failure, error_lines, run_cli
from tests.helpers.fake_openai import insert_items, sample_documents

FEEDS, ENTRIES = 4, 1500
HEADROOM = 300_000  # bytes a run may write to any one file before the limit bites


def file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def largest_pile_file(workspace) -> int:
    files = [workspace.pile_path.with_name(workspace.pile_path.name + suffix) for suffix in ("", "-wal", "-shm")]
    return max(path.stat().st_size for path in files if path.exists())


def assert_one_clear_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode in (1, 3), result.stderr
    assert_clean_failure(result.stderr)
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "disk" in lines[0] and ("full" in lines[0] or "size limit" in lines[0]), lines[0]
    return lines[0]


def test_a_file_size_limit_mid_ingest_gives_one_clear_line_and_keeps_the_pile(feed_server, tmp_path):
    urls = [f"{feed_server.url}/{name}" for name in write_feeds(feed_server.root, FEEDS, ENTRIES)]
    workspace, _ = init_workspace(tmp_path / "ws")
    first = run_cli(workspace, "read", "feed", urls[0])
    assert first.returncode == 0, first.stderr
    before = ingested_state(workspace.pile_path)

    limited = run_cli(
        workspace, "read", "feed", *urls[1:], preexec_fn=file_size_limit(largest_pile_file(workspace) + HEADROOM)
    )
    assert_one_clear_line(limited)
    assert_intact(workspace.pile_path)
    after = ingested_state(workspace.pile_path)
    assert set(before["items"]) <= set(after["items"]) and len(after["items"]) < FEEDS * ENTRIES

    finished = run_cli(workspace, "read", "feed", *urls[1:])
    assert finished.returncode == 0, finished.stderr
    assert_intact(workspace.pile_path)
    assert count(workspace.pile_path, "items") == FEEDS * ENTRIES


def test_a_file_size_limit_mid_summarise_gives_one_clear_line_and_keeps_what_was_stored(tmp_path):
    workspace, _ = init_workspace(tmp_path / "ws")
    conn = db.connect(workspace.pile_path)
    insert_items(conn, sample_documents(400))
    conn.close()
    first = run_cli(workspace, "pile", "summarise", "--ids", "test:00000,test:00001")
    assert first.returncode == 0, first.stderr
    kept = count(workspace.pile_path, "summaries")

    limited = run_cli(workspace, "pile", "summarise", preexec_fn=file_size_limit(largest_pile_file(workspace) + 60_000))
    assert_one_clear_line(limited)
    assert_intact(workspace.pile_path)
    assert kept <= count(workspace.pile_path, "summaries") < 400

    finished = run_cli(workspace, "pile", "summarise")
    assert finished.returncode == 0, finished.stderr
    assert count(workspace.pile_path, "summaries", "status = 'ok'") == 400


@contextlib.contextmanager
def tiny_tmpfs(folder, size: str):
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'mount failed'}); "
            "the file-size limit tests cover a full disk"
        )
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], capture_output=True)


def test_a_full_tmpfs_mid_ingest_gives_one_clear_line_and_keeps_the_pile(feed_server, tmp_path):
    urls = [f"{feed_server.url}/{name}" for name in write_feeds(feed_server.root, FEEDS, ENTRIES)]
    with tiny_tmpfs(tmp_path / "small", "3m") as small:
        workspace, _ = init_workspace(small / "ws")
        first = run_cli(workspace, "read", "feed", urls[0])
        assert first.returncode == 0, first.stderr
        before = ingested_state(workspace.pile_path)

        full = run_cli(workspace, "read", "feed", *urls[1:])
        line = assert_one_clear_line(full)
        assert "full" in line
        assert_intact(workspace.pile_path)
        assert set(before["items"]) <= set(ingested_state(workspace.pile_path)["items"])
