"""Exports of the pile for other tools: BibTeX (LaTeX), CSL-JSON (Zotero), Markdown notes (Obsidian).

The lossless JSON-lines export and its import live in `export_jsonl` (re-exported here). Every export
here takes `ids`, the items to write (the CLI's filters choose them; None = the whole pile, in id order).

BibTeX and CSL-JSON keep what came in: an item read from a .bib file is written with its entry type,
its cite key and its fields; an arXiv paper gets `eprint`, `archivePrefix` and its arXiv category code as
`primaryClass`. Markdown notes carry the researcher's state, tags, topic and notes, and the summary's
tldr, judgement and key claims with their quotes; their file names are clean slugs of the title.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ..errors import UsageError
from .export_jsonl import FORMAT, FORMAT_VERSION, ImportReport, NotAPileExport, export_jsonl, import_jsonl

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ImportReport",
    "NotAPileExport",
    "export_bibtex",
    "export_csl_json",
    "export_jsonl",
    "export_markdown",
    "import_jsonl",
    "note_slug",
    "write_export",
]

ARXIV_ARCHIVES = {
    "cs",
    "math",
    "physics",
    "stat",
    "eess",
    "econ",
    "q-bio",
    "q-fin",
    "astro-ph",
    "cond-mat",
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math-ph",
    "nlin",
    "nucl-ex",
    "nucl-th",
    "quant-ph",
}
# Fields of an entry that came from a .bib file that the item's own columns already carry.
_FROM_COLUMNS = {"title", "author", "abstract", "year", "url", "keywords"}


def _items(conn: sqlite3.Connection, ids: Iterable[str] | None) -> list[sqlite3.Row]:
    """Item rows: the given ids in their order (unknown ones left out), or every item by id."""
    if ids is None:
        return conn.execute("SELECT * FROM items ORDER BY id").fetchall()
    wanted = list(dict.fromkeys(ids))
    found: dict[str, sqlite3.Row] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            (r["id"], r) for r in conn.execute(f"SELECT * FROM items WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        )
    return [found[i] for i in wanted if i in found]


def arxiv_category(row: sqlite3.Row, extra: dict[str, Any]) -> str | None:
    """The item's primary arXiv category code ('cs.LG', 'hep-th'), if it has one."""
    candidates = [extra.get("primary_category"), *json.loads(row["categories"] or "[]")]
    for code in candidates:
        if isinstance(code, str) and code.split(".", 1)[0] in ARXIV_ARCHIVES:
            return code
    return None


EXPORT_FORMATS = ("jsonl", "bibtex", "csl", "markdown")
DEFAULT_NOTES_FOLDER = Path("pile-notes")


def write_export(
    conn: sqlite3.Connection,
    format_: str,
    out: Path | None,
    stream: TextIO,
    *,
    ids: Iterable[str] | None = None,
    prefer: tuple[str, str] | None = None,
) -> int:
    """`pile export`: write `format_` to the file (folder, for markdown) `out`, or to `stream` when it is None.

    `ids` chooses the items (None = all); the JSON-lines export is always the whole pile, since it is the
    pile's lossless copy. Returns how many items were written."""
    if format_ not in EXPORT_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, not '{format_}'")
    if format_ == "markdown":
        return export_markdown(conn, out or DEFAULT_NOTES_FOLDER, ids, prefer=prefer)
    if format_ == "jsonl" and ids is not None:
        raise UsageError(
            "the JSON-lines export is the whole pile (it is what `pile import` restores); "
            "filter the bibtex, csl or markdown exports instead"
        )

    def write(handle: TextIO) -> int:
        if format_ == "jsonl":
            return export_jsonl(conn, handle)
        return (export_bibtex if format_ == "bibtex" else export_csl_json)(conn, handle, ids)

    if out is None:
        return write(stream)
    with out.open("w", encoding="utf-8", newline="\n") as handle:
        return write(handle)


# -- BibTeX ----------------------------------------------------------------------------------------------

_BIBTEX_SPECIAL = re.compile(r"([&%$#_])")


def export_bibtex(conn: sqlite3.Connection, out: TextIO, ids: Iterable[str] | None = None) -> int:
    """One BibTeX entry per item; return how many were written.

    The entry type is the one it came in with, else @article for a DOI or a journal, else @misc."""
    keys: set[str] = set()
    count = 0
    for row in _items(conn, ids):
        entry_type, key, fields = bibtex_entry(row, keys)
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        out.write(f"@{entry_type}{{{key},\n{body}\n}}\n\n")
        count += 1
    return count


