"""Reading the pile for the site: what the researcher chose to publish, by topic, plus highlights and a digest.

`[site] reading` says what is published: `starred` (only starred items), `kept` (kept and starred, the
default), `all` (every item that is not dropped) or `off` (no reading pages). Private items are never
published. Each published item carries the researcher's notes on it. Topics appear only with published
items, and the digest is made from the same published items (what joined the pile lately, then the best
of each topic), so nothing the researcher did not choose reaches a page by another path.

Everything comes through the reading library on the open pile connection the build hands in: the ranking
(`reading.rank.rank_items`, best first), triage state and notes (`reading.triage.user_states`) and topics
(`reading.topics.list_topics`, `topic_of_items`, with renames and merges applied). Ranked items carry no
URL, so `item_links` is a small read-only query of our own. No page is made per item.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .model import ReadingItem, ReadingTopic, SiteReading

if TYPE_CHECKING:
    from ..workspace import Workspace

HIGHLIGHTS = 5
HIGHLIGHT_DAYS = 30
DIGEST_DAYS = 7
DIGEST_TOP = 3
UNSORTED_NAME = "Not sorted into a topic yet"
CHOICES = {"starred": ("starred",), "kept": ("kept", "starred"), "all": ("inbox", "kept", "starred"), "off": ()}


def reading_choice(workspace: Workspace) -> tuple[str, ...]:
    """The triage states `[site] reading` publishes; a value that is not a choice is a config error."""
    choice = workspace.config.site.reading.strip().lower()
    if choice not in CHOICES:
        raise ConfigError(workspace.config_path, f"must be one of {', '.join(CHOICES)}, got {choice!r}", "site.reading")
    return CHOICES[choice]


def public_reading(
    workspace: Workspace, conn: sqlite3.Connection | None, items_per_topic: int, problems: list[str]
) -> SiteReading:
    """The pile as the site shows it; no pile (or `reading = "off"`) is an empty reading section."""
    states = reading_choice(workspace)
    if conn is None or not states:
        return SiteReading(published=bool(states))
    try:
        return _reading(workspace, conn, states, items_per_topic)
    except (sqlite3.Error, ValueError) as exc:
        problems.append(
            f"the reading pile could not be read ({type(exc).__name__}: {exc}) — the reading pages "
            "are empty in this build"
        )
        return SiteReading()


def _reading(
    workspace: Workspace, conn: sqlite3.Connection, states: tuple[str, ...], items_per_topic: int
) -> SiteReading:
    from ..reading import rank, topics, triage

    ranked = (
        rank.rank_items(conn, workspace.config, state=None, include_private=False, sprints_dir=workspace.sprints_dir)
        if _any_in(conn, states)
        else []  # nothing to publish: ranking would load the embedder (and sklearn) for no page
    )
    links = item_links(conn)
    quotes = quote_counts(conn, workspace)
    users = triage.user_states(conn)
    items = [
        _item(entry, links, quotes, users.get(entry.id))
        for entry in ranked
        if entry.id in links and not entry.private and entry.state in states
    ]
    by_id = {item.id: item for item in items}
    members: dict[int, list[ReadingItem]] = {}
    for item_id, topic_id in topics.topic_of_items(conn).items():
        if item_id in by_id:
            members.setdefault(topic_id or 0, []).append(by_id[item_id])
    order = {item.id: index for index, item in enumerate(items)}
    reading = SiteReading(item_count=len(items), highlights=highlights(items), states=states)
    placed: set[str] = set()
    for info in topics.list_topics(conn):
        public = sorted(members.get(info.id, []), key=lambda item: order[item.id])
        if public:
            placed.update(item.id for item in public)
            reading.topics.append(
                _topic(
                    str(info.id),
                    UNSORTED_NAME if info.id == 0 else info.name,
                    public,
                    items_per_topic,
                    list(info.keywords),
                )
            )
    unplaced = [item for item in items if item.id not in placed]
    if unplaced:
        reading.topics.append(_topic("0", UNSORTED_NAME, unplaced, items_per_topic, []))
    reading.digest_since = (datetime.now(UTC) - timedelta(days=DIGEST_DAYS)).strftime("%Y-%m-%d")
    return reading


def _any_in(conn: sqlite3.Connection, states: tuple[str, ...]) -> bool:
    """Whether some item is in one of the published triage states (every item without events is in the inbox)."""
    from ..reading import triage

    return "inbox" in states or any(state in states for state in triage.state_map(conn).values())


def _topic(topic_id: str, name: str, items: list[ReadingItem], limit: int, keywords: list[str]) -> ReadingTopic:
    return ReadingTopic(
        id=topic_id, name=name, size=len(items), items=items[:limit], keywords=keywords, all_items=items
    )


def item_links(conn: sqlite3.Connection) -> dict[str, tuple[str | None, str | None]]:
    """id → (url, published) of every public item (the ranking does not carry them)."""
    return {row[0]: (row[1], row[2]) for row in conn.execute("SELECT id, url, published FROM items WHERE private = 0")}


def quote_counts(conn: sqlite3.Connection, workspace: Workspace) -> dict[str, tuple[int, int]]:
    """id → (quotes, verified quotes) of the summary the ranking shows for each item."""
    from ..reading.summary_rows import latest_summary_rows, preferred_key

    rows = latest_summary_rows(conn, prefer=preferred_key(workspace.config.llm))
    return {item_id: (row["quotes_total"], row["quotes_verified"]) for item_id, row in rows.items()}


def private_item_ids(conn: sqlite3.Connection | None) -> set[str]:
    """Ids of the pile's private items, to keep them out of text written before they became private."""
    if conn is None:
        return set()
    try:
        return {row[0] for row in conn.execute("SELECT id FROM items WHERE private = 1")}
    except sqlite3.Error:
        return set()


def without_private_items(markdown: str, private_ids: set[str]) -> str:
    """Drop the lines of a reading list that name a private item (the list shows ids as `code`)."""
    if not private_ids:
        return markdown
    return "\n".join(
        line for line in markdown.splitlines() if not any(f"`{item_id}`" in line for item_id in private_ids)
    )


def _item(
    entry: Any, links: dict[str, tuple[str | None, str | None]], quotes: dict[str, tuple[int, int]], user: Any
) -> ReadingItem:
    url, published = links[entry.id]
    total, verified = quotes.get(entry.id, (0, 0))
    notes = [note.text.strip() for note in user.notes if note.text.strip()] if user is not None else []
    return ReadingItem(
        id=entry.id,
        title=entry.title or entry.id,
        url=url,
        kind=entry.kind,
        published=published,
        first_seen=entry.first_seen,
        tldr=entry.tldr,
        contribution=entry.contribution,
        insight_score=entry.insight if entry.tldr or entry.contribution else None,
        quotes_total=total,
        quotes_verified=verified,
        state=entry.state,
        notes=notes,
    )


def highlights(items: list[ReadingItem], now: datetime | None = None) -> list[ReadingItem]:
    """The best-ranked published items collected in the last 30 days (else the best of all), in rank order."""
    since = ((now or datetime.now(UTC)) - timedelta(days=HIGHLIGHT_DAYS)).strftime("%Y-%m-%d")
    recent = [item for item in items if (item.first_seen or "") >= since]
    return (recent or items)[:HIGHLIGHTS]
