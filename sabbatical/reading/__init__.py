"""The reading phase: sources into the pile, summaries and judgements, topics, search, triage, export.

Library code over one open SQLite connection (`sabbatical.db.connect(workspace.pile_path)`); the schema
is in sabbatical/migrations/0002_pile.sql (items, aliases, sources, events, FTS) and 0003_llm.sql
(summaries, LLM call log).
"""
