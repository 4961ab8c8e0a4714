"""The sprint journal: `journal.jsonl`, append-only, one JSON object per line.

Each entry has `time` (UTC, ISO 8601), `kind` (failure, finding, feedback, note), `text`, `source` (a
run, a notebook, a person, the CLI), `private`, and any extra fields (`why`, `evidence`, `run_id`, …).
Lines are only ever appended, each in one write, so a notebook and the CLI can log at the same time and
nothing written is lost. A line that does not parse is skipped when reading, never rewritten.

The journal also keeps events that are not entries: lines with an `event` and no `kind` (a tracked run
starting and ending, `record_event`). Reading entries passes over them; `read_events` reads them.

Entries are numbered 1, 2, 3, … in the order they were written; the number never changes, because lines
are only appended. Nothing is edited or deleted: corrections are events that `read_journal` applies to
the entries they name —
- `retracted` (entry N, why): the researcher took the entry back; editing is a retraction plus a new entry;
- `superseded` (entries, notebook, execution): a new execution of a notebook replaces what its earlier
  executions logged, so a re-run never doubles a finding; an identical current entry says how many
  earlier executions also saw it (`seen_before`);
- `kept` (entry N): an example entry (from a template notebook) the researcher keeps, so it is published,
  or an entry logged after the sprint closed that the researcher accepts into the record.
An entry logged to a closed sprint carries `after_close`; it is stale until it is kept or the sprint is
reopened.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import NotFound, UsageError

KINDS = ("failure", "finding", "feedback", "note")
_CORE = ("time", "kind", "text", "source", "private")


ENTRY_EVENTS = ("retracted", "superseded", "kept")


@dataclass
class JournalEntry:
    time: str
    kind: str
    text: str
    source: str
    private: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # What later events say about the entry (derived when reading; never written on the entry's line).
    number: int = 0
    retracted: str | None = None  # why, once retracted
    superseded_by: str | None = None  # the execution whose entries replaced this one
    kept: bool = False
    reopened_after: bool = False  # the sprint was reopened after this after-close entry was logged
    seen_before: int = 0  # superseded entries from earlier executions that said exactly the same

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "kind": self.kind,
            "text": self.text,
            "source": self.source,
            "private": self.private,
            **self.extra,
        }

    @property
    def current(self) -> bool:
        """Neither retracted nor superseded: part of the sprint's record now."""
        return self.retracted is None and self.superseded_by is None

    @property
    def example(self) -> bool:
        return bool(self.extra.get("example"))

    @property
    def after_close(self) -> bool:
        return bool(self.extra.get("after_close"))

    @property
    def stale(self) -> bool:
        """Logged after the sprint closed, and neither kept nor followed by a reopen."""
        return self.current and self.after_close and not self.kept and not self.reopened_after

    @property
    def publishable(self) -> bool:
        """What the site and the retro show: current, public, and not an example unless kept."""
        return self.current and not self.private and (self.kept or not self.example)

    @property
    def cites(self) -> list[str]:
        value = self.extra.get("cites")
        return [str(item) for item in value] if isinstance(value, list) else []


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
    _append(
        path,
        {
            "time": _now(),
            "event": event,
            **{key: value for key, value in fields.items() if value is not None and key not in ("time", "kind")},
        },
    )


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
    """Every readable entry, oldest first, numbered from 1, with its retractions, supersessions and keeps applied."""
    entries: list[JournalEntry] = []
    corrections: list[dict[str, Any]] = []
    for raw in _raw_lines(path):
        if raw.get("kind") in KINDS and isinstance(raw.get("text"), str):
            entries.append(_entry_of(raw, len(entries) + 1))
            if raw.get("event") == "reopened":
                for earlier in entries:
                    earlier.reopened_after = earlier.reopened_after or earlier.after_close
        elif "kind" not in raw and raw.get("event") in ENTRY_EVENTS:
            corrections.append(raw)
    _apply(entries, corrections)
    return entries


