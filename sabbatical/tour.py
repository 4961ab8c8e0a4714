"""The offline tour: the whole story of a sabbatical on small sample inputs, with no network.

`run_tour` creates (or reuses) a workspace and runs each stage in order. A stage takes the workspace,
calls the library as a user's notebook would, and returns one line saying what it did; stages are
idempotent, so a second tour reuses what the first made. Every stage lives in this file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PartialFailure, SabbaticalError
from .workspace import CONFIG_NAME, Workspace, init_workspace

TOUR_TITLE = "A sabbatical on how models learn"


@dataclass
class TourStep:
    name: str
    detail: str


@dataclass
class TourReport:
    workspace: Path
    reused: bool
    steps: list[TourStep] = field(default_factory=list)
    open_next: list[str] = field(default_factory=list)


def run_tour(directory: Path, on_step: Callable[[TourStep], None] | None = None) -> TourReport:
    """Run every stage in `directory`; an existing workspace there is reused, anything else refused."""
    directory = Path(directory).expanduser().resolve()
    reused = (directory / CONFIG_NAME).is_file()
    if not reused and directory.exists() and any(directory.iterdir()):
        raise SabbaticalError(
            f"{directory} exists, is not empty and is not a workspace — give the tour an empty or new folder"
        )
    if reused:
        workspace = Workspace(directory, "the tour's folder")
        first = TourStep("workspace", f"reusing the workspace at {directory}")
    else:
        workspace, created = init_workspace(directory, title=TOUR_TITLE)
        first = TourStep("workspace", f"created {', '.join(created)} in {directory}")
    report = TourReport(workspace=workspace.root, reused=reused, steps=[first])
    _emit(on_step, first)
    for name, stage in STAGES:
        step = TourStep(name, stage(workspace))
        report.steps.append(step)
        _emit(on_step, step)
    report.open_next = [
        f"cd {workspace.root}",
        "sabbatical paths        # where everything lives",
        "sabbatical --help       # every command group",
    ]
    if workspace.site_index_path.is_file():
        report.open_next.insert(1, "sabbatical site serve   # the published site, on http://127.0.0.1:8000/")
    return report


def _emit(on_step: Callable[[TourStep], None] | None, step: TourStep) -> None:
    if on_step is not None:
        on_step(step)


# -- the stages, in story order -----------------------------------------------------------------------------
SAMPLES = ("papers.atom", "blog.rss", "notes.atom")  # bundled in sabbatical/samples: an arXiv answer, two feeds
SPRINT_SLUG = "learning-rates"
QUESTION = "Does a larger learning rate make a small model learn faster, or only less reliably?"
HYPOTHESIS = "Faster up to a point, then it diverges; the best rate sits just below that point."
EXPERIMENT = "02-experiment.ipynb"


def read_stage(workspace: Workspace) -> str:
    """The bundled samples into the workspace's pile (copied into reading/samples first, so they can be read again)."""
    import shutil

    from .reading.ingest import Ingester, read_feeds, read_files, sample_path
    from .reading.pile import Pile

    folder = workspace.samples_dir
    folder.mkdir(parents=True, exist_ok=True)
    for name in SAMPLES:
        target = folder / name
        if not target.exists() or target.read_bytes() != sample_path(name).read_bytes():
            shutil.copyfile(sample_path(name), target)
    with Pile.open(workspace) as pile:
        ingester = Ingester(pile, workspace.config.reading)
        read_files(ingester, [folder / SAMPLES[0]])
        read_feeds(ingester, [str(folder / name) for name in SAMPLES[1:]])
        counts = pile.counts_by_kind(include_stubs=False)
    report = ingester.report
    if report.failures:
        raise SabbaticalError("the tour's samples did not read: " + "; ".join(report.failures))
    again = " on a re-run" if report.new == 0 else ""
    return (
        f"read {counts.get('paper', 0)} papers and {counts.get('post', 0)} posts into the pile "
        f"({report.new} new{again})"
    )


def summarise_stage(workspace: Workspace) -> str:
    """Summarise and judge what is pending: offline, or through the endpoint when one is configured."""
    from . import db
    from .reading.offline import OFFLINE_MODEL
    from .reading.summarise import summarise_workspace

    report = summarise_workspace(workspace)  # the pending items
    if not report.selected:
        return "no items to summarise yet"
    conn = db.connect(workspace.pile_path)
    try:
        kinds = conn.execute(
            "SELECT contribution, COUNT(*) AS n FROM summaries WHERE status = 'ok' AND model = ? "
            "GROUP BY contribution ORDER BY n DESC",
            (report.model,),
        ).fetchall()
    finally:
        conn.close()
    how = (
        f"offline ({OFFLINE_MODEL})"
        if report.producer == "offline"
        else f"with {report.model} at the configured endpoint"
    )
    judged = ", ".join(f"{row['n']} {row['contribution'].replace('_', ' ')}" for row in kinds)
    verified = f"; {report.quotes_verified}/{report.quotes_total} quotes verified" if report.quotes_total else ""
    failed = f", {report.failed} failed (`sabbatical pile summarise --retry-failed`)" if report.failed else ""
    return f"summarised {report.done} items {how}, {report.cached} already done{failed}{verified}; judged: {judged}"


