"""Triage: keep, star, drop, notes and tags as append-only events, and the state derived from them.

Nothing is ever deleted or edited. Each action appends a row to `events` with the item's canonical id as
its subject. Undo is another event ('undo', pointing at the events it cancels); undoing again walks one
more step back. One command is one step: `pile tag ID a b c` appends one event per tag, the later ones
naming the first as their `step`, and one undo cancels them all. The current state of an item is folded
from its events in order:

    inbox   no triage event yet (or an explicit `unmark`)
    kept    the latest triage event is 'keep'
    starred the latest triage event is 'star'
    dropped the latest triage event is 'drop' (the item stays in the pile, out of the inbox)
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from .. import db
from ..errors import NotFound, PartialFailure, UsageError
from .pile import item_labels, resolve_item  # the one resolver; re-exported for the commands that triage

TRIAGE = {"keep": "kept", "star": "starred", "drop": "dropped", "inbox": "inbox"}
STATES = ("inbox", "kept", "starred", "dropped")
UNDOABLE = (*TRIAGE, "note", "tag", "untag")


@dataclass
class Note:
    event_id: int
    at: str
    text: str


@dataclass
class UserState:
    """What the user has decided about one item, folded from its events."""

    state: str = "inbox"
    state_at: str | None = None
    notes: list[Note] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass
class Recorded:
    """One change to one item, with what a person needs to see which item it was."""

    item_id: str
    action: str
    event_id: int
    state: str
    handle: str = ""
    title: str = ""
    tags: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """'#12 Title of the item', as the CLI and the triage screen name what changed."""
        return f"{self.handle} {self.title}".strip() or self.item_id


# -- naming items ---------------------------------------------------------------------------------
def resolve_items(conn: sqlite3.Connection, refs: list[str]) -> tuple[list[str], list[str]]:
    """(canonical ids found, one failure line per ref that names no item)."""
    found, failures = [], []
    for ref in refs:
        try:
            found.append(resolve_item(conn, ref))
        except NotFound as exc:
            failures.append(str(exc))
    return found, failures


# -- recording ----------------------------------------------------------------------------------------
def triage(conn: sqlite3.Connection, refs: list[str], action: str) -> list[Recorded]:
    """Keep, star, drop, or put back in the inbox ('inbox') each item; unknown refs fail after the rest."""
    if action not in TRIAGE:
        raise UsageError(f"unknown triage action {action!r}; use one of {', '.join(TRIAGE)}")
    ids, failures = resolve_items(conn, refs)
    recorded = []
    with db.transaction(conn):
        for item_id in dict.fromkeys(ids):
            event_id = _append(conn, item_id, action, {})
            recorded.append(Recorded(item_id, action, event_id, TRIAGE[action]))
    _labelled(conn, recorded)
    _raise_partial(recorded, failures, f"{action} recorded")
    return recorded


def add_note(conn: sqlite3.Connection, ref: str, text: str) -> Recorded:
    if not text.strip():
        raise UsageError('a note needs some text: `pile note ID "what you thought"`')
    item_id = resolve_item(conn, ref)
    with db.transaction(conn):
        event_id = _append(conn, item_id, "note", {"text": text.strip()})
    return _labelled(conn, [Recorded(item_id, "note", event_id, current_state(conn, item_id).state)])[0]


def tag(conn: sqlite3.Connection, ref: str, tags: list[str], *, remove: bool = False) -> Recorded:
    """Add (or remove) tags, as one undo step; a tag is trimmed and lower-cased so 'RL' and 'rl' are one tag.

    The result's `tags` are the item's tags afterwards."""
    cleaned = [t.strip().lower() for t in tags if t.strip()]
    if not cleaned:
        raise UsageError("give at least one tag: `pile tag ID TAG…`")
    item_id = resolve_item(conn, ref)
    action = "untag" if remove else "tag"
    with db.transaction(conn):
        first = 0
        for name in dict.fromkeys(cleaned):
            event_id = _append(conn, item_id, action, {"tag": name, **({"step": first} if first else {})})
            first = first or event_id
    state = current_state(conn, item_id)
    return _labelled(conn, [Recorded(item_id, action, first, state.state, tags=state.tags)])[0]


def undo(conn: sqlite3.Connection, refs: list[str]) -> list[Recorded]:
    """Cancel each item's latest triage, note or tag event by appending an 'undo' event."""
    ids, failures = resolve_items(conn, refs)
    recorded = []
    with db.transaction(conn):
        for item_id in dict.fromkeys(ids):
            step = _latest_step(conn, item_id)
            if not step:
                failures.append(f"{item_id}: nothing to undo")
                continue
            value = {"event": step[0]["id"], "action": step[0]["action"]}
            if len(step) > 1:
                value["events"] = [row["id"] for row in step]
            event_id = _append(conn, item_id, "undo", value)
            recorded.append(
                Recorded(item_id, f"undo {step[0]['action']}", event_id, current_state(conn, item_id).state)
            )
    _labelled(conn, recorded)
    _raise_partial(recorded, failures, "undo recorded")
    return recorded


def set_private(conn: sqlite3.Connection, refs: list[str], private: bool = True) -> list[Recorded]:
    """Mark items private (never published on the site, never in the digest) or public again.

    Each change is a 'private' or 'public' event; the item's `private` column, which every publishing
    path reads, follows it in the same transaction. Unknown refs fail after the rest is recorded."""
    ids, failures = resolve_items(conn, refs)
    action = "private" if private else "public"
    recorded = []
    with db.transaction(conn):
        for item_id in dict.fromkeys(ids):
            event_id = _append(conn, item_id, action, {})
            conn.execute("UPDATE items SET private = ? WHERE id = ?", (int(private), item_id))
            recorded.append(Recorded(item_id, action, event_id, action))
    _labelled(conn, recorded)
    _raise_partial(recorded, failures, f"{action} recorded")
    return recorded


