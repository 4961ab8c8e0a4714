"""`sabbatical pile summarise` and `pile llm-log` through the real CLI."""

from __future__ import annotations

import json
import re

import pytest

from sabbatical import db
from sabbatical.errors import ExitCode
from tests.helpers.fake_openai import FakeOpenAI, configure_llm, insert_items, sample_documents

REPORT_KEYS = {
    "producer",
    "model",
    "prompt_version",
    "selection",
    "selected",
    "done",
    "cached",
    "failed",
    "pending",
    "calls",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "quotes_total",
    "quotes_verified",
    "stopped",
    "seconds",
    "failures",
}
CALL_KEYS = {
    "id",
    "at",
    "purpose",
    "provider",
    "model",
    "prompt_version",
    "item_id",
    "structured_mode",
    "tokens_in",
    "tokens_out",
    "latency_ms",
    "cost_usd",
    "status",
    "error",
    "attempt",
}


@pytest.fixture
def pile(workspace):
    conn = db.connect(workspace.pile_path)
    insert_items(conn, sample_documents(4))
    yield conn
    conn.close()


@pytest.fixture
def server(workspace):
    with FakeOpenAI(latency=0.01) as fake:
        configure_llm(workspace.root, base_url=fake.url, model="loopback", max_retries=1, timeout=2.0)
        yield fake


def test_offline_summaries_say_so_once_and_a_rerun_is_cached(cli, workspace, pile):
    result = cli("--workspace", workspace.root, "pile", "summarise")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("summaries are made offline") == 1 and "[llm] base_url" in result.stderr
    assert result.stdout.strip() == (
        "Summarised 4 of 4 items offline (offline-extractive): 0 cached, 0 failed, 0 pending; 16/16 quotes verified."
    )
    again = cli("--workspace", workspace.root, "pile", "summarise", "--all")
    assert again.stdout.startswith("Summarised 0 of 4 items offline (offline-extractive): 4 cached")
    assert pile.execute("SELECT COUNT(*) FROM summaries").fetchone()[0] == 4


def test_the_json_report_has_a_stable_shape(cli, workspace, pile):
    result = cli("--workspace", workspace.root, "pile", "summarise", "--json")
    report = json.loads(result.stdout)
    assert set(report) == REPORT_KEYS
    assert (report["producer"], report["done"], report["failures"]) == ("offline", 4, [])


def test_failures_exit_3_listing_the_items_and_retry_failed_finishes(cli, workspace, pile, server):
    server.when("test:00003", "server_error")
    result = cli("--workspace", workspace.root, "pile", "summarise")
    assert result.exit_code == ExitCode.PARTIAL
    assert "offline" not in result.stderr
    assert result.stdout.startswith("Summarised 3 of 4 items loopback with prompt summarise-v3: 0 cached, 1 failed")
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: 1 of 4 items could not be summarised; the other 3 were stored")
    assert lines[1].startswith("  - test:00003: HTTP 500")
    server.clear_faults()
    retry = cli("--workspace", workspace.root, "pile", "summarise", "--retry-failed")
    assert retry.exit_code == 0 and retry.stdout.startswith("Summarised 1 of 1 items")
    statuses = {r[0] for r in pile.execute("SELECT status FROM summaries")}
    assert statuses == {"ok"}


def test_a_budget_stops_early_and_says_what_is_left(cli, workspace, pile, server):
    configure_llm(workspace.root, concurrency=1)
    result = cli("--workspace", workspace.root, "pile", "summarise", "--budget", "10")
    assert result.exit_code == 0
    assert "Stopped early: token budget of 10 reached" in result.stderr and "3 items were left pending" in result.stderr
    assert pile.execute("SELECT COUNT(*) FROM summaries").fetchone()[0] == 1


def test_ids_may_be_repeated_or_comma_separated(cli, workspace, pile):
    result = cli(
        "--workspace",
        workspace.root,
        "pile",
        "summarise",
        "--ids",
        "test:00000,test:00001",
        "--ids",
        "test:00002",
        "--json",
    )
    assert json.loads(result.stdout)["done"] == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--all", "--retry-failed"], "choose one of --all, --pending, --retry-failed, --ids"),
        (["--prompt", "v2"], "prompt summarise-v2 needs an LLM endpoint"),
        (["--budget", "plenty"], "neither tokens"),
        (["--compare"], "--compare needs --prompt VERSION"),
    ],
)
def test_bad_usage_exits_2_with_one_line(cli, workspace, pile, args, message):
    result = cli("--workspace", workspace.root, "pile", "summarise", *args)
    assert result.exit_code == ExitCode.USAGE and message in result.stderr


def test_llm_log_lists_calls(cli, workspace, pile, server):
    server.when("test:00001", "rate_limit", times=1)
    server.retry_after = 0.1
    cli("--workspace", workspace.root, "pile", "summarise")
    calls = json.loads(cli("--workspace", workspace.root, "pile", "llm-log", "--json").stdout)
    assert len(calls) == 5 and set(calls[0]) == CALL_KEYS
    assert sorted(c["status"] for c in calls) == ["http_error", "ok", "ok", "ok", "ok"]
    assert (
        json.loads(cli("--workspace", workspace.root, "pile", "llm-log", "--json", "--limit", "2").stdout)[1]["id"] == 4
    )
    table = cli("--workspace", workspace.root, "pile", "llm-log", "--item", "test:00001", env={"COLUMNS": "250"}).stdout
    assert "http_error" in table and "summarise-v3" in table and "loopback" in table


def test_pile_show_has_the_summary_judgement_and_flags_quotes_not_in_the_text(cli, workspace, pile, server):
    before = cli("--workspace", workspace.root, "pile", "show", "test:00001", env={"COLUMNS": "200"}).stdout
    assert "none yet — `sabbatical pile summarise --ids test:00001`" in before
    server.queue("invented_quotes")
    cli("--workspace", workspace.root, "pile", "summarise", "--ids", "test:00001")
    shown = cli("--workspace", workspace.root, "pile", "show", "test:00001", env={"COLUMNS": "200"}).stdout
    assert "Summary (llm: loopback, summarise-v3" in shown and re.search(r"Judgement: [a-z ]+, insight 0\.\d\d", shown)
    assert "“words nobody wrote in this document” (⚠ NOT found in the text)" in shown
    assert "0/4 quotes found in the text" in shown
    cli("--workspace", workspace.root, "pile", "summarise", "--ids", "test:00000")
    verified = cli("--workspace", workspace.root, "pile", "show", "test:00000", env={"COLUMNS": "200"}).stdout
    assert "(✓ in the text)" in verified and "NOT found" not in verified and "4/4 quotes found" in verified


def test_sample_and_deadline_reach_the_run(cli, workspace, pile, server):
    sampled = cli("--workspace", workspace.root, "pile", "summarise", "--sample", "2", "--json")
    assert sampled.exit_code == 0, sampled.stderr
    assert (json.loads(sampled.stdout)["selected"], json.loads(sampled.stdout)["done"]) == (2, 2)
    late = cli("--workspace", workspace.root, "pile", "summarise", "--deadline", "0", "--json")
    report = json.loads(late.stdout)
    assert (report["selected"], report["cached"], report["done"], report["pending"]) == (4, 2, 0, 2), report
    assert "deadline" in report["stopped"]  # the two left stay pending for the next run
