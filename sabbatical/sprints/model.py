"""A sprint on disk: its folder, `sprint.md` (YAML front matter + sections), and finding sprints by id.

`sprint.md` is the source of truth for a sprint's metadata. This module reads and writes it without
losing what the researcher typed: sections other than the one being replaced are kept byte for byte,
and unknown front-matter keys survive a rewrite. Everything else a sprint does (journal, MLflow,
lifecycle) goes through the `Sprint` object defined here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NotFound, SprintFileError, UsageError
from ..files import write_atomically

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .journal import JournalEntry

SPRINT_FILE = "sprint.md"
JOURNAL_FILE = "journal.jsonl"
FOLDER_PATTERN = re.compile(r"^(\d{2,})-(.+)$")
STATUSES = ("open", "closed")
ANSWERS = ("yes", "no", "partly")
SECTIONS = ("Question", "Hypothesis", "Plan", "Reading list", "Notes", "Retro")
_KNOWN_KEYS = (
    "id",
    "title",
    "question",
    "hypothesis",
    "start",
    "end",
    "status",
    "mlflow_experiment",
    "mlflow_experiment_id",
    "private",
    "answer",
    "closed",
)


@dataclass
class SprintMeta:
    """The front matter of sprint.md."""

    id: str
    title: str
    question: str
    hypothesis: str
    start: date
    end: date
    status: str = "open"
    mlflow_experiment: str | None = None  # the experiment's name, written by new-sprint
    mlflow_experiment_id: str | None = None  # written when the experiment is made, at the first tracked run
    private: bool = False
    answer: str | None = None
    closed: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def to_yaml_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "question": self.question,
            "hypothesis": self.hypothesis,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "status": self.status,
            "mlflow_experiment": self.mlflow_experiment,
            "mlflow_experiment_id": self.mlflow_experiment_id,
            "private": self.private,
        }
        if self.answer is not None:
            values["answer"] = self.answer
        if self.closed is not None:
            values["closed"] = self.closed.isoformat()
        values.update(self.extra)
        return values


@dataclass
class SprintDocument:
    """sprint.md split into its parts: front matter, the text before the first section, the sections."""

    meta: SprintMeta
    preamble: str
    sections: list[tuple[str, str]]

    def section(self, heading: str) -> str | None:
        for name, body in self.sections:
            if name == heading:
                return body
        return None

    def replace_section(self, heading: str, body: str) -> None:
        """Replace one section's body (appending the section when it is missing)."""
        text = body.strip("\n") + "\n\n"
        for index, (name, _) in enumerate(self.sections):
            if name == heading:
                self.sections[index] = (name, text)
                return
        self.sections.append((heading, text))

    def render(self) -> str:
        import yaml

        front = yaml.safe_dump(self.meta.to_yaml_dict(), sort_keys=False, allow_unicode=True, width=100)
        parts = ["---\n", front, "---\n", self.preamble]
        for name, body in self.sections:
            parts.append(f"## {name}\n\n{body.lstrip(chr(10))}")
        return "".join(parts).rstrip("\n") + "\n"


