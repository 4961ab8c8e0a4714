"""The site's pages as Markdown text: home, one per sprint, failures, findings, reading, the digest.

Page writers read only `SiteData` (model.py) and return Markdown; they never touch the disk. Every piece of
text that did not come from us passes through `sanitise`: titles, questions, journal entries and pile
items as text-as-data; sprint sections and the digest as cleaned HTML. Links between pages are relative
Markdown links to `.md` files, so the engine resolves them for any URL style; pages whose raw HTML points
at files (galleries, notebooks) are each an `index.md` in their own folder, so those paths work too.
"""

from __future__ import annotations

import posixpath
import re
from datetime import date, datetime
from urllib.parse import quote

from . import active, sanitise
from . import math as latex
from .model import ReadingItem, SiteArtifact, SiteData, SiteEntry, SiteReading, SiteRun, SiteSprint

esc = sanitise.text
prose = latex.text  # text-as-data whose LaTeX spans are drawn as MathML (abstracts, tldrs, journal entries)
FAILURES_PAGE = "failures.md"
FINDINGS_PAGE = "findings.md"
READING_PAGE = "reading/index.md"
DIGEST_PAGE = "reading/digest.md"
TIMELINE_IMAGE = "assets/timeline.png"
_VERDICTS = {"yes": "Yes", "no": "No", "partly": "Partly"}
# The Retro section of an open sprint holds only the scaffold's instructions; it is not published.
_OPEN_RETRO_PREFIX = "Not closed yet"


def rel(from_page: str, target: str) -> str:
    """The relative path from one docs file to another (both relative to the docs folder)."""
    return posixpath.relpath(target, posixpath.dirname(from_page) or ".")


def md_link(label: str, from_page: str, target: str) -> str:
    """A Markdown link to another page of the site; the label is text-as-data."""
    return f"[{esc(label)}]({quote(rel(from_page, target))})"


def sprint_label(sprint: SiteSprint) -> str:
    return f"Sprint {sprint.id} · {sprint.title}"


def verdict(sprint: SiteSprint, today: date | None = None) -> str:
    """The answer of a closed sprint, or where an open one stands."""
    if sprint.status == "closed":
        return _VERDICTS.get(sprint.answer or "", sprint.answer or "closed without an answer")
    today = today or date.today()
    if today < sprint.start:
        return "not started"
    if today > sprint.end:
        return f"open, {(today - sprint.end).days} days past its end"
    return f"open, day {(today - sprint.start).days + 1} of {(sprint.end - sprint.start).days + 1}"


def dates(sprint: SiteSprint) -> str:
    """Its dates as lived: a sprint closed early ends on the day it closed (the plan is said beside it)."""
    last = sprint.last_day
    days = (last - sprint.start).days + 1
    text = f"{sprint.start:%d %b %Y} → {last:%d %b %Y} ({counted(days, 'day')})"
    if last != sprint.end:
        text += f", closed early (planned {(sprint.end - sprint.start).days + 1})"
    return text


def when(timestamp: str) -> str:
    """'2025-03-05T10:00:00Z' → '2025-03-05 10:00 UTC' (unparseable stamps are shown as given)."""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    return f"{moment:%Y-%m-%d %H:%M}" + (" UTC" if moment.utcoffset() is not None else "")


_PLACEHOLDER = re.compile(r"\{(title|url)\}")
# Characters a URL template may hold as they are: its structure (scheme, query, fragment) and escapes.
_TEMPLATE_SAFE = ":/?#[]@!$&'()*+,;=%~"


def feedback_link(template: str, title: str, url: str) -> str | None:
    """The "Give feedback" URL from `[site] feedback_url`: {title} and {url} filled in, all of it URL-encoded.

    The template's own words are encoded too ("Feedback on {title}" keeps its spaces, as `%20`), while
    its structure (`?`, `&`, `=`, `#`) and any `%xx` it already holds are left as written.
    """
    if not template.strip():
        return None
    values = {"title": title, "url": url}
    pieces = _PLACEHOLDER.split(template.strip())
    filled = "".join(
        quote(values[piece], safe="") if index % 2 else quote(piece, safe=_TEMPLATE_SAFE)
        for index, piece in enumerate(pieces)
    )
    return sanitise.safe_url(filled)


