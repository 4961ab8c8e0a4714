"""The prompt-iteration loop: a new prompt on a sample, agreement figures, an MLflow run in "prompts"."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest

from sabbatical import db
from sabbatical.errors import ExitCode, UsageError
from sabbatical.reading.prompt_compare import compare_prompts, spearman
from sabbatical.workspace import Workspace
from tests.helpers.fake_openai import FakeOpenAI, configure_llm, insert_items, sample_documents


@pytest.fixture
def server(workspace):
    with FakeOpenAI(latency=0.01) as fake:
        # The baseline is the first prompt, so the comparison is v1 against v2's rubric.
        configure_llm(
            workspace.root, base_url=fake.url, model="loopback", max_retries=1, timeout=2.0, prompt="summarise-v1"
        )
        yield fake


@pytest.fixture
def pile(workspace):
    conn = db.connect(workspace.pile_path)
    insert_items(conn, sample_documents(10))
    # The researcher kept the insight-style studies and dropped two benchmark ones.
    for item_id, action in [
        ("test:00000", "keep"),
        ("test:00002", "star"),
        ("test:00001", "drop"),
        ("test:00003", "drop"),
        ("test:00005", "keep"),
        ("test:00005", "inbox"),
    ]:
        conn.execute("INSERT INTO events (subject, action) VALUES (?, ?)", (item_id, action))
    yield conn
    conn.close()


def test_spearman():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert spearman([1, 2, 2, 3], [1, 2, 2, 3]) == 1.0
    assert spearman([1, 1], [1, 2]) is None


@pytest.mark.slow
def test_compare_measures_agreement_and_records_an_mlflow_run(workspace, pile, server):
    workspace = Workspace(workspace.root)
    comparison = compare_prompts(workspace, "v2", sample=6)
    assert comparison.sample == 6 and comparison.triaged_items == 4  # triaged items are sampled first
    assert {r.item_id for r in comparison.rows} >= {"test:00000", "test:00001", "test:00002", "test:00003"}
    old, new = comparison.old, comparison.new
    assert (old.prompt_version, new.prompt_version) == ("summarise-v1", "summarise-v2")
    assert comparison.kind_agreement == 1.0  # the loopback model only moves scores with a rubric
    assert comparison.score_correlation is not None and comparison.score_correlation > 0.5
    # The loopback model answers with the offline judge, which reads one of the synthetic 'benchmark' abstracts
    # as insight (its judgement is measured on the dev set, benchmarks/judge_quality.py, not here).
    assert old.triage_agreement == new.triage_agreement and old.triage_agreement >= 0.75
    assert old.failure_rate == new.failure_rate == 0.0 and old.calls_this_run == new.calls_this_run == 6
    assert old.tokens_per_item > 0 and new.tokens_per_item > old.tokens_per_item  # v2 is the longer prompt
    assert any(r.old_score != r.new_score for r in comparison.rows)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=workspace.tracking_uri)
    run = client.get_run(comparison.mlflow_run_id)
    experiment = client.get_experiment(comparison.mlflow_experiment_id)
    assert experiment.name == "prompts" and run.info.status == "FINISHED"
    assert experiment.artifact_location.startswith(workspace.artifact_root)
    assert run.data.params["new_prompt"] == "summarise-v2" and run.data.metrics["kind_agreement"] == 1.0
    assert {"score_spearman", "old_triage_agreement", "new_tokens_per_item", "new_failure_rate"} <= set(
        run.data.metrics
    )
    artifacts = Path(urlparse(run.info.artifact_uri).path)
    table = json.loads((artifacts / "comparison.json").read_text())
    assert len(table["rows"]) == 6 and (artifacts / "prompts" / "summarise-v2.md").is_file()

    again = compare_prompts(workspace, "v2", sample=6, record=False)
    assert again.old.calls_this_run == again.new.calls_this_run == 0  # both sides cached


def test_comparing_the_current_prompt_with_itself_is_refused(workspace, pile, server):
    with pytest.raises(UsageError, match="already the current prompt"):
        compare_prompts(Workspace(workspace.root), "summarise-v1", sample=3, record=False)


@pytest.mark.slow
def test_the_cli_shows_old_and_new_side_by_side(cli, workspace, pile, server):
    result = cli(
        "--workspace",
        workspace.root,
        "pile",
        "summarise",
        "--prompt",
        "v2",
        "--sample",
        "4",
        "--compare",
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.stderr
    assert "Old vs new, side by side" in result.stdout and "kind agreement" in result.stdout
    assert "agreement with your triage (4 items)" in result.stdout
    assert "Recorded as MLflow run" in result.stdout and 'set [llm] prompt = "summarise-v2"' in result.stdout
    rows = pile.execute("SELECT prompt_version, COUNT(*) FROM summaries GROUP BY prompt_version").fetchall()
    assert [tuple(r) for r in rows] == [("summarise-v1", 4), ("summarise-v2", 4)]


def test_compare_without_an_endpoint_says_what_to_configure(cli, workspace, pile):
    result = cli("--workspace", workspace.root, "pile", "summarise", "--prompt", "v2", "--compare")
    assert result.exit_code == ExitCode.USAGE and "needs an LLM endpoint" in result.stderr


# -- the dev set: the prompts against hand labels ------------------------------------------------
def write_dev_set(path: Path) -> list[dict]:
    """Six labelled rows with their text inline, and one whose text is nowhere (pool row, no corpus)."""
    labels = ["insight", "sota", "insight", "sota", "other", "insight"]
    rows = [
        {"id": f"dev-{n}", "label": label, "title": doc["title"], "abstract": doc["abstract"]}
        for n, (label, doc) in enumerate(zip(labels, sample_documents(6, seed=20)))
    ]
    rows.append({"pool": "daily", "id": "arxiv:2606.00001", "label": "sota", "confidence": "high"})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return rows[:6]


def offline_labels(rows: list[dict]) -> list[str]:
    from sabbatical.reading.offline import summarise_offline
    from sabbatical.reading.prompt_dev_set import KIND_TO_LABEL
    from sabbatical.reading.summary_schema import SourceDocument

    labels = []
    for r in rows:
        summary = summarise_offline(SourceDocument("x", "paper", r["title"], r["abstract"], "", "h"))
        labels.append(KIND_TO_LABEL.get(summary.contribution.value, "other") if summary.insight else "other")
    return labels


def test_the_dev_set_scores_both_prompts_against_its_labels(workspace, pile, server, tmp_path, monkeypatch):
    from sabbatical.reading.prompt_dev_set import balanced_accuracy

    monkeypatch.delenv("SABBATICAL_CORPUS", raising=False)
    rows = write_dev_set(tmp_path / "dev.jsonl")
    server.when("rubric", "schema_violation")  # the new prompt (v2 has a rubric) gets nothing valid back
    comparison = compare_prompts(
        Workspace(workspace.root), "v2", sample=2, record=False, dev_set=tmp_path / "dev.jsonl", corpus=tmp_path
    )
    dev = comparison.dev_set
    assert (dev.rows, dev.missing, dev.old_failed, dev.new_failed) == (6, 1, 0, 6)
    expected = offline_labels(rows)  # the loopback model judges with the offline judge
    truth = [r["label"] == "insight" for r in rows]
    assert dev.old_balanced_accuracy == balanced_accuracy(truth, [label == "insight" for label in expected])
    assert dev.new_balanced_accuracy == 0.5  # every failed row reads as "not insight"
    assert dev.labels_changed == sum(label != "other" for label in expected) >= 1
    assert {c["new"] for c in dev.changed} == {"other"}
    dev_calls = pile.execute("SELECT COUNT(*) FROM llm_calls WHERE purpose = 'compare'").fetchone()[0]
    assert dev_calls >= 6 + 6 * 2  # old once per row; the new prompt tried each row twice
    assert pile.execute("SELECT COUNT(*) FROM summaries WHERE item_id LIKE 'dev:%'").fetchone()[0] == 0


def test_the_cli_prints_the_dev_set_figures_and_refuses_a_bad_file_before_any_call(
    cli, workspace, pile, server, tmp_path
):
    write_dev_set(tmp_path / "dev.jsonl")
    base = ("--workspace", workspace.root, "pile", "summarise", "--prompt", "v2", "--sample", "2", "--compare")
    result = cli(*base, "--dev-set", tmp_path / "dev.jsonl", "--corpus", tmp_path, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    assert "6 labelled abstracts, 1 without text skipped" in result.stdout
    assert "balanced accuracy, insight vs not" in result.stdout and "0 of 6" in result.stdout
    as_json = json.loads(cli(*base, "--dev-set", tmp_path / "dev.jsonl", "--corpus", tmp_path, "--json").stdout)
    assert as_json["dev_set"]["rows"] == 6 and as_json["dev_set"]["labels_changed"] == 0
    assert as_json["dev_set"]["old_balanced_accuracy"] == as_json["dev_set"]["new_balanced_accuracy"]
    (tmp_path / "bad.jsonl").write_text('{"id": "x", "label": "maybe"}\n', encoding="utf-8")
    calls = len(server.chat_requests)
    bad = cli(*base, "--dev-set", tmp_path / "bad.jsonl")
    assert bad.exit_code == ExitCode.USAGE and "line 1: needs an id and a label" in bad.stderr
    assert len(server.chat_requests) == calls
    alone = cli("--workspace", workspace.root, "pile", "summarise", "--dev-set", tmp_path / "dev.jsonl")
    assert alone.exit_code == ExitCode.USAGE and "--dev-set goes with --compare" in alone.stderr
