"""A sprint's reading list: the pile searched with the sprint's question, and its Markdown section.

The search is the pile's own hybrid search (words by BM25 and meaning by vectors, fused), so a sprint
finds what `sabbatical pile search` would, with each item's chosen summary (tldr, contribution).
Dropped items are left out, and private ones unless the sprint is private. With no pile the list says
so plainly; a pile that cannot be read is reported, never fatal to the sprint.
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
_STOPWORDS = frozenset(["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yes", "yet", "make", "makes", "made", "get", "gets", "use", "uses", "using", "used", "work", "works", "better", "best", "good", "really", "much", "many", "way", "ways"])


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
        return ReadingList(query, _search(conn, workspace, question, limit, include_private))
    except sqlite3.Error as exc:
        return ReadingList(query, problem=f"could not search the pile: {exc}")
    finally:
        conn.close()


def _search(conn: sqlite3.Connection, workspace: Workspace, question: str, limit: int,
            include_private: bool) -> list[ReadingEntry]:
    from ..reading.search import search
    from ..reading.summarise import latest_summary_rows, preferred_key

    words = " ".join(significant_words(question))
    hits = [hit for hit in search(conn, workspace.config, words, limit=limit * 3) if hit.state != "dropped"]
    if not include_private:
        private = {row[0] for row in conn.execute("SELECT id FROM items WHERE private = 1")}
        hits = [hit for hit in hits if hit.id not in private]
    hits = hits[:limit]
    summaries = latest_summary_rows(conn, [hit.id for hit in hits], prefer=preferred_key(workspace.config.llm))
    entries = []
    for hit in hits:
        summary = summaries.get(hit.id)
        entries.append(ReadingEntry(item_id=hit.id, title=hit.title or hit.id, kind=hit.kind, url=hit.url,
                                    tldr=summary["tldr"] if summary else None,
                                    contribution=summary["contribution"] if summary else None,
                                    score=round(hit.score, 4)))
    return entries


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
