"""The fault matrix: every fault the loopback server can produce, through a whole summarise run.

Each fault hits one item of six. A passing fault (once) is retried and the item is summarised; a
persistent one leaves that item recorded as failed and everything else summarised, nothing lost; then
`--retry-failed` with the fault gone completes the rest with calls for that item only.
"""

from __future__ import annotations

import pytest

from sabbatical import db
from sabbatical.config import LLMConfig
from sabbatical.reading.summarise import SummariseRequest, choose_producer, summarise_pile
from tests.helpers.fake_openai import FakeOpenAI, insert_items, sample_documents

TARGET = "test:00003"


@pytest.fixture
def server():
    with FakeOpenAI(latency=0.01, hang_seconds=1.0, retry_after=1.0) as fake:
        yield fake


@pytest.fixture
def conn(tmp_path):
    connection = db.connect(tmp_path / "pile.db")
    insert_items(connection, sample_documents(6))
    yield connection
    connection.close()


def producer_for(server, max_retries=2):
    return choose_producer(
        LLMConfig(base_url=server.url, model="loopback", timeout=0.4, concurrency=4, max_retries=max_retries)
    )


def statuses(conn) -> dict[str, str]:
    return dict(conn.execute("SELECT item_id, status FROM summaries").fetchall())


def calls_for(conn, item_id: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT status FROM llm_calls WHERE item_id = ? ORDER BY id", (item_id,))]


PASSING = [
    ("rate_limit", ["http_error", "ok"]),
    ("server_error", ["http_error", "ok"]),
    ("timeout", ["timeout", "ok"]),
    ("invalid_json", ["invalid", "ok"]),
    ("schema_violation", ["invalid", "ok"]),
]


@pytest.mark.parametrize("fault, logged", PASSING, ids=[f for f, _ in PASSING])
def test_a_passing_fault_is_retried_and_the_item_summarised(server, conn, fault, logged):
    server.when(TARGET, fault, times=1)
    report = summarise_pile(conn, producer_for(server), SummariseRequest(backoff_base=0.01))
    assert (report.done, report.failed, report.pending) == (6, 0, 0)
    assert set(statuses(conn).values()) == {"ok"} and len(statuses(conn)) == 6
    assert calls_for(conn, TARGET) == logged
    assert conn.execute("SELECT attempts FROM summaries WHERE item_id = ?", (TARGET,)).fetchone()[0] == 1


PERSISTENT = [
    ("rate_limit", 1, ["http_error", "http_error"]),
    ("server_error", 2, ["http_error"] * 3),
    ("timeout", 1, ["timeout", "timeout"]),
    ("invalid_json", 2, ["invalid", "invalid"]),
    ("schema_violation", 2, ["invalid", "invalid"]),
]


@pytest.mark.parametrize("fault, retries, logged", PERSISTENT, ids=[f for f, _, _ in PERSISTENT])
def test_a_persistent_fault_fails_that_item_only_and_retry_failed_completes_it(server, conn, fault, retries, logged):
    server.when(TARGET, fault)
    producer = producer_for(server, max_retries=retries)
    report = summarise_pile(conn, producer, SummariseRequest(backoff_base=0.01))
    assert (report.done, report.failed, report.pending) == (5, 1, 0)
    assert report.failures[0].startswith(f"{TARGET}: ")
    assert statuses(conn) == {**{d["id"]: "ok" for d in sample_documents(6)}, TARGET: "failed"}
    failed = conn.execute("SELECT producer, error, data FROM summaries WHERE item_id = ?", (TARGET,)).fetchone()
    assert failed["producer"] == "llm" and failed["error"] and failed["data"] is None  # no silent offline answer
    assert calls_for(conn, TARGET) == logged

    server.clear_faults()
    before = conn.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0]
    again = summarise_pile(conn, producer, SummariseRequest(selection="retry-failed", backoff_base=0.01))
    assert (again.selected, again.done, again.failed, again.calls) == (1, 1, 0, 1)
    assert set(statuses(conn).values()) == {"ok"}
    assert conn.execute("SELECT attempts FROM summaries WHERE item_id = ?", (TARGET,)).fetchone()[0] == 2
    assert conn.execute("SELECT item_id FROM llm_calls WHERE id > ?", (before,)).fetchall()[0][0] == TARGET


def test_a_server_rejecting_json_schema_serves_the_whole_run_in_json_mode(server, conn):
    server.reject_json_schema = True
    report = summarise_pile(conn, producer_for(server), SummariseRequest(backoff_base=0.01))
    assert (report.done, report.failed) == (6, 0)
    modes = [r.response_format for r in server.chat_requests]
    assert modes.count("json_object") == 6 and modes.count("json_schema") <= 4  # at most one per worker
    more = sample_documents(3, seed=100)
    insert_items(conn, more)
    server.requests.clear()
    summarise_pile(conn, producer_for(server), SummariseRequest(backoff_base=0.01))
    assert [r.response_format for r in server.chat_requests] == ["json_object"] * 3


def test_mixed_faults_in_one_run_lose_nothing(server, conn):
    server.when("test:00000", "rate_limit", times=1)
    server.when("test:00001", "server_error")
    server.when("test:00002", "invalid_json", times=1)
    server.when("test:00004", "schema_violation")
    report = summarise_pile(conn, producer_for(server, max_retries=1), SummariseRequest(backoff_base=0.01))
    assert (report.done, report.failed, report.pending) == (4, 2, 0)
    assert len(statuses(conn)) == 6
    assert {r[0] for r in conn.execute("SELECT DISTINCT status FROM llm_calls")} == {"ok", "http_error", "invalid"}
    server.clear_faults()
    again = summarise_pile(conn, producer_for(server), SummariseRequest(selection="retry-failed", backoff_base=0.01))
    assert (again.done, again.failed) == (2, 0) and set(statuses(conn).values()) == {"ok"}