def _labelled(conn: sqlite3.Connection, recorded: list[Recorded]) -> list[Recorded]:
    labels = item_labels(conn, [r.item_id for r in recorded])
    for record in recorded:
        record.handle, record.title = labels.get(record.item_id, ("", ""))
    return recorded


def _latest_step(conn: sqlite3.Connection, item_id: str) -> list[sqlite3.Row]:
    """The events of the item's latest undoable command not yet undone (its first event first), or []."""
    cancelled = _cancelled(conn, item_id)
    marks = ",".join("?" * len(UNDOABLE))
    rows = [
        r
        for r in conn.execute(
            f"SELECT id, action, value FROM events WHERE subject = ? AND action IN ({marks}) ORDER BY id DESC",
            (item_id, *UNDOABLE),
        )
        if r["id"] not in cancelled
    ]
    if not rows:
        return []
    step = _step_of(rows[0])
    return sorted((r for r in rows if _step_of(r) == step), key=lambda r: r["id"])


def _step_of(row: sqlite3.Row) -> int:
    """The command an event belongs to: the id of its first event (an event without `step` is its own)."""
    return int(json.loads(row["value"] or "{}").get("step") or row["id"])


def _cancelled(conn: sqlite3.Connection, item_id: str) -> set[int]:
    rows = conn.execute("SELECT value FROM events WHERE subject = ? AND action = 'undo'", (item_id,))
    return {event for r in rows for event in _undone_by(json.loads(r["value"]))}


def _undone_by(value: dict) -> list[int]:
    """The events one undo event cancels: `event`, or every one in `events` when the step had several."""
    return list(value.get("events") or [value.get("event")])


def _append(conn: sqlite3.Connection, item_id: str, action: str, value: dict) -> int:
    cursor = conn.execute(
        "INSERT INTO events (subject, action, value) VALUES (?, ?, ?)",
        (item_id, action, json.dumps(value, ensure_ascii=False)),
    )
    return int(cursor.lastrowid or 0)


def _raise_partial(recorded: list[Recorded], failures: list[str], what: str) -> None:
    """After the good work is committed: the failures, with what was recorded attached as `.recorded`."""
    if failures:
        error = PartialFailure(f"{what} for {len(recorded)} item(s); {len(failures)} could not be", failures)
        error.recorded = recorded  # type: ignore[attr-defined]
        raise error


# -- deriving state -----------------------------------------------------------------------------------
def user_states(conn: sqlite3.Connection, item_ids: list[str] | None = None) -> dict[str, UserState]:
    """Every item that has user events → its folded state (items without events are in the inbox)."""
    if item_ids is not None and not item_ids:
        return {}
    query = "SELECT id, at, subject, action, value FROM events WHERE subject NOT LIKE 'topic:%'"
    params: tuple = ()
    if item_ids is not None and len(item_ids) <= 500:
        query += f" AND subject IN ({','.join('?' * len(item_ids))})"
        params = tuple(item_ids)
    rows = conn.execute(query + " ORDER BY id", params).fetchall()
    cancelled = {event for r in rows if r["action"] == "undo" for event in _undone_by(json.loads(r["value"]))}
    states: dict[str, UserState] = {}
    for row in rows:
        if row["action"] in UNDOABLE and row["id"] not in cancelled:
            _fold(states.setdefault(row["subject"], UserState()), row)
    return states


def _fold(state: UserState, row: sqlite3.Row) -> None:
    action, value = row["action"], json.loads(row["value"] or "{}")
    if action in TRIAGE:
        state.state, state.state_at = TRIAGE[action], row["at"]
    elif action == "note":
        state.notes.append(Note(row["id"], row["at"], value.get("text", "")))
    elif action == "tag" and value.get("tag") not in state.tags:
        state.tags.append(value.get("tag"))
    elif action == "untag" and value.get("tag") in state.tags:
        state.tags.remove(value.get("tag"))


def current_state(conn: sqlite3.Connection, item_id: str) -> UserState:
    return user_states(conn, [item_id]).get(item_id, UserState())


def state_map(conn: sqlite3.Connection) -> dict[str, str]:
    """item id → triage state, for items that are not simply in the inbox."""
    return {item_id: s.state for item_id, s in user_states(conn).items() if s.state != "inbox"}


def check_state(state: str | None) -> None:
    """A clear error for a state that is not one (None, "any state", passes)."""
    if state is not None and state not in STATES:
        raise UsageError(f"unknown state {state!r}; use one of {', '.join(STATES)}")


def ids_in_state(conn: sqlite3.Connection, state: str) -> set[str]:
    """Every item id in a triage state (the inbox is everything without another state)."""
    check_state(state)
    decided = state_map(conn)
    if state != "inbox":
        return {item_id for item_id, s in decided.items() if s == state}
    return {r["id"] for r in conn.execute("SELECT id FROM items")} - set(decided)


def ids_with_tag(conn: sqlite3.Connection, name: str) -> set[str]:
    """Every item that carries the tag now (tags compare trimmed and lower-cased, as `tag` stores them)."""
    wanted = name.strip().lower()
    return {item_id for item_id, s in user_states(conn).items() if wanted in s.tags}


def counts_by_state(conn: sqlite3.Connection, decided: dict[str, str] | None = None) -> dict[str, int]:
    """Items per triage state (`decided`: the `state_map` when the caller has it already)."""
    decided = state_map(conn) if decided is None else decided
    total = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    counts = {state: 0 for state in STATES}
    for state in decided.values():
        counts[state] += 1
    counts["inbox"] = total - sum(v for k, v in counts.items() if k != "inbox")
    return counts
