"""The one set of filters every listing of the pile takes: `pile list`, `search`, `inbox`, `export`, `digest`
and the triage screen narrow by tag, triage state, topic, kind, date, source and sprint the same way.

`search.Filters` is the filter object (it also narrows a search's candidates before fusion); this module
builds one from what a person typed, turning a sprint into the items it names: its reading list in
sprint.md and the items its journal entries cite.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from .pile import lookup_ids
from .search import Filters

if TYPE_CHECKING:
    from ..workspace import Workspace


def item_filters(
    conn: sqlite3.Connection,
    workspace: Workspace,
    *,
    topic: str | None = None,
    kind: str | None = None,
    state: str | None = None,
    since: str | None = None,
    source: str | None = None,
    tag: str | None = None,
    sprint: str | None = None,
) -> Filters:
    """The filter the options describe (`sprint` is a sprint's number, slug or words of its question)."""
    ids = sprint_item_ids(conn, workspace, sprint) if sprint else None
    return Filters(topic=topic, kind=kind, state=state, since=since, source=source, tag=tag, ids=ids)


def sprint_item_ids(conn: sqlite3.Connection, workspace: Workspace, ref: str) -> frozenset[str]:
    """The pile items a sprint names: its reading list, and what its current journal entries cite (the
    sprint's bibliography, as `sprint bib` writes it)."""
    from ..sprints.citations import bibliography_ids
    from ..sprints.model import Sprint

    return frozenset(lookup_ids(conn, bibliography_ids(Sprint(workspace, ref))).values())
