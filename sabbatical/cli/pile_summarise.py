"""`sabbatical pile summarise` and `pile llm-log`: summaries, judgements and the LLM call log."""

from __future__ import annotations

from .context import not_built_yet
from .pile import pile

@pile.command("summarise")
def summarise() -> None:
    """Summarise and judge items (offline, or through the configured LLM endpoint)."""
    not_built_yet("pile summarise", 4)


@pile.command("llm-log")
def llm_log() -> None:
    """List logged LLM calls."""
    not_built_yet("pile llm-log", 4)
