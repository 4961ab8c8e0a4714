"""The pile keeps what it holds: a later feed cannot overwrite a kept item's text (every replaced text is a
version), a read-only workspace still answers reads and refuses writes in one line, a damaged pile is
refused for writing with a way to recover, a private item is never published, and every command names
items through one resolver."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sabbatical import db
from sabbatical.errors import CorruptPile, ExitCode, NotFound
from sabbatical.reading import identity, pile, search, triage
from sabbatical.reading.pile import Entry, Pile


# -- one resolver, one id kind ---------------------------------------------------------------------------
def test_every_command_names_items_through_one_resolver(tmp_path):
    assert triage.resolve_item is pile.resolve_item and search.triage.resolve_item is pile.resolve_item
    assert not hasattr(pile, "_alias_kind")
    with Pile(db.connect(tmp_path / "pile.db")) as opened:
        opened.add([Entry(ids=["arxiv:2601.01466"], kind="paper", title="A paper", version=2)], None, "arxiv")
        for ref in ("arxiv:2601.01466", "2601.01466v1", "https://arxiv.org/pdf/2601.01466v2.pdf", "2601.0146", "1"):
            assert opened.resolve(ref) == pile.resolve_item(opened.conn, ref) == "arxiv:2601.01466", ref
        with pytest.raises(NotFound, match="no item 'nope' in the pile"):
            triage.resolve_item(opened.conn, "nope")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("arxiv:2310.01405", "arxiv"),
        ("arxiv:2310.01405v3", "arxiv_version"),
        ("doi:10.1/x", "doi"),
        ("https://e.example/a", "url"),
        ("http://e.example/a", "url"),
        ("tag:e.example,2024:1", "entry"),
    ],
)
def test_one_id_kind_names_what_the_alias_table_records(name, kind):
    assert identity.id_kind(name) == kind


# -- a read-only workspace -------------------------------------------------------------------------------
# The commands run in a child process, where the workspace really is read-only: for an ordinary user its
# files are chmod-ed; root ignores file modes, so for root the folder is bind-mounted read-only in a
# private mount namespace (`unshare -m`), which ends with the child and never touches the host's mounts.
_RUN_COMMANDS = """
import json, sys
from typer.testing import CliRunner
from sabbatical.cli import app
results = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(app, args)
    results.append([result.exit_code, result.stdout, result.stderr])
