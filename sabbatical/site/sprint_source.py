"""Reading the sprints for the site, through the sprints library (`sabbatical.sprints`).

This adapter turns each public sprint into a `SiteSprint`: its front matter and sections from
`Sprint.document()`, its public journal entries from `Sprint.journal()`, its artifacts and notebooks from
its folders. Private sprints and private journal entries are dropped here, before any page exists. A
sprint whose sprint.md is broken is reported as a problem and left out; the others are unaffected.

Captions: an artifact `artifacts/plot.png` is described by `artifacts/plot.png.caption.txt` when that file
exists (the researcher's words win), else by its file name. `alt_text.py` may improve the default.

Only regular files whose resolved path is inside the sprint folder are listed (artifacts, captions,
notebooks): a symlink leading out of the sprint (a symlinked `artifacts/` folder included), a FIFO or a
device is skipped, and a line naming it is added to the build's problems (`paths.publish_problem`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SabbaticalError
from .model import SiteArtifact, SiteEntry, SiteNotebook, SiteSprint
from .paths import is_inside, publish_problem, read_published

if TYPE_CHECKING:
    from ..sprints.model import Sprint
    from ..workspace import Workspace

CAPTION_SUFFIX = ".caption.txt"
MAX_ARTIFACT_BYTES = 20 * 1024 * 1024
MAX_CAPTION_BYTES = 64 * 1024
_SKIPPED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}
_EVIDENCE_KEYS = ("cites", "evidence_runs", "evidence_figures")
# The front matter a sprint page shows as sprint.md holds it (SiteSprint's fields of the same names).
_FRONT_MATTER_SHOWN = ("id", "title", "question", "hypothesis", "start", "end", "status", "answer", "closed")


def public_sprints(workspace: Workspace, problems: list[str]) -> list[SiteSprint]:
    """Every public sprint, in order; broken ones are added to `problems` and skipped."""
    from ..sprints.model import all_sprints

    found = []
    for sprint in all_sprints(workspace):
        try:
            site_sprint = site_sprint_of(sprint, problems)
        except (SabbaticalError, OSError) as exc:
            problems.append(f"sprints/{sprint.name}: {exc} — this sprint was left out of the site")
            continue
        if site_sprint is not None:
            found.append(site_sprint)
    return found


def site_sprint_of(sprint: Sprint, problems: list[str] | None = None) -> SiteSprint | None:
    """The sprint as the site shows it, or None when it is private; skipped files are added to `problems`."""
    from ..sprints.lifecycle import superseded_runs

    problems = problems if problems is not None else []
    document = sprint.document()
    meta = document.meta
    if meta.private:
        return None
    root = sprint_root(sprint, problems)
    site_sprint = SiteSprint(
        folder=sprint.name,
        **_same_named(meta, _FRONT_MATTER_SHOWN),
        sections={name: body.strip() for name, body in document.sections},
        artifacts=artifacts_of(sprint.artifacts_dir, root, problems) if root else [],
        notebooks=notebooks_of(sprint.notebooks_dir, root, problems) if root else [],
    )
    site_sprint.experiment_id = meta.mlflow_experiment_id
    site_sprint.superseded_runs = set(superseded_runs(sprint))
    site_sprint.entries = public_entries(sprint, site_sprint)
    return site_sprint


def public_entries(sprint: Sprint, site_sprint: SiteSprint) -> list[SiteEntry]:
    """The entries the record holds now: private, retracted and superseded ones, and examples nobody kept,
    are left out. Details: `cites` and `evidence_runs`/`evidence_figures` (comma-separated ids), `seen_before`
    (earlier executions that logged the same), `after_close` ("stale" until kept or reopened, else "kept")."""
    entries = []
    for entry in sprint.journal():
        if not entry.publishable:
            continue
        details = {
            key: str(value)
            for key, value in entry.extra.items()
            if key in ("why", "evidence", "run_id", "run_name", "notebook") and value not in (None, "")
        }
        details.update(
            {
                key: ", ".join(map(str, entry.extra[key]))
                for key in _EVIDENCE_KEYS
                if isinstance(entry.extra.get(key), list) and entry.extra[key]
            }
        )
        if entry.seen_before:
            details["seen_before"] = str(entry.seen_before)
        if entry.after_close:
            details["after_close"] = "stale" if entry.stale else "kept"
        entries.append(
            SiteEntry(
                **_same_named(entry, ("kind", "text", "time", "source")),
                sprint_id=site_sprint.id,
                sprint_title=site_sprint.title,
                sprint_page=site_sprint.page,
                details=details,
            )
        )
    return entries


def _same_named(record: object, names: tuple[str, ...]) -> dict[str, Any]:
    """The record's values of these fields, for a site record whose fields have the same names."""
    return {name: getattr(record, name) for name in names}


