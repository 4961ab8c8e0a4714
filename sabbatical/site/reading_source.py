"""Reading the pile for the site: topics with their top items, highlights, and the latest digest.

Topics and their names come from the reading library (`sabbatical.reading.topics.list_topics`, which
applies the researcher's renames and merges). The pile library has no bulk "public items with their
latest summary" call, so `public_items` below is a small read-only query of our own over the pile's
`items`, `summaries` and `events` tables. It leaves out private items and items whose latest triage is a
drop: those are never published. No page is made per item; items appear inside topic lists.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from .model import ReadingItem, ReadingTopic, SiteReading

if TYPE_CHECKING:
    from ..workspace import Workspace

HIGHLIGHTS = 5
HIGHLIGHT_DAYS = 30
UNSORTED_NAME = "Not sorted into a topic yet"
_TRIAGE_ACTIONS = ("keep", "star", "drop", "inbox", "unstar", "undrop")


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
        items = public_items(conn)
        reading = SiteReading(topics=_topics(conn, items, items_per_topic, problems),
                              highlights=highlights(items), item_count=len(items))
        reading.digest_title, reading.digest_markdown = _digest(workspace, conn, problems)
        return reading
    except sqlite3.Error as exc:
        problems.append(f"the reading pile could not be read ({exc}) — the reading pages are incomplete")
        return SiteReading()
    finally:
        conn.close()


def public_items(conn: sqlite3.Connection) -> dict[str, ReadingItem]:
    """Every public, not-dropped item with its latest good summary, by id."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    summary = ("(SELECT s.{0} FROM summaries s WHERE s.item_id = i.id AND s.status = 'ok' "
               "ORDER BY s.id DESC LIMIT 1)")
    columns = ", ".join(summary.format(name) if "summaries" in tables else "NULL"
                        for name in ("tldr", "contribution", "insight_score"))
    dropped = ""
    if "events" in tables:
        marks = ", ".join("?" for _ in _TRIAGE_ACTIONS)
        dropped = (f"AND COALESCE((SELECT e.action FROM events e WHERE e.subject = i.id AND e.action IN ({marks}) "
                   "ORDER BY e.id DESC LIMIT 1), '') != 'drop'")
    rows = conn.execute(
        f"SELECT i.id, i.title, i.url, i.kind, i.published, i.first_seen, {columns} "
        f"FROM items i WHERE i.private = 0 {dropped}", _TRIAGE_ACTIONS if dropped else ()).fetchall()
    items = {}
    for row in rows:
        item = ReadingItem(id=row[0], title=row[1] or row[0], url=row[2], kind=row[3], published=row[4], first_seen=row[5],
                           tldr=row[6], contribution=row[7],
                           insight_score=None if row[8] is None else float(row[8]))
        items[item.id] = item
    return items


def _rank_key(item: ReadingItem) -> tuple:
    # Most insightful first; unsummarised items after summarised ones; newer first among equals.
    return (-(item.insight_score if item.insight_score is not None else -1.0), _negated(item.published or ""))


def _negated(text: str) -> tuple:
    return tuple(-ord(char) for char in text)


def _topics(conn: sqlite3.Connection, items: dict[str, ReadingItem], limit: int,
            problems: list[str]) -> list[ReadingTopic]:
    try:
        from ..reading.topics import list_topics, topic_of_items
    except ImportError:
        return []
    try:
        infos = list_topics(conn)
        membership = topic_of_items(conn)
    except sqlite3.OperationalError as exc:
        problems.append(f"the pile's topics could not be read ({exc}) — run `sabbatical pile organise`")
        return []
    members: dict[int, list[ReadingItem]] = {}
    for item_id, topic_id in membership.items():
        if item_id in items:
            members.setdefault(topic_id or 0, []).append(items[item_id])
    topics = []
    for info in infos:
        public = sorted(members.get(info.id, []), key=_rank_key)
        if not public:
            continue
        name = UNSORTED_NAME if info.id == 0 else info.name
        topics.append(ReadingTopic(id=str(info.id), name=name, size=len(public), items=public[:limit],
                                   keywords=list(info.keywords)))
    return topics


def highlights(items: dict[str, ReadingItem], now: datetime | None = None) -> list[ReadingItem]:
    """The most insightful recent items (the last 30 days, else the whole pile)."""
    since = ((now or datetime.now(timezone.utc)) - timedelta(days=HIGHLIGHT_DAYS)).strftime("%Y-%m-%d")
    summarised = [item for item in items.values() if item.insight_score is not None]
    recent = [item for item in summarised if (item.first_seen or "") >= since]
    return sorted(recent or summarised, key=_rank_key)[:HIGHLIGHTS]


def _digest(workspace: Workspace, conn: sqlite3.Connection, problems: list[str]) -> tuple[str, str]:
    return "", ""
