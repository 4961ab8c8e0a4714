"""Loading the shared corpus's arXiv files into plain records, for the search and topics benchmarks.

The benchmarks do not depend on the ingester: they read the files directly (OAI-PMH harvest, daily
listings, the keras CSV and the Kaggle-format sample) and write rows into a pile with plain SQL.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"


def corpus_dir() -> Path:
    return Path(os.environ.get("SABBATICAL_CORPUS", ROOT.parent / "shared" / "corpus"))


def oai_records(corpus: Path) -> list[dict]:
    """The OAI-PMH harvest: id, title, abstract, authors, subjects (first = primary), setSpec, date."""
    records = []
    for page in sorted((corpus / "arxiv" / "oai_pmh_2023-03-07").glob("ListRecords_data_*.xml")):
        for record in ET.parse(page).getroot().iter(f"{OAI}record"):
            header = record.find(f"{OAI}header")
            dc = record.find(f"{OAI}metadata/{{http://www.openarchives.org/OAI/2.0/oai_dc/}}dc")
            if header is None or dc is None:
                continue
            descriptions = [d.text or "" for d in dc.findall(f"{DC}description")]
            records.append({
                "id": "arxiv:" + header.findtext(f"{OAI}identifier", "").rsplit(":", 1)[-1],
                "title": " ".join((dc.findtext(f"{DC}title") or "").split()),
                "abstract": " ".join(descriptions[0].split()) if descriptions else "",
                "authors": [c.text or "" for c in dc.findall(f"{DC}creator")],
                "subjects": [s.text or "" for s in dc.findall(f"{DC}subject")],
                "set": header.findtext(f"{OAI}setSpec", ""),
                "published": (dc.findall(f"{DC}date")[0].text if dc.findall(f"{DC}date") else None),
            })
    return records


def other_records(corpus: Path) -> list[dict]:
    """Daily listings, the Kaggle-format sample and the keras CSV, as the same kind of record."""
    records = []
    for path in sorted((corpus / "arxiv" / "daily_listings_cs.CV_cs.CL").glob("*.jsonl")):
        if "Chinese" in path.name:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            records.append({"id": f"arxiv:{row['id']}", "title": row["title"], "abstract": row.get("summary") or "",
                            "authors": row.get("authors") or [], "subjects": row.get("categories") or [],
                            "published": path.stem[:10]})
    kaggle = corpus / "arxiv" / "kaggle_snapshot_sample" / "arxiv-metadata-oai-snapshot.first200.jsonl"
    for line in kaggle.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        records.append({"id": f"arxiv:{row['id']}", "title": " ".join(row["title"].split()),
                        "abstract": " ".join(row["abstract"].split()), "authors": [row.get("authors", "")],
                        "subjects": row["categories"].split(), "published": None})
    with (corpus / "arxiv" / "keras_arxiv_abstracts" / "arxiv_data.1000.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            records.append({"id": "keras:" + hashlib.sha1(row["titles"].encode()).hexdigest()[:12],
                            "title": row["titles"], "abstract": row["summaries"], "authors": [],
                            "subjects": [], "published": None})
    return records


def all_records(corpus: Path) -> list[dict]:
    """Every arXiv record in the corpus, first occurrence of each id kept."""
    seen, unique = set(), []
    for record in oai_records(corpus) + other_records(corpus):
        if record["id"] not in seen:
            seen.add(record["id"])
            unique.append(record)
    return unique


def insert_records(conn: sqlite3.Connection, records: list[dict]) -> None:
    """Write records into a pile (plain SQL, one transaction; the FTS triggers index them): paper items
    unless a record says its `kind`, with its `content` body and `subjects` when it has them."""
    from sabbatical import db

    with db.transaction(conn):
        conn.executemany(
            "INSERT OR IGNORE INTO items (id, kind, title, authors, abstract, content, url, published, categories, "
            "content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r["id"], r.get("kind", "paper"), r["title"], json.dumps(r["authors"]), r["abstract"],
              r.get("content", ""), None, r.get("published"),
              json.dumps(r.get("subjects", [])),
              hashlib.sha256((r["title"] + r["abstract"] + r.get("content", "")).encode()).hexdigest())
             for r in records])