def feedback_button(data: SiteData, title: str, page: str) -> str:
    target = feedback_link(data.feedback_url, title, page_url(data.site_url, page))
    if target is None:
        return ""
    return f'<a class="md-button sabbatical-feedback" href="{sanitise.attribute(target)}">Give feedback</a>'


def feedback_lines(data: SiteData, title: str, page: str) -> list[str]:
    """The page's feedback action (a button, then a blank line), or nothing when no feedback_url is set."""
    button = feedback_button(data, title, page)
    return [button, ""] if button else []


def page_url(site_url: str, page: str) -> str:
    """Where a page will be published: absolute when the site has a site_url, else its path."""
    path = page[: -len("index.md")] if page.endswith("index.md") else page[:-3] + "/"
    return site_url.rstrip("/") + "/" + path if site_url else path


# -- entries ------------------------------------------------------------------------------------------
def entry_line(entry: SiteEntry, sprint: SiteSprint | None = None, page: str = "", anchor: str = "") -> str:
    """One journal entry as a list item: its text, its why/evidence, what it cites, when and from where.

    `page` is the page the line is written on, so the runs and figures it cites link to the sprint page's
    runs table and published artifacts from there; `anchor` gives the item an id other pages link to.
    """
    parts = [prose(entry.text)]
    for key, label in (("why", "why"), ("evidence", "evidence")):
        if entry.details.get(key):
            parts.append(f"*{label}:* {prose(entry.details[key])}")
    parts += _provenance(entry.details, sprint, page or entry.sprint_page)
    meta = [when(entry.time)]
    if entry.kind == "feedback" and entry.source and entry.source not in ("cli", "python"):
        meta.insert(0, f"from {entry.source}")
    elif entry.details.get("run_name"):
        meta.append(f"run {entry.details['run_name']}")
    line = " — ".join(parts) + f" <small>({esc(' · '.join(meta))})</small>"
    if anchor:
        line = f'<span id="{sanitise.attribute(anchor)}"></span>' + line
    return f"- {line}"


def failure_anchor(number: int) -> str:
    """The id of a sprint's `number`-th failure (from 1) on its sprint page, where it is shown in full."""
    return f"sabbatical-failure-{number}"


def run_anchor(run_id: str) -> str:
    """The id of a run's row in its sprint page's runs table."""
    return "run-" + "".join(char for char in run_id if char.isalnum() or char in "-_")


def _provenance(details: dict[str, str], sprint: SiteSprint | None, page: str) -> list[str]:
    """What an entry cites (links to each item's page), the runs and figures it names (links to their row and
    file on the sprint page), and whether it repeats earlier executions or came after the sprint closed."""
    parts = []
    if details.get("cites"):
        parts.append("*cites:* " + ", ".join(cited_link(cited) for cited in details["cites"].split(", ")))
    if details.get("evidence_runs"):
        runs = [run_link(run_id, sprint, page) for run_id in details["evidence_runs"].split(", ")]
        parts.append("*runs:* " + ", ".join(runs))
    if details.get("evidence_figures"):
        figures = [figure_link(name, sprint, page) for name in details["evidence_figures"].split(", ")]
        parts.append("*figures:* " + ", ".join(figures))
    if details.get("seen_before", "").isdigit():
        parts.append(esc(f"(also seen in {counted(int(details['seen_before']), 'earlier run')})"))
    if details.get("after_close") == "stale":
        parts.append("*logged after the sprint closed*")
    return parts


def run_link(run_id: str, sprint: SiteSprint | None, page: str) -> str:
    """A cited run as a link to its row in the runs table (by its name); its id as text when it is not shown."""
    run = next((run for run in sprint.runs if run.id == run_id), None) if sprint else None
    if run is None or sprint is None:
        return esc(run_id)
    target = quote(rel(page, sprint.page)) if page != sprint.page else ""
    return f"[{esc(run.name or run.id)}]({target}#{run_anchor(run.id)})"


def figure_link(name: str, sprint: SiteSprint | None, page: str) -> str:
    """A cited figure as a link to its published file; its name as text when it is not published."""
    artifact = next((a for a in sprint.artifacts if a.name == name), None) if sprint else None
    if artifact is None or sprint is None:
        return esc(name)
    folder = posixpath.dirname(sprint.page)
    return f"[{esc(name)}]({quote(rel(page, posixpath.join(folder, artifact_file(artifact))))})"