def parse_document(text: str, path: Path) -> SprintDocument:
    """Split sprint.md into front matter and sections; a broken front matter is a SprintFileError."""
    import yaml

    if not text.startswith("---"):
        raise SprintFileError(path, "no front matter (the file must start with a `---` line)")
    _, _, rest = text.partition("\n")
    front, separator, body = rest.partition("\n---\n")
    if not separator:
        raise SprintFileError(path, "the front matter has no closing `---` line")
    try:
        raw = yaml.safe_load(front) or {}
    except yaml.YAMLError as exc:
        raise SprintFileError(path, f"the front matter is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise SprintFileError(path, "the front matter must be a mapping of keys to values")
    meta = _meta_from(raw, path)
    preamble, sections = _split_sections(body)
    return SprintDocument(meta, preamble, sections)


def _meta_from(raw: dict[str, Any], path: Path) -> SprintMeta:
    missing = [key for key in ("id", "question", "start", "end") if raw.get(key) in (None, "")]
    if missing:
        raise SprintFileError(path, f"missing {', '.join(missing)}")
    status = str(raw.get("status") or "open")
    if status not in STATUSES:
        raise SprintFileError(path, f"status must be open or closed, not {status!r}")
    experiment = raw.get("mlflow_experiment_id")
    experiment_name = raw.get("mlflow_experiment")
    return SprintMeta(
        id=str(raw["id"]).zfill(2),
        title=str(raw.get("title") or raw["question"]),
        question=str(raw["question"]),
        hypothesis=str(raw.get("hypothesis") or ""),
        start=_date(raw["start"], "start", path),
        end=_date(raw["end"], "end", path),
        status=status,
        mlflow_experiment=None if experiment_name in (None, "") else str(experiment_name),
        mlflow_experiment_id=None if experiment in (None, "") else str(experiment),
        private=bool(raw.get("private", False)),
        answer=None if raw.get("answer") is None else str(raw["answer"]),
        closed=None if raw.get("closed") in (None, "") else _date(raw["closed"], "closed", path),
        extra={key: value for key, value in raw.items() if key not in _KNOWN_KEYS},
    )


def _date(value: Any, key: str, path: Path) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SprintFileError(path, f"{key} must be a date like 2025-03-01, not {value!r}") from None


def _split_sections(body: str) -> tuple[str, list[tuple[str, str]]]:
    preamble_lines: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    in_fence = False
    for line in body.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            preamble_lines.append(line)
    return "".join(preamble_lines), [(name, "".join(lines)) for name, lines in sections]


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock held on a folder itself (no lock file left behind; closing releases it), for
    work two processes must not do at once; a no-op without flock."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


class Sprint:
    """One sprint of a workspace: `Sprint(workspace, "03")`, or the active sprint with no id.

    The id may be the number ("03" or "3"), the folder name, the slug or a unique prefix of it, or words
    only one sprint's question holds ("dropout").
    """

    def __init__(self, workspace: Workspace, sprint_id: str | int | None = None, *, folder: Path | None = None):
        self.workspace = workspace
        self.folder = folder if folder is not None else resolve_folder(workspace, sprint_id)
        match = FOLDER_PATTERN.match(self.folder.name)
        if not match:
            raise NotFound(f"{self.folder} is not a sprint folder (its name must look like 03-some-slug)")
        self.number = int(match[1])
        self.slug = match[2]

    def __repr__(self) -> str:
        return f"Sprint({self.folder.name!r})"

    @property
    def id(self) -> str:
        return f"{self.number:02d}"

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def sprint_md(self) -> Path:
        return self.folder / SPRINT_FILE

    @property
    def notebooks_dir(self) -> Path:
        return self.folder / "notebooks"

    @property
    def artifacts_dir(self) -> Path:
        return self.folder / "artifacts"

    @property
    def journal_path(self) -> Path:
        return self.folder / JOURNAL_FILE

    def document(self) -> SprintDocument:
        try:
            text = self.sprint_md.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SprintFileError(self.sprint_md, "missing — the folder is not a complete sprint") from None
        return parse_document(text, self.sprint_md)

    @property
    def meta(self) -> SprintMeta:
        return self.document().meta

    def save(self, document: SprintDocument) -> None:
        write_atomically(self.sprint_md, document.render())

    def record_experiment_id(self, experiment_id: str) -> None:
        """Write the MLflow experiment's id into sprint.md once it exists (kept if one is already there)."""
        with folder_lock(self.folder):  # two kernels' first runs must not both rewrite sprint.md
            document = self.document()
            if document.meta.mlflow_experiment_id:
                return
            document.meta.mlflow_experiment_id = str(experiment_id)
            self.save(document)

    # -- the journal and the lifecycle, for notebooks and scripts ------------------------------------
    def journal(self) -> list[JournalEntry]:
        """Every entry, numbered, with its state (retracted, superseded, kept); `entry.current` picks the
        record as it stands."""
        from .journal import read_journal

        return read_journal(self.journal_path)

    def log(self, kind: str, text: str, *, source: str = "python", private: bool = False, **extra: Any) -> JournalEntry:
        """Append a failure, finding, feedback or note to the journal."""
        from .journal import record

        return record(self.journal_path, kind, text, source=source, private=private, **extra)

    def reading_list(self, limit: int = 10) -> list:
        """What the pile has for this sprint's question now (best first)."""
        from .reading_list import search_pile

        return search_pile(self.workspace, self.meta.question, limit=limit, include_private=self.meta.private).entries

    def close(self, answer: str, summary: str):
        from .lifecycle import close_sprint

        return close_sprint(self, answer, summary)

    def reopen(self):
        from .lifecycle import reopen_sprint

        return reopen_sprint(self)

    def status(self):
        from .lifecycle import sprint_status

        return sprint_status(self)


def sprint_folders(workspace: Workspace) -> list[Path]:
    """Every sprint folder, by number. Folders being built (dot-folders) and other names are skipped."""
    return _folders_in(workspace.sprints_dir)


def _folders_in(sprints_dir: Path) -> list[Path]:
    if not sprints_dir.is_dir():
        return []
    found = [
        path
        for path in sprints_dir.iterdir()
        if path.is_dir() and FOLDER_PATTERN.match(path.name) and (path / SPRINT_FILE).is_file()
    ]
    return sorted(found, key=lambda path: (int(path.name.split("-", 1)[0]), path.name))


def open_sprint_question(sprints_dir: Path) -> str | None:
    """The question of the latest open sprint in `sprints_dir`, or None; a sprint.md that does not parse is passed
    over (ranking the pile must not fail on it: `sabbatical sprint status` reports it)."""
    for folder in reversed(_folders_in(sprints_dir)):
        try:
            meta = parse_document((folder / SPRINT_FILE).read_text(encoding="utf-8"), folder / SPRINT_FILE).meta
        except (OSError, UnicodeDecodeError, SprintFileError):
            continue
        if meta.status == "open":
            return meta.question
    return None


def all_sprints(workspace: Workspace) -> list[Sprint]:
    return [Sprint(workspace, folder=folder) for folder in sprint_folders(workspace)]


def latest_sprint(workspace: Workspace) -> Sprint:
    """The sprint with the highest number, open or closed."""
    folders = sprint_folders(workspace)
    if not folders:
        raise NotFound('No sprints yet — start one with `sabbatical new-sprint "QUESTION"`')
    return Sprint(workspace, folder=folders[-1])


def active_or_latest(workspace: Workspace) -> Sprint | None:
    """The active sprint, else the latest one, else None (for looking at a sprint, not writing to it)."""
    folders = sprint_folders(workspace)
    if not folders:
        return None
    try:
        return Sprint(workspace, folder=active_folder(workspace, folders))
    except NotFound:
        return Sprint(workspace, folder=folders[-1])


def resolve_folder(workspace: Workspace, sprint_id: str | int | None) -> Path:
    """The folder of a sprint named by number, folder name, slug, a unique prefix of the slug, or words
    found in only one sprint's question; with no id, the active sprint."""
    folders = sprint_folders(workspace)
    if sprint_id is None or str(sprint_id).strip() == "":
        return active_folder(workspace, folders)
    wanted = str(sprint_id).strip().strip("/")
    wanted = Path(wanted).name if wanted.startswith(("sprints/", "./sprints/")) else wanted
    for folder in folders:
        number, slug = folder.name.split("-", 1)  # sprint_folders kept only names FOLDER_PATTERN matches
        if wanted in (folder.name, slug) or (wanted.isdigit() and int(wanted) == int(number)):
            return folder
    lowered = wanted.lower()
    prefixed = [
        folder
        for folder in folders
        if not wanted.isdigit()
        and (folder.name.split("-", 1)[1].startswith(lowered) or folder.name.startswith(lowered))
    ]
    words = _words(wanted)
    asked = prefixed or [folder for folder in folders if words and words <= _words(_question_of(folder))]
    if len(asked) == 1:
        return asked[0]
    if asked:
        names = ", ".join(folder.name for folder in asked[:6])
        raise UsageError(f"{wanted!r} names more than one sprint ({names}) — give its number")
    raise NotFound(f"No sprint {wanted} — `sabbatical sprint list` shows the sprints")


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def _question_of(folder: Path) -> str:
    try:
        return parse_document((folder / SPRINT_FILE).read_text(encoding="utf-8"), folder / SPRINT_FILE).meta.question
    except (OSError, UnicodeDecodeError, SprintFileError):
        return ""


def active_folder(workspace: Workspace, folders: list[Path] | None = None) -> Path:
    """The latest open sprint."""
    for folder in reversed(folders if folders is not None else sprint_folders(workspace)):
        if Sprint(workspace, folder=folder).meta.status == "open":
            return folder
    folders = folders if folders is not None else sprint_folders(workspace)
    if folders:
        latest = Sprint(workspace, folder=folders[-1])
        raise NotFound(
            f"No open sprint — every sprint is closed. Name one to write to it, e.g. `--sprint {latest.id}` "
            f"(sprint {latest.id}, {latest.slug}), or reopen it (`sabbatical sprint reopen {latest.id}`), "
            'or start one with `sabbatical new-sprint "QUESTION"`'
        )
    raise NotFound(
        'No open sprint — start one with `sabbatical new-sprint "QUESTION"`, '
        "or name one (`sabbatical sprint list` shows them)"
    )


def sprint_of_folder(workspace: Workspace, start: Path) -> Sprint | None:
    """The sprint whose folder holds `start` (a notebook's working directory), if any."""
    start = start.resolve()
    sprints_dir = workspace.sprints_dir.resolve()
    for folder in (start, *start.parents):
        if folder.parent == sprints_dir and FOLDER_PATTERN.match(folder.name) and (folder / SPRINT_FILE).is_file():
            return Sprint(workspace, folder=folder)
    return None
