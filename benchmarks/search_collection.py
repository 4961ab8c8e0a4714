"""The fixed collection the search dev set is judged over, read from ../shared/corpus.

It holds the machine-learning arXiv papers of the corpus (the keras CSV of 1,000 ML abstracts and the
cs.CV/cs.CL daily listings) and every item of the AI-blog feeds (`feeds/ai_blogs`: lab blogs, The Batch,
Hugging Face daily papers, Hacker News best, GitHub trends), so a query meets both long abstracts and
one-line feed teasers, as in a real pile. Feeds are parsed by the product's own feed parser, so feed
items carry the ids and text the ingester would give them. The collection is a list in a fixed order;
the first occurrence of an id wins (a paper listed twice, or in a feed and a listing, is one item).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import corpus_pile


def papers(corpus: Path) -> list[dict]:
    """The keras CSV and the daily listings, as records (id, kind, title, abstract, content)."""
    rows = [r for r in corpus_pile.other_records(corpus) if r["id"].startswith("keras:")]
    listings = corpus / "arxiv" / "daily_listings_cs.CV_cs.CL"
    for path in sorted(listings.glob("*.jsonl")):
        if "Chinese" in path.name:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            rows.append({"id": f"arxiv:{row['id']}", "title": " ".join(row["title"].split()),
                         "abstract": " ".join((row.get("summary") or "").split()),
                         "authors": row.get("authors") or [], "published": path.stem[:10]})
    return [{**r, "kind": "paper", "content": "", "where": "arxiv"} for r in rows]


def feed_items(corpus: Path) -> list[dict]:
    """Every entry of the AI-blog feeds, through the product's feed parser."""
    from sabbatical.reading.sources.feeds import parse_feed

    rows = []
    for path in sorted((corpus / "feeds" / "ai_blogs").glob("*/*.xml")):
        read = parse_feed(path.read_bytes(), str(path.relative_to(corpus)))
        for entry in read.entries:
            rows.append({"id": entry.ids[0], "kind": entry.kind, "title": " ".join(entry.title.split()),
                         "abstract": entry.abstract, "content": entry.content, "authors": entry.authors,
                         "published": entry.published, "where": str(path.relative_to(corpus))})
    return rows


def collection(corpus: Path) -> list[dict]:
    seen: set[str] = set()
    unique = []
    for record in papers(corpus) + feed_items(corpus):
        if record["id"] not in seen:
            seen.add(record["id"])
            unique.append(record)
    return unique


def insert(conn: sqlite3.Connection, records: list[dict]) -> None:
    """Write the collection into a pile: corpus_pile's writer, which keeps each record's kind and body."""
    corpus_pile.insert_records(conn, records)
