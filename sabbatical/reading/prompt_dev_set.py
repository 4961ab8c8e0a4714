"""A prompt change measured on a labelled dev set: balanced accuracy insight-vs-not, old prompt and new.

A dev set is JSON lines, one labelled abstract each: `label` (insight, sota or other) and either the text
itself (`title`, `abstract`) or where to read it from the shared corpus (`pool` and `id`, as in the
repository's `benchmarks/data/judge-dev.jsonl`, which stores no third-party text). The corpus pools are
the daily arXiv listings (`daily`), the Kaggle-format CSV (`csv`, ids `keras:` + 12 hex digits of the
title's SHA-1) and the OAI-PMH harvest (`oai`). Rows whose text cannot be found are counted, not guessed.

Each row is summarised by both producers as a document outside the pile (nothing is stored in the pile
but the call log; the neighbours it is shown come from the pile, as for an item), its kind read as a
label (new_insight → insight, sota_increment and new_method → sota, anything else → other), and the two
are scored against the hand labels.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .summarise import Producer, judge_documents
from .summary_schema import SourceDocument, Summary

LABELS = ("insight", "sota", "other")
KIND_TO_LABEL = {"new_insight": "insight", "sota_increment": "sota", "new_method": "sota"}
POOLS = ("daily", "csv", "oai")
_OAI = "{http://www.openarchives.org/OAI/2.0/}"
_DC = "{http://purl.org/dc/elements/1.1/}"


@dataclass(frozen=True)
class DevRow:
    id: str
    label: str
    title: str
    abstract: str


@dataclass
class DevSetFigures:
    """How the old and new prompt agree with the dev set's labels."""

    path: str
    rows: int  # labelled rows with text, each summarised by both prompts
    missing: int  # rows whose text was in neither the row nor the corpus
    old_balanced_accuracy: float | None
    new_balanced_accuracy: float | None
    labels_changed: int  # rows whose label (insight/sota/other) differs between the prompts
    old_failed: int = 0
    new_failed: int = 0
    changed: list[dict[str, str]] = field(default_factory=list)  # [{id, label, old, new}], the first few


def default_corpus(dev_set: Path) -> Path | None:
    """`SABBATICAL_CORPUS`, else the first `shared/corpus` beside a folder the dev set is in."""
    if os.environ.get("SABBATICAL_CORPUS"):
        return Path(os.environ["SABBATICAL_CORPUS"])
    for parent in dev_set.resolve().parents:
        candidate = parent / "shared" / "corpus"
        if (candidate / "SOURCES.md").is_file():
            return candidate
    return None


@dataclass(frozen=True)
class DevSet:
    path: Path
    rows: list[DevRow]
    missing: int  # rows whose text was in neither the row nor the corpus


def read_dev_set(path: Path, corpus: Path | None = None) -> DevSet:
    """The dev set at `path` with its text (from its rows, or `corpus`, default `default_corpus`).
    A dev set none of whose rows has text is an error (said before any call is made)."""
    corpus = corpus if corpus is not None else default_corpus(path)
    rows, missing = load_dev_set(path, corpus)
    if not rows:
        where = f" or in the corpus at {corpus}" if corpus else " (and no corpus was found: set SABBATICAL_CORPUS)"
        raise UsageError(f"--dev-set {path}: no row has its text in the file{where}")
    return DevSet(path, rows, missing)


def load_dev_set(path: Path, corpus: Path | None = None) -> tuple[list[DevRow], int]:
    """(the labelled rows with their text, how many rows had no text anywhere)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"--dev-set {path}: cannot read it ({exc.strerror}) — give a JSON-lines dev set") from None
    raw = [_row(line, path, n) for n, line in enumerate(lines, start=1) if line.strip()]
    wanted = {row["pool"] for row in raw if "abstract" not in row and row.get("pool") in POOLS}
    texts = _corpus_texts(corpus, wanted) if corpus is not None and wanted else {}
    rows, missing = [], 0
    for row in raw:
        inline = (row.get("title") or "", row["abstract"]) if "abstract" in row else None
        text = inline or texts.get((row.get("pool"), row["id"]))
        if text is None:
            missing += 1
            continue
        rows.append(DevRow(str(row["id"]), row["label"], str(text[0]), str(text[1])))
    return rows, missing


def _row(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--dev-set {path}, line {number}: not JSON ({exc.msg})") from None
    if not isinstance(row, dict) or row.get("label") not in LABELS or "id" not in row:
        raise UsageError(f"--dev-set {path}, line {number}: needs an id and a label ({', '.join(LABELS)})")
    return row


def compare_on_dev_set(
    conn: sqlite3.Connection, old: Producer, new: Producer, dev: DevSet, *, config: Any = None
) -> DevSetFigures:
    """Both producers over the dev set's rows, each scored against the hand labels."""
    rows = dev.rows
    documents = [SourceDocument(f"dev:{r.id}", "paper", r.title, r.abstract, "", _hash(r)) for r in rows]
    answers = [judge_documents(conn, producer, documents, config=config) for producer in (old, new)]
    truth = [r.label == "insight" for r in rows]
    labels = [[_label(answer.get(d.id)) for d in documents] for answer in answers]
    changed = [
        {"id": r.id, "label": r.label, "old": a, "new": b} for r, a, b in zip(rows, labels[0], labels[1]) if a != b
    ]
    return DevSetFigures(
        path=str(dev.path),
        rows=len(rows),
        missing=dev.missing,
        old_balanced_accuracy=balanced_accuracy(truth, [label == "insight" for label in labels[0]]),
        new_balanced_accuracy=balanced_accuracy(truth, [label == "insight" for label in labels[1]]),
        labels_changed=len(changed),
        old_failed=sum(answers[0].get(d.id) is None for d in documents),
        new_failed=sum(answers[1].get(d.id) is None for d in documents),
        changed=changed[:20],
    )