def _entry_of(raw: dict[str, Any], number: int) -> JournalEntry:
    return JournalEntry(
        time=str(raw.get("time", "")),
        kind=raw["kind"],
        text=raw["text"],
        source=str(raw.get("source", "")),
        private=bool(raw.get("private", False)),
        extra={key: value for key, value in raw.items() if key not in _CORE},
        number=number,
    )


def _apply(entries: list[JournalEntry], corrections: list[dict[str, Any]]) -> None:
    by_number = {entry.number: entry for entry in entries}
    for event in corrections:
        if event["event"] == "superseded":
            for number in event.get("entries") or []:
                if isinstance(number, int) and number in by_number and by_number[number].superseded_by is None:
                    by_number[number].superseded_by = str(event.get("execution", ""))
            continue
        named = event.get("entry")
        entry = by_number.get(named) if isinstance(named, int) else None
        if entry is None:
            continue
        if event["event"] == "retracted" and entry.retracted is None:
            entry.retracted = str(event.get("why") or "")
        elif event["event"] == "kept":
            entry.kept = True
    _count_earlier_sightings(entries)


def _count_earlier_sightings(entries: list[JournalEntry]) -> None:
    superseded: dict[tuple, set[str]] = {}
    for entry in entries:
        if entry.superseded_by is not None and entry.retracted is None:
            superseded.setdefault(_sameness(entry), set()).add(str(entry.extra.get("execution", entry.number)))
    for entry in entries:
        if entry.current:
            entry.seen_before = len(superseded.get(_sameness(entry), ()))


def _sameness(entry: JournalEntry) -> tuple:
    return entry.kind, " ".join(entry.text.split()), entry.extra.get("notebook")


def entry_by_number(path: Path, number: int) -> JournalEntry:
    """Entry N of the journal; NotFound names the range when there is no such entry."""
    entries = read_journal(path)
    if not 1 <= number <= len(entries):
        raise NotFound(
            f"no journal entry {number} — this journal has entries 1 to {len(entries)} "
            "(`sabbatical sprint journal` lists them)"
            if entries
            else f"no journal entry {number} — the journal is empty"
        )
    return entries[number - 1]


def retract(path: Path, number: int, why: str) -> JournalEntry:
    """Take entry N back, saying why (an event: the entry stays in the file, marked retracted)."""
    why = str(why or "").strip()
    if not why:
        raise UsageError(f'say why entry {number} is retracted: --why "…"')
    entry = entry_by_number(path, number)
    if entry.retracted is not None:
        raise UsageError(f"entry {number} is already retracted ({entry.retracted})")
    record_event(path, "retracted", entry=number, why=why)
    entry.retracted = why
    return entry


def keep(path: Path, number: int) -> JournalEntry:
    """Keep entry N: publish an example entry, or accept an entry logged after the sprint closed."""
    entry = entry_by_number(path, number)
    if not (entry.example or entry.after_close):
        raise UsageError(f"entry {number} is neither an example nor logged after the close — it is kept already")
    if not entry.current:
        raise UsageError(
            f"entry {number} is {'retracted' if entry.retracted is not None else 'superseded'} "
            "— log it again to keep it"
        )
    if not entry.kept:
        record_event(path, "kept", entry=number)
        entry.kept = True
    return entry


def supersede_earlier(path: Path, notebook: str, execution: str) -> list[int]:
    """Mark what earlier executions of `notebook` logged as superseded by `execution` (one event); the
    numbers of the entries it marked."""
    earlier = [
        entry.number
        for entry in read_journal(path)
        if entry.current and entry.extra.get("notebook") == notebook and entry.extra.get("execution") != execution
    ]
    if earlier:
        record_event(path, "superseded", entries=earlier, notebook=notebook, execution=execution)
    return earlier


def count_kinds(entries: list[JournalEntry]) -> dict[str, int]:
    """How many current entries of each kind."""
    counts = dict.fromkeys(KINDS, 0)
    for entry in entries:
        if entry.current:
            counts[entry.kind] += 1
    return counts


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
