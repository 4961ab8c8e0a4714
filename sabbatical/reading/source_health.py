"""Source health: how each followed source has been doing, back-off for failing ones, and muting.

Every read of a source ends in `record_outcome`: a success clears its failures and remembers when it
last answered; a failure counts one more failure in a row and sets `retry_after`, the moment before
which `read update` leaves it alone: an hour after the first failure, doubling with each further one,
at most a week. A source that answers again is back to normal at once. An explicit read
(`read feed URL`) or `read update --force` tries it anyway.

A muted source stays followed and listed, but `read update` skips it until it is unmuted; unfollowing
takes it off the list. Nothing here deletes anything: a source's items stay in the pile.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .. import db
from ..errors import NotFound

FIRST_BACKOFF = timedelta(hours=1)
LONGEST_BACKOFF = timedelta(days=7)


@dataclass
class SourceHealth:
    """One source as `read sources` lists it."""

    id: int
    kind: str
    locator: str
    title: str
    followed: bool
    muted: bool
    items: int
    last_new_item: str | None  # when this source last brought an item the pile did not have
    last_success: str | None
    last_fetched: str | None
    last_status: str | None
    last_error: str | None
    failures: int  # in a row, since the last success
    retry_after: str | None  # `read update` leaves it alone until then

    @property
    def health(self) -> str:
        """One word: ok, muted, backing off, failing, or new (not read yet)."""
        if self.muted:
            return "muted"
        if self.failures and self.retry_after and self.retry_after > _iso(_now()):
            return "backing off"
        if self.failures:
            return "failing"
        return "ok" if self.last_success or self.last_status in ("ok", "not_modified") else "new"


def backoff(failures: int) -> timedelta:
    """How long `read update` waits after `failures` failures in a row (1 h, 2 h, 4 h, … at most a week)."""
    if failures <= 0:
        return timedelta(0)
    return min(FIRST_BACKOFF * (2 ** min(failures - 1, 20)), LONGEST_BACKOFF)


def record_outcome(conn: sqlite3.Connection, source_id: int, ok: bool, *, now: datetime | None = None) -> None:
    """After one read of a source: reset its failures, or count one more and set its back-off."""
    moment = now or _now()
    with db.transaction(conn):
        if ok:
            conn.execute(
                "UPDATE sources SET failures = 0, retry_after = NULL, last_success = ? WHERE id = ?",
                (_iso(moment), source_id),
            )
            return
        row = conn.execute("SELECT failures FROM sources WHERE id = ?", (source_id,)).fetchone()
        failures = (row["failures"] if row else 0) + 1
        conn.execute(
            "UPDATE sources SET failures = ?, retry_after = ? WHERE id = ?",
            (failures, _iso(moment + backoff(failures)), source_id),
        )


def due(conn: sqlite3.Connection, kind: str, locator: str, *, now: datetime | None = None) -> str | None:
    """Why `read update` should leave this source alone now ('muted', 'backing off until …'), or None."""
    row = conn.execute(
        "SELECT muted, failures, retry_after FROM sources WHERE kind = ? AND locator = ?", (kind, locator)
    ).fetchone()
    if row is None:
        return None
    if row["muted"]:
        return "muted"
    if row["failures"] and row["retry_after"] and row["retry_after"] > _iso(now or _now()):
        return f"backing off after {row['failures']} failures in a row, until {row['retry_after']}"
    return None


def source_health(conn: sqlite3.Connection, *, followed_only: bool = True) -> list[SourceHealth]:
    """Every (followed) source with its health, items and last new item, in id order."""
    rows = conn.execute(
        "SELECT s.*, COUNT(x.item_id) AS items, MAX(x.first_seen) AS last_new_item FROM sources s "
        "LEFT JOIN item_sources x ON x.source_id = s.id"
        + (" WHERE s.followed = 1" if followed_only else "")
        + " GROUP BY s.id ORDER BY s.id"
    )
    return [
        SourceHealth(
            id=r["id"],
            kind=r["kind"],
            locator=r["locator"],
            title=r["title"],
            followed=bool(r["followed"]),
            muted=bool(r["muted"]),
            items=r["items"],
            last_new_item=r["last_new_item"],
            last_success=r["last_success"],
            last_fetched=r["last_fetched"],
            last_status=r["last_status"],
            last_error=r["last_error"],
            failures=r["failures"],
            retry_after=r["retry_after"],
        )
        for r in rows
    ]


def set_muted(conn: sqlite3.Connection, given: str, muted: bool = True) -> SourceHealth:
    """Mute (or unmute) a followed source named by its id (as `read sources` shows) or its URL, query or path."""
    found = find_followed(conn, given)
    with db.transaction(conn):
        conn.execute("UPDATE sources SET muted = ? WHERE id = ?", (int(muted), found.id))
    return next(s for s in source_health(conn) if s.id == found.id)


def find_followed(conn: sqlite3.Connection, given: str) -> SourceHealth:
    """A followed source by id, or by its exact locator (a path may be given relative to here)."""
    from pathlib import Path

    text = given.strip()
    followed = source_health(conn)
    candidates = {text}
    if text and "://" not in text:
        candidates.add(str(Path(text).expanduser().resolve()))
    found = next((s for s in followed if (text.isdigit() and s.id == int(text)) or s.locator in candidates), None)
    if found is None:
        raise NotFound(f"No followed source '{given}' — `sabbatical read sources` lists them with their ids")
    return found


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