def bibtex_entry(row: sqlite3.Row, taken: set[str]) -> tuple[str, str, list[tuple[str, str]]]:
    """(entry type, cite key, [(field, BibTeX value)]) of one item row."""
    authors, extra = json.loads(row["authors"]), json.loads(row["extra"])
    year = (row["published"] or "")[:4]
    came_in = {k.lower(): str(v) for k, v in (extra.get("bibtex_fields") or {}).items()}
    fields: list[tuple[str, str]] = [("title", "{" + _bib(row["title"]) + "}")]
    if authors:
        fields.append(
            ("author", " and ".join([*(_bib(a) for a in authors), *(["others"] if extra.get("et_al") else [])]))
        )
    if year.isdigit():
        fields.append(("year", year))
    for name in ("journal", "booktitle", "publisher", "volume", "pages", "note"):
        if extra.get(name) and name not in came_in:
            fields.append((name, _bib(str(extra[name]))))
    fields += [
        (name, _bib(value))
        for name, value in sorted(came_in.items())
        if name not in _FROM_COLUMNS and name not in ("eprint", "archiveprefix", "primaryclass", "doi")
    ]
    entry_type = _bibtex_type(row, extra)
    if row["id"].startswith("arxiv:"):
        fields += [("eprint", row["id"].removeprefix("arxiv:")), ("archivePrefix", "arXiv")]
        category = arxiv_category(row, extra)
        if category:
            fields.append(("primaryClass", category))
    doi = (
        extra.get("doi")
        or came_in.get("doi")
        or (row["id"].removeprefix("doi:") if row["id"].startswith("doi:") else "")
    )
    if doi:
        fields.append(("doi", _bib(doi)))
    if extra.get("journal_ref") and not any(name == "note" for name, _ in fields):
        fields.append(("note", _bib(extra["journal_ref"])))
    if row["url"]:
        fields.append(("url", _bib_url(row["url"])))
    return entry_type, _cite_key(authors, year, row["title"], row["id"], taken, extra.get("bibtex_key")), fields


def _bibtex_type(row: sqlite3.Row, extra: dict[str, Any]) -> str:
    came_in = str(extra.get("bibtex_type") or "").lower()
    if re.fullmatch(r"[a-z]+", came_in):
        return came_in
    if row["id"].startswith("doi:") or extra.get("journal"):
        return "article"
    return "misc"


def _bib(text: str) -> str:
    text = " ".join((text or "").split()).replace("\\", "\\textbackslash{}")
    text = _BIBTEX_SPECIAL.sub(r"\\\1", text)
    if text.count("{") != text.count("}"):
        text = text.replace("{", "(").replace("}", ")")
    return text


def _bib_url(url: str) -> str:
    """A URL as BibTeX reads it: braces cannot be escaped inside a field, so they are percent-encoded."""
    return "".join(url.split()).replace("{", "%7B").replace("}", "%7D").replace("\\", "%5C")


def _cite_key(
    authors: list[str], year: str, title: str, item_id: str, taken: set[str], came_in: str | None = None
) -> str:
    if came_in and re.fullmatch(r"[A-Za-z0-9_:.\-+/]{1,80}", came_in) and came_in not in taken:
        taken.add(came_in)
        return came_in
    last = _ascii(authors[0].split()[-1]) if authors and authors[0].split() else ""
    word = next((w for w in (_ascii(t) for t in (title or "").split()) if len(w) > 3), "")
    base = (last + (year if year.isdigit() else "") + word).lower() or _ascii(item_id).lower()[:40] or "item"
    key, suffix = base, 0
    while key in taken:
        suffix += 1
        key = f"{base}{chr(ord('a') + (suffix - 1) % 26)}{(suffix - 1) // 26 or ''}"
    taken.add(key)
    return key


def _ascii(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())


# -- CSL-JSON (Zotero) -------------------------------------------------------------------------------------

