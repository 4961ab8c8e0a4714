"""Reading the pile for the site: topics with their top items, highlights, and the latest digest.

Everything comes through the reading library: the ranking (`reading.rank.rank_items`, public items only,
dropped ones left out, best first), the topics (`reading.topics.list_topics` and `topic_of_items`, with the
researcher's renames and merges applied) and the digest (`reading.digest.build_digest`, built fresh at
each site build, so it is always the latest). Ranked items carry no URL, so `item_links` below is a small
read-only query of our own for the URL of each public item. No page is made per item: items appear inside
topic lists, and their text is escaped when the page is written.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .model import ReadingItem, ReadingTopic, SiteReading

if TYPE_CHECKING:
    from ..workspace import Workspace

HIGHLIGHTS = 5
HIGHLIGHT_DAYS = 30
DIGEST_SINCE = "7d"
UNSORTED_NAME = "Not sorted into a topic yet"


def public_reading(workspace: Workspace, items_per_topic: int, problems: list[str]) -> SiteReading:
    """The pile as the site shows it; an absent pile is an empty reading section, not a problem."""
    if not workspace.pile_path.exists():
        return SiteReading()
    from .. import db
    from ..errors import StoreError

    try:
        conn = db.connect(workspace.pile_path)
    except StoreError as exc:
        problems.append(f"the reading pile could not be opened ({exc}) — the reading pages are empty")
        return SiteReading()
    try:
        return _reading(workspace, conn, items_per_topic)
    except (sqlite3.Error, ValueError) as exc:
        problems.append(f"the reading pile could not be read ({type(exc).__name__}: {exc}) — the reading pages "
                        "are empty in this build")
        return SiteReading()
    finally:
        conn.close()


def _reading(workspace: Workspace, conn: sqlite3.Connection, items_per_topic: int) -> SiteReading:
    from ..reading import digest, rank, topics

    ranked = rank.rank_items(conn, workspace.config, state=None, include_private=False,
                             sprints_dir=workspace.sprints_dir)
    links = item_links(conn)
    quotes = quote_counts(conn, workspace)
    items = [_item(entry, links, quotes) for entry in ranked if entry.id in links and not entry.private]
    by_id = {item.id: item for item in items}
    members: dict[int, list[ReadingItem]] = {}
    for item_id, topic_id in topics.topic_of_items(conn).items():
        if item_id in by_id:
            members.setdefault(topic_id or 0, []).append(by_id[item_id])
    order = {item.id: index for index, item in enumerate(items)}
    reading = SiteReading(item_count=len(items), highlights=highlights(items))
    for info in topics.list_topics(conn):
        public = sorted(members.get(info.id, []), key=lambda item: order[item.id])
        if public:
            reading.topics.append(ReadingTopic(id=str(info.id), name=UNSORTED_NAME if info.id == 0 else info.name,
                                               size=len(public), items=public[:items_per_topic],
                                               keywords=list(info.keywords)))
    latest = digest.build_digest(conn, workspace.config, since=DIGEST_SINCE, sprints_dir=workspace.sprints_dir)
    reading.digest_title, reading.digest_markdown = _split_title(latest.markdown)
    return reading


def item_links(conn: sqlite3.Connection) -> dict[str, tuple[str | None, str | None]]:
    """id → (url, published) of every public item (the ranking does not carry them)."""
    return {row[0]: (row[1], row[2]) for row in conn.execute("SELECT id, url, published FROM items WHERE private = 0")}


def quote_counts(conn: sqlite3.Connection, workspace: Workspace) -> dict[str, tuple[int, int]]:
    """id → (quotes, verified quotes) of the summary the ranking shows for each item."""
    from ..reading.summarise import latest_summary_rows, preferred_key

    rows = latest_summary_rows(conn, prefer=preferred_key(workspace.config.llm))
    return {item_id: (row["quotes_total"], row["quotes_verified"]) for item_id, row in rows.items()}


def private_item_ids(workspace: Workspace) -> set[str]:
    """Ids of the pile's private items, to keep them out of text written before they became private."""
    if not workspace.pile_path.exists():
        return set()
    from .. import db

    conn = db.connect(workspace.pile_path)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM items WHERE private = 1")}
    except sqlite3.Error:
        return set()
    finally:
        conn.close()


def without_private_items(markdown: str, private_ids: set[str]) -> str:
    """Drop the lines of a reading list that name a private item (the list shows ids as `code`)."""
    if not private_ids:
        return markdown
    return "\n".join(line for line in markdown.splitlines()
                     if not any(f"`{item_id}`" in line for item_id in private_ids))


def _item(entry: Any, links: dict[str, tuple[str | None, str | None]],
          quotes: dict[str, tuple[int, int]]) -> ReadingItem:
    url, published = links[entry.id]
    total, verified = quotes.get(entry.id, (0, 0))
    return ReadingItem(id=entry.id, title=entry.title or entry.id, url=url, kind=entry.kind, published=published,
                       first_seen=entry.first_seen, tldr=entry.tldr, contribution=entry.contribution,
                       insight_score=entry.insight if entry.tldr or entry.contribution else None,
                       quotes_total=total, quotes_verified=verified)


def highlights(items: list[ReadingItem], now: datetime | None = None) -> list[ReadingItem]:
    """The best-ranked items read in the last 30 days (else the best-ranked of all), in rank order."""
    since = ((now or datetime.now(UTC)) - timedelta(days=HIGHLIGHT_DAYS)).strftime("%Y-%m-%d")
    recent = [item for item in items if (item.first_seen or "") >= since]
    return (recent or items)[:HIGHLIGHTS]


def _split_title(markdown: str) -> tuple[str, str]:
    """The digest's own `# Title` line becomes the page title, so the page has one heading 1."""
    first, _, rest = markdown.partition("\n")
    if first.startswith("# "):
        return first[2:].strip(), rest
    return "", markdown
