"""Reading the LLM call log (`llm_calls`): every request the one LLM path made, newest first.

`sabbatical.llm.LLM` writes the rows; this module reads them for `pile llm-log`. `sabbatical.llm`
re-exports it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class LoggedCall:
    id: int
    at: str
    purpose: str
    provider: str
    model: str
    prompt_version: str | None
    item_id: str | None
    structured_mode: str | None
    tokens_in: int
    tokens_out: int
    latency_ms: float | None
    cost_usd: float | None
    status: str
    error: str | None
    attempt: int


def recent_calls(
    conn: sqlite3.Connection, limit: int = 50, item_id: str | None = None, status: str | None = None
) -> list[LoggedCall]:
    """The newest logged calls first, optionally of one item or with one status."""
    where, values = [], []
    if item_id:
        where.append("item_id = ?")
        values.append(item_id)
    if status:
        where.append("status = ?")
        values.append(status)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT id, at, purpose, provider, model, prompt_version, item_id, structured_mode, tokens_in, tokens_out, "
        f"latency_ms, cost_usd, status, error, attempt FROM llm_calls {clause} ORDER BY id DESC LIMIT ?",
        (*values, max(0, limit)),
    )
    return [LoggedCall(**dict(row)) for row in rows]