def sprint_root(sprint: Sprint, problems: list[str]) -> Path | None:
    """The sprint folder, resolved, when it lies inside the workspace; None (and a problem) when it does not."""
    if is_inside(sprint.folder, sprint.workspace.root):
        return sprint.folder.resolve()
    problems.append(
        f"sprints/{sprint.name}: the sprint folder is a symlink leading outside the workspace — "
        "its artifacts and notebooks were left out; move the folder into sprints/"
    )
    return None


def artifacts_of(folder: Path, root: Path, problems: list[str]) -> list[SiteArtifact]:
    """The publishable files under a sprint's artifacts folder (captions read from their sidecar files).

    `root` is the sprint folder: only regular files resolving inside it are listed; everything skipped is
    one line in `problems`, naming the file.
    """
    label = _listable_label(folder, root, problems)
    if label is None:
        return []
    artifacts = []
    for path, relative in _walk(folder, root, label, problems):
        if path.name.endswith(CAPTION_SUFFIX):
            continue
        caption = _caption_of(path, root)
        artifacts.append(
            SiteArtifact(
                source=path,
                name=relative,
                caption=caption,
                alt=caption or default_alt(relative),
                size=path.stat().st_size,
            )
        )
    return sorted(artifacts, key=lambda artifact: artifact.name)


def _listable_label(folder: Path, root: Path, problems: list[str]) -> str | None:
    """How problems name a sprint's artifacts or notebooks folder, or None when it is not listed: it does not
    exist (nothing to say), or it is not a folder inside the sprint (one line in `problems`)."""
    label = f"sprints/{folder.parent.name}/{folder.name}"
    if not os.path.lexists(folder):
        return None
    if not is_inside(folder, root) or not folder.is_dir():
        problems.append(f"{label}: {publish_problem(folder, root) or 'is not a folder'} — it was left out of the site")
        return None
    return label


def _walk(folder: Path, root: Path, label: str, problems: list[str]):
    """(path, relative name) of every publishable file under `folder`; symlinked folders are not entered."""
    for parent, folders, files in os.walk(folder):
        here = Path(parent)
        for name in sorted(folders):
            path = here / name
            if path.is_symlink() and not _hidden(path.relative_to(folder)):
                problems.append(
                    f"{label}/{path.relative_to(folder).as_posix()}: is a symlinked folder, which is "
                    "not followed — it was left out of the site; copy what it holds into the sprint"
                )
        folders[:] = sorted(name for name in folders if not (here / name).is_symlink())
        for name in sorted(files):
            path = here / name
            relative = path.relative_to(folder)
            if _hidden(relative):
                continue
            problem = publish_problem(path, root)
            if problem:
                problems.append(f"{label}/{relative.as_posix()}: {problem} — it was left out of the site")
                continue
            yield path, relative.as_posix()


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part in _SKIPPED_NAMES for part in relative.parts)


def _caption_of(path: Path, root: Path) -> str:
    sidecar = path.with_name(path.name + CAPTION_SUFFIX)
    if not os.path.lexists(sidecar):
        return ""
    try:
        return " ".join(read_published(sidecar, root, MAX_CAPTION_BYTES).decode("utf-8").split())[:500]
    except (OSError, UnicodeDecodeError):
        return ""  # a caption that is a link out of the sprint (or a FIFO) is not read; the file name serves


def default_alt(name: str) -> str:
    """A readable description from a file name: 'loss_curve-v2.png' → 'loss curve v2 (image)'."""
    stem = Path(name).stem
    words = " ".join(stem.replace("_", " ").replace("-", " ").split())
    return f"{words or name} (image)"


def notebooks_of(folder: Path, root: Path, problems: list[str]) -> list[SiteNotebook]:
    """The publishable notebooks in a sprint's notebooks folder (regular files inside the sprint folder)."""
    label = _listable_label(folder, root, problems)
    if label is None:
        return []
    found = []
    for path in sorted(folder.glob("*.ipynb")):
        if path.name.startswith("."):
            continue
        problem = publish_problem(path, root)
        if problem:
            problems.append(f"{label}/{path.name}: {problem} — it was left out of the site")
            continue
        found.append(SiteNotebook(source=path, name=path.stem, title=path.stem))
    return found
