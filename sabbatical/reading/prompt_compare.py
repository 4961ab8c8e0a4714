"""The prompt-iteration loop: run a new prompt version on a sample, compare it with the current one.

`compare_prompts` summarises a sample of the pile with the current producer (usually cached: no calls)
and with the new prompt version, then measures how far they agree: contribution-kind agreement, Spearman
correlation of insight scores, agreement of each with the researcher's own keep/drop triage where it
exists (score ≥ 0.5 read as "keep"), failure rate, tokens and latency per item. The comparison is
recorded as an MLflow run in the workspace store's "prompts" experiment (parameters, metrics, the
side-by-side table and both prompt files as artifacts), so prompt versions are compared like any other
experiment. Adopting the new version is a config change (`[llm] prompt`), never a side effect.

With a dev set (`dev_set=`, hand-labelled abstracts: `prompt_dev_set`), both prompts also judge its rows,
and the comparison reports each prompt's balanced accuracy insight-vs-not and how many labels changed.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SabbaticalError, UsageError
from .prompt_dev_set import DevSetFigures, compare_on_dev_set, read_dev_set
from .prompt_files import load_prompt
from .summarise import Producer, SummariseReport, SummariseRequest, choose_producer, summarise_pile

EXPERIMENT = "prompts"
POSITIVE_TRIAGE = ("keep", "star")
TRIAGE_ACTIONS = ("keep", "star", "drop")
KEEP_THRESHOLD = 0.5


@dataclass
class SideBySide:
    item_id: str
    title: str
    triage: str | None
    old_kind: str | None
    new_kind: str | None
    old_score: float | None
    new_score: float | None
    old_tldr: str | None
    new_tldr: str | None
    old_status: str | None
    new_status: str | None


@dataclass
class ProducerFigures:
    label: str
    prompt_version: str
    model: str
    ok: int = 0
    failed: int = 0
    failure_rate: float | None = None
    tokens_per_item: float | None = None
    latency_ms_per_item: float | None = None
    triage_agreement: float | None = None
    calls_this_run: int = 0


@dataclass
class Comparison:
    old: ProducerFigures
    new: ProducerFigures
    sample: int
    kind_agreement: float | None
    score_correlation: float | None  # Spearman's rho over items both summarised
    triaged_items: int
    rows: list[SideBySide] = field(default_factory=list)
    mlflow_experiment_id: str | None = None
    mlflow_run_id: str | None = None
    dev_set: DevSetFigures | None = None  # the labelled dev set's figures, when one was given


def compare_prompts(
    workspace: Any,
    new_version: str,
    sample: int = 20,
    *,
    conn: sqlite3.Connection | None = None,
    baseline_version: str | None = None,
    environ: dict[str, str] | None = None,
    on_progress: Callable[..., None] | None = None,
    record: bool = True,
    dev_set: Path | None = None,
    corpus: Path | None = None,
) -> Comparison:
    """Summarise `sample` items with the current and the `new_version` prompt; measure; record in MLflow.

    `dev_set` (a JSON-lines file of labelled abstracts, text inline or in `corpus`: see
    `prompt_dev_set`) adds both prompts' balanced accuracy on its labels. `conn` is the open pile (the
    CLI opens it once and hands it over); without one, the workspace's pile is opened for this
    comparison and closed after it."""
    from .pile import open_or_given

    if sample < 1:
        raise UsageError("--sample must be at least 1")
    config = workspace.config.llm
    old = choose_producer(config, baseline_version, environ)
    new = choose_producer(config, new_version, environ)
    if old.key == new.key:
        raise UsageError(
            f"{new.prompt_version} is already the current prompt — compare a different version "
            "(`--prompt v2`), or set the baseline with [llm] prompt"
        )
    dev = read_dev_set(dev_set, corpus) if dev_set is not None else None  # a bad file stops before any call
    with open_or_given(workspace, conn) as pile_conn:
        ids = sample_items(pile_conn, sample)
        if not ids:
            raise UsageError("the pile is empty — read something first (`sabbatical read …`)")
        run = SummariseRequest(selection="ids", ids=ids, on_progress=on_progress)
        reports = [summarise_pile(pile_conn, producer, run, config=workspace.config) for producer in (old, new)]
        comparison = measure(pile_conn, ids, old, new, reports)
        if dev is not None:
            comparison.dev_set = compare_on_dev_set(pile_conn, old, new, dev, config=workspace.config)
    if record:
        comparison.mlflow_experiment_id, comparison.mlflow_run_id = record_comparison(workspace, comparison)
    return comparison


def sample_items(conn: sqlite3.Connection, size: int) -> list[str]:
    """A deterministic sample: items the researcher triaged first (so agreement with them can be
    measured), then the rest, each group in a stable pseudo-random order."""
    ids = [row[0] for row in conn.execute("SELECT id FROM items ORDER BY seq")]
    triaged = set(latest_triage(conn))
    ordered = sorted(ids, key=lambda i: (i not in triaged, hashlib.sha256(i.encode()).hexdigest()))
    return ordered[:size]


def measure(
    conn: sqlite3.Connection, ids: list[str], old: Producer, new: Producer, reports: list[SummariseReport]
) -> Comparison:
    triage = latest_triage(conn, ids)
    titles = dict(conn.execute(f"SELECT id, title FROM items WHERE id IN ({_marks(ids)})", ids).fetchall())
    rows_old, rows_new = _rows_for(conn, ids, old), _rows_for(conn, ids, new)
    table = []
    for item_id in ids:
        a, b = rows_old.get(item_id, {}), rows_new.get(item_id, {})
        table.append(
            SideBySide(
                item_id,
                titles.get(item_id, ""),
                triage.get(item_id),
                a.get("contribution"),
                b.get("contribution"),
                a.get("insight_score"),
                b.get("insight_score"),
                a.get("tldr"),
                b.get("tldr"),
                a.get("status"),
                b.get("status"),
            )
        )
    both = [r for r in table if r.old_status == "ok" and r.new_status == "ok"]
    figures = [
        _figures(conn, ids, producer, rows, report, triage, side)
        for producer, rows, report, side in ((old, rows_old, reports[0], "old"), (new, rows_new, reports[1], "new"))
    ]
    return Comparison(
        old=figures[0],
        new=figures[1],
        sample=len(ids),
        kind_agreement=_ratio(sum(r.old_kind == r.new_kind for r in both), len(both)),
        score_correlation=spearman([r.old_score for r in both], [r.new_score for r in both]),  # type: ignore[misc]
        triaged_items=sum(1 for i in ids if i in triage),
        rows=table,
    )


def latest_triage(conn: sqlite3.Connection, ids: list[str] | None = None) -> dict[str, str]:
    """The researcher's latest keep/star/drop of each item (of `ids`, or of all) that has one; a later
    'inbox' event undoes triage."""
    actions = (*TRIAGE_ACTIONS, "inbox")
    rows = conn.execute(f"SELECT subject, action FROM events WHERE action IN ({_marks(actions)}) ORDER BY id", actions)
    latest = {row["subject"]: row["action"] for row in rows}
    wanted = None if ids is None else set(ids)
    return {
        item_id: action
        for item_id, action in latest.items()
        if action != "inbox" and (wanted is None or item_id in wanted)
    }


def _rows_for(conn: sqlite3.Connection, ids: list[str], producer: Producer) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        f"SELECT s.item_id, s.status, s.contribution, s.insight_score, s.tldr FROM summaries s JOIN items i "
        f"ON i.id = s.item_id AND i.content_hash = s.content_hash WHERE s.prompt_version = ? AND s.model = ? "
        f"AND s.item_id IN ({_marks(ids)})",
        (*producer.key, *ids),
    )
    return {row["item_id"]: dict(row) for row in rows}


def _figures(
    conn: sqlite3.Connection,
    ids: list[str],
    producer: Producer,
    rows: dict[str, dict[str, Any]],
    report: SummariseReport,
    triage: dict[str, str],
    side: str,
) -> ProducerFigures:
    ok = [r for r in rows.values() if r["status"] == "ok"]
    failed = sum(1 for r in rows.values() if r["status"] == "failed")
    figures = ProducerFigures(
        label=side,
        prompt_version=producer.prompt_version,
        model=producer.model,
        ok=len(ok),
        failed=failed,
        failure_rate=_ratio(failed, len(ok) + failed),
        calls_this_run=report.calls,
    )
    judged = [
        (r["insight_score"] >= KEEP_THRESHOLD, triage[r["item_id"]] in POSITIVE_TRIAGE)
        for r in ok
        if r["item_id"] in triage
    ]
    figures.triage_agreement = _ratio(sum(p == t for p, t in judged), len(judged))
    if producer.kind == "llm":
        usage = conn.execute(
            f"SELECT COUNT(DISTINCT item_id) AS items, SUM(tokens_in + tokens_out) AS tokens, SUM(latency_ms) AS ms "
            f"FROM llm_calls WHERE prompt_version = ? AND model = ? AND purpose = 'summarise' "
            f"AND item_id IN ({_marks(ids)})",
            (*producer.key, *ids),
        ).fetchone()
        if usage["items"]:
            figures.tokens_per_item = round(usage["tokens"] / usage["items"], 1)
            figures.latency_ms_per_item = round(usage["ms"] / usage["items"], 1)
    else:
        figures.tokens_per_item = 0.0
    return figures


def spearman(xs: list[float], ys: list[float]) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None when undefined."""
    if len(xs) < 2 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    rx, ry = _ranks(xs), _ranks(ys)
    mean_x, mean_y = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mean_x) * (b - mean_y) for a, b in zip(rx, ry))
    var_x = sum((a - mean_x) ** 2 for a in rx)
    var_y = sum((b - mean_y) ** 2 for b in ry)
    return round(cov / (var_x * var_y) ** 0.5, 4)


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _marks(values: Any) -> str:
    return ",".join("?" for _ in values) or "NULL"


