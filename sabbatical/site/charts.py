"""Static charts for the site, drawn with matplotlib's Agg backend into PNG bytes.

Two kinds: a metric over steps for every run of a sprint (one line per run, FAILED runs dashed), and the
sprint timeline on the home page (one bar per sprint on its dates, coloured by its answer). Each chart
comes with a sentence of alt text saying what it shows. Charts are static images, so the site needs no
JavaScript to show them and any engine can publish them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .cache import BuildCache, key_of
from .model import SiteRun, SiteSprint

MAX_METRICS_CHARTED = 6
_ANSWER_COLOURS = {"yes": "#2e7d32", "partly": "#f9a825", "no": "#c62828", None: "#5c6bc0"}


@dataclass
class Chart:
    name: str
    png: bytes
    alt: str


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plain(label: str) -> str:
    """A run or metric name as chart text: `$` would start mathtext (`$\\foo$` fails the drawing), so it is
    escaped and the name is drawn as written."""
    return str(label).replace("$", r"\$")


def _to_png(figure) -> bytes:
    buffer = io.BytesIO()
    # Fixed metadata keeps the bytes stable, so an unchanged chart is an unchanged file.
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def metric_names(runs: list[SiteRun]) -> list[str]:
    """Metrics with a history worth drawing (two or more points in some run), in first-seen order."""
    names: list[str] = []
    for run in runs:
        for name, points in run.history.items():
            if len(points) >= 2 and name not in names:
                names.append(name)
    return names[:MAX_METRICS_CHARTED]


def cached(cache: BuildCache, parts: Any, draw: Callable[[], Chart]) -> Chart:
    """The chart for `parts` from the cache, else drawn (and kept); a hit never imports matplotlib."""
    key = key_of("chart", parts)
    hit = cache.load("charts", key)
    if hit is not None:
        folder, meta = hit
        return Chart(name=meta["name"], png=(folder / "chart.png").read_bytes(), alt=meta["alt"])
    chart = draw()
    cache.store("charts", key, {"name": chart.name, "alt": chart.alt}, {"chart.png": chart.png})
    return chart


def run_groups(runs: list[SiteRun]) -> dict[str, list[SiteRun]]:
    """The runs by the notebook they came from (runs of no known notebook together), in first-seen order."""
    groups: dict[str, list[SiteRun]] = {}
    for run in runs:
        groups.setdefault(run.notebook or "", []).append(run)
    return groups


def metric_chart_cached(cache: BuildCache, metric: str, runs: list[SiteRun], group: str = "") -> Chart:
    parts = [
        metric,
        group,
        [(run.name, run.status, [(p.step, p.value) for p in run.history.get(metric, [])]) for run in runs],
    ]
    return cached(cache, parts, lambda: metric_chart(metric, runs, group))


def timeline_chart_cached(cache: BuildCache, sprints: list[SiteSprint]) -> Chart:
    # Today's date is part of the key: the chart marks today.
    parts = [date.today(), [(s.id, s.start, s.end, s.last_day, s.answer, s.status) for s in sprints]]
    return cached(cache, ["timeline", parts], lambda: timeline_chart(sprints))


def metric_chart(metric: str, runs: list[SiteRun], group: str = "") -> Chart:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 3.4))
    try:
        drawn = []
        for run in runs:
            points = sorted(run.history.get(metric, []), key=lambda point: point.step)
            if not points:
                continue
            style = "--" if run.status == "FAILED" else "-"
            label = f"{run.name} ({run.status.lower()})" if run.status != "FINISHED" else run.name
            axes.plot([p.step for p in points], [p.value for p in points], style, label=plain(label[:40]))
            drawn.append(run.name)
        title = f"{metric} · {group}" if group else metric
        axes.set(xlabel="step", ylabel=plain(metric), title=plain(title[:80]))
        if _spans_orders_of_magnitude(runs, metric):
            axes.set_yscale("log")  # a diverging run would otherwise flatten every other line
        axes.grid(alpha=0.3)
        if drawn:
            axes.legend(fontsize="small")
        png = _to_png(figure)
    finally:
        plt.close(figure)
    alt = f"Line chart of {metric} over steps for {len(drawn)} run{'s' if len(drawn) != 1 else ''}"
    alt += (f" of {group}" if group else "") + f": {', '.join(drawn)}"
    return Chart(name=_file_name(f"{group.rsplit('.', 1)[0]}-{metric}" if group else metric), png=png, alt=alt)


def _spans_orders_of_magnitude(runs: list[SiteRun], metric: str) -> bool:
    values = [p.value for run in runs for p in run.history.get(metric, []) if p.value == p.value]
    positive = [value for value in values if value > 0]
    return bool(values) and len(positive) == len(values) and max(positive) / min(positive) > 1000


def timeline_chart(sprints: list[SiteSprint]) -> Chart:
    """The sprints on a calendar: one bar per sprint, coloured by its answer (blue while open)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 0.6 + 0.45 * max(len(sprints), 1)))
    try:
        import matplotlib.dates as mdates

        today = date.today()
        for row, sprint in enumerate(reversed(sprints)):
            start = mdates.date2num(sprint.start)
            width = mdates.date2num(sprint.last_day + timedelta(days=1)) - start
            colour = _ANSWER_COLOURS.get(sprint.answer, "#5c6bc0")
            if sprint.status == "closed":
                axes.barh(row, width, left=start, color=colour, height=0.6)
                continue
            # An open sprint: its whole plan faint, the days gone so far solid.
            axes.barh(row, width, left=start, color=colour, alpha=0.25, height=0.6)
            done = min(max((today - sprint.start).days + 1, 0), (sprint.end - sprint.start).days + 1)
            if done:
                axes.barh(row, done, left=start, color=colour, height=0.6)
        axes.set_yticks(range(len(sprints)), [f"Sprint {s.id}" for s in reversed(sprints)])
        axes.xaxis_date()
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %Y"))
        axes.axvline(mdates.date2num(date.today()), color="#888888", linewidth=1, linestyle=":")
        axes.grid(axis="x", alpha=0.3)
        figure.autofmt_xdate()
        png = _to_png(figure)
    finally:
        plt.close(figure)
    parts = [f"Sprint {s.id} from {s.start} to {s.last_day}, {s.answer or s.status}" for s in sprints]
    return Chart(name="timeline.png", png=png, alt="Timeline of the sprints: " + "; ".join(parts))


def _file_name(metric: str) -> str:
    safe = "".join(char if char.isalnum() or char in "-_" else "-" for char in metric).strip("-") or "metric"
    return f"{safe[:60]}.png"