def cited_link(item_id: str) -> str:
    """A cited pile item as a link to where it lives: arXiv's abstract page, the DOI resolver, or its URL."""
    for prefix, base in (("arxiv:", "https://arxiv.org/abs/"), ("doi:", "https://doi.org/")):
        if item_id.startswith(prefix):
            return sanitise.link(item_id, base + quote(item_id[len(prefix) :], safe="/.:-_"))
    return sanitise.link(item_id, item_id) if item_id.startswith(("https://", "http://")) else esc(item_id)


# -- home -----------------------------------------------------------------------------------------------
def home_page(data: SiteData, timeline_alt: str, today: date | None = None) -> str:
    sprints = data.sprints
    runs = sum(len(s.runs) for s in sprints)
    artifacts = sum(len(s.artifacts) for s in sprints)
    failures, findings = data.entries("failure"), data.entries("finding")
    feedback = data.entries("feedback")
    lines = [f"# {esc(data.title)}", ""]
    if data.author:
        lines += [f"By {esc(data.author)}.", ""]
    lines += feedback_lines(data, data.title, "index.md")
    lines += [
        "A research sabbatical done in public: each two-week sprint asks one question, tries things, and "
        "writes down what failed and what was found. Your feedback goes back into the sprint's journal.",
        "",
        "| Sprints | Runs | Artifacts | Failures | Findings | Feedback |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {len(sprints)} | {runs} | {artifacts} | [{len(failures)}]({FAILURES_PAGE}) | "
        f"[{len(findings)}]({FINDINGS_PAGE}) | {len(feedback)} |",
        "",
        "## Sprint timeline",
        "",
    ]
    if not sprints:
        lines += ["No sprints are published yet.", ""]
    else:
        chart = f'<img src="{TIMELINE_IMAGE}" alt="{sanitise.attribute(timeline_alt)}">'
        lines += [
            sanitise.html_block(chart, "sabbatical-timeline-chart"),
            timeline_html(sprints, today),
            "",
            "| Sprint | Dates | Question | Status | Verdict |",
            "| --- | --- | --- | --- | --- |",
        ]
        for sprint in sprints:
            lines.append(
                f"| {sprint.id} | {esc(dates(sprint))} | {md_link(sprint.question, 'index.md', sprint.page)}"
                f" | {esc(sprint.status)} | {esc(verdict(sprint, today))} |"
            )
        lines.append("")
    lines += _highlights(data)
    return "\n".join(lines)


_TIMELINE_CLASSES = {"yes": "yes", "no": "no", "partly": "partly"}


def timeline_html(sprints: list[SiteSprint], today: date | None = None) -> str:
    """The timeline as text and bars, for narrow screens where the chart's labels would be too small to read.

    One row per sprint: its label (id, dates as lived, verdict) on a line of its own, so labels never
    overlap, and under it a bar placed on the common calendar by classes (`sabbatical-at-N`, `-span-N`,
    `-done-N`: percentages; pages carry no style attributes). An open sprint's plan is faint, its days so
    far solid. The stylesheet shows this on narrow screens and the chart image on wide ones.
    """
    first = min(sprint.start for sprint in sprints)
    last = max(sprint.last_day for sprint in sprints)
    total = max((last - first).days + 1, 1)
    rows = []
    for sprint in sorted(sprints, key=lambda s: s.start):
        days = (sprint.last_day - sprint.start).days + 1
        at = min(99, round(100 * (sprint.start - first).days / total))
        span = max(1, min(100 - at, round(100 * days / total)))
        answer = _TIMELINE_CLASSES.get(sprint.answer or "", "open") if sprint.status == "closed" else "open"
        done = ""
        if sprint.status != "closed":
            gone = min(max(((today or date.today()) - sprint.start).days + 1, 0), days)
            done = f'<span class="sabbatical-timeline-done sabbatical-done-{round(100 * gone / days)}"></span>'
        label = f"Sprint {sprint.id} · {dates(sprint)} · {verdict(sprint, today)}"
        rows.append(
            f'<li><span class="sabbatical-timeline-label">{sanitise.html_text(label)}</span>'
            f'<span class="sabbatical-timeline-track"><span class="sabbatical-timeline-bar sabbatical-answer-{answer} '
            f'sabbatical-at-{at} sabbatical-span-{span}">{done}</span></span></li>'
        )
    return sanitise.html_block('<ol class="sabbatical-timeline-rows">' + "".join(rows) + "</ol>", "sabbatical-timeline")


