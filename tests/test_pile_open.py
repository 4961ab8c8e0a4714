"""`sabbatical pile open ID`: the item's web address goes to the browser Python's `webbrowser` finds, which
`BROWSER` chooses; here BROWSER is a small script that records the address it is given (as webbrowser is
meant to be configured), so the real CLI runs as a subprocess and no browser opens. Short handles and any
id the resolver accepts work; an item without a web address, or with a `javascript:`/`file:` one or one a
browser command line would read as an option, is one clear line and exit 1, and nothing is opened.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sabbatical import db
from sabbatical.errors import CannotOpen, ExitCode, NotFound
from sabbatical.reading.browse import is_web_address, open_item
from sabbatical.reading.pile import Entry, Pile

POSTS = {
    "A post about <b>sparse</b> attention": "https://blog.example/sparse?x=1&y=2",
    "A page without an address": None,
    "A hostile address": "javascript:alert(1)",
    "A local file": "file:///etc/passwd",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    from sabbatical.workspace import init_workspace

    root = tmp_path_factory.mktemp("open") / "ws"
    ws, _ = init_workspace(root, title="Open")
    entries = [
        Entry(ids=[f"https://blog.example/post-{n}"], kind="post", title=title, abstract=f"{title}. Text {n}.")
        for n, title in enumerate(POSTS)
    ]
    with Pile(db.connect(ws.pile_path)) as opened:
        opened.add(entries, opened.ensure_source("feed", "https://blog.example/feed.xml"), "feed")
        for title, url in POSTS.items():  # the addresses a feed could have given
            opened.conn.execute("UPDATE items SET url = ? WHERE title = ?", (url, title))
        opened.conn.commit()
    return root


def _seq(root: Path, title: str) -> int:
    conn = db.connect(root / "reading" / "pile.db")
    try:
        return conn.execute("SELECT seq FROM items WHERE title = ?", (title,)).fetchone()[0]
    finally:
        conn.close()


def _open(root: Path, tmp_path: Path, ref: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`sabbatical pile open REF` with BROWSER set to a script that writes down each address it gets."""
    record, script = tmp_path / "opened.txt", tmp_path / "browser.py"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nwith open({str(record)!r}, 'a') as f:\n    f.write(sys.argv[1] + '\\n')\n"
    )
    script.chmod(0o755)
    env = {**os.environ, "BROWSER": str(script)}
    done = subprocess.run(
        [sys.executable, "-m", "sabbatical", "-w", str(root), "pile", "open", ref],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return done, record.read_text().splitlines() if record.exists() else []


def test_the_handle_opens_the_items_address_in_the_browser_and_says_what_it_opened(workspace, tmp_path):
    title = "A post about <b>sparse</b> attention"
    seq = _seq(workspace, title)
    done, opened = _open(workspace, tmp_path, f"#{seq}")
    assert done.returncode == 0, done.stderr
    assert opened == ["https://blog.example/sparse?x=1&y=2"]
    assert done.stdout.strip() == f"Opened #{seq} {title} (https://blog.example/sparse?x=1&y=2)"


def test_an_item_without_a_web_address_is_one_line_and_exit_1_and_nothing_opens(workspace, tmp_path):
    for title, says in (
        ("A page without an address", "has no URL to open"),
        ("A hostile address", "not a web (http/https) address"),
        ("A local file", "not a web (http/https) address"),
    ):
        done, opened = _open(workspace, tmp_path, str(_seq(workspace, title)))
        lines = done.stderr.strip().splitlines()
        assert done.returncode == ExitCode.ERROR and len(lines) == 1, done.stderr
        assert says in lines[0] and title in lines[0] and "Traceback" not in done.stderr
        assert opened == []
    done, opened = _open(workspace, tmp_path, "#999")
    assert done.returncode == ExitCode.ERROR and len(done.stderr.strip().splitlines()) == 1 and opened == []


def test_the_library_call_takes_any_id_and_says_when_no_browser_starts(workspace):
    conn = db.connect(workspace / "reading" / "pile.db")
    try:
        given: list[str] = []
        done = open_item(conn, "https://blog.example/post-0", given.append)  # the id, not the handle
        assert given == ["https://blog.example/sparse?x=1&y=2"] and done.title.startswith("A post about")
        with pytest.raises(CannotOpen, match="no browser could be started"):
            open_item(conn, "https://blog.example/post-0", lambda url: False)
        with pytest.raises(NotFound):
            open_item(conn, "no-such-item", given.append)
        assert len(given) == 1
    finally:
        conn.close()


@pytest.mark.parametrize(
    "url, web",
    [
        ("https://arxiv.org/abs/2401.00001", True),
        ("HTTP://example.org/a", True),
        ("http://", False),
        ("--remote-debugging-port=9222", False),
        ("https://example.org/a b", False),
        ("https://example.org/\nx", False),
        ("data:text/html,<script>", False),
        ("ftp://example.org/file", False),
    ],
)
def test_only_http_addresses_with_a_host_and_no_spaces_are_web_addresses(url, web):
    assert is_web_address(url) is web