# -- MLflow ---------------------------------------------------------------------------------------
def record_comparison(workspace: Any, comparison: Comparison) -> tuple[str, str]:
    """One run in the "prompts" experiment of the workspace's MLflow store; returns (experiment, run) ids."""
    from mlflow.entities import Metric, Param, RunTag

    from ..sprints.tracking import client as tracking_client
    from ..sprints.tracking import experiment_artifact_location

    old, new = comparison.old, comparison.new
    try:
        client = tracking_client(workspace)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        experiment_id = (
            experiment.experiment_id
            if experiment
            else client.create_experiment(
                EXPERIMENT, artifact_location=experiment_artifact_location(workspace, EXPERIMENT)
            )
        )
        run = client.create_run(
            experiment_id,
            run_name=f"{old.prompt_version} vs {new.prompt_version}",
            tags={"sabbatical.kind": "prompt-comparison"},
        )
        run_id = run.info.run_id
        params = {
            "old_prompt": old.prompt_version,
            "new_prompt": new.prompt_version,
            "old_model": old.model,
            "new_model": new.model,
            "sample": comparison.sample,
            "triaged_items": comparison.triaged_items,
        }
        client.log_batch(
            run_id,
            metrics=[Metric(name, value, 0, 0) for name, value in _metrics(comparison).items()],
            params=[Param(k, str(v)) for k, v in params.items()],
            tags=[RunTag("sabbatical.new_prompt", new.prompt_version)],
        )
        client.log_dict(run_id, asdict(comparison), "comparison.json")
        for figures in (old, new):
            if figures.prompt_version.startswith("summarise-"):
                prompt = load_prompt(figures.prompt_version)
                client.log_text(
                    run_id, f"{prompt.system}\n\n---\n\n{prompt.user_template}\n", f"prompts/{prompt.version}.md"
                )
        client.set_terminated(run_id, "FINISHED")
    except Exception as exc:  # the comparison is in the pile either way; say what did not happen
        raise SabbaticalError(
            f"the comparison was made (its summaries are in the pile) but could not be recorded "
            f"in MLflow at {workspace.tracking_uri}: {exc} — check [tracking] uri"
        ) from exc
    return experiment_id, run_id


def _metrics(comparison: Comparison) -> dict[str, float]:
    values: dict[str, float | None] = {
        "kind_agreement": comparison.kind_agreement,
        "score_spearman": comparison.score_correlation,
    }
    for side in (comparison.old, comparison.new):
        for name in ("failure_rate", "tokens_per_item", "latency_ms_per_item", "triage_agreement"):
            values[f"{side.label}_{name}"] = getattr(side, name)
        values[f"{side.label}_calls_this_run"] = side.calls_this_run
    if comparison.dev_set is not None:
        values["dev_old_balanced_accuracy"] = comparison.dev_set.old_balanced_accuracy
        values["dev_new_balanced_accuracy"] = comparison.dev_set.new_balanced_accuracy
        values["dev_labels_changed"] = comparison.dev_set.labels_changed
        values["dev_rows"] = comparison.dev_set.rows
    return {k: float(v) for k, v in values.items() if v is not None}