def _highlights(data: SiteData) -> list[str]:
    if not data.reading.published:
        return []
    lines = ["## Recent reading highlights", ""]
    if not data.reading.highlights:
        return lines + ["Nothing from the reading pile is published yet.", ""]
    for item in data.reading.highlights:
        lines.append("- " + reading_item_text(item))
    return lines + ["", md_link("All reading topics", "index.md", READING_PAGE), ""]


def reading_item_text(item: ReadingItem) -> str:
    title = sanitise.link(item.title or item.id, item.url)
    facts = [item.kind]
    if item.contribution:
        facts.append(item.contribution.replace("_", " "))
    if item.insight_score is not None:
        facts.append(f"insight {item.insight_score:.2f}")
    text = f"**{title}** <small>({esc(', '.join(facts))})</small>"
    if item.tldr:
        text += f": {prose(item.tldr)}"
    unverified = item.quotes_total - item.quotes_verified
    if unverified > 0:
        text += (
            f' <small class="sabbatical-unverified">⚠ {unverified} of {item.quotes_total} quoted claims were '
            "not found in the item's text: read the source before relying on this summary</small>"
        )
    for note in item.notes:
        text += f"<br>*My note:* {prose(note)}"
    return text


# -- a sprint -------------------------------------------------------------------------------------------
def sprint_page(
    data: SiteData,
    sprint: SiteSprint,
    charts: list[tuple[str, str]],
    notebook_pages: list[tuple[str, str]],
    today: date | None = None,
) -> str:
    """The sprint's page. `charts` are (file relative to the page, alt); `notebook_pages` (title, docs path)."""
    label = f"Sprint {sprint.id} · {sprint.question or sprint.title}"  # the whole question, never cut
    lines = [f"# {esc(label)}", ""]
    button = feedback_button(data, label, sprint.page)
    if button:
        lines += [button, ""]
    lines += _failures_admonition(sprint)
    lines += _facts(sprint, today)
    lines += _answer(sprint, today)
    lines += _entries_section("Findings", sprint, "finding", "No findings recorded yet.")
    lines += _gallery(sprint.artifacts)
    lines += _runs(sprint, charts)
    lines += _notebooks(sprint, notebook_pages)
    for heading in ("Plan", "Notes", "Reading list"):
        body = sprint.sections.get(heading, "").strip()
        if body:
            lines += [f"## {heading}", "", sanitise.html_block(latex.markdown_html(body), "sabbatical-section")]
    lines += _entries_section("Feedback received", sprint, "feedback", "No feedback yet: be the first.")
    if button:
        lines += [button, ""]
    if sprint.kind("note"):
        lines += _entries_section("Journal notes", sprint, "note", "")
    return "\n".join(lines)


def _failures_admonition(sprint: SiteSprint) -> list[str]:
    failures = sprint.kind("failure")
    if not failures:
        return []
    title = f"What failed ({len(failures)})"
    lines = [f'!!! failure "{title}"', ""]
    lines += [
        "    " + entry_line(entry, sprint, sprint.page, failure_anchor(number))
        for number, entry in enumerate(failures, 1)
    ]
    return lines + [""]


def _facts(sprint: SiteSprint, today: date | None) -> list[str]:
    counts = ", ".join(
        counted(n, word)
        for n, word in (
            (len(sprint.kind("failure")), "failure"),
            (len(sprint.kind("finding")), "finding"),
            (len(sprint.runs), "run"),
            (len(sprint.artifacts), "artifact"),
        )
    )
    rows = [
        ("Question", esc(sprint.question)),
        ("Hypothesis", esc(sprint.hypothesis or "none written down")),
        ("Dates", esc(dates(sprint))),
        ("Status", esc(sprint.status)),
        ("Verdict", f"**{esc(verdict(sprint, today))}**"),
        ("Recorded", esc(counts)),
    ]
    return [f"- **{name}:** {value}" for name, value in rows] + [""]


