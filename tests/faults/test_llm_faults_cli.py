"""Every LLM fault of the summariser through `sabbatical pile summarise`: one clear line each, nothing lost.

The loopback OpenAI-compatible server (tests.helpers.fake_openai) produces each fault for one item of six: 429
with Retry-After, HTTP 500, a timeout, invalid JSON, JSON that breaks the schema, and a server that
rejects json_schema output. A fault that persists fails that item only: the command exits 3 after
storing the other five, and says in one line per failed item what went wrong; no traceback. Reopening
the pile shows five summaries, the failure with its reason, and every call in the log. With the fault
gone, `--retry-failed` completes the item with calls for it alone. A fault that passes is retried and
the run succeeds; a server rejecting json_schema serves the whole run in JSON mode.
"""

from __future__ import annotations

import pytest

from sabbatical import db
from sabbatical.errors import ExitCode
from tests.faults.processes import assert_clean_failure, error_lines
from tests.helpers.fake_openai import FakeOpenAI, configure_llm, insert_items, sample_documents

ITEMS = 6
TARGET = "test:00003"
# fault → words its one-line reason must contain, and the status its calls are logged with
PERSISTENT = {
    "rate_limit": ("429", "http_error"),
    "server_error": ("500", "http_error"),
    "timeout": ("no answer within", "timeout"),
    "invalid_json": ("JSON", "invalid"),
    "schema_violation": ("schema", "invalid"),
}


@pytest.fixture
def pile(workspace):
    conn = db.connect(workspace.pile_path)
    insert_items(conn, sample_documents(ITEMS))
    yield conn
    conn.close()


@pytest.fixture
def server(workspace):
    with FakeOpenAI(latency=0.01, hang_seconds=3.0, retry_after=1.0) as fake:
        configure_llm(workspace.root, base_url=fake.url, model="loopback", max_retries=1, timeout=1.0, concurrency=3)
        yield fake


def summaries(pile) -> dict[str, tuple[str, str | None]]:
    return {row[0]: (row[1], row[2]) for row in pile.execute("SELECT item_id, status, error FROM summaries")}


@pytest.mark.parametrize("fault", list(PERSISTENT))
def test_a_persistent_fault_fails_one_item_with_one_clear_line_and_retry_failed_completes(
    cli, workspace, pile, server, fault
):
    words, logged_status = PERSISTENT[fault]
    server.when(TARGET, fault)
    result = cli("--workspace", workspace.root, "pile", "summarise")

    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    assert_clean_failure(result.stderr)
    assert error_lines(result.stderr) == [
        f"Error: 1 of {ITEMS} items could not be summarised; the other {ITEMS - 1} were stored — "
        "`sabbatical pile summarise --retry-failed` tries the failed ones again"
    ]
    reasons = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(reasons) == 1 and reasons[0].startswith(f"  - {TARGET}: ") and words in reasons[0], reasons
    assert len(reasons[0]) < 1000  # a reason, not a dump of the answer

    stored = summaries(pile)
    assert {item: status for item, (status, _) in stored.items()} == {
        f"test:{n:05d}": ("failed" if f"test:{n:05d}" == TARGET else "ok") for n in range(ITEMS)
    }
    assert words in stored[TARGET][1]
    target_calls = [r[0] for r in pile.execute("SELECT status FROM llm_calls WHERE item_id = ?", (TARGET,))]
    assert len(target_calls) == 2 and set(target_calls) == {logged_status}  # the try and its one retry
    assert pile.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0] == len(server.chat_requests)

    server.clear_faults()
    before = len(server.chat_requests)
    retry = cli("--workspace", workspace.root, "pile", "summarise", "--retry-failed")
    assert retry.exit_code == 0, retry.stderr
    assert {status for status, _ in summaries(pile).values()} == {"ok"}
    assert len(server.chat_requests) - before == 1 and TARGET in str(server.chat_requests[-1].body)


def test_faults_that_pass_are_retried_and_the_run_succeeds(cli, workspace, pile, server):
    for number, fault in enumerate(PERSISTENT):
        server.when(f"test:{number:05d}", fault, times=1)
    result = cli("--workspace", workspace.root, "pile", "summarise")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert {status for status, _ in summaries(pile).values()} == {"ok"} and len(summaries(pile)) == ITEMS
    failed_calls = {r[0] for r in pile.execute("SELECT status FROM llm_calls WHERE status != 'ok'")}
    assert failed_calls == {"http_error", "timeout", "invalid"}


@pytest.mark.parametrize("status", [400, 500])
def test_a_server_rejecting_json_schema_serves_the_run_in_json_mode(cli, workspace, pile, server, status):
    server.reject_json_schema, server.reject_status = True, status
    result = cli("--workspace", workspace.root, "pile", "summarise")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert {status for status, _ in summaries(pile).values()} == {"ok"} and len(summaries(pile)) == ITEMS
    modes = {r[0] for r in pile.execute("SELECT structured_mode FROM llm_calls WHERE status = 'ok'")}
    assert modes == {"json_object"}


def test_an_endpoint_that_is_down_fails_cleanly_and_keeps_what_was_stored(cli, workspace, pile, server):
    first = cli("--workspace", workspace.root, "pile", "summarise", "--ids", "test:00000")
    assert first.exit_code == 0, first.stderr
    server.stop()
    result = cli("--workspace", workspace.root, "pile", "summarise")
    assert result.exit_code in (ExitCode.ERROR, ExitCode.PARTIAL), result.stderr
    assert_clean_failure(result.stderr, allowed_prefixes=("Error: ", "  - ", "Stopped early: "))
    assert "cannot connect" in result.stderr and "was unreachable" in result.stderr, result.stderr
    assert summaries(pile)["test:00000"][0] == "ok"
    assert pile.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
