"""What of a sprint's sections is the researcher's own writing, and so is published.

`new-sprint` scaffolds sprint.md from `templates/sprint/sprint.md`: a Plan of suggested steps, CLI hints
("`sabbatical sprint close …` writes the retro here"), a reading list that says which command redoes
it. Those words are the tool talking to the researcher, not the researcher talking to readers, so the
site leaves them out:

- a Plan line that is one of the template's steps (ticked or not) is dropped; the researcher's own steps,
  ticked or not, stay and render as a task list;
- a line that holds a `` `sabbatical …` `` command is a hint to the researcher and is dropped; the
  reading list's "(…; `sabbatical sprint reading --refresh` redoes it)" loses just that clause;
- the reading list's "nothing to suggest yet" sentences are dropped.

A section left with nothing of the researcher's is not published at all.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_TASK = re.compile(r"^\s*[-*+]\s+\[[ xX]\]\s+")
_COMMAND = re.compile(r"`sabbatical(?:\s[^`]*)?`")
_REDO_CLAUSE = re.compile(r"[;,]?\s*`sabbatical [^`]*`\s+redoes it")
_TOOL_SENTENCES = ("No pile yet (", "The pile could not be searched:", "Nothing in the pile matches this question")


@lru_cache(maxsize=1)
def template_lines() -> frozenset[str]:
    """The scaffold's own lines (task boxes removed), as sprint.md gets them from the template."""
    text = resources.files("sabbatical").joinpath("templates/sprint/sprint.md").read_text(encoding="utf-8")
    return frozenset(_plain(line) for line in text.splitlines() if line.strip() and "$" not in line)


def _plain(line: str) -> str:
    return " ".join(_TASK.sub("", line).split())


def researcher_text(heading: str, body: str) -> str:
    """The part of a section the researcher wrote (empty when it is all template and hints)."""
    kept = []
    for line in body.splitlines():
        line = _REDO_CLAUSE.sub("", line)
        plain = _plain(line)
        if plain and (plain in template_lines() or _COMMAND.search(line) or plain.startswith(_TOOL_SENTENCES)):
            continue
        kept.append(line)
    text = "\n".join(kept).strip()
    if heading == "Reading list" and not re.search(r"^\s*\d+\.\s", text, re.MULTILINE):
        return ""  # only the introduction line was left: no items to publish
    return text