def counted(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


def _answer(sprint: SiteSprint, today: date | None) -> list[str]:
    lines = ["## The answer and retro", ""]
    retro = sprint.sections.get("Retro", "").strip()
    if sprint.status != "closed" or not retro or retro.startswith(_OPEN_RETRO_PREFIX):
        return lines + [
            f"Still open ({esc(verdict(sprint, today))}): the answer and the retro come when the sprint closes.",
            "",
        ]
    return lines + [sanitise.html_block(latex.markdown_html(retro), "sabbatical-section")]


def _entries_section(heading: str, sprint: SiteSprint, kind: str, empty: str) -> list[str]:
    lines = [f"## {heading}", ""]
    entries = sprint.kind(kind)
    if not entries:
        return lines + [empty, ""] if empty else []
    return lines + [entry_line(entry, sprint, sprint.page) for entry in entries] + [""]


def artifact_file(artifact: SiteArtifact) -> str:
    """Where an artifact is published, relative to its sprint page: a URL-safe copy of its path.

    An active file (HTML, script, XML: `active.ACTIVE_SUFFIXES`) is published as a `.txt` copy, so the site
    never serves it as a page that could run.
    """
    safe = "/".join(safe_part(part) for part in artifact.name.split("/"))
    return f"artifacts/{active.published_name(safe)}"


def safe_part(part: str) -> str:
    """A file or folder name that needs no URL quoting."""
    cleaned = "".join(char if char.isalnum() or char in "-_." else "-" for char in part).strip(".-")
    return cleaned or "file"


def _gallery(artifacts: list[SiteArtifact]) -> list[str]:
    lines = ["## Artifacts", ""]
    if not artifacts:
        return lines + ["No artifacts yet.", ""]
    images = [a for a in artifacts if a.is_image]
    files = [a for a in artifacts if not a.is_image]
    if images:
        figures = [_figure(artifact) for artifact in images]
        lines += ['<div class="sabbatical-gallery" markdown="0">', *figures, "</div>", ""]
    if files:
        lines += ["| File | Size | About |", "| --- | --- | --- |"]
        for artifact in files:
            link = _file_link(artifact)
            lines.append(f"| {link} | {esc(human_size(artifact.size))} | {esc(artifact.caption)} |")
        lines.append("")
    return lines


def _file_link(artifact: SiteArtifact) -> str:
    """A table link to an artifact; an active one downloads under its own name and says it is shown as text."""
    if not active.is_active(artifact.name):
        return f"[{esc(artifact.name)}]({quote(artifact_file(artifact))})"
    href = sanitise.attribute(quote(artifact_file(artifact)))
    download = sanitise.attribute(artifact.name.rsplit("/", 1)[-1])
    return f'<a href="{href}" download="{download}">{esc(artifact.name)}</a> <small>(download; shown as text)</small>'


def _figure(artifact: SiteArtifact) -> str:
    href = sanitise.attribute(quote(artifact_file(artifact)))
    caption = sanitise.html_text(artifact.caption or artifact.name)  # raw HTML: no Markdown escapes here
    return (
        f'<figure><a href="{href}"><img src="{href}" alt="{sanitise.attribute(artifact.alt)}" loading="lazy"></a>'
        f'<figcaption>{caption} · <a href="{href}" download>download</a> '
        f"({sanitise.html_text(human_size(artifact.size))})</figcaption></figure>"
    )


def human_size(size: float) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} MB"


MAX_PARAM_COLUMNS = 8
MAX_METRIC_COLUMNS = 12


