"""Every bad feed of the corpus through `sabbatical read feed`, among good ones: one line each, nothing lost.

The 48 files of ../shared/corpus/feeds/bad (ill-formed XML, odd and mismatched encodings, a truncated
real feed) are read in one command with two good feeds placed first, in the middle and last. The
command exits 3; every bad file that cannot be read is one `  - feed PATH: why` line under one `Error:`
line, every file read only in part is one `Warning:` line, no line is a traceback or an "unexpected"
crash; the good feeds' entries are all in the pile, exactly as when read alone, and the pile passes its
integrity check. Reading the same files again fails the same way and adds nothing.
"""

from __future__ import annotations

from sabbatical.errors import ExitCode
from sabbatical.workspace import init_workspace
from tests.faults.piles import assert_intact, ingested_state
from tests.faults.processes import assert_clean_failure, error_lines

GOOD = ["ai_blogs/olshansk_rss-feeds/feed_anthropic_research.xml", "ai_blogs/olshansk_rss-feeds/feed_aisi.xml"]


def said_about(stderr: str) -> dict[str, list[str]]:
    """feed path → the stderr lines that name it."""
    lines: dict[str, list[str]] = {}
    for line in stderr.splitlines():
        for prefix in ("  - feed ", "Warning: feed "):
            if line.startswith(prefix):
                lines.setdefault(line[len(prefix) :].split(": ", 1)[0], []).append(line)
    return lines


def test_every_bad_feed_is_one_line_and_the_good_feeds_are_read(cli, corpus, tmp_path):
    bad = sorted(str(p) for p in (corpus / "feeds" / "bad").rglob("*") if p.is_file())
    good = [str(corpus / "feeds" / name) for name in GOOD]
    assert len(bad) == 48
    reference, _ = init_workspace(tmp_path / "good-only")
    alone = cli("--workspace", reference.root, "read", "feed", "--no-follow", *good)
    assert alone.exit_code == 0, alone.stderr
    workspace, _ = init_workspace(tmp_path / "mixed")
    mixed = [good[0], *bad[:24], good[1], *bad[24:]]

    result = cli("--workspace", workspace.root, "read", "feed", "--no-follow", *mixed)
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    assert_clean_failure(result.stderr)
    assert "unexpected" not in result.stderr and "Traceback" not in result.stdout
    errors = error_lines(result.stderr)
    assert len(errors) == 1 and errors[0].startswith("Error: ") and "sources failed" in errors[0], errors
    said = said_about(result.stderr)
    assert not set(said) & set(good), said
    failed = [path for path, lines in said.items() if any(line.startswith("  - ") for line in lines)]
    assert failed and all(len(said[path]) == 1 for path in failed), said
    assert all(len(line) < 400 for lines in said.values() for line in lines)
    # Only one bad file is silent: miniflux/koi8r.xml, a well-formed KOI8-R feed that reads cleanly.
    assert [path for path in bad if path not in said] == [str(corpus / "feeds/bad/miniflux/koi8r.xml")]

    assert_intact(workspace.pile_path)
    good_items = set(ingested_state(reference.pile_path)["items"])
    assert good_items and good_items <= set(ingested_state(workspace.pile_path)["items"])

    before = ingested_state(workspace.pile_path)
    again = cli("--workspace", workspace.root, "read", "feed", "--no-follow", *mixed)
    assert again.exit_code == ExitCode.PARTIAL
    assert sorted(p for p, lines in said_about(again.stderr).items() if lines[0].startswith("  - ")) == sorted(failed)
    assert ingested_state(workspace.pile_path) == before
