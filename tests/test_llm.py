"""The one LLM path against a real HTTP server on loopback, through the real `openai` client."""

from __future__ import annotations

import json

import pytest

from sabbatical import db
from sabbatical.config import LLMConfig, load_config
from sabbatical.errors import BudgetReached, EndpointUnreachable, LLMFailure, SabbaticalError, UsageError
from sabbatical.llm import (
    LLM,
    SETTING_PREFIX,
    Budget,
    CallContext,
    Endpoint,
    embed_texts,
    parse_budget,
    recent_calls,
    resolve_endpoint,
)
from sabbatical.reading.prompt_files import load_prompt
from sabbatical.reading.summary_schema import SourceDocument, Summary
from tests.helpers.fake_openai import FakeOpenAI, configure_llm

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
    with FakeOpenAI(latency=0.01, hang_seconds=1.0) as fake:
        yield fake


@pytest.fixture
def conn(tmp_path):
    connection = db.connect(tmp_path / "pile.db")
    yield connection
    connection.close()


def make_llm(server, conn, budget=None, **endpoint) -> LLM:
    settings = {"timeout": 2.0, "max_retries": 2, **endpoint}
    return LLM(
        Endpoint(base_url=server.url, model="test-model", api_key="sk-test", **settings),
        conn,
        budget,
        backoff_base=0.01,
    )


def ask(llm: LLM):
    messages = load_prompt("summarise-v1").messages(DOCUMENT)
    return llm.structured(messages, Summary, CallContext("summarise", "summarise-v1", DOCUMENT.id))


def calls(conn) -> list[dict]:
    return [dict(r) for r in conn.execute("SELECT * FROM llm_calls ORDER BY id")]


def test_a_structured_answer_is_validated_and_the_call_logged(server, conn):
    answer = ask(make_llm(server, conn))
    assert isinstance(answer.value, Summary) and answer.calls == 1 and answer.mode == "json_schema"
    request = server.chat_requests[0]
    assert request.response_format == "json_schema"
    assert request.body["response_format"]["json_schema"]["strict"] is True
    (row,) = calls(conn)
    assert row["status"] == "ok" and row["purpose"] == "summarise" and row["item_id"] == "arxiv:1"
    assert row["provider"] == server.url.split("//")[1].split("/")[0] and row["model"] == "test-model"
    assert row["prompt_version"] == "summarise-v1" and row["structured_mode"] == "json_schema"
    assert row["tokens_in"] > 0 and row["tokens_out"] > 0 and row["latency_ms"] > 0 and len(row["input_hash"]) == 64


@pytest.mark.parametrize("status", [400, 500], ids=["400", "500 as llama-cpp-python answers"])
def test_a_server_rejecting_json_schema_gets_json_mode_and_it_is_remembered(server, conn, status):
    server.reject_json_schema = True
    server.reject_status = status
    first = ask(make_llm(server, conn))
    assert first.mode == "json_object"
    assert [r.response_format for r in server.chat_requests] == ["json_schema", "json_object"]
    schema_in_prompt = server.chat_requests[1].body["messages"][0]["content"]
    assert "validates against this JSON schema" in schema_in_prompt and '"key_claims"' in schema_in_prompt
    remembered = conn.execute("SELECT value FROM settings WHERE key = ?", (SETTING_PREFIX + server.url,)).fetchone()
    assert remembered["value"] == "json_object"
    assert [(r["status"], r["structured_mode"]) for r in calls(conn)] == [
        ("http_error", "json_schema"),
        ("ok", "json_object"),
    ]

    ask(make_llm(server, conn))  # a later run, a new client: it does not try json_schema again
    assert [r.response_format for r in server.chat_requests] == ["json_schema", "json_object", "json_object"]


def test_an_invalid_answer_is_sent_back_once_with_the_validation_error(server, conn):
    server.queue("schema_violation")
    answer = ask(make_llm(server, conn))
    assert answer.calls == 2
    retry = server.chat_requests[1].body["messages"]
    assert retry[-2]["role"] == "assistant" and "groundbreaking" in retry[-2]["content"]
    assert retry[-1]["role"] == "user" and "invalid" in retry[-1]["content"] and "contribution" in retry[-1]["content"]
    assert [(r["status"], r["attempt"]) for r in calls(conn)] == [("invalid", 1), ("ok", 2)]


def test_an_answer_invalid_twice_is_a_failure(server, conn):
    server.queue("invalid_json", "schema_violation")
    with pytest.raises(LLMFailure) as failure:
        ask(make_llm(server, conn))
    assert failure.value.status == "invalid" and "invalid twice" in failure.value.message
    assert [r["status"] for r in calls(conn)] == ["invalid", "invalid"]
    assert "not valid JSON" in calls(conn)[0]["error"]


def test_429_is_retried_after_waiting_what_retry_after_says(server, conn):
    server.queue("rate_limit")
    answer = ask(make_llm(server, conn))
    first, second = server.chat_requests
    assert second.at - first.at >= server.retry_after  # Retry-After: 1 was honoured, not the 10 ms backoff
    assert [(r["status"], r["attempt"]) for r in calls(conn)] == [("http_error", 1), ("ok", 2)]
    assert "HTTP 429" in calls(conn)[0]["error"] and answer.calls == 2


