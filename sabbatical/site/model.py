"""What the site shows, as plain data: the only shape the page writers know.

The adapters in `sources.py` fill these from the sprints, the journal, MLflow and the pile; the pages in
`pages.py` read nothing else. Everything here is already public: private sprints, entries and items are
left out by the adapters, never filtered later. Text fields hold raw text; escaping happens when a page is
written (`sanitise.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")


@dataclass
class SiteEntry:
    """One public journal entry: a failure, finding, feedback or note."""

    kind: str
    text: str
    time: str
    source: str = ""
    sprint_id: str = ""
    sprint_title: str = ""
    sprint_page: str = ""
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class MetricPoint:
    step: int
    value: float


@dataclass
class SiteRun:
    """One MLflow run of a sprint's experiment."""

    id: str
    name: str
    status: str
    start_ms: int | None
    end_ms: int | None
    params: dict[str, str] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    history: dict[str, list[MetricPoint]] = field(default_factory=dict)
    goals: dict[str, str] = field(default_factory=dict)  # metric → "min"/"max", where the researcher said it
    notebook: str = ""  # the notebook the run came from, when MLflow knows

    @property
    def seconds(self) -> float | None:
        if self.start_ms is None or self.end_ms is None:
            return None
        return (self.end_ms - self.start_ms) / 1000


@dataclass
class SiteArtifact:
    """A file from a sprint's artifacts folder, with the text that describes it."""

    source: Path
    name: str
    caption: str
    alt: str
    size: int

    @property
    def is_image(self) -> bool:
        return self.source.suffix.lower() in IMAGE_SUFFIXES


@dataclass
class SiteNotebook:
    source: Path
    name: str
    title: str


@dataclass
class SiteSprint:
    """One public sprint and everything its page shows."""

    id: str
    folder: str
    title: str
    question: str
    hypothesis: str
    start: date
    end: date
    status: str
    answer: str | None = None
    closed: date | None = None
    experiment_id: str | None = None
    sections: dict[str, str] = field(default_factory=dict)
    entries: list[SiteEntry] = field(default_factory=list)
    runs: list[SiteRun] = field(default_factory=list)
    superseded_runs: set[str] = field(default_factory=set)  # runs of a notebook's earlier executions: not shown
    artifacts: list[SiteArtifact] = field(default_factory=list)
    notebooks: list[SiteNotebook] = field(default_factory=list)

    @property
    def page(self) -> str:
        """The sprint page, relative to the docs folder."""
        return f"sprints/{self.folder}/index.md"

    def kind(self, kind: str) -> list[SiteEntry]:
        return [entry for entry in self.entries if entry.kind == kind]

    @property
    def last_day(self) -> date:
        """The sprint's real last day: the day it closed when that came before its planned end."""
        if self.status == "closed" and self.closed is not None and self.start <= self.closed < self.end:
            return self.closed
        return self.end


@dataclass
class ReadingItem:
    id: str
    title: str
    url: str | None
    kind: str
    published: str | None = None
    first_seen: str | None = None
    tldr: str | None = None
    contribution: str | None = None
    insight_score: float | None = None
    quotes_total: int = 0  # quotes the summary gave as evidence, and how many occur in the item's text
    quotes_verified: int = 0
    state: str = "inbox"  # the researcher's triage: inbox, kept or starred
    notes: list[str] = field(default_factory=list)  # the researcher's notes on it


@dataclass
class ReadingTopic:
    id: str
    name: str
    size: int
    items: list[ReadingItem] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    all_items: list[ReadingItem] = field(default_factory=list)  # every published item of the topic, best first


@dataclass
class SiteReading:
    """What of the pile the site publishes (`[site] reading`): topics with their top items, highlights."""

    topics: list[ReadingTopic] = field(default_factory=list)
    highlights: list[ReadingItem] = field(default_factory=list)
    item_count: int = 0
    states: tuple[str, ...] = ()  # the triage states published; empty when reading = "off"
    published: bool = True  # False when `[site] reading = "off"`: no reading pages at all
    digest_since: str = ""  # the digest's "new" items joined the pile on or after this day


@dataclass
class SiteData:
    """Everything one build publishes, plus the problems met while gathering it."""

    title: str
    author: str
    feedback_url: str
    site_url: str
    comments: bool = False  # giscus comments under every page
    sprints: list[SiteSprint] = field(default_factory=list)
    reading: SiteReading = field(default_factory=SiteReading)
    problems: list[str] = field(default_factory=list)

    def entries(self, kind: str) -> list[SiteEntry]:
        return [entry for sprint in self.sprints for entry in sprint.kind(kind)]
