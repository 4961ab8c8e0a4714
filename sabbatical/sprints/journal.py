"""The sprint journal: `journal.jsonl`, append-only, one JSON object per line.

Each entry has `time` (UTC, ISO 8601), `kind` (failure, finding, feedback, note), `text`, `source` (a
run, a notebook, a person, the CLI), `private`, and any extra fields (`why`, `evidence`, `run_id`, …).
Lines are only ever appended, each in one write, so a notebook and the CLI can log at the same time and
nothing written is lost. A line that does not parse is skipped when reading, never rewritten.

The journal also keeps events that are not entries: lines with an `event` and no `kind` (a tracked run
starting and ending, `record_event`). Reading entries passes over them; `read_events` reads them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import UsageError

KINDS = ("failure", "finding", "feedback", "note")
_CORE = ("time", "kind", "text", "source", "private")


@dataclass
class JournalEntry:
    time: str
    kind: str
    text: str
    source: str
    private: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "kind": self.kind, "text": self.text, "source": self.source,
                "private": self.private, **self.extra}


def record(path: Path, kind: str, text: str, *, source: str, private: bool = False, **extra: Any) -> JournalEntry:
    """Append one entry to the journal at `path` and return it."""
    if kind not in KINDS:
        raise UsageError(f"unknown journal kind {kind!r} — use one of {', '.join(KINDS)}")
    text = str(text).strip()
    if not text:
        raise UsageError(f"the {kind} is empty — say in a sentence what happened")
    extra = {key: value for key, value in extra.items() if value is not None and key not in _CORE}
    entry = JournalEntry(time=_now(), kind=kind, text=text, source=source, private=bool(private), extra=extra)
    _append(path, entry.to_dict())
    return entry


def record_event(path: Path, event: str, **fields: Any) -> None:
    """Append an event line (no `kind`, so it is never read as an entry)."""
    _append(path, {"time": _now(), "event": event, **{key: value for key, value in fields.items()
                                                       if value is not None and key not in ("time", "kind")}})


def read_events(path: Path, event: str | None = None) -> list[dict[str, Any]]:
    """Every readable event line (of one kind of event, when given), oldest first."""
    found = []
    for raw in _raw_lines(path):
        if "kind" not in raw and isinstance(raw.get("event"), str) and event in (None, raw["event"]):
            found.append(raw)
    return found


def _append(path: Path, value: dict[str, Any]) -> None:
    line = json.dumps(value, ensure_ascii=False, default=str) + "\n"
    # One write on an O_APPEND descriptor: concurrent writers interleave whole lines, never halves.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line.encode("utf-8"))
    finally:
        os.close(descriptor)


def _raw_lines(path: Path) -> Iterator[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        try:
            raw = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(raw, dict):
            yield raw


def read_journal(path: Path) -> list[JournalEntry]:
    """Every readable entry, oldest first."""
    entries = []
    for raw in _raw_lines(path):
        if raw.get("kind") in KINDS and isinstance(raw.get("text"), str):
            entries.append(JournalEntry(
                time=str(raw.get("time", "")), kind=raw["kind"], text=raw["text"],
                source=str(raw.get("source", "")), private=bool(raw.get("private", False)),
                extra={key: value for key, value in raw.items() if key not in _CORE}))
    return entries


def count_kinds(entries: list[JournalEntry]) -> dict[str, int]:
    counts = dict.fromkeys(KINDS, 0)
    for entry in entries:
        counts[entry.kind] += 1
    return counts


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
