"""Reading the sprints for the site, through the sprints library (`sabbatical.sprints`).

This adapter turns each public sprint into a `SiteSprint`: its front matter and sections from
`Sprint.document()`, its public journal entries from `Sprint.journal()`, its artifacts and notebooks from
its folders. Private sprints and private journal entries are dropped here, before any page exists. A
sprint whose sprint.md is broken is reported as a problem and left out; the others are unaffected.

Captions: an artifact `artifacts/plot.png` is described by `artifacts/plot.png.caption.txt` when that file
exists (the researcher's words win), else by its file name. `alt_text.py` may improve the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SabbaticalError
from .model import SiteArtifact, SiteEntry, SiteNotebook, SiteSprint

if TYPE_CHECKING:
    from ..sprints.model import Sprint
    from ..workspace import Workspace

CAPTION_SUFFIX = ".caption.txt"
MAX_ARTIFACT_BYTES = 20 * 1024 * 1024
_SKIPPED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


def public_sprints(workspace: Workspace, problems: list[str]) -> list[SiteSprint]:
    """Every public sprint, in order; broken ones are added to `problems` and skipped."""
    from ..sprints.model import all_sprints

    found = []
    for sprint in all_sprints(workspace):
        try:
            site_sprint = site_sprint_of(sprint)
        except (SabbaticalError, OSError) as exc:
            problems.append(f"sprints/{sprint.name}: {exc} — this sprint was left out of the site")
            continue
        if site_sprint is not None:
            found.append(site_sprint)
    return found


def site_sprint_of(sprint: Sprint) -> SiteSprint | None:
    """The sprint as the site shows it, or None when it is private."""
    document = sprint.document()
    meta = document.meta
    if meta.private:
        return None
    site_sprint = SiteSprint(
        id=meta.id, folder=sprint.name, title=meta.title, question=meta.question, hypothesis=meta.hypothesis,
        start=meta.start, end=meta.end, status=meta.status, answer=meta.answer, closed=meta.closed,
        sections={name: body.strip() for name, body in document.sections},
        artifacts=artifacts_of(sprint.artifacts_dir),
        notebooks=notebooks_of(sprint.notebooks_dir),
    )
    site_sprint.experiment_id = meta.mlflow_experiment_id
    site_sprint.entries = public_entries(sprint, site_sprint)
    return site_sprint


def public_entries(sprint: Sprint, site_sprint: SiteSprint) -> list[SiteEntry]:
    entries = []
    for entry in sprint.journal():
        if entry.private:
            continue
        details = {key: str(value) for key, value in entry.extra.items()
                   if key in ("why", "evidence", "run_id", "run_name", "notebook") and value not in (None, "")}
        entries.append(SiteEntry(kind=entry.kind, text=entry.text, time=entry.time, source=entry.source,
                                 sprint_id=site_sprint.id, sprint_title=site_sprint.title,
                                 sprint_page=site_sprint.page, details=details))
    return entries


def artifacts_of(folder: Path) -> list[SiteArtifact]:
    """The files under a sprint's artifacts folder (captions read from their sidecar files)."""
    if not folder.is_dir():
        return []
    artifacts = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or path.name.endswith(CAPTION_SUFFIX) or _hidden(relative):
            continue
        caption = _caption_of(path)
        artifacts.append(SiteArtifact(source=path, name=relative.as_posix(), caption=caption,
                                      alt=caption or default_alt(relative.as_posix()), size=path.stat().st_size))
    return artifacts


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part in _SKIPPED_NAMES for part in relative.parts)


def _caption_of(path: Path) -> str:
    sidecar = path.with_name(path.name + CAPTION_SUFFIX)
    try:
        return " ".join(sidecar.read_text(encoding="utf-8").split())[:500]
    except (OSError, UnicodeDecodeError):
        return ""


def default_alt(name: str) -> str:
    """A readable description from a file name: 'loss_curve-v2.png' → 'loss curve v2 (image)'."""
    stem = Path(name).stem
    words = " ".join(stem.replace("_", " ").replace("-", " ").split())
    return f"{words or name} (image)"


def notebooks_of(folder: Path) -> list[SiteNotebook]:
    if not folder.is_dir():
        return []
    return [SiteNotebook(source=path, name=path.stem, title=path.stem)
            for path in sorted(folder.glob("*.ipynb")) if not path.name.startswith(".")]
