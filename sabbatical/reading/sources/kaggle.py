"""arXiv metadata as JSON lines: the Kaggle `arxiv-metadata-oai-snapshot` dump and listings like it.

One JSON object per line with at least `id` and `title`. The snapshot's own fields are read (`authors`
as one string or `authors_parsed`, `categories` space-separated, `versions`, `update_date`, `doi`,
`journal-ref`, `comments`); daily-listing exports with `summary`, author lists and category lists are
read too. Lines are streamed, so a whole-category dump never sits in memory. A line that is not a usable
record is skipped with a warning naming its line number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from ..identity import normalise_doi, parse_arxiv_id
from ..pile import Entry

MAX_LINE_WARNINGS = 5


def looks_like_arxiv_jsonl(first_line: str) -> bool:
    try:
        record = json.loads(first_line)
    except ValueError:
        return False
    return (
        isinstance(record, dict)
        and "title" in record
        and "id" in record
        and parse_arxiv_id(str(record["id"])) is not None
    )


def read_lines(path: Path, warnings: list[str]) -> Iterator[Entry]:
    """Entries from a JSON-lines file; bad lines add to `warnings` (the first few, then a count)."""
    skipped = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            entry = None
            try:
                entry = entry_from_record(json.loads(line))
            except ValueError:
                pass
            if entry is None:
                skipped += 1
                if skipped <= MAX_LINE_WARNINGS:
                    warnings.append(f"line {number} is not an arXiv record; skipped")
                continue
            yield entry
    if skipped > MAX_LINE_WARNINGS:
        warnings.append(f"{skipped} lines in all were not arXiv records and were skipped")


def entry_from_record(record: Any) -> Entry | None:
    if not isinstance(record, dict):
        return None
    arxiv = parse_arxiv_id(str(record.get("id", "")))
    title = " ".join(str(record.get("title") or "").split())
    if arxiv is None or not title:
        return None
    doi = normalise_doi(str(record.get("doi") or "").split()[0]) if record.get("doi") else None
    versions = record.get("versions") or []
    extra = {
        key: " ".join(str(record[field]).split())
        for key, field in (("comment", "comments"), ("comment", "comment"), ("journal_ref", "journal-ref"))
        if record.get(field)
    }
    if doi:
        extra["doi"] = doi.removeprefix("doi:")
    return Entry(
        ids=[arxiv.canonical, *([doi] if doi else [])],
        kind="paper",
        title=title,
        authors=_authors(record),
        abstract=_abstract(record.get("abstract") or record.get("summary") or ""),
        url=arxiv.abs_url,
        published=_first_version_date(versions),
        updated=record.get("update_date"),
        categories=_categories(record.get("categories")),
        extra=extra,
        version=len(versions) if isinstance(versions, list) and versions else arxiv.version,
        entry_id=arxiv.base,
    )


def _authors(record: dict[str, Any]) -> list[str]:
    parsed = record.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = [
            " ".join(f"{p[1] if len(p) > 1 else ''} {p[0]} {p[2] if len(p) > 2 else ''}".split())
            for p in parsed
            if isinstance(p, list) and p
        ]
    elif isinstance(record.get("authors"), list):
        names = [" ".join(str(a).split()) for a in record["authors"] if str(a).strip()]
    else:
        text = " ".join(str(record.get("authors") or "").split())
        names = [part.strip() for chunk in text.split(",") for part in chunk.split(" and ")]
    return [_unlatex(n) for n in names if n]


def _unlatex(name: str) -> str:
    """The snapshot writes accents in LaTeX (Bal\\'azs); people's names are shown as they are spelled."""
    if "\\" not in name and "{" not in name:
        return name
    from pylatexenc.latex2text import LatexNodes2Text

    return " ".join(LatexNodes2Text().latex_to_text(name).split())


def _categories(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value or "").split()


def _abstract(text: str) -> str:
    paragraphs = [" ".join(p.split()) for p in str(text).strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _first_version_date(versions: Any) -> str | None:
    if not isinstance(versions, list) or not versions or not isinstance(versions[0], dict):
        return None
    try:
        return parsedate_to_datetime(versions[0].get("created", "")).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return None