print(json.dumps(results))
"""


def _run_read_only(root: Path, commands: list[list[str]]) -> list[tuple[int, str, str]]:
    child = [sys.executable, "-c", _RUN_COMMANDS, json.dumps([["-w", str(root), *c] for c in commands])]
    if os.geteuid() == 0:
        if (
            shutil.which("unshare") is None
            or subprocess.run(
                ["unshare", "-m", "mount", "--bind", "-o", "ro", str(root), str(root)], capture_output=True
            ).returncode
            != 0
        ):
            pytest.skip(
                "running as root, and this machine lets root make no read-only bind mount "
                "(root ignores chmod), so a read-only workspace cannot be made here"
            )
        child = ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(root), *child]
    else:
        for path in sorted(root.rglob("*"), reverse=True) + [root]:
            path.chmod(path.stat().st_mode & ~0o222)
    try:
        done = subprocess.run(child, capture_output=True, text=True, timeout=120, cwd=root.parent)
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert done.returncode == 0, done.stderr
    return [tuple(r) for r in json.loads(done.stdout)]


def _pile_with_items(workspace, count: int = 12, words: int = 40) -> list[str]:
    body = " ".join(f"word{n % 97}" for n in range(words))
    entries = [
        Entry(
            ids=[f"https://blog.example/post-{n}"],
            kind="post",
            title=f"Sparse attention, part {n}",
            abstract=f"Sparse attention heads {n}. {body}",
            content=body * 3,
        )
        for n in range(count)
    ]
    with Pile(db.connect(workspace.pile_path)) as opened:
        opened.add(entries, opened.ensure_source("feed", "https://blog.example/feed.xml"), "feed")
    return [e.ids[0] for e in entries]


def test_a_read_only_workspace_answers_reads_and_refuses_writes_in_one_line(workspace):
    ids = _pile_with_items(workspace)
    shown, listed, found, stats, kept, noted = _run_read_only(
        workspace.root,
        [
            ["pile", "show", ids[3]],
            ["pile", "list", "--json"],
            ["pile", "search", "sparse", "--json"],
            ["pile", "stats"],
            ["pile", "keep", ids[0]],
            ["pile", "note", ids[0], "later"],
        ],
    )
    assert shown[0] == 0 and "Sparse attention, part 3" in shown[1], shown
    assert listed[0] == 0 and {row["id"] for row in json.loads(listed[1])} == set(ids), listed
    assert found[0] == 0 and json.loads(found[1])["hits"], found
    assert {hit["id"] for hit in json.loads(found[1])["hits"]} <= set(ids)
    assert stats[0] == 0 and "inbox 12" in stats[1], stats
    for code, _, stderr in (kept, noted):
        lines = stderr.strip().splitlines()
        assert code == ExitCode.ERROR and len(lines) == 1, stderr
        assert lines[0].startswith("Error: the workspace is read-only") and "disk" not in lines[0]
    with Pile(db.connect(workspace.pile_path)) as opened:  # writable again: nothing was recorded
        assert opened.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0


# -- a damaged pile ----------------------------------------------------------------------------------------
def _damage(path: Path) -> None:
    """Overwrite 16 KiB in the middle of the file, as a failing disk or a half-copied file would."""
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\xa5" * 16384)


def test_a_damaged_pile_is_never_written_again_and_says_how_to_recover(workspace, cli, tmp_path):
    ids = _pile_with_items(workspace, count=200, words=300)
    _damage(workspace.pile_path)
    before = hashlib.sha256(workspace.pile_path.read_bytes()).hexdigest()
    feed = tmp_path / "more.atom"
    feed.write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>'
        '<entry><id>tag:x,1</id><title>New</title><link href="https://n.example/1"/>'
        "<updated>2024-01-01T00:00:00Z</updated></entry></feed>"
    )
    for args in (["pile", "keep", ids[0]], ["pile", "private", ids[0]], ["read", "file", str(feed)]):
        result = cli("-w", workspace.root, *args)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == ExitCode.ERROR and len(lines) == 1, (args, result.stderr)
        assert f"the pile {workspace.pile_path} is damaged" in lines[0]
        assert f'sqlite3 {workspace.pile_path} ".recover"' in lines[0]
    conn = db.connect(workspace.pile_path)
    with pytest.raises(CorruptPile):
        Pile(conn).add([Entry(ids=["https://n.example/2"], kind="post", title="x")], None, "feed")
    conn.close()
    assert hashlib.sha256(workspace.pile_path.read_bytes()).hexdigest() == before
    assert not Path(f"{workspace.pile_path}-wal").exists() or Path(f"{workspace.pile_path}-wal").stat().st_size == 0


def test_the_recovery_the_message_names_gives_a_sound_pile(workspace):
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 command-line shell is not installed here, so its .recover cannot be run")
    probe = subprocess.run(["sqlite3", ":memory:", "CREATE TABLE t (a);", ".recover"], capture_output=True, text=True)
    if "CREATE TABLE" not in probe.stdout:
        pytest.skip(
            "this sqlite3 shell is built without the sqlite_dbpage table, so its .recover "
            "recovers nothing even from a sound file (Debian's 3.40 shell is)"
        )
    _pile_with_items(workspace, count=200, words=300)
    _damage(workspace.pile_path)
    conn = db.connect(workspace.pile_path)
    message = str(conn.refusal())
    conn.close()
    command = message.split("`")[1]
    subprocess.run(command, shell=True, check=True, capture_output=True, timeout=120)
    recovered = Path(f"{workspace.pile_path}.recovered")
    with Pile(db.connect(recovered)) as opened:
        assert opened.conn.refusal is None and opened.count() > 100


# -- private items -----------------------------------------------------------------------------------------
def _site_text(root: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".html", ".md", ".xml", ".json", ".txt")
    )


def test_a_private_item_is_never_published_nor_in_the_digest_and_each_change_is_an_event(workspace, cli, tmp_path):
    from sabbatical.site.build import build_site

    secret = Entry(
        ids=["https://intranet.example/zyxwquibble-plan"],
        kind="post",
        title="Zyxwquibble merger plan",
        abstract="Zyxwquibble acquisition notes about sparse attention budgets.",
    )
    shown = Entry(
        ids=["https://blog.example/openly"],
        kind="post",
        title="Plainly public sparse attention",
        abstract="A public post about sparse attention budgets.",
    )
    with Pile(db.connect(workspace.pile_path)) as opened:
        opened.add([secret, shown], None, "feed")
    w = ("-w", workspace.root)
    named = f"#1 {secret.title}"  # its short handle and title: the line says which item changed
    assert cli(*w, "pile", "private", secret.ids[0]).stdout.strip() == f"{named}: private"
    assert cli(*w, "pile", "public", secret.ids[0]).stdout.strip() == f"{named}: public"
    marked = cli(*w, "pile", "private", "1", "no-such-item")  # by its handle; an unknown one fails alone
    assert marked.exit_code == ExitCode.PARTIAL and marked.stdout.strip() == f"{named}: private"
    assert cli(*w, "pile", "organise").exit_code == 0
    digest = tmp_path / "digest.md"
    assert cli(*w, "pile", "digest", "--out", digest).exit_code == 0
    assert "Plainly public" in digest.read_text() and "yxwquibble" not in digest.read_text().lower()
    # Both starred, so the site's default (starred and kept items) would publish both: only the public one is.
    assert cli(*w, "pile", "star", "1", "2").exit_code == 0
    build_site(workspace)
    published = _site_text(workspace.root / "site")
    assert "Plainly public sparse attention" in published
    assert "yxwquibble" not in published.lower() and "intranet.example" not in published
    with Pile(db.connect(workspace.pile_path)) as opened:
        events = [
            tuple(r)
            for r in opened.conn.execute(
                "SELECT subject, action FROM events WHERE action IN ('private', 'public') ORDER BY id"
            )
        ]
        assert events == [(secret.ids[0], a) for a in ("private", "public", "private")]
        assert opened.get(secret.ids[0]).private and opened.count() == 2  # nothing deleted


# -- which source may change an item's text ----------------------------------------------------------------
def test_a_second_feed_linking_the_same_url_cannot_overwrite_a_kept_item_and_replaced_texts_are_kept(workspace, cli):
    first = Entry(
        ids=["https://blog.example/post"],
        kind="post",
        title="The original title",
        abstract="What the author wrote.",
        url="https://blog.example/post",
        updated="2024-01-01T00:00:00Z",
    )
    hijack = Entry(
        ids=["https://blog.example/post"],
        kind="post",
        title="Click here, hijacked",
        abstract="Spam text.",
        url="https://blog.example/post?utm_source=x",
        updated="2025-06-01T00:00:00Z",
    )
    page = Entry(
        ids=["https://blog.example/post"],
        kind="page",
        title="The page's own title",
        abstract="The page's own text.",
        url="https://blog.example/post",
    )
    with Pile(db.connect(workspace.pile_path)) as opened:
        feed_a, feed_b = (opened.ensure_source("feed", f"https://{n}.example/feed") for n in ("a", "b"))
        opened.add([first], feed_a, f"feed:{feed_a}")
        triage.triage(opened.conn, [first.ids[0]], "keep")
        opened.add([hijack], feed_b, f"feed:{feed_b}")
        item = opened.get(first.ids[0])
        assert (item.title, item.abstract, item.url) == (first.title, first.abstract, first.url)
        assert item.earlier_texts == []
        opened.add([page], None, "web")  # the page itself outranks the feed that first brought it
        item = opened.get(first.ids[0])
        assert item.title == page.title and [t.title for t in item.earlier_texts] == [first.title]
        assert item.earlier_texts[0].written_by == f"feed:{feed_a}" and item.earlier_texts[0].replaced_by == "web"
        with pytest.raises(Exception, match="kept as they were"):
            opened.conn.execute("DELETE FROM item_texts")
    shown = cli("-w", workspace.root, "pile", "show", first.ids[0])
    assert "Earlier texts" in shown.stdout and "The original title" in shown.stdout


def test_the_rule_for_who_may_replace_text():
    assert pile.may_replace_text("web", "feed:1") and not pile.may_replace_text("feed:2", "web")
    assert pile.may_replace_text("feed:1", "feed:1") and not pile.may_replace_text("feed:2", "feed:1")
    assert pile.may_replace_text("arxiv:3", "arxiv:1", incoming_version=3, newest_version=2)
    assert not pile.may_replace_text("arxiv:1", "arxiv:1", incoming_version=1, newest_version=2)
    assert pile.may_replace_text("feed:1", "link")
