"""Sources: each module reads one kind of input and turns it into pile `Entry` records.

A source never touches the database and never prints. It returns a `SourceRead`: the entries (often a
generator, so big inputs stream into batched writes), warnings for input it could read only in part, and
the fetch state to remember (ETag / Last-Modified, a file's hash). A source that cannot be read raises
`SourceError` with one line saying why; the orchestrator (`sabbatical.reading.ingest`) prefixes which
source it was and carries on with the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ...errors import SabbaticalError
from ..pile import Entry


class SourceError(SabbaticalError):
    """One source could not be read; the message says why (and what to do), without naming the source."""


@dataclass
class SourceRead:
    """What reading one source produced."""

    entries: Iterable[Entry]
    metadata_from: str  # 'arxiv', 'bibtex', 'feed', 'web', 'file' (see pile.RANKS)
    title: str = ""
    warnings: list[str] = field(default_factory=list)
    not_modified: bool = False  # conditional GET said 304, or the file is unchanged
    etag: str | None = None
    last_modified: str | None = None
    last_entry: str | None = None