def _runs(sprint: SiteSprint, charts: list[tuple[str, str]]) -> list[str]:
    """The runs table (one column per param and per metric, the best value of each metric marked) and charts."""
    lines = ["## Runs", ""]
    if not sprint.runs:
        tracked = (
            "No runs are tracked for this sprint yet."
            if sprint.experiment_id
            else "This sprint has no MLflow experiment."
        )
        return lines + [tracked, ""]
    runs = sprint.runs
    params = sorted({key for run in runs for key in run.params})
    metrics = list(dict.fromkeys(key for run in runs for key in run.best))[:MAX_METRIC_COLUMNS]
    goals = {metric: next((run.goals[metric] for run in runs if metric in run.goals), "") for metric in metrics}
    shown, rest = params[:MAX_PARAM_COLUMNS], params[MAX_PARAM_COLUMNS:]
    headers = ["Run", "Notebook", "Status", "Started", "Duration", *(esc(key) for key in shown)]
    headers += ["Other params"] if rest else []
    headers += [esc(metric) + {"min": " ↓", "max": " ↑"}.get(goals[metric], " (last)") for metric in metrics]
    lines += ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    best = {metric: _best_value(runs, metric, goals[metric]) for metric in metrics}
    lines += [_run_row(run, shown, rest, metrics, best) for run in runs]
    lines.append("")
    if any(goals.values()):
        lines += [
            "<small>★ the best run of a metric (↓ lower is better, ↑ higher is better); a metric without a "
            "goal shows each run's last value.</small>",
            "",
        ]
    for path, alt in charts:
        lines += [f"![{esc(alt)}]({quote(path)})", ""]
    return lines


def _best_value(runs: list[SiteRun], metric: str, goal: str) -> float | None:
    values = [run.best[metric] for run in runs if metric in run.best and run.best[metric] == run.best[metric]]
    if not goal or not values:
        return None
    return min(values) if goal == "min" else max(values)


def _run_row(
    run: SiteRun, params: list[str], rest: list[str], metrics: list[str], best: dict[str, float | None]
) -> str:
    status = f"**{run.status}**" if run.status != "FINISHED" else run.status
    started = datetime.fromtimestamp(run.start_ms / 1000).strftime("%Y-%m-%d %H:%M") if run.start_ms else ""
    duration = f"{run.seconds:.1f} s" if run.seconds is not None else ""
    name = f'<span id="{run_anchor(run.id)}"></span>{esc(run.name)}'  # findings link here
    cells = [name, esc(run.notebook), status, esc(started), esc(duration)]
    cells += [esc(run.params.get(key, "")) for key in params]
    if rest:
        cells.append(esc(", ".join(f"{key}={run.params[key]}" for key in rest if key in run.params)))
    for metric in metrics:
        if metric not in run.best:
            cells.append("")
            continue
        value = run.best[metric] if run.goals.get(metric) else run.last[metric]
        cells.append(
            f"**★ {_number(value)}**" if best[metric] is not None and value == best[metric] else _number(value)
        )
    return "| " + " | ".join(cells) + " |"


def _number(value: float) -> str:
    return f"{value:.4g}"


def _notebooks(sprint: SiteSprint, notebook_pages: list[tuple[str, str]]) -> list[str]:
    lines = ["## Notebooks", ""]
    if not notebook_pages:
        return lines + ["No notebooks are published for this sprint.", ""]
    return lines + [f"- {md_link(title, sprint.page, page)}" for title, page in notebook_pages] + [""]


def notebook_page(
    sprint: SiteSprint, page: str, title: str, html: str, download: str | None, data: SiteData | None = None
) -> str:
    """A rendered notebook; `page` is its own docs path, `download` the notebook file beside it."""
    lines = [f"# {esc(title)}", "", f"From {md_link(sprint_label(sprint), page, sprint.page)}."]
    if download:
        lines[-1] += f" [Download the notebook]({quote(download)})."
    lines.append("")
    if data is not None:
        lines += feedback_lines(data, f"{title} (sprint {sprint.id} · {sprint.question or sprint.title})", page)
    return "\n".join(lines + [sanitise.html_block(latex.html_with_math(html), "sabbatical-notebook")])


# -- indexes --------------------------------------------------------------------------------------------
def entries_index(data: SiteData, kind: str, page: str) -> str:
    heading = {"failure": "Failures", "finding": "Findings"}[kind]
    intro = {
        "failure": "Everything that did not work, sprint by sprint. Failures are results too: each links to its "
        "sprint's page, where it is told in full.",
        "finding": "What each sprint found, sprint by sprint.",
    }[kind]
    lines = [f"# {heading}", "", intro, ""]
    lines += feedback_lines(data, f"{heading} · {data.title}", page)
    any_entries = False
    for sprint in data.sprints:
        entries = sprint.kind(kind)
        if not entries:
            continue
        any_entries = True
        lines += [f"## {esc(sprint_label(sprint))}", "", md_link("The sprint's page", page, sprint.page), ""]
        if kind == "failure":  # shown in full on the sprint page; here, one line linking there
            lines += [_failure_link(entry, number, sprint, page) for number, entry in enumerate(entries, 1)] + [""]
        else:
            lines += [entry_line(entry, sprint, page) for entry in entries] + [""]
    if not any_entries:
        lines += [f"No {heading.lower()} recorded yet.", ""]
    return "\n".join(lines)


