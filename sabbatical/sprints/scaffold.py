"""`new-sprint`: scaffolding a sprint folder, all or nothing, without loading MLflow.

The folder is built aside (a dot-folder inside sprints/, invisible to listings) and only then renamed
into place as `sprints/NN-slug/`; any failure removes what was built, so a sprint either exists
completely or not at all. Every check on the input happens before anything is written. sprint.md names
the sprint's MLflow experiment; the experiment itself is made when first needed (`tracking`), since
importing MLflow alone takes longer than everything here.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from ..errors import SabbaticalError, UsageError
from . import tracking
from .model import JOURNAL_FILE, SPRINT_FILE, Sprint, SprintMeta, all_sprints, folder_lock, parse_document
from .reading_list import ReadingList, render_markdown, search_pile

if TYPE_CHECKING:
    import sqlite3

    from ..workspace import Workspace

SLUG_MAX = 48
TITLE_MAX = 80
NOTEBOOKS = ("01-explore.ipynb", "02-experiment.ipynb")
NO_HYPOTHESIS = "_None yet. What do you expect to happen, and what result would change your mind?_"


@dataclass
class SprintPlan:
    """Everything `new-sprint` decided before writing anything."""

    number: int
    slug: str
    meta: SprintMeta
    warnings: list[str] = field(default_factory=list)

    @property
    def folder_name(self) -> str:
        return f"{self.number:02d}-{self.slug}"


@dataclass
class NewSprint:
    sprint: Sprint
    meta: SprintMeta
    reading: ReadingList
    warnings: list[str]


def slugify(text: str) -> str:
    """A folder-safe slug: accents dropped, other letters kept (any script), everything else a dash."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(char for char in decomposed if not unicodedata.combining(char))
    kept = unicodedata.normalize("NFKC", kept).lower()
    slug = re.sub(r"[\W_]+", "-", kept).strip("-")
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX].rsplit("-", 1)[0] if "-" in slug[:SLUG_MAX] else slug[:SLUG_MAX]
    return slug.strip("-")