def organise_stage(workspace: Workspace) -> str:
    """Organise the pile into topics, run one search, and write the digest."""
    from . import db
    from .reading import digest, search, topics

    conn = db.connect(workspace.pile_path)
    try:
        report = topics.organise(conn, workspace.config)
        if report.mode == "empty":
            return "the pile is empty, nothing to organise"
        named = [t for t in topics.list_topics(conn) if t.id]
        query = (workspace.config.reading.interests or [t.keywords[0] for t in named if t.keywords] or ["learning"])[0]
        hits = search.search(conn, workspace.config, query, limit=1)
        found = f"search {query!r} → {hits[0].title!r} ({hits[0].why_text})" if hits else f"search {query!r} → nothing"
        path = workspace.digest_path
        digest.write_digest(
            digest.build_digest(conn, workspace.config, since="100y", sprints_dir=workspace.sprints_dir), path
        )
        placed, unsorted = conn.execute(
            "SELECT COUNT(topic_id), COUNT(*) - COUNT(topic_id) FROM item_topics"
        ).fetchone()
    finally:
        conn.close()
    names = "; ".join(t.name for t in named[:3])
    return f"{placed} items in {len(named)} topics ({names}), {unsorted} unsorted; {found}; digest written to {path}"


def sprint_stage(workspace: Workspace) -> str:
    """Start a sprint, run its experiment notebook headless, close it; a second tour reuses the sprint.

    The notebook records a failure (a rate that diverges) and a finding (the best rate) in the journal and on
    its MLflow runs; the stage closes the sprint with the answer those support, finishing it only if an
    earlier tour stopped half-way.
    """
    from .sprints.journal import count_kinds
    from .sprints.lifecycle import close_sprint
    from .sprints.model import all_sprints
    from .sprints.notebooks import execute_notebook
    from .sprints.scaffold import create_sprint

    existing = [sprint for sprint in all_sprints(workspace) if sprint.slug == SPRINT_SLUG]
    if existing and existing[0].meta.status == "closed":
        sprint = existing[0]
        return f"reusing sprint {sprint.id} in sprints/{sprint.name}/ (closed, answer: {sprint.meta.answer})"
    sprint = (
        existing[0] if existing else create_sprint(workspace, QUESTION, hypothesis=HYPOTHESIS, slug=SPRINT_SLUG).sprint
    )
    if not count_kinds(sprint.journal())["finding"]:
        execute_notebook(workspace, sprint.notebooks_dir / EXPERIMENT)
    close_sprint(sprint, "partly", _sprint_summary(sprint.journal()))
    counts = count_kinds(sprint.journal())
    return (
        f"sprint {sprint.id} in sprints/{sprint.name}/: ran notebooks/{EXPERIMENT} headless "
        f'(runs in the MLflow experiment "{sprint.meta.mlflow_experiment}"; journal: {counts["failure"]} failure, '
        f"{counts['finding']} finding), closed with answer partly"
    )


def _sprint_summary(journal: list) -> str:
    findings = [entry.text for entry in journal if entry.kind == "finding"]
    failures = [entry.text for entry in journal if entry.kind == "failure"]
    parts = ["Larger rates learn faster only up to a point."]
    if findings:
        parts.append(f"Found: {findings[-1]}.")
    if failures:
        parts.append(f"Failed: {failures[-1]}.")
    parts.append("Only one toy problem was tried, so the answer is partly.")
    return " ".join(parts)


def site_stage(workspace: Workspace) -> str:
    """Build the site from everything the earlier stages made, and say where it is."""
    from .site.build import build_site

    try:
        report = build_site(workspace)
    except PartialFailure as exc:
        return (
            f"built the site with {len(exc.failures)} problem(s) ({'; '.join(exc.failures)}); "
            "`sabbatical site serve` shows it"
        )
    size_mb = report.size_bytes / 1024 / 1024
    return (
        f"built {report.pages} pages for {report.sprints} sprint(s) into site/ ({size_mb:.1f} MB, "
        f"{report.seconds:.1f} s); `sabbatical site serve` shows it"
    )


STAGES: list[tuple[str, Callable[[Workspace], str]]] = [
    ("read", read_stage),
    ("summarise", summarise_stage),
    ("organise", organise_stage),
    ("sprint", sprint_stage),
    ("site", site_stage),
]
