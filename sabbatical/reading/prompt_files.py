"""Versioned prompt files (sabbatical/prompts/*.md), and turning an item into fenced chat messages.

A prompt file has a small front matter (version, purpose, limits, what changed) and two sections marked
`<!-- system -->` and `<!-- user -->`. The user section is a `string.Template` whose `$text` is the item's
text. Ingested text is data, never instructions: it is placed between <document> and </document>, and
any document tag inside the text itself is defused, so a page cannot close the fence early and speak
to the model as if it were us.

A prompt may also show the model the items nearest to this one already in the pile (front matter
`neighbours: K`, placeholder `$neighbours`), so "new insight" is judged against what the researcher has
read. Their titles and tldrs are ingested text too (or a model's words about it): each sits on one line
inside <pile_neighbours>, cut to a few hundred characters, with any fence tag in it defused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from string import Template

import yaml

from ..errors import NotFound
from .summary_rows import resolve_version as resolve_version  # light: ranking resolves versions too
from .summary_schema import SourceDocument

PROMPTS_PACKAGE = "sabbatical"
PROMPTS_FOLDER = "prompts"
_FENCE_TAG = re.compile(r"<(\s*/?\s*(?:document|pile_neighbours|neighbour))", re.IGNORECASE)
# What of a neighbour reaches a prompt: enough to say what it is about, too little to carry a payload.
NEIGHBOUR_TITLE_CHARS = 200
NEIGHBOUR_TLDR_CHARS = 400
NO_NEIGHBOURS = "(none: nothing near it in the pile yet)"


@dataclass(frozen=True)
class Neighbour:
    """An item already in the pile near the one being judged: its title and, when summarised, its tldr."""

    item_id: str
    title: str
    tldr: str = ""


@dataclass(frozen=True)
class Prompt:
    version: str
    purpose: str
    system: str
    user_template: str
    max_document_chars: int = 12_000
    max_tokens: int = 1_500
    about: str = ""
    neighbours: int = 0  # how many of the pile's nearest items the prompt shows (0: it shows none)

    def messages(self, document: SourceDocument, neighbours: Sequence[Neighbour] = ()) -> list[dict[str, str]]:
        """The chat messages for one item: our instructions, its nearest items in the pile, its fenced text."""
        text = document.body[: self.max_document_chars]
        values = {
            "item_id": _attribute(document.id),
            "kind": _attribute(document.kind),
            "title": fence(document.title),
            "authors": fence(", ".join(document.authors[:12])),
            "published": fence(document.published or "unknown"),
            "text": fence(text),
            "neighbours": neighbour_block(neighbours[: self.neighbours]),
        }
        user = Template(self.user_template).safe_substitute(values)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def fence(text: str) -> str:
    """Defuse anything in ingested text that looks like one of our fences ('<' becomes '&lt;')."""
    return _FENCE_TAG.sub(r"&lt;\1", text)


def neighbour_block(neighbours: Sequence[Neighbour]) -> str:
    """The nearest items as delimited data: one line each, cut short, fence tags defused."""
    lines = [
        f'<neighbour n="{n}">Title: {_one_line(item.title, NEIGHBOUR_TITLE_CHARS)}'
        + (f" | Summary: {_one_line(item.tldr, NEIGHBOUR_TLDR_CHARS)}" if item.tldr.strip() else "")
        + "</neighbour>"
        for n, item in enumerate(neighbours, start=1)
    ]
    return "<pile_neighbours>\n" + "\n".join(lines or [NO_NEIGHBOURS]) + "\n</pile_neighbours>"


def _one_line(text: str, limit: int) -> str:
    """Whitespace (newlines too) collapsed, cut to `limit` characters, then fenced."""
    flat = " ".join(text.split())
    return fence(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def _attribute(text: str) -> str:
    """A value inside the fence's opening tag: no quote or angle bracket may end the tag."""
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def available_prompts(purpose: str = "summarise") -> list[str]:
    """Every shipped prompt version for `purpose`, oldest first."""
    folder = resources.files(PROMPTS_PACKAGE).joinpath(PROMPTS_FOLDER)
    names = [
        entry.name.removesuffix(".md")
        for entry in folder.iterdir()
        if entry.name.startswith(purpose + "-") and entry.name.endswith(".md")
    ]
    return sorted(names, key=_version_number)


def load_prompt(version: str, purpose: str = "summarise") -> Prompt:
    """The prompt file for `version` (see `available_prompts`)."""
    version = resolve_version(version, purpose)
    path = resources.files(PROMPTS_PACKAGE).joinpath(PROMPTS_FOLDER, f"{version}.md")
    if not path.is_file():
        shipped = ", ".join(available_prompts(purpose)) or "none"
        raise NotFound(f"No prompt version {version!r} — shipped versions: {shipped}")
    return parse_prompt(path.read_text(encoding="utf-8"), version)


def parse_prompt(text: str, version: str) -> Prompt:
    match = re.fullmatch(r"---\n(.*?)\n---\n(.*)", text, re.S)
    if not match:
        raise ValueError(f"prompt {version} has no front matter")
    meta = yaml.safe_load(match.group(1)) or {}
    body = match.group(2)
    system, _, user = body.partition("<!-- user -->")
    system = system.replace("<!-- system -->", "").strip()
    if not system or not user.strip():
        raise ValueError(f"prompt {version} needs a <!-- system --> and a <!-- user --> section")
    return Prompt(
        version=meta.get("version", version),
        purpose=meta.get("purpose", "summarise"),
        system=system,
        user_template=user.strip(),
        about=str(meta.get("about", "")),
        max_document_chars=int(meta.get("max_document_chars", 12_000)),
        max_tokens=int(meta.get("max_tokens", 1_500)),
        neighbours=max(0, int(meta.get("neighbours", 0))),
    )


def _version_number(name: str) -> tuple[int, str]:
    match = re.search(r"-v(\d+)$", name)
    return (int(match.group(1)) if match else 0, name)