def _label(summary: Summary | None) -> str:
    """A summary's kind as a dev-set label; an unjudged or failed one is not insight."""
    if summary is None or summary.insight is None:
        return "other"
    return KIND_TO_LABEL.get(summary.contribution.value, "other")


def _hash(row: DevRow) -> str:
    return hashlib.sha256(f"{row.title}\n{row.abstract}".encode()).hexdigest()


def balanced_accuracy(truth: list[bool], predicted: list[bool]) -> float | None:
    """Mean of the recall on insight and on the rest (None when the labels have only one side)."""
    positives = [p for t, p in zip(truth, predicted) if t]
    negatives = [not p for t, p in zip(truth, predicted) if not t]
    if not positives or not negatives:
        return None
    return round((sum(positives) / len(positives) + sum(negatives) / len(negatives)) / 2, 4)


# -- the corpus pools ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorpusPaper:
    """One paper of a corpus pool: its id as the pile names it, its text, and the group it was listed in
    (the OAI set such as `cs` or `math`, the listing day, or "" for the CSV)."""

    id: str
    title: str
    abstract: str
    group: str = ""


def pool_papers(corpus: Path, pool: str) -> Iterator[CorpusPaper]:
    """Every paper of one pool (`daily`, `csv` or `oai`) under a corpus folder, in file order."""
    readers = {"daily": _daily, "csv": _csv, "oai": _oai}
    return readers[pool](corpus / "arxiv")


def _corpus_texts(corpus: Path, pools: set[str]) -> dict[tuple[Any, Any], tuple[str, str]]:
    texts: dict[tuple[Any, Any], tuple[str, str]] = {}
    for pool in sorted(pools):
        for paper in pool_papers(corpus, pool):
            texts.setdefault((pool, paper.id), (paper.title, paper.abstract))
    return texts


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _arxiv(raw: str) -> str:
    from .identity import parse_arxiv_id

    parsed = parse_arxiv_id(raw)
    return parsed.canonical if parsed is not None else raw


def _daily(root: Path) -> Iterator[CorpusPaper]:
    for path in sorted((root / "daily_listings_cs.CV_cs.CL").glob("*.jsonl")):
        if "Chinese" in path.name:  # a copy of the listings with Chinese summaries
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                title, abstract = _clean(row.get("title")), _clean(row.get("summary"))
                yield CorpusPaper(_arxiv(row["id"]), title, abstract, path.stem)


def _csv(root: Path) -> Iterator[CorpusPaper]:
    path = root / "keras_arxiv_abstracts" / "arxiv_data.1000.csv"
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            pid = "keras:" + hashlib.sha1(row["titles"].encode()).hexdigest()[:12]
            yield CorpusPaper(pid, _clean(row["titles"]), _clean(row["summaries"]))


def _oai(root: Path) -> Iterator[CorpusPaper]:
    for page in sorted((root / "oai_pmh_2023-03-07").glob("ListRecords_data_*.xml")):
        for record in ET.parse(page).getroot().iter(f"{_OAI}record"):
            header = record.find(f"{_OAI}header")
            dc = record.find(f"{_OAI}metadata/{{http://www.openarchives.org/OAI/2.0/oai_dc/}}dc")
            if header is None or dc is None:
                continue
            pid = _arxiv(header.findtext(f"{_OAI}identifier", "").rsplit(":", 1)[-1])
            descriptions = [d.text or "" for d in dc.findall(f"{_DC}description")]
            abstract = _clean(descriptions[0]) if descriptions else ""
            group = header.findtext(f"{_OAI}setSpec", "").split(":")[0]
            yield CorpusPaper(pid, _clean(dc.findtext(f"{_DC}title")), abstract, group)
