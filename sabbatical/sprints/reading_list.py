"""A sprint's reading list: the pile searched with the sprint's question, and its Markdown section.

The search is plain SQLite FTS5 (BM25) over the pile's `items_fts`, OR-ing the question's significant
words, with each item's latest successful summary (tldr, contribution) when there is one. With no pile
the list says so plainly; a pile that cannot be read is reported, never fatal to the sprint.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import StoreError

if TYPE_CHECKING:
    from ..workspace import Workspace

LIMIT = 10
# Common words that would match most of the pile and say nothing about the question.
_STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
how i if in into is it its itself just me more most my no nor not now of off on once only or other our out over
own same she should so some such than that the their them then there these they this those through to too
under until up very was we were what when where which while who whom why will with would you your yes yet
make makes made get gets use uses using used work works better best good really much many way ways
""".split())


@dataclass
class ReadingEntry:
    item_id: str
    title: str
    kind: str
    url: str | None
    tldr: str | None
    contribution: str | None
    score: float


@dataclass
class ReadingList:
    query: str
    entries: list[ReadingEntry] = field(default_factory=list)
    pile_exists: bool = True
    problem: str | None = None


def significant_words(question: str) -> list[str]:
    """The question's words worth searching for, in order, without repeats."""
    words = []
    for word in re.findall(r"\w+", question.lower()):
        if (len(word) >= 3 or word.isdigit()) and word not in _STOPWORDS and word not in words:
            words.append(word)
    return words


def fts_query(question: str) -> str:
    """An FTS5 query OR-ing the quoted significant words (quoting keeps FTS syntax out of user text)."""
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in significant_words(question))


def search_pile(workspace: Workspace, question: str, *, limit: int = LIMIT,
                include_private: bool = False) -> ReadingList:
    """The pile's best matches for `question`. Never creates a pile that is not there."""
    query = fts_query(question)
    if not workspace.pile_path.exists():
        return ReadingList(query, pile_exists=False)
    if not query:
        return ReadingList(query)
    from .. import db

    try:
        conn = db.connect(workspace.pile_path)
    except StoreError as exc:
        return ReadingList(query, problem=str(exc))
    try:
        return ReadingList(query, _search(conn, query, limit, include_private))
    except sqlite3.Error as exc:
        return ReadingList(query, problem=f"could not search the pile: {exc}")
    finally:
        conn.close()


def _search(conn: sqlite3.Connection, query: str, limit: int, include_private: bool) -> list[ReadingEntry]:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    if "items_fts" not in tables or "items" not in tables:
        return []
    summary = ("(SELECT s.{column} FROM summaries s WHERE s.item_id = i.id AND s.status = 'ok' "
               "ORDER BY s.id DESC LIMIT 1)")
    has_summaries = "summaries" in tables
    tldr = summary.format(column="tldr") if has_summaries else "NULL"
    contribution = summary.format(column="contribution") if has_summaries else "NULL"
    private = "" if include_private else "AND i.private = 0"
    rows = conn.execute(
        f"""SELECT i.id, i.title, i.kind, i.url, {tldr} AS tldr, {contribution} AS contribution,
                   bm25(items_fts) AS score
            FROM items_fts JOIN items i ON i.seq = items_fts.rowid
            WHERE items_fts MATCH ? {private}
            ORDER BY score LIMIT ?""",
        (query, limit * 3)).fetchall()  # room for the dropped ones, filtered out below
    dropped = _dropped(conn, [row["id"] for row in rows]) if "events" in tables else set()
    return [ReadingEntry(item_id=row["id"], title=row["title"] or row["id"], kind=row["kind"], url=row["url"],
                         tldr=row["tldr"], contribution=row["contribution"], score=round(-row["score"], 4))
            for row in rows if row["id"] not in dropped][:limit]


def _dropped(conn: sqlite3.Connection, item_ids: list[str]) -> set[str]:
    """Items the researcher dropped (triage state folded from the pile's append-only events)."""
    try:
        from ..reading.triage import user_states
    except ImportError:  # an older pile package: the latest triage event decides
        return _latest_action_is_drop(conn, item_ids)
    return {item_id for item_id, state in user_states(conn, item_ids).items() if state.state == "dropped"}


def _latest_action_is_drop(conn: sqlite3.Connection, item_ids: list[str]) -> set[str]:
    dropped = set()
    for item_id in item_ids:
        row = conn.execute("SELECT action FROM events WHERE subject = ? AND action IN ('keep', 'star', 'drop', "
                           "'inbox') ORDER BY id DESC LIMIT 1", (item_id,)).fetchone()
        if row and row["action"] == "drop":
            dropped.add(item_id)
    return dropped


def render_markdown(reading: ReadingList) -> str:
    """The Reading list section of sprint.md."""
    command = "`sabbatical sprint reading --refresh`"
    if not reading.pile_exists:
        return ("No pile yet (reading/pile.db does not exist), so nothing to suggest. Read something with "
                f"`sabbatical read …`, then run {command}.")
    if reading.problem:
        return f"The pile could not be searched: {reading.problem}. Once it is fixed, run {command}."
    if not reading.entries:
        return f"Nothing in the pile matches this question yet. After reading more, run {command}."
    lines = [f"From the pile, best match first (searched for: {', '.join(_words_of(reading.query))}; "
             f"{command} redoes it).", ""]
    for number, entry in enumerate(reading.entries, 1):
        title = entry.title.replace("[", "(").replace("]", ")").replace("\n", " ")
        linked = f"[{title}]({entry.url})" if entry.url else title
        kind = entry.kind + (f", {entry.contribution.replace('_', ' ')}" if entry.contribution else "")
        tldr = entry.tldr.replace("\n", " ").strip() if entry.tldr else "not summarised yet"
        lines.append(f"{number}. **{linked}** ({kind}): {tldr} `{entry.item_id}`")
    return "\n".join(lines)


def _words_of(query: str) -> list[str]:
    return [part.strip().strip('"') for part in query.split(" OR ")]
