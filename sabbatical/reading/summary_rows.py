"""Which stored summary of an item is the one to show, read without the summariser.

Ranking, `pile inbox`, `pile stats`, exports and the site read the chosen summary row of each item many
times a day; the summariser (`summarise.py`) pulls in pydantic, the offline judge, the prompt files and the
neighbours lookup, 0.25–0.45 s of imports that reading a few columns never needs. So the rule that picks a
row, and the two facts it depends on (the offline producer's key, whether an endpoint is configured), live
here with only the standard library; `summarise`, `offline`, `prompt_files` and `llm` import them from here.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import LLMConfig

OFFLINE_MODEL = "offline-extractive"
# v2: the learned judge and "unjudged" for items with too little text (v1 counted cue words); v3: the judge
# also weighs the text's overall wording (WordLlama's vector of its own sentences).
OFFLINE_VERSION = "offline-v3"
OFFLINE_KEY = (OFFLINE_VERSION, OFFLINE_MODEL)  # (prompt version, model) of the offline summariser
LARGEST_IN_LIST = 500  # more ids than this are filtered in Python, not with one `IN (...)` of bound values


def endpoint_base_url(config: LLMConfig, environ: Mapping[str, str] | None = None) -> str:
    """The configured endpoint's base URL (`[llm] base_url`, else OPENAI_BASE_URL), or "" when offline."""
    environ = os.environ if environ is None else environ
    return config.base_url or environ.get("OPENAI_BASE_URL", "")


def resolve_version(name: str, purpose: str = "summarise") -> str:
    """'v2', '2' or 'summarise-v2' → 'summarise-v2'."""
    name = name.strip()
    if re.fullmatch(r"v?\d+", name):
        name = f"{purpose}-v{name.lstrip('v')}"
    return name


def preferred_key(config: LLMConfig, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(prompt version, model) of the configured producer, for `prefer=` below."""
    if not endpoint_base_url(config, environ):
        return OFFLINE_KEY
    return (resolve_version(config.prompt), config.model)


def latest_summary_rows(
    conn: sqlite3.Connection,
    item_ids: Iterable[str] | None = None,
    prefer: tuple[str, str] | None = None,
    *,
    columns: tuple[str, ...] | None = None,
) -> dict[str, sqlite3.Row]:
    """The chosen ok summary row of each item (of the given items, or of all), without parsing it.

    The rule, in order: a summary of the item's current text; then the `prefer`red (prompt version,
    model) (pass `preferred_key(config)` to follow the configured producer); then the newest.
    `columns` (names of the summaries table's columns, item_id among them) reads only those: ranking
    reads four, not every summary's JSON, which was a third of `pile inbox` on a summarised pile.
    """
    prefer = prefer or ("", "")
    wanted = None if item_ids is None else list(item_ids)
    selected = "s.*" if columns is None else ", ".join(f"s.{name}" for name in columns if name.isidentifier())
    query = (
        f"SELECT {selected}, (s.content_hash = i.content_hash) AS current "
        "FROM summaries s JOIN items i ON i.id = s.item_id "
        "WHERE s.status = 'ok' ORDER BY s.item_id, current DESC, (s.prompt_version = ? AND s.model = ?) DESC, s.id DESC"
    )
    found: dict[str, sqlite3.Row] = {}
    if wanted is not None and len(wanted) <= LARGEST_IN_LIST:
        marks = ",".join("?" for _ in wanted)
        query = query.replace("WHERE s.status = 'ok'", f"WHERE s.status = 'ok' AND s.item_id IN ({marks})")
        rows = conn.execute(query, (*wanted, *prefer))
    else:
        rows = conn.execute(query, prefer)
    allowed = None if wanted is None else set(wanted)
    for row in rows:
        if row["item_id"] not in found and (allowed is None or row["item_id"] in allowed):
            found[row["item_id"]] = row
    return found
