"""The reading digest: a Markdown page of what is new and what ranks best, grouped by topic.

The site publishes it, so private and dropped items are left out, and text that came from outside
(titles, tldrs) is escaped so it cannot inject Markdown links or HTML into the page.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..config import Config
from . import rank, search, topics

PER_TOPIC_NEW = 8
PER_TOPIC_TOP = 3
# Link, image and code syntax included: `[x](…)` or `![i](…)` in a title must stay text (the site renders it).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\](){}!<>#|])")


@dataclass
class DigestTopic:
    id: int
    name: str
    keywords: list[str]
    new: list[rank.RankedItem] = field(default_factory=list)
    top: list[rank.RankedItem] = field(default_factory=list)


@dataclass
class Digest:
    since: str
    generated: str
    new_items: int
    topics: list[DigestTopic]
    markdown: str = ""
    path: Path | None = None


def build_digest(
    conn: sqlite3.Connection,
    config: Config,
    *,
    since: str = "7d",
    sprints_dir: Path | None = None,
    now: datetime | None = None,
    filters: search.Filters | None = None,
) -> Digest:
    """New items since `since` ('7d', '2w', a date) and the best-ranked older ones, by topic (only those
    `filters` allows, when given)."""
    now = now or datetime.now(UTC)
    cutoff = search.parse_since(since, now)
    ranked = rank.rank_items(
        conn, config, state=None, sprints_dir=sprints_dir, include_private=False, now=now, filters=filters
    )
    info = {t.id: t for t in topics.list_topics(conn, now=now)}
    topic_of = topics.topic_of_items(conn)
    groups: dict[int, DigestTopic] = {}
    for item in ranked:
        topic_id = topic_of.get(item.id) or 0
        known = info.get(topic_id)
        group = groups.setdefault(
            topic_id, DigestTopic(topic_id, known.name if known else topics.UNSORTED, known.keywords if known else [])
        )
        if item.first_seen >= cutoff:
            if len(group.new) < PER_TOPIC_NEW:
                group.new.append(item)
        elif len(group.top) < PER_TOPIC_TOP:
            group.top.append(item)
    ordered = sorted(groups.values(), key=lambda g: (g.id == 0, -len(g.new), -(g.top[0].score if g.top else 0)))
    new_items = sum(1 for item in ranked if item.first_seen >= cutoff)
    digest = Digest(cutoff[:10], now.strftime("%Y-%m-%d %H:%M UTC"), new_items, [g for g in ordered if g.new or g.top])
    digest.markdown = render_markdown(digest)
    return digest


def write_digest(digest: Digest, path: Path) -> Digest:
    """Write a built digest (`build_digest`) to `path` (folders created); return it, knowing its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(digest.markdown, encoding="utf-8")
    digest.path = path
    return digest


def render_markdown(digest: Digest) -> str:
    lines = [
        "# Reading digest",
        "",
        f"{digest.new_items} new item(s) since {digest.since}, by topic; each topic also shows its best-ranked "
        f"earlier reading. Generated {digest.generated}.",
        "",
    ]
    if not digest.topics:
        lines += ["Nothing to show yet: the pile has no public items.", ""]
    for group in digest.topics:
        lines.append(f"## {escape(group.name)}")
        if group.keywords:
            lines += ["", "*" + escape(", ".join(group.keywords)) + "*"]
        lines.append("")
        if group.new:
            lines += ["**New**", ""] + [_line(item) for item in group.new] + [""]
        if group.top:
            lines += ["**Top-ranked**", ""] + [_line(item) for item in group.top] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _line(item: rank.RankedItem) -> str:
    kind = item.kind + (f", {item.contribution.replace('_', ' ')}" if item.contribution else "")
    tldr = f" — {escape(item.tldr)}" if item.tldr else ""
    return f"- **{escape(item.title or item.id)}** ({kind}; {escape(item.id)}){tldr}"


def escape(text: str) -> str:
    """Backslash-escape Markdown and HTML syntax in text from outside, and keep it on one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