def short_title(question: str) -> str:
    """The question as a title: whole when short, cut at a word boundary otherwise."""
    text = " ".join(question.split())
    if len(text) <= TITLE_MAX:
        return text
    return text[:TITLE_MAX].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def parse_date(value: str | date | None, option: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date — write it as YYYY-MM-DD, e.g. 2025-03-03") from None


def plan_sprint(
    workspace: Workspace,
    question: str,
    *,
    hypothesis: str = "",
    start: str | date | None = None,
    days: int | None = None,
    end: str | date | None = None,
    slug: str | None = None,
    private: bool = False,
    today: date | None = None,
) -> SprintPlan:
    """Check the input against the existing sprints and decide number, slug and dates (writes nothing)."""
    question = " ".join(question.split())
    if not question:
        raise UsageError(
            "the question is empty — say in one sentence what this sprint tries to answer, "
            'e.g. sabbatical new-sprint "Does X beat Y on Z?"'
        )
    today = today or date.today()
    existing = all_sprints(workspace)
    metas = [(sprint, sprint.meta) for sprint in existing]
    start_date = parse_date(start, "--start") or _default_start(metas, today)
    end_date = _end_date(workspace, start_date, days, parse_date(end, "--end"))
    chosen = slugify(slug if slug is not None else question)
    if not chosen:
        if slug is not None:
            raise UsageError(f"--slug {slug!r} has no letters or digits — give a slug like learning-rates")
        chosen = "sprint"
    for sprint in existing:
        if sprint.slug == chosen:
            raise SabbaticalError(
                f"a sprint with the slug {chosen!r} already exists (sprints/{sprint.name}) — choose another with --slug"
            )
    number = max((sprint.number for sprint in existing), default=0) + 1
    meta = SprintMeta(
        id=f"{number:02d}",
        title=short_title(question),
        question=question,
        hypothesis=" ".join(hypothesis.split()),
        start=start_date,
        end=end_date,
        private=private,
    )
    return SprintPlan(number, chosen, meta, warnings=_overlaps(metas, meta))


def _default_start(metas: list[tuple[Sprint, SprintMeta]], today: date) -> date:
    """The day after the latest sprint ends (when it is still open), else today."""
    if not metas:
        return today
    _, latest = metas[-1]
    if latest.status == "open":
        return max(today, latest.end + timedelta(days=1))
    return today


def _end_date(workspace: Workspace, start: date, days: int | None, end: date | None) -> date:
    if end is not None and days is not None:
        raise UsageError("give --days or --end, not both")
    if end is None:
        length = workspace.config.sprints.days if days is None else days
        if length < 1:
            raise UsageError(f"--days must be at least 1 (got {length}): the sprint would end before it starts")
        end = start + timedelta(days=length - 1)
    if end < start:
        raise UsageError(f"the end {end} is before the start {start} — pick a later --end or an earlier --start")
    return end


def _overlaps(metas: list[tuple[Sprint, SprintMeta]], new: SprintMeta) -> list[str]:
    warnings = []
    for sprint, meta in metas:
        if meta.status == "open" and new.start <= meta.end and meta.start <= new.end:
            warnings.append(
                f"the new sprint overlaps open sprint {sprint.id} ({meta.start} → {meta.end}); "
                f"close it with `sabbatical sprint close {sprint.id} --answer … --summary …`"
            )
    return warnings


def create_sprint(
    workspace: Workspace, question: str, *, conn: sqlite3.Connection | None = None, **options
) -> NewSprint:
    """Scaffold `sprints/NN-slug/`; see `plan_sprint` for the options.

    `conn` is the open pile the reading list is searched in (the CLI hands over the one it opened);
    without one, the pile is opened for the search if the workspace has one.
    Two at once in one workspace take turns (the second then numbers after the first, or finds its slug
    taken), so neither can pick the other's number.
    """
    workspace.sprints_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(workspace.sprints_dir):
        return _create_sprint(workspace, question, conn, **options)


def _create_sprint(workspace: Workspace, question: str, conn: sqlite3.Connection | None, **options) -> NewSprint:
    plan = plan_sprint(workspace, question, **options)
    reading = search_pile(workspace, plan.meta.question, include_private=plan.meta.private, conn=conn)
    warnings = list(plan.warnings)
    if reading.problem:
        warnings.append(f"the reading list is empty because {reading.problem}")
    final = workspace.sprints_dir / plan.folder_name
    building = Path(tempfile.mkdtemp(dir=workspace.sprints_dir, prefix=f".new-{plan.folder_name}-"))
    plan.meta.mlflow_experiment = tracking.experiment_name(plan.number, plan.meta.question)
    try:
        _write_skeleton(building, plan)
        (building / SPRINT_FILE).write_text(render_sprint_md(plan.meta, render_markdown(reading)), encoding="utf-8")
        if final.exists():
            raise SabbaticalError(
                f"sprints/{final.name} appeared while the sprint was being built "
                "(another new-sprint at the same time?) — run the command again"
            )
        building.rename(final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return NewSprint(Sprint(workspace, folder=final), plan.meta, reading, warnings)


def _write_skeleton(folder: Path, plan: SprintPlan) -> None:
    (folder / "notebooks").mkdir()
    (folder / "artifacts").mkdir()
    (folder / JOURNAL_FILE).touch()
    for name in NOTEBOOKS:
        (folder / "notebooks" / name).write_text(render_notebook(name, plan.meta), encoding="utf-8")


def render_sprint_md(meta: SprintMeta, reading_markdown: str) -> str:
    import yaml

    template = Template(_template_text("sprint.md"))
    front = yaml.safe_dump(meta.to_yaml_dict(), sort_keys=False, allow_unicode=True, width=100)
    text = template.substitute(
        front_matter=front,
        id=meta.id,
        title=meta.title,
        question=meta.question,
        hypothesis=meta.hypothesis or NO_HYPOTHESIS,
        reading_list=reading_markdown,
    )
    parse_document(text, Path(SPRINT_FILE))  # what we write must read back
    return text


def render_notebook(name: str, meta: SprintMeta) -> str:
    """A template notebook with the sprint's id, question and hypothesis filled into its Markdown cells."""
    notebook = json.loads(_template_text(f"notebooks/{name}"))
    values = {
        "{{id}}": meta.id,
        "{{question}}": meta.question,
        "{{title}}": meta.title,
        "{{hypothesis}}": meta.hypothesis or "none yet",
    }
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            for placeholder, value in values.items():
                source = source.replace(placeholder, value)
            cell["source"] = source.splitlines(keepends=True)
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _template_text(name: str) -> str:
    return resources.files("sabbatical.templates").joinpath("sprint", name).read_text(encoding="utf-8")
