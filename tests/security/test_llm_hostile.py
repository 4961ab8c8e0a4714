"""A hostile or broken LLM endpoint cannot hang a run, overspend its budget, or stop the other items.

Everything goes through the real `openai` client to the loopback server (tests/helpers/fake_openai.py)
or through the real offline summariser, into a real SQLite pile, and the call log is read back.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sabbatical import db, llm
from sabbatical.config import LLMConfig
from sabbatical.errors import ExitCode, LLMFailure
from sabbatical.llm import LLM, Budget, CallContext, Endpoint
from sabbatical.reading.prompt_files import load_prompt
from sabbatical.reading.summarise import (
    OFFLINE,
    PROMPT_FIELD_CHARS,
    SummariseRequest,
    choose_producer,
    summarise_pile,
)
from sabbatical.reading.summary_schema import SourceDocument, Summary
from tests.helpers.fake_openai import FakeOpenAI, configure_llm, insert_items, sample_documents

TARGET = "test:00002"
DOCUMENT = SourceDocument(
    "arxiv:1",
    "paper",
    "Why do transformers copy?",
    "We find that two attention heads form an induction mechanism early in training. "
    "Surprisingly, it fails to form without positional information.",
    "",
    "hash",
)


@pytest.fixture
def server():
    with FakeOpenAI(trickle_interval=0.1, hang_seconds=6.0) as fake:
        yield fake


@pytest.fixture
def conn(tmp_path):
    connection = db.connect(tmp_path / "pile.db")
    yield connection
    connection.close()


def make_llm(server, conn, budget=None, **endpoint) -> LLM:
    settings_ = {"timeout": 1.5, "max_retries": 0, **endpoint}
    return LLM(Endpoint(base_url=server.url, model="m", api_key="k", **settings_), conn, budget, backoff_base=0.01)


def ask(client: LLM, document: SourceDocument = DOCUMENT):
    messages = load_prompt("summarise-v1").messages(document)
    return client.structured(messages, Summary, CallContext("summarise", "summarise-v1", document.id))


def producer_for(server, **llm_settings):
    settings_ = {
        "base_url": server.url,
        "model": "loopback",
        "timeout": 2.0,
        "concurrency": 4,
        "max_retries": 1,
        **llm_settings,
    }
    return choose_producer(LLMConfig(**settings_))


def logged(conn, item_id=None) -> list[dict]:
    where, values = ("WHERE item_id = ?", (item_id,)) if item_id else ("", ())
    return [dict(r) for r in conn.execute(f"SELECT * FROM llm_calls {where} ORDER BY id", values)]


def statuses(conn) -> dict[str, str]:
    return dict(conn.execute("SELECT item_id, status FROM summaries").fetchall())


# -- the total deadline ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault",
    ["trickle", "trickle_headers", "timeout"],
    ids=["body one byte at a time", "headers one byte at a time", "silent"],
)
def test_a_slow_or_silent_endpoint_is_stopped_at_the_request_deadline(server, conn, fault):
    server.queue(fault)
    started = time.monotonic()
    with pytest.raises(LLMFailure) as failure:
        ask(make_llm(server, conn))
    took = time.monotonic() - started
    assert failure.value.status == "timeout" and took < 3.0  # 1.5 s deadline; a trickle would take minutes
    (row,) = logged(conn)
    assert row["status"] == "timeout"
    assert 1400 <= row["latency_ms"] <= 3000  # the real length of the try is recorded …
    assert "no answer within 1.5 s" in row["error"]
    said = re.search(r"this try took ([0-9.]+) s", row["error"])  # … and the message says the same length
    assert said and abs(float(said.group(1)) - row["latency_ms"] / 1000) <= 0.051  # (each rounded on its own)


def test_a_trickled_try_is_retried_and_the_next_one_answers(server, conn):
    server.queue("trickle")
    answer = ask(make_llm(server, conn, max_retries=1))
    assert answer.calls == 2 and [r["status"] for r in logged(conn)] == ["timeout", "ok"]


def test_a_run_deadline_stops_the_run_and_leaves_the_rest_pending(conn):
    insert_items(conn, sample_documents(12))
    with FakeOpenAI(latency=0.4) as slow:
        started = time.monotonic()
        report = summarise_pile(conn, producer_for(slow, concurrency=1), SummariseRequest(deadline=1.5))
    assert time.monotonic() - started < 4.0
    assert report.stopped and "deadline of 1.5 s passed" in report.stopped
    assert report.done >= 1 and report.pending >= 6 and report.done + report.pending + report.failed == 12
    assert len(statuses(conn)) == report.done + report.failed  # pending items have no row


def test_retry_after_99999_never_waits_past_the_run_deadline(server, conn):
    server.retry_after = 99999
    insert_items(conn, sample_documents(4))
    server.when(TARGET, "rate_limit")
    started = time.monotonic()
    run = SummariseRequest(deadline=4.0, backoff_base=0.01)
    report = summarise_pile(conn, producer_for(server, max_retries=4), run)
    assert time.monotonic() - started < 7.0  # not 99999 s, not 4 × 60 s
    assert statuses(conn)[TARGET] == "failed" and report.done == 3
    (row,) = logged(conn, TARGET)  # one try; waiting would pass the deadline
    assert row["status"] == "http_error" and "HTTP 429" in row["error"]
    error = conn.execute("SELECT error FROM summaries WHERE item_id = ?", (TARGET,)).fetchone()[0]
    assert "the run's deadline comes first" in error


def test_retry_after_is_capped(server, conn, monkeypatch):
    monkeypatch.setattr(llm, "MAX_RETRY_AFTER_SECONDS", 0.5)  # the real cap is 60 s; the rule is the same
    server.retry_after = 99999
    server.queue("rate_limit")
    started = time.monotonic()
    answer = ask(make_llm(server, conn, max_retries=1, timeout=3.0))
    assert answer.calls == 2 and time.monotonic() - started < 3.0
    first, second = server.chat_requests
    assert 0.5 <= second.at - first.at < 2.0


# -- an answer that is not a chat completion ------------------------------------------------------
def test_an_html_page_with_http_200_is_logged_failed_and_retried_later(server, conn):
    insert_items(conn, sample_documents(5))
    server.when(TARGET, "html_200")
    producer = producer_for(server, max_retries=1)
    report = summarise_pile(conn, producer, SummariseRequest(backoff_base=0.01))
    assert (report.done, report.failed, report.pending) == (4, 1, 0)
    rows = logged(conn, TARGET)
    assert [r["status"] for r in rows] == ["http_error", "http_error"]  # every request is a row
    assert all("not a JSON object (text/html" in r["error"] and "Bad Gateway" in r["error"] for r in rows)
    assert statuses(conn)[TARGET] == "failed"

    server.clear_faults()
    again = summarise_pile(conn, producer, SummariseRequest(selection="retry-failed", backoff_base=0.01))
    assert (again.selected, again.done, again.failed) == (1, 1, 0)
    assert set(statuses(conn).values()) == {"ok"}


def test_an_html_answer_through_the_cli_exits_3_and_retry_failed_finishes(cli, workspace):
    pile = db.connect(workspace.pile_path)
    insert_items(pile, sample_documents(4))
    pile.close()
    with FakeOpenAI() as fake:
        configure_llm(workspace.root, base_url=fake.url, model="loopback", max_retries=0, timeout=2.0)
        fake.when(TARGET, "html_200")
        first = cli("--workspace", workspace.root, "pile", "summarise")
        assert first.exit_code == ExitCode.PARTIAL and TARGET in first.stderr
        fake.clear_faults()
        again = cli("--workspace", workspace.root, "pile", "summarise", "--retry-failed")
        assert again.exit_code == 0, again.stderr
        log = cli("--workspace", workspace.root, "pile", "llm-log", "--item", TARGET, "--json")
    assert [c["status"] for c in json.loads(log.stdout)] == ["ok", "http_error"]


# -- the budget -----------------------------------------------------------------------------------
def test_an_endpoint_reporting_no_usage_cannot_spend_past_the_budget_with_eight_in_flight(server, conn):
    server.usage = "none"
    server.latency = 0.2  # keep eight requests in flight together
    insert_items(conn, sample_documents(32))
    budget = Budget(tokens=1000)
    report = summarise_pile(conn, producer_for(server, concurrency=8), SummariseRequest(budget=budget))
    assert report.stopped and "token budget of 1,000 reached" in report.stopped
    assert len(server.chat_requests) <= 2 and report.pending >= 30
    assert 0 < budget.tokens <= 1000 + 2500  # at most one request past the limit
    assert budget.held_tokens == 0  # nothing is left held after the run
    assert all(r["tokens_in"] > 0 and r["tokens_out"] > 0 for r in logged(conn))  # counted, though unreported


@pytest.mark.parametrize("usage", ["negative", "absurd"])
def test_unbelievable_usage_is_replaced_by_the_estimate(server, conn, usage):
    server.usage = usage
    budget = Budget(tokens=50_000)
    answer = ask(make_llm(server, conn, budget))
    sent = sum(len(m["content"]) for m in server.chat_requests[0].body["messages"])
    assert sent / 8 <= answer.tokens_in <= sent  # about four characters a token
    assert 0 < answer.tokens_out < 5_000
    assert budget.tokens == answer.tokens_in + answer.tokens_out
    (row,) = logged(conn)
    assert (row["tokens_in"], row["tokens_out"]) == (answer.tokens_in, answer.tokens_out)


def test_a_huge_title_and_author_list_are_capped_before_the_prompt_is_built(server, conn):
    megabyte = 100_000
    insert_items(
        conn,
        [
            {
                "id": "huge:1",
                "title": "Heading " * megabyte,
                "abstract": "We find that heads copy tokens. " * 20,
                "authors": ["Writer " * megabyte] * 50,
                "content": "Content " * megabyte,
            }
        ],
    )
    report = summarise_pile(conn, producer_for(server))
    assert report.done == 1
    (request,) = server.chat_requests
    sent = sum(len(m["content"]) for m in request.body["messages"])
    assert sent < 40_000  # not the 52 MB the item holds
    user = request.body["messages"][-1]["content"]
    assert 0 < user.count("Heading ") <= PROMPT_FIELD_CHARS["title"] // len("Heading ") + 1
    assert 0 < user.count("Writer ") <= 12 * (PROMPT_FIELD_CHARS["author"] // len("Writer ") + 1)


# -- one item the offline summariser trips on -----------------------------------------------------
LONG_WORD = "pneumonoultramicroscopicsilicovolcanoconiosis" * 2 + "x"  # 91 characters


def test_a_word_over_80_characters_does_not_stop_the_offline_run(cli, workspace):
    documents = sample_documents(4)
    documents[1]["abstract"] = (
        f"We find that {LONG_WORD} matters. The {LONG_WORD} effect is large. "
        f"{LONG_WORD} {LONG_WORD} appears in every layer."
    )
    documents[1]["title"] = f"On {LONG_WORD}"
    pile = db.connect(workspace.pile_path)
    insert_items(pile, documents)
    pile.close()
    result = cli("--workspace", workspace.root, "pile", "summarise")
    assert result.exit_code == 0, result.stderr
    assert "Summarised 4 of 4" in result.stdout
    again = cli("--workspace", workspace.root, "pile", "summarise")
    assert again.exit_code == 0 and "4 cached" in again.stdout
    pile = db.connect(workspace.pile_path)
    try:
        data = json.loads(
            pile.execute("SELECT data FROM summaries WHERE item_id = ?", (documents[1]["id"],)).fetchone()[0]
        )
    finally:
        pile.close()
    assert all(len(topic) <= 80 for topic in data["summary"]["topics"])


_HOSTILE_WORDS = st.one_of(
    st.text(min_size=1, max_size=10),
    st.text(alphabet="abcdefghij-", min_size=81, max_size=600),  # a hash, a run-on token, a URL
    st.sampled_from([".", "?", "!", "e.g.", "We show that", "\n\n", "   ", "…", "$x$", "\\emph{", "A.", "\x00"]),
)
_HOSTILE_TEXT = st.lists(_HOSTILE_WORDS, max_size=40).map(" ".join)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(_HOSTILE_TEXT, _HOSTILE_TEXT, _HOSTILE_TEXT), min_size=3, max_size=6))
def test_hostile_text_never_stops_the_offline_run(tmp_path_factory, fields):
    connection = db.connect(tmp_path_factory.mktemp("pile") / "pile.db")
    try:
        insert_items(
            connection,
            [
                {"id": f"hostile:{n}", "title": title, "abstract": abstract, "content": content}
                for n, (title, abstract, content) in enumerate(fields)
            ],
        )
        report = summarise_pile(connection, OFFLINE)
        assert report.done + report.failed == len(fields) and report.pending == 0
        assert len(statuses(connection)) == len(fields)  # every item has its row, ok or failed
        rerun = summarise_pile(connection, OFFLINE)  # a re-run does not stop at the same item
        assert rerun.cached == report.done and rerun.done + rerun.failed == report.failed
    finally:
        connection.close()
