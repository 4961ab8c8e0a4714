"""The offline tour: the whole story of a sabbatical on small sample inputs, with no network.

`run_tour` creates (or reuses) a workspace and runs each stage in order. A stage takes the workspace
and returns one line saying what it did; stages are idempotent, so a second tour reuses what the first
made. Each capability adds its stage to `STAGES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

from .errors import SabbaticalError
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


Stage = Callable[[Workspace], str]
# In story order. A stage is a function, or "module:function" imported when the tour reaches it.
STAGES: list[tuple[str, Stage | str]] = [
    ("read", "sabbatical.reading.ingest:tour_stage"),
    ("summarise", "sabbatical.reading.summarise:tour_stage"),
    ("organise", "sabbatical.reading.topics:tour_stage"),
    ("sprint", "sabbatical.sprints.tour:tour_stage"),
    ("site", "sabbatical.site.tour:tour_stage"),
]


def run_tour(directory: Path, on_step: Callable[[TourStep], None] | None = None) -> TourReport:
    """Run every stage in `directory`; an existing workspace there is reused, anything else refused."""
    directory = Path(directory).expanduser().resolve()
    reused = (directory / CONFIG_NAME).is_file()
    if not reused and directory.exists() and any(directory.iterdir()):
        raise SabbaticalError(f"{directory} exists, is not empty and is not a workspace — "
                              "give the tour an empty or new folder")
    if reused:
        workspace = Workspace(directory, "the tour's folder")
        first = TourStep("workspace", f"reusing the workspace at {directory}")
    else:
        workspace, created = init_workspace(directory, title=TOUR_TITLE)
        first = TourStep("workspace", f"created {', '.join(created)} in {directory}")
    report = TourReport(workspace=workspace.root, reused=reused, steps=[first])
    _emit(on_step, first)
    for name, stage in STAGES:
        step = TourStep(name, _run_stage(stage, workspace))
        report.steps.append(step)
        _emit(on_step, step)
    report.open_next = [
        f"cd {workspace.root}",
        "sabbatical paths        # where everything lives",
        "sabbatical --help       # every command group",
    ]
    if (workspace.site_dir / "index.html").is_file():
        report.open_next.insert(1, f"open {workspace.site_dir / 'index.html'}   # the published site")
    return report


def _run_stage(stage: Stage | str, workspace: Workspace) -> str:
    if callable(stage):
        return stage(workspace)
    module_name, _, function = stage.partition(":")
    return getattr(import_module(module_name), function)(workspace)


def _emit(on_step: Callable[[TourStep], None] | None, step: TourStep) -> None:
    if on_step is not None:
        on_step(step)
