"""BibTeX files (bibtexparser 2.x): every entry becomes an item, found again by its arXiv id or DOI.

An entry with `eprint` (and archivePrefix arXiv), an arXiv journal/URL field, or an arXiv DOI is that
arXiv paper; one with a DOI is that DOI; else its URL; else it is named `bibtex:KEY`. Blocks the parser
cannot read are reported as warnings with their line, and the rest of the file is read.
"""

from __future__ import annotations

import re
from typing import Any

from ..identity import canonical_id, normalise_doi, parse_arxiv_id
from ..pile import Entry
from . import SourceError

_ARXIV_IN_TEXT = re.compile(
    r"arxiv[:\s/]*(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)", re.IGNORECASE
)
_IN_COLUMNS = {
    "title",
    "author",
    "abstract",
    "url",
    "year",
    "keywords",
    "journal",
    "booktitle",
    "publisher",
    "volume",
    "pages",
    "note",
}
_COMMAND_ARGUMENT = re.compile(r"\\([A-Za-z]+)\{")
_ET_AL = {"others", "et al", "et al.", "and others"}
PAPER_TYPES = {
    "article",
    "inproceedings",
    "conference",
    "misc",
    "techreport",
    "phdthesis",
    "mastersthesis",
    "unpublished",
    "incollection",
    "book",
    "inbook",
    "proceedings",
    "online",
    "report",
}


def parse_bibtex(text: str) -> tuple[list[Entry], list[str]]:
    """(entries, warnings) from the text of a .bib file."""
    import bibtexparser
    from bibtexparser import middlewares

    library = bibtexparser.parse_string(
        text,
        append_middleware=[
            middlewares.LatexDecodingMiddleware(),
            middlewares.SeparateCoAuthors(),
            middlewares.SplitNameParts(),
        ],
    )
    warnings = [_failed(block) for block in library.failed_blocks]
    entries = [entry_from_bibtex(e) for e in library.entries]
    if not entries and not warnings and text.strip():
        raise SourceError("no BibTeX entries found")
    return entries, warnings


def entry_from_bibtex(entry: Any) -> Entry:
    fields = {k.lower(): v.value for k, v in entry.fields_dict.items()}
    arxiv = _arxiv_of(fields)
    doi = normalise_doi(str(fields.get("doi", "")))
    url = canonical_id(str(fields.get("url", ""))) if fields.get("url") else None
    ids = [i for i in dict.fromkeys([arxiv.canonical if arxiv else None, doi, url]) if i]
    if doi and doi.startswith("doi:10.48550/arxiv."):
        ids = [i for i in ids if i != doi] + [doi]
    ids = ids or [f"bibtex:{entry.key}"]
    extra: dict[str, Any] = {"bibtex_key": entry.key, "bibtex_type": entry.entry_type.lower()}
    for name in ("journal", "booktitle", "publisher", "volume", "pages", "note"):
        if fields.get(name):
            extra[name] = _plain(fields[name])
    # Every other field as it came in, so the BibTeX export writes the entry back with them.
    kept = {name: _plain(value) for name, value in fields.items() if name not in _IN_COLUMNS and _plain(value)}
    if kept:
        extra["bibtex_fields"] = kept
    authors, et_al = _names(fields.get("author"))
    if et_al:
        extra["et_al"] = True
    year = str(fields.get("year", "")).strip()
    return Entry(
        ids=ids,
        kind="paper" if (arxiv or doi or entry.entry_type.lower() in PAPER_TYPES) else "document",
        title=_plain(fields.get("title", "")),
        authors=authors,
        abstract=_plain(fields.get("abstract", "")),
        url=str(fields["url"]).strip() if fields.get("url") else (arxiv.abs_url if arxiv else None),
        published=year if re.fullmatch(r"\d{4}", year) else None,
        categories=[k.strip() for k in re.split(r"[;,]", _plain(fields.get("keywords", ""))) if k.strip()],
        extra=extra,
        version=arxiv.version if arxiv else None,
        entry_id=entry.key,
    )


def _arxiv_of(fields: dict[str, Any]):
    eprint = str(fields.get("eprint", "")).strip()
    prefix = str(fields.get("archiveprefix", fields.get("eprinttype", ""))).lower()
    if eprint and (prefix in ("arxiv", "") or parse_arxiv_id(eprint)):
        found = parse_arxiv_id(eprint)
        if found:
            return found
    for name in ("doi", "url", "journal", "note", "howpublished"):
        value = str(fields.get(name, ""))
        found = parse_arxiv_id(value) if name in ("doi", "url") else None
        if not found:
            match = _ARXIV_IN_TEXT.search(value)
            found = parse_arxiv_id(match[1]) if match else None
        if found:
            return found
    return None


def _names(value: Any) -> tuple[list[str], bool]:
    """(the authors' names, whether the list ended in BibTeX's "and others", which is no author)."""
    if not value:
        return [], False
    if isinstance(value, str):
        names = [_plain(n) for n in re.split(r"\s+and\s+", value) if n.strip()]
    else:
        names = []
        for person in value:
            parts = (
                getattr(person, "first", [])
                + getattr(person, "von", [])
                + getattr(person, "last", [])
                + getattr(person, "jr", [])
            )
            names.append(_plain(" ".join(parts)) if parts else _plain(str(person)))
    kept = [n for n in names if n.lower() not in _ET_AL]
    return kept, len(kept) < len(names)


def _plain(value: Any) -> str:
    """Text without BibTeX's braces; a command keeps its argument apart ('\\mathcal{O}' → '\\mathcal O')."""
    text = _COMMAND_ARGUMENT.sub(r"\\\1 ", str(value))
    return " ".join(text.replace("{", "").replace("}", "").split())


def _failed(block: Any) -> str:
    line = getattr(block, "start_line", None)
    where = f"the block at line {line + 1}" if isinstance(line, int) else "a block"
    return f"{where} is not valid BibTeX and was skipped"