def test_an_ordinary_500_is_not_taken_for_a_json_schema_rejection(server, conn):
    server.queue("server_error")
    ask(make_llm(server, conn))
    assert [r.response_format for r in server.chat_requests] == ["json_schema", "json_schema"]
    assert conn.execute("SELECT COUNT(*) FROM settings WHERE key LIKE 'llm.%'").fetchone()[0] == 0


def test_5xx_is_retried_with_backoff_until_the_retries_run_out(server, conn):
    server.queue("server_error")
    assert ask(make_llm(server, conn)).calls == 2
    server.queue("server_error", "server_error", "server_error")
    with pytest.raises(LLMFailure) as failure:
        ask(make_llm(server, conn))
    assert failure.value.status == "http_error" and "HTTP 500" in failure.value.message
    assert [r["status"] for r in calls(conn)] == ["http_error", "ok", "http_error", "http_error", "http_error"]


def test_a_timeout_is_logged_and_retried(server, conn):
    server.queue("timeout")
    answer = ask(make_llm(server, conn, timeout=0.3))
    assert answer.calls == 2
    assert [r["status"] for r in calls(conn)] == ["timeout", "ok"]
    assert "no answer within 0.3 s" in calls(conn)[0]["error"]


def test_the_budget_is_checked_before_every_request(server, conn):
    budget = Budget(tokens=1)
    llm = make_llm(server, conn, budget)
    ask(llm)  # the first request is allowed; it spends the budget
    assert budget.tokens > 1
    with pytest.raises(BudgetReached, match="token budget of 1 reached"):
        ask(llm)
    assert len(server.chat_requests) == 1 and len(calls(conn)) == 1


def test_a_dollar_budget_uses_the_price_table(server, conn):
    budget = Budget(usd=0.000001)
    llm = make_llm(server, conn, budget, prices={"test-model": [1.0, 2.0]})
    ask(llm)
    row = calls(conn)[0]
    assert row["cost_usd"] == pytest.approx((row["tokens_in"] * 1.0 + row["tokens_out"] * 2.0) / 1e6)
    with pytest.raises(BudgetReached, match=r"budget of \$0.00 reached"):
        ask(llm)


@pytest.mark.parametrize(
    "text, tokens, usd",
    [
        ("5000", 5000, 0.0),
        ("20k", 20000, 0.0),
        ("1,000", 1000, 0.0),
        ("$0.50", 0, 0.5),
        ("2usd", 0, 2.0),
        ("0.25 $", 0, 0.25),
    ],
)
def test_parse_budget(text, tokens, usd):
    budget = parse_budget(text)
    assert (budget.limit_tokens, budget.limit_usd) == (tokens, usd)


def test_a_bad_budget_is_a_usage_error():
    with pytest.raises(UsageError, match="neither tokens"):
        parse_budget("lots")


def test_an_unreachable_endpoint_stops_the_run_after_a_few_items(conn):
    with FakeOpenAI() as gone:
        url = gone.url
    llm = LLM(Endpoint(base_url=url, model="m", api_key="k", timeout=1, max_retries=0), conn)
    for _ in range(3):
        with pytest.raises(LLMFailure, match="cannot connect"):
            ask(llm)
    with pytest.raises(EndpointUnreachable, match="unreachable for 3 items in a row"):
        ask(llm)
    assert len(calls(conn)) == 3


def test_the_endpoint_comes_from_config_then_environment_and_hides_the_key():
    assert resolve_endpoint(LLMConfig(), {}) is None
    endpoint = resolve_endpoint(
        LLMConfig(model="llama", api_key_env="MY_KEY"),
        {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1/", "MY_KEY": "sk-secret"},
    )
    assert endpoint.base_url == "http://127.0.0.1:9/v1" and endpoint.model == "llama"
    assert endpoint.api_key == "sk-secret" and "sk-secret" not in repr(endpoint)
    configured = resolve_endpoint(LLMConfig(base_url="http://a:1/v1"), {"OPENAI_BASE_URL": "http://b:2/v1"})
    assert configured.base_url == "http://a:1/v1" and configured.provider == "a:1"


def test_embeddings_go_through_the_same_path_and_are_logged(server, workspace, conn):
    configure_llm(workspace.root, base_url=server.url)
    config = load_config(workspace.config_path)
    vectors = embed_texts(
        config, ["attention heads copy tokens", "attention heads copy tokens", "a recipe for soup"], conn=conn
    )
    assert len(vectors) == 3 and vectors[0] == vectors[1] != vectors[2]
    assert abs(sum(v * v for v in vectors[0]) - 1) < 1e-4
    (row,) = calls(conn)
    assert row["purpose"] == "embed" and row["status"] == "ok" and row["tokens_in"] > 0
    assert json.loads(json.dumps(server.requests[0].body))["input"][2] == "a recipe for soup"


def test_embeddings_without_an_endpoint_say_what_to_configure(workspace):
    with pytest.raises(SabbaticalError, match=r"needs an endpoint — set \[llm\] base_url"):
        embed_texts(load_config(workspace.config_path), ["x"])


def test_recent_calls_reads_the_log_newest_first(server, conn):
    server.queue("server_error")
    ask(make_llm(server, conn))
    logged = recent_calls(conn, limit=10)
    assert [c.status for c in logged] == ["ok", "http_error"]
    assert [c.status for c in recent_calls(conn, status="http_error")] == ["http_error"]
    assert recent_calls(conn, item_id="nothing") == []
