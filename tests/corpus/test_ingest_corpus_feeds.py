"""The real feeds of the corpus: every feed's entries arrive (minus true duplicates); bad files fail politely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sabbatical import db
from sabbatical.config import ReadingConfig
from sabbatical.reading.ingest import Ingester, read_feeds
from sabbatical.reading.pile import Pile

TRUNCATED = "netnewswire/jsonfeed/allthis-partial.json"  # deliberately cut short: invalid JSON


def real_feeds(corpus: Path) -> list[Path]:
    root = corpus / "feeds"
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and "bad" not in p.relative_to(root).parts
        and not p.name.endswith(".serde.json")
        and p.suffix != ".opml"
    )


def distinct_entries(path: Path) -> int:
    """What a feed reader sees: feedparser's entries (JSON Feeds as JSON), counting true duplicates once.

    A true duplicate repeats an entry's guid and link (or, with neither, its title and text).
    """
    import feedparser

    if path.suffix == ".json":
        doc = json.loads(path.read_bytes())
        items = doc["items"] if "items" in doc else doc["rss"]["channel"]["item"]
        keys = {
            (
                str(i.get("id") or i.get("guid") or ""),
                i.get("url") or i.get("link") or "",
                ""
                if (i.get("id") or i.get("guid") or i.get("url") or i.get("link"))
                else str(i.get("title", "")) + str(i.get("content_html") or i.get("description") or ""),
            )
            for i in items
        }
        return len(keys)
    parsed = feedparser.parse(path.read_bytes())
    return len(
        {
            (
                e.get("id", ""),
                e.get("link", ""),
                "" if (e.get("id") or e.get("link")) else e.get("title", "") + e.get("summary", ""),
            )
            for e in parsed.entries
        }
    )


@pytest.fixture(scope="module")
def ingested(corpus, tmp_path_factory):
    feeds = real_feeds(corpus)
    pile = Pile(db.connect(tmp_path_factory.mktemp("feeds") / "pile.db"))
    report = read_feeds(Ingester(pile, ReadingConfig()), [str(p) for p in feeds], follow=False)
    yield feeds, pile, report
    pile.close()


def test_there_are_179_real_feeds(corpus):
    assert len(real_feeds(corpus)) == 179


def test_every_real_feed_brings_every_distinct_entry(corpus, ingested):
    feeds, pile, report = ingested
    assert [line.split(": ", 1)[0] for line in report.failures] == [f"feed {corpus / 'feeds' / TRUNCATED}"]
    assert "not valid JSON" in report.failures[0] and "\n" not in report.failures[0]
    wrong = {}
    for path in feeds:
        if path.match("*/" + TRUNCATED):
            continue
        source = pile.find_source("feed", str(path))
        stored = pile.conn.execute("SELECT COUNT(*) FROM item_sources WHERE source_id = ?", (source.id,)).fetchone()[0]
        expected = distinct_entries(path)
        if stored != expected:
            wrong[str(path.relative_to(corpus))] = (stored, expected)
    assert not wrong, wrong
    total = sum(distinct_entries(p) for p in feeds if not p.match("*/" + TRUNCATED))
    print(
        f"\n179 feeds: {total} distinct entries, {pile.count()} items after cross-feed dedup, "
        f"{len(report.warnings)} warnings"
    )
    assert pile.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_reading_them_again_changes_nothing(ingested):
    feeds, pile, _ = ingested
    before = pile.count()
    ingester = Ingester(pile, ReadingConfig(), force=True)
    report = read_feeds(ingester, [str(p) for p in feeds], follow=False)
    assert (report.new, report.updated) == (0, 0) and pile.count() == before
    assert report.duplicate > 4000


def test_every_bad_file_gives_a_warning_or_a_one_line_error(corpus, tmp_path):
    bad = sorted(p for p in (corpus / "feeds" / "bad").rglob("*") if p.is_file())
    assert len(bad) == 48
    pile = Pile(db.connect(tmp_path / "pile.db"))
    report = read_feeds(Ingester(pile, ReadingConfig()), [str(p) for p in bad], follow=False)
    assert len(report.sources) == 48
    said = {line.split(": ", 1)[0] for line in report.warnings + report.failures}
    silent = [o.source for o in report.sources if o.source not in said]
    # miniflux/koi8r.xml is a well-formed KOI8-R feed: it is read, correctly decoded, with nothing to warn about.
    assert silent == [f"feed {corpus / 'feeds/bad/miniflux/koi8r.xml'}"]
    assert pile.get("http://example.com/post1").title.startswith("Первая")
    for line in report.warnings + report.failures:
        assert "\n" not in line and "Traceback" not in line and len(line) < 400, line
    failed = [o for o in report.sources if o.status == "failed"]
    assert all("unexpected" not in o.message for o in failed), [o.message for o in failed]