CSL_TYPES = {
    "article": "article-journal",
    "inproceedings": "paper-conference",
    "conference": "paper-conference",
    "book": "book",
    "inbook": "chapter",
    "incollection": "chapter",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "techreport": "report",
    "report": "report",
    "online": "webpage",
    "unpublished": "manuscript",
    "proceedings": "book",
}
KIND_TYPES = {"paper": "article", "post": "post-weblog", "page": "webpage", "document": "document"}


def export_csl_json(conn: sqlite3.Connection, out: TextIO, ids: Iterable[str] | None = None) -> int:
    """The items as a CSL-JSON array (Zotero: File → Import); cite keys match the BibTeX export's."""
    keys: set[str] = set()
    records = [csl_record(row, keys) for row in _items(conn, ids)]
    out.write(json.dumps(records, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    return len(records)


def csl_record(row: sqlite3.Row, taken: set[str]) -> dict[str, Any]:
    """One item as a CSL-JSON record."""
    authors, extra = json.loads(row["authors"]), json.loads(row["extra"])
    bib_type = str(extra.get("bibtex_type") or "").lower()
    record: dict[str, Any] = {
        "id": _cite_key(authors, (row["published"] or "")[:4], row["title"], row["id"], taken, extra.get("bibtex_key")),
        "type": CSL_TYPES.get(bib_type) or ("article-journal" if extra.get("journal") else KIND_TYPES[row["kind"]]),
        "title": row["title"] or row["id"],
        "author": [_csl_name(a) for a in authors],
    }
    issued = _date_parts(row["published"])
    if issued:
        record["issued"] = {"date-parts": [issued]}
    optional = {
        "URL": row["url"],
        "abstract": row["abstract"] or None,
        "DOI": extra.get("doi"),
        "container-title": extra.get("journal") or extra.get("booktitle"),
        "volume": extra.get("volume"),
        "page": extra.get("pages"),
        "publisher": extra.get("publisher"),
        "note": extra.get("note"),
    }
    if row["id"].startswith("arxiv:"):
        number = row["id"].removeprefix("arxiv:")
        optional.update(
            {
                "number": number,
                "publisher": "arXiv",
                "archive": "arXiv",
                "DOI": extra.get("doi") or f"10.48550/arXiv.{number}",
            }
        )
        record["type"] = (
            "article"
            if record["type"] in ("article", "article-journal") and not extra.get("journal")
            else record["type"]
        )
    if row["id"].startswith("doi:"):
        optional["DOI"] = row["id"].removeprefix("doi:")
    record.update({k: v for k, v in optional.items() if v})
    return record


def _csl_name(name: str) -> dict[str, str]:
    if "," in name:
        family, given = (part.strip() for part in name.split(",", 1))
        return {"family": family, "given": given} if given else {"family": family}
    parts = name.split()
    if len(parts) < 2:
        return {"literal": name}
    return {"family": parts[-1], "given": " ".join(parts[:-1])}


def _date_parts(published: str | None) -> list[int]:
    match = re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", published or "")
    return [int(p) for p in match.groups() if p] if match else []


# -- Markdown notes (Obsidian) ----------------------------------------------------------------------------

_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+\*?|\\.")
_WORD = re.compile(r"[^\W_]+")
_LINK_TEXT = re.compile(r"[\[\]|#^\x00-\x1f]")


def note_slug(title: str) -> str:
    """A clean file name for a note: lower-case words joined by '-', LaTeX markup and punctuation gone,
    non-ASCII words kept whole ('KI-Wertschöpfung' → 'ki-wertschöpfung')."""
    text = unicodedata.normalize("NFC", _LATEX_COMMAND.sub(" ", title or ""))
    words = [w.lower() for w in _WORD.findall(text)]
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > 80:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug or (words[0][:80] if words else "")


def export_markdown(
    conn: sqlite3.Connection, folder: Path, ids: Iterable[str] | None = None, *, prefer: tuple[str, str] | None = None
) -> int:
    """One note per item in `folder` (YAML front matter, wiki links between linked items); the count."""
    from .item_json import item_records

    folder.mkdir(parents=True, exist_ok=True)
    rows = _items(conn, ids)
    names = _note_names(conn, rows)
    records = {r["id"]: r for r in item_records(conn, [row["id"] for row in rows], prefer=prefer)}
    links_out = _grouped(
        conn, "SELECT from_item AS item_id, to_item FROM links ORDER BY to_item", lambda r: r["to_item"]
    )
    links_in = _grouped(
        conn, "SELECT to_item AS item_id, from_item FROM links ORDER BY from_item", lambda r: r["from_item"]
    )
    exported = set(records)
    for row in rows:
        links = tuple(
            (heading, [t for t in grouped.get(row["id"], []) if t in exported])
            for heading, grouped in (("Links to", links_out), ("Linked from", links_in))
        )
        text = _note(row, records[row["id"]], names, links)
        (folder / f"{names[row['id']][0]}.md").write_text(text, encoding="utf-8")
    return len(rows)


def _note(
    row: sqlite3.Row,
    record: dict[str, Any],
    names: dict[str, tuple[str, str]],
    links: tuple[tuple[str, list[str]], ...],
) -> str:
    import yaml

    summary, topic = record["summary"], record["topic"]
    topic_name = topic["name"] if topic and topic["id"] is not None else None
    front = {
        "id": row["id"],
        "kind": row["kind"],
        "title": row["title"],
        "authors": record["authors"],
        "url": row["url"],
        "published": row["published"],
        "categories": record["categories"],
        "sources": [f"{s['kind']} {s['locator']}" for s in record["sources"]],
        "first_seen": row["first_seen"],
        "state": record["state"],
        "tags": record["tags"],
        "topic": topic_name,
        "topic_link": f"[[{_link_text(topic_name)}]]" if topic_name else None,
        "insight_kind": summary["kind"] if summary else None,
        "insight_score": summary["insight_score"] if summary else None,
    }
    parts = [
        "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000) + "---\n",
        f"# {_one_line(row['title'] or row['id'])}\n",
    ]
    if row["url"]:
        parts.append(f"<{row['url']}>\n")
    if topic_name:
        parts.append(f"Topic: [[{_link_text(topic_name)}]]\n")
    parts += _summary_parts(summary) + _notes_parts(record["notes"])
    for heading, text in (("Abstract", row["abstract"]), ("Text", row["content"])):
        if text:
            parts.append(f"## {heading}\n\n{text}\n")
    for heading, targets in links:
        lines = [f"- [[{names[t][0]}|{names[t][1]}]]" for t in targets if t in names]
        if lines:
            parts.append(f"## {heading}\n\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)


def _summary_parts(summary: dict[str, Any] | None) -> list[str]:
    if not summary:
        return []
    judged = summary["kind"].replace("_", " ")
    if summary["insight_score"] is not None:
        judged += f", insight {summary['insight_score']:.2f}: {_one_line(summary['rationale'] or '')}"
    claims = [
        f"- {_one_line(c['claim'])}\n  > “{_one_line(c['quote'])}” ({c['check'].replace('_', ' ')})"
        for c in summary["key_claims"]
    ]
    return [
        f"## Summary\n\n{_one_line(summary['tldr'])}\n\nJudgement: {judged}\n\n"
        f"*{summary['producer']}: {summary['model']}, {summary['prompt_version']}*\n",
        "## Key claims\n\n" + "\n".join(claims) + "\n",
    ]


def _notes_parts(notes: list[dict[str, str]]) -> list[str]:
    if not notes:
        return []
    return ["## Notes\n\n" + "\n".join(f"- {n['at'][:10]}: {n['text']}" for n in notes) + "\n"]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _link_text(text: str) -> str:
    """Text that cannot end or split a [[wiki link]]."""
    return " ".join(_LINK_TEXT.sub(" ", text).split())


def _grouped(conn: sqlite3.Connection, sql: str, shape) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for row in conn.execute(sql):
        grouped.setdefault(row["item_id"], []).append(shape(row))
    return grouped


def _note_names(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> dict[str, tuple[str, str]]:
    """item id → (file name, link text) for every note; every item of the pile gets one, so links between
    exported notes resolve, and names stay the same whichever items are exported."""
    names: dict[str, tuple[str, str]] = {}
    taken: set[str] = set()
    for item_id, title in _all_titles(conn):
        base = note_slug(title) or note_slug(item_id) or "item"
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}-{number}"
        taken.add(name)
        names[item_id] = (name, _link_text(title or item_id) or name)
    return names


def _all_titles(conn: sqlite3.Connection) -> Iterator[tuple[str, str]]:
    for row in conn.execute("SELECT id, title FROM items ORDER BY id"):
        yield row["id"], row["title"]
