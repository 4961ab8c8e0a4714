"""Provenance: what a finding or failure cites (pile items) and what shows it (runs, figures), checked when
it is logged; and the way back, from a pile item to the sprints and entries that cite it.

A citation is checked before the entry is written, so a typo is one clear error and never a dangling
link: a pile item through the pile's own resolver (`resolve_item`: any id, alias, URL or unique prefix
becomes the item's canonical id), a run by its MLflow id (or a unique prefix of it) or its name among the
runs the sprint's journal saw start (the latest run of that name), a figure by its file in the sprint's
artifacts folder. The journal stores the canonical forms: `cites` (item ids), `evidence_runs` (run ids),
`evidence_figures` (artifact file names).

`sprint bib` writes the bibliography of a sprint (its reading list and every item its current entries
cite) with the pile's own BibTeX export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..errors import NotFound, UsageError
from .journal import JournalEntry, read_events
from .model import Sprint, all_sprints

if TYPE_CHECKING:
    from ..workspace import Workspace

FIGURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg")
_READING_ID = re.compile(r"`([a-z][a-z0-9]*:[^`\s]+)`")


@dataclass
class Evidence:
    """The checked, canonical citations of one entry (empty lists are left off the journal line)."""

    cites: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, list[str]]:
        named = {"cites": self.cites, "evidence_runs": self.runs, "evidence_figures": self.figures}
        return {key: value for key, value in named.items() if value}


def check_evidence(
    sprint: Sprint,
    *,
    cites: list[str] | tuple[str, ...] | None = None,
    runs: list[str] | tuple[str, ...] | None = None,
    figures: list[str] | tuple[str, ...] | None = None,
) -> Evidence:
    """Resolve every citation, or raise naming the first that does not exist (nothing is written then)."""
    return Evidence(
        cites=resolve_items(sprint.workspace, _listed(cites, "cites")),
        runs=[resolve_run(sprint, ref) for ref in _listed(runs, "runs")],
        figures=[resolve_figure(sprint, ref) for ref in _listed(figures, "figures")],
    )


def _listed(values: list[str] | tuple[str, ...] | str | None, name: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):  # cites="arxiv:…" means one citation, not one per character
        values = [values]
    listed = [str(value).strip() for value in values]
    if any(not value for value in listed):
        raise UsageError(f"an empty name in {name}= — give each cited item, run or figure by its id or name")
    return list(dict.fromkeys(listed))


def resolve_items(workspace: Workspace, refs: list[str]) -> list[str]:
    """The canonical pile ids of `refs`; NotFound for one the pile does not hold."""
    if not refs:
        return []
    if not workspace.pile_path.exists():
        raise NotFound(
            f"cannot cite {refs[0]}: there is no pile yet ({workspace.pile_path}) — read it first "
            f"(`sabbatical read arxiv {refs[0]}`), then cite it"
        )
    from .. import db

    conn = db.connect(workspace.pile_path)
    try:
        return list(dict.fromkeys(_resolve_cited(conn, ref) for ref in refs))
    finally:
        conn.close()


def _resolve_cited(conn, ref: str) -> str:
    from ..reading.pile import resolve_item

    try:
        return resolve_item(conn, ref)
    except NotFound as exc:
        raise NotFound(f"cannot cite {ref}: {exc}") from None


def resolve_run(sprint: Sprint, ref: str) -> str:
    """The MLflow id of a run this sprint tracked, named by id, unique id prefix, or name (the latest of it)."""
    started = read_events(sprint.journal_path, "run-started")
    ids = list(dict.fromkeys(str(event.get("run_id")) for event in started if event.get("run_id")))
    if ref in ids:
        return ref
    by_name = [str(event["run_id"]) for event in started if event.get("run_name") == ref and event.get("run_id")]
    if by_name:
        return by_name[-1]
    prefixed = [run_id for run_id in ids if len(ref) >= 6 and run_id.startswith(ref)]
    if len(prefixed) == 1:
        return prefixed[0]
    raise NotFound(
        f"no run {ref!r} in sprint {sprint.id} — give a run's name or MLflow id "
        f"(`sabbatical sprint status {sprint.id}` lists its runs)"
    )


def resolve_figure(sprint: Sprint, ref: str) -> str:
    """The file name (relative to artifacts/) of a figure or artifact saved in the sprint."""
    folder = sprint.artifacts_dir.resolve()
    candidates = [ref] + [ref + suffix for suffix in FIGURE_SUFFIXES if not ref.lower().endswith(suffix)]
    for candidate in candidates:
        path = (folder / candidate).resolve()
        if folder in path.parents and path.is_file():
            return path.relative_to(folder).as_posix()
    raise NotFound(
        f"no figure {ref!r} in sprints/{sprint.name}/artifacts/ — save it first "
        '(`track.figure(fig, "name")`), then cite it by that name'
    )


# -- the way back ------------------------------------------------------------------------------------------


@dataclass
class Citation:
    """One place a pile item is cited: an entry of a sprint's journal, or the sprint's reading list."""

    sprint_id: str
    sprint_folder: str
    question: str
    entry: JournalEntry | None  # None: the item is on the sprint's reading list


def citations_of(workspace: Workspace, item_id: str) -> list[Citation]:
    """Every sprint whose reading list holds `item_id`, and every current entry citing it, sprint by sprint."""
    found = []
    for sprint in all_sprints(workspace):
        try:
            document = sprint.document()
        except Exception:  # a broken sprint.md is `sprint status`'s to report, not pile show's
            continue
        meta = document.meta
        if item_id in reading_list_ids(document.section("Reading list") or ""):
            found.append(Citation(meta.id, sprint.name, meta.question, None))
        found += [
            Citation(meta.id, sprint.name, meta.question, entry)
            for entry in sprint.journal()
            if entry.current and item_id in entry.cites
        ]
    return found


def reading_list_ids(section: str) -> list[str]:
    """The pile ids the Reading list section of sprint.md names (each written as `id`)."""
    return list(dict.fromkeys(_READING_ID.findall(section)))


def bibliography_ids(sprint: Sprint) -> list[str]:
    """The sprint's reading list, then every item its current entries cite (each once)."""
    listed = reading_list_ids(sprint.document().section("Reading list") or "")
    cited = [item for entry in sprint.journal() if entry.current for item in entry.cites]
    return list(dict.fromkeys(listed + cited))


def write_bibliography(sprint: Sprint, out: TextIO) -> int:
    """BibTeX of the sprint's bibliography into `out` (the pile's export); the number of entries written."""
    ids = bibliography_ids(sprint)
    if not ids:
        return 0
    workspace = sprint.workspace
    if not workspace.pile_path.exists():
        raise NotFound(f"no pile at {workspace.pile_path} — the bibliography is made from the pile's items")
    from .. import db
    from ..reading.export import export_bibtex

    conn = db.connect(workspace.pile_path)
    try:
        return export_bibtex(conn, out, ids=ids)
    finally:
        conn.close()


def default_bib_path(sprint: Sprint) -> Path:
    return sprint.folder / "references.bib"