FAILURE_LINK_CHARACTERS = 140


def _failure_link(entry: SiteEntry, number: int, sprint: SiteSprint, page: str) -> str:
    """A failure as one line: its text (shortened at a word) linking to where its sprint page shows it in full."""
    label = sanitise.one_line(entry.text)
    if len(label) > FAILURE_LINK_CHARACTERS:
        label = label[:FAILURE_LINK_CHARACTERS].rsplit(" ", 1)[0].rstrip(",;:.") + " …"
    target = f"{quote(rel(page, sprint.page))}#{failure_anchor(number)}"
    return f"- [{esc(label)}]({target}) <small>({esc(when(entry.time))})</small>"


_PUBLISHED_WORDS = {("starred",): "starred", ("kept", "starred"): "kept", ("inbox", "kept", "starred"): "collected"}


def published_word(reading: SiteReading) -> str:
    """What the published items are to the researcher: starred, kept or (all of them) collected — never "read"."""
    return _PUBLISHED_WORDS.get(reading.states, "collected")


def _reading_page_start(data: SiteData, heading: str, page: str) -> list[str]:
    """A reading page's heading and feedback action; when nothing is published, also the line that says so."""
    lines = [f"# {heading}", "", *feedback_lines(data, f"{heading} · {data.title}", page)]
    return lines if data.reading.topics else [*lines, "Nothing from the reading pile is published yet.", ""]


def reading_page(data: SiteData) -> str:
    reading = data.reading
    lines = _reading_page_start(data, "Reading", READING_PAGE)
    if not reading.topics:
        return "\n".join(lines)
    word = published_word(reading)
    lines += [
        f"{counted(reading.item_count, 'item')} {word}, in {counted(len(reading.topics), 'topic')}; the "
        f"best-ranked items of each topic are shown. {md_link('The latest digest', READING_PAGE, DIGEST_PAGE)}.",
        "",
    ]
    for topic in reading.topics:
        lines += [
            f"## {esc(topic.name)}",
            "",
            f"<small>{counted(topic.size, 'item')} {word}"
            + (f" · {esc(', '.join(topic.keywords[:6]))}" if topic.keywords else "")
            + "</small>",
            "",
        ]
        lines += [f"1. {reading_item_text(item)}" for item in topic.items] + [""]
    return "\n".join(lines)


def digest_page(data: SiteData) -> str:
    """The digest of what is published: items that joined the pile lately, then the best of each topic."""
    reading = data.reading
    lines = _reading_page_start(data, "Latest digest", DIGEST_PAGE)
    if not reading.topics:
        return "\n".join(lines)
    since = reading.digest_since
    new = [(topic, [i for i in topic.all_items if (i.first_seen or "") >= since]) for topic in reading.topics]
    count = sum(len(items) for _, items in new)
    lines += [
        f"{counted(count, 'item')} {published_word(reading)} since {esc(since)}, by topic, then the "
        f"best-ranked of each topic. {md_link('All reading topics', DIGEST_PAGE, READING_PAGE)}.",
        "",
    ]
    for topic, recent in new:
        top = [item for item in topic.all_items if item not in recent][:3]
        lines += [f"## {esc(topic.name)}", ""]
        if recent:
            lines += ["**New**", ""] + [f"- {reading_item_text(item)}" for item in recent[:5]] + [""]
        if top:
            lines += ["**Best-ranked**", ""] + [f"- {reading_item_text(item)}" for item in top] + [""]
    return "\n".join(lines)


def nav_title(text: str, limit: int = 70) -> str:
    """A navigation label: one line, no markup characters, not too long."""
    flat = " ".join(str(text).split())
    for bad, good in (("&", "and"), ("<", "‹"), (">", "›"), ('"', "”"), ("`", "'")):
        flat = flat.replace(bad, good)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
