"""Bringing readers' replies back: GitHub issues or discussions, exported as JSON, into sprint journals.

The site's "Give feedback" link opens an issue (or a mailto); comments arrive as GitHub Discussions
(giscus). `gh` prints both as JSON, and `import_feedback` reads the shapes it prints:

- `gh issue list --json number,title,body,author,url,createdAt,comments` — a list of issues;
- `gh issue view N --json title,body,author,url,createdAt,comments` — one issue;
- `gh api graphql` over discussions — `{"data": {"repository": {"discussions": {"nodes": [...]}}}}` or
  `{"data": {"repository": {"discussion": {...}}}}`, with comments as a list or as `{"nodes": [...]}`.

The opening post and each comment become one feedback entry, from the author's login, with the URL it
came from. A thread that names a sprint's page (`sprints/<folder>/`, as the feedback link writes it) goes
to that sprint's journal; the others go to the sprint given (else the active one). Importing the same
export twice adds nothing: each entry remembers its URL (or, without one, a hash of author, time and text).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from .model import Sprint

MAX_EXPORT_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    """One post of a thread: the opening issue or discussion, or a comment on it."""

    text: str
    author: str
    at: str
    url: str
    thread: str  # the thread's title and opening text, to find which sprint it is about

    @property
    def key(self) -> str:
        if self.url:
            return self.url
        return "sha256:" + hashlib.sha256(f"{self.author}\n{self.at}\n{self.text}".encode()).hexdigest()


@dataclass
class ImportReport:
    added: list[tuple[str, Reply]] = field(default_factory=list)  # (sprint id, reply)
    duplicates: int = 0
    skipped: int = 0  # posts without text


def read_export(path: Path) -> list[Reply]:
    """Every post in a `gh` JSON export, oldest thread first; bad input is one clear UsageError."""
    try:
        if path.stat().st_size > MAX_EXPORT_BYTES:
            raise UsageError(f"{path} is larger than 50 MB — export fewer issues (gh … --limit N)")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path} ({exc.strerror or exc}) — give the JSON file `gh` wrote") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{path} is not JSON ({exc}) — export with `gh issue list --json "
            "number,title,body,author,url,createdAt,comments > FILE`"
        ) from None
    threads = list(_threads(data))
    if not threads and data not in ([], {}):
        raise UsageError(
            f"{path} holds no issues or discussions in a shape `gh` prints — see "
            "`sabbatical sprint feedback import --help`"
        )
    return [reply for thread in threads for reply in _replies(thread)]


def _threads(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _threads(item)
    elif isinstance(data, dict):
        if "body" in data and ("author" in data or "title" in data):
            yield data
            return
        for key in ("data", "repository", "discussions", "discussion", "issues", "issue", "nodes", "edges", "node"):
            if key in data:
                yield from _threads(data[key])


def _replies(thread: dict[str, Any]) -> Iterator[Reply]:
    title = _text(thread.get("title"))
    opening = _text(thread.get("body"))
    context = f"{title}\n{opening}"
    yield Reply(
        opening, _login(thread.get("author")), _text(thread.get("createdAt")), _text(thread.get("url")), context
    )
    comments = thread.get("comments")
    if isinstance(comments, dict):
        comments = comments.get("nodes") or comments.get("edges") or []
    for comment in comments if isinstance(comments, list) else []:
        comment = comment.get("node", comment) if isinstance(comment, dict) else {}
        yield Reply(
            _text(comment.get("body")),
            _login(comment.get("author")),
            _text(comment.get("createdAt")),
            _text(comment.get("url")),
            context,
        )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _login(author: Any) -> str:
    if isinstance(author, dict):
        return _text(author.get("login")) or _text(author.get("name")) or "GitHub"
    return _text(author) or "GitHub"


def known_keys(sprint: Sprint) -> set[str]:
    return {str(entry.extra["feedback_id"]) for entry in sprint.journal() if entry.extra.get("feedback_id")}


def import_feedback(sprints: list[Sprint], default: Sprint | None, replies: list[Reply]) -> ImportReport:
    """Log each new reply as feedback in the journal of the sprint it is about (else `default`)."""
    report = ImportReport()
    seen = {sprint.name: known_keys(sprint) for sprint in sprints}
    for reply in replies:
        if not reply.text:
            report.skipped += 1
            continue
        target = _sprint_of(reply, sprints) or default
        if target is None:
            raise UsageError("a reply names no sprint's page and there is no active sprint — pass --sprint")
        keys = seen.setdefault(target.name, known_keys(target))
        if reply.key in keys:
            report.duplicates += 1
            continue
        target.log(
            "feedback",
            reply.text,
            source=reply.author,
            feedback_id=reply.key,
            url=reply.url or None,
            replied_at=reply.at or None,
        )
        keys.add(reply.key)
        report.added.append((target.id, reply))
    return report


def _sprint_of(reply: Reply, sprints: list[Sprint]) -> Sprint | None:
    for sprint in sprints:
        if f"sprints/{sprint.name}/" in reply.thread or f"sprints%2F{sprint.name}%2F" in reply.thread:
            return sprint
    return None
