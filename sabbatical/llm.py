"""The one LLM path: an OpenAI-compatible endpoint, structured answers, retries, a budget, a call log.

Everything that asks a model something goes through `LLM`: OpenAI itself and any OpenAI-compatible
server (vLLM, Ollama, llama.cpp server, LM Studio) work the same way, through the `openai` client with
the workspace's base_url, model and timeout. What this module guarantees:

- Structured output. A JSON schema is requested (`response_format` type json_schema, strict). A server
  that rejects that gets JSON mode (json_object) with the schema spelled out in the prompt, and the
  pile's `settings` table remembers it for that endpoint, so later runs do not ask again. Every answer
  is validated with pydantic; an invalid one is sent back once with the validation error, and a second
  invalid answer is a failure for that item.
- A total deadline per request. `[llm] timeout` bounds a whole request (connecting, waiting, reading
  the answer), not each socket read: a server that trickles bytes or goes silent is cut off in time,
  and the call log records how long the try really took. An optional run deadline bounds everything:
  no request starts, and no retry waits, past it.
- Retries. 429, 5xx, timeouts, dropped connections and unparseable answers (an HTML page with HTTP
  200) are retried with exponential backoff and jitter, waiting at least what Retry-After says, at
  most `MAX_RETRY_AFTER_SECONDS`. The openai client's own retries are off so that every attempt is
  logged and Retry-After is honoured exactly.
- A budget (tokens, or USD through `[llm] prices`). What is sent is counted: tokens are estimated from
  the text (about four characters a token) when the endpoint reports no usage or an unbelievable one
  (negative, absurd), and every request holds its estimated cost before it is sent, so many requests
  in flight cannot overspend together. When the budget is spent the run stops cleanly and the work
  not yet started stays pending.
- Every request is a row in `llm_calls`: provider, model, prompt version, item, input hash, structured
  mode, tokens, latency, cost, status, error, attempt number.
- No silent fallback: if the configured endpoint fails, the caller gets `LLMFailure`, never an answer
  from somewhere else. The exceptions live in `sabbatical.errors`.

The `openai` package is imported only when the first request is made. This module owns the endpoint,
the requests and their retries and deadlines; the budget and token counting (`llm_budget`), the
structured-output schema and parsing (`llm_structured`), reading the call log (`llm_log`) and the HTTP
wire details (`llm_wire`) live beside it, and everything public is imported from here.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import llm_wire as wire
from .config import LLMConfig
from .errors import (
    EndpointUnreachable,
    LLMFailure,
    RunDeadlineReached,
    RunStopped,
    SabbaticalError,
    StructuredModeRejected,
)
from .llm_budget import (
    CHARS_PER_TOKEN,
    IMAGE_TOKENS,
    Budget,
    BudgetHold,
    budget_from_config,
    estimate_message_tokens,
    estimate_tokens,
    input_ceiling,
    parse_budget,
    trusted_tokens,
)
from .llm_log import LoggedCall, recent_calls
from .llm_structured import Model, StructuredAnswer, parse_answer, strict_json_schema, with_schema_in_prompt
from .reading.summary_rows import endpoint_base_url  # the offline/endpoint rule, read without this module too

# What callers import from here; the budget, the structured-output parsing and the call log's reader
# live in llm_budget, llm_structured and llm_log.
__all__ = [
    "CHARS_PER_TOKEN",
    "IMAGE_TOKENS",
    "LLM",
    "SETTING_PREFIX",
    "STRUCTURED_MODES",
    "Budget",
    "BudgetHold",
    "CallContext",
    "Endpoint",
    "LoggedCall",
    "StructuredAnswer",
    "budget_from_config",
    "embed_texts",
    "estimate_message_tokens",
    "estimate_tokens",
    "input_hash",
    "parse_answer",
    "parse_budget",
    "recent_calls",
    "resolve_endpoint",
    "strict_json_schema",
    "trusted_tokens",
]

STRUCTURED_MODES = ("json_schema", "json_object")
SETTING_PREFIX = "llm.structured_mode:"
# A server unreachable for this many items in a row (after their retries) stops the run.
UNREACHABLE_STREAK_LIMIT = 3
# However long a server asks us to wait, one wait is at most this long (and never past the run's deadline).
MAX_RETRY_AFTER_SECONDS = 60.0
CONNECT_SECONDS = 10.0
# The helper thread that carries a request gets this long past the deadline to stop on its own.
DEADLINE_GRACE_SECONDS = 0.25


# -- the endpoint ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    """A configured OpenAI-compatible endpoint. The API key never appears in its repr."""

    base_url: str
    model: str
    api_key: str = field(repr=False)
    timeout: float = 60.0
    concurrency: int = 8
    max_retries: int = 4
    prices: Mapping[str, list[float]] = field(default_factory=dict)

    @property
    def provider(self) -> str:
        """The endpoint's host (and port), as the call log records it."""
        return urlsplit(self.base_url).netloc or self.base_url

    def cost_usd(self, tokens_in: int, tokens_out: int) -> float | None:
        price = self.prices.get(self.model)
        if not price or len(price) != 2:
            return None
        return (tokens_in * price[0] + tokens_out * price[1]) / 1_000_000


def resolve_endpoint(config: LLMConfig, environ: Mapping[str, str] | None = None) -> Endpoint | None:
    """The endpoint `[llm]` and the environment describe, or None when none is configured (offline)."""
    environ = os.environ if environ is None else environ
    base_url = endpoint_base_url(config, environ)
    if not base_url:
        return None
    # Local servers usually need no key; the client insists on one, so a placeholder stands in.
    api_key = environ.get(config.api_key_env, "") or "no-key-configured"
    return Endpoint(
        base_url=base_url.rstrip("/"),
        model=config.model,
        api_key=api_key,
        timeout=config.timeout,
        concurrency=max(1, config.concurrency),
        max_retries=max(0, config.max_retries),
        prices=dict(config.prices),
    )


@dataclass
class _Reply:
    content: str | None
    tokens_in: int
    tokens_out: int
    latency_ms: float
    attempt: int
    context: CallContext | None = None  # the request as logged (with its mode and input hash)


@dataclass
class CallContext:
    """What the call log records about the work a request belongs to."""

    purpose: str
    prompt_version: str | None = None
    item_id: str | None = None
    input_hash: str | None = None
    mode: str | None = None


@dataclass
class _Sent:
    """One request that got an answer: what `send` returned, how long it took, and what it holds."""

    result: Any
    latency_ms: float
    attempt: int
    hold: BudgetHold


def input_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# An invalid answer is sent back to the model so it can correct itself; this much of it is enough.
MAX_ECHOED_ANSWER_CHARS = 8_000


class LLM:
    """Requests to one endpoint, logged to one pile. Share one instance between worker threads.

    `deadline` (seconds from now) bounds the whole run: no request starts and no retry waits past it.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        conn: sqlite3.Connection,
        budget: Budget | None = None,
        *,
        lock: threading.Lock | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        deadline: float | None = None,
    ):
        self.endpoint = endpoint
        self.conn = conn
        self.budget = budget or Budget()
        self.lock = lock or threading.Lock()  # guards every use of `conn`
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.run_seconds = deadline
        self.run_deadline = None if deadline is None else time.monotonic() + max(0.0, deadline)
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._unreachable_streak = 0
        self._mode: str | None = None
        # Imported here, on the caller's thread: request threads importing openai and its HTTP library
        # at the same moment can see a half-initialised module.
        import openai  # noqa: F401

        wire.http_errors()

    # -- the client ----------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    base_url=self.endpoint.base_url,
                    api_key=self.endpoint.api_key,
                    timeout=self.endpoint.timeout,
                    max_retries=0,
                )
            return self._client

    # -- structured mode memory --------------------------------------------------------------------
    @property
    def setting_key(self) -> str:
        return SETTING_PREFIX + self.endpoint.base_url

    def structured_mode(self) -> str:
        if self._mode is None:
            with self.lock:
                row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (self.setting_key,)).fetchone()
            self._mode = row["value"] if row and row["value"] in STRUCTURED_MODES else STRUCTURED_MODES[0]
        return self._mode

    def remember_structured_mode(self, mode: str) -> None:
        self._mode = mode
        with self.lock:
            self.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                "SET value = excluded.value, updated_at = datetime('now')",
                (self.setting_key, mode),
            )

    # -- the public calls --------------------------------------------------------------------------
    def structured(
        self, messages: list[dict], model: type[Model], context: CallContext, *, max_tokens: int = 1500
    ) -> StructuredAnswer[Model]:
        """Ask for an answer shaped like `model`; validated, retried once on an invalid answer.

        Raises LLMFailure for this unit of work, or RunStopped when the run must stop (budget spent,
        endpoint unreachable, the run's deadline passed) — then nothing is recorded for the unit, and
        it stays pending.
        """
        schema = strict_json_schema(model)
        conversation = [dict(m) for m in messages]
        totals: StructuredAnswer[Any] = StructuredAnswer(
            value=None, calls=0, tokens_in=0, tokens_out=0, cost_usd=None, latency_ms=0.0, mode=""
        )
        problem = ""
        for _ in range(2):
            reply = self._complete(conversation, model.__name__, schema, context, max_tokens, totals)
            try:
                totals.value = parse_answer(reply.content, model)
            except ValueError as exc:
                problem = str(exc)
                self._log(reply.context or context, reply, "invalid", problem)
                conversation += [
                    {"role": "assistant", "content": (reply.content or "")[:MAX_ECHOED_ANSWER_CHARS]},
                    {
                        "role": "user",
                        "content": f"That reply is invalid: {problem}. Reply again with "
                        "only the corrected JSON object.",
                    },
                ]
                continue
            self._log(reply.context or context, reply, "ok", None)
            return totals
        raise LLMFailure("invalid", f"the model's answer was invalid twice: {problem}", totals.calls)

    def embed(self, texts: list[str], context: CallContext, model: str | None = None) -> list[list[float]]:
        """Embeddings for `texts` from the endpoint, in order (one logged request, with retries)."""
        name = model or self.endpoint.model
        context = CallContext(
            context.purpose,
            context.prompt_version,
            context.item_id,
            context.input_hash or input_hash([name, texts]),
            None,
        )
        estimate = sum(estimate_tokens(str(text)) for text in texts)

        def send(deadline: float) -> tuple[list[list[float]], dict]:
            data = self._exchange(
                self.client.embeddings.with_streaming_response.create, {"model": name, "input": texts}, deadline
            )
            return wire.embedding_parts(data, len(texts))

        sent = self._request(send, context, estimate)
        vectors, usage = sent.result
        tokens = trusted_tokens(usage.get("prompt_tokens"), estimate, input_ceiling(estimate))
        self._settle(sent.hold, tokens, 0)
        self._log(context, _Reply(None, tokens, 0, sent.latency_ms, sent.attempt), "ok", None, model=name)
        return vectors

    # -- one chat completion, with the structured-mode fallback -----------------------------------
    def _complete(
        self,
        conversation: list[dict],
        name: str,
        schema: dict,
        context: CallContext,
        max_tokens: int,
        totals: StructuredAnswer,
    ) -> _Reply:
        while True:
            mode = self.structured_mode()
            messages = conversation if mode == "json_schema" else with_schema_in_prompt(conversation, schema)
            if mode == "json_schema":
                response_format = {
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": schema, "strict": True},
                }
            else:
                response_format = {"type": "json_object"}
            call = CallContext(
                context.purpose,
                context.prompt_version,
                context.item_id,
                context.input_hash or input_hash([self.endpoint.model, messages]),
                mode,
            )
            params = {
                "model": self.endpoint.model,
                "messages": messages,
                "response_format": response_format,
                "max_tokens": max_tokens,
            }
            estimate = estimate_message_tokens(messages)

            def send(deadline: float, params: dict = params) -> tuple[str | None, dict]:
                data = self._exchange(self.client.chat.completions.with_streaming_response.create, params, deadline)
                return wire.completion_parts(data)

            try:
                sent = self._request(send, call, estimate, max_tokens, first_attempt=totals.calls + 1)
            except StructuredModeRejected:
                totals.calls += 1
                self.remember_structured_mode("json_object")
                continue
            content, usage = sent.result
            reply = _Reply(
                content,
                trusted_tokens(usage.get("prompt_tokens"), estimate, input_ceiling(estimate)),
                trusted_tokens(
                    usage.get("completion_tokens"),
                    estimate_tokens(content or ""),
                    max(max_tokens, input_ceiling(estimate_tokens(content or ""))),
                ),
                sent.latency_ms,
                sent.attempt,
                call,
            )
            totals.calls = sent.attempt
            totals.tokens_in += reply.tokens_in
            totals.tokens_out += reply.tokens_out
            totals.latency_ms += sent.latency_ms
            totals.mode = mode
            cost = self._settle(sent.hold, reply.tokens_in, reply.tokens_out)
            if cost is not None:
                totals.cost_usd = (totals.cost_usd or 0.0) + cost
            return reply

    # -- one HTTP exchange, within a total deadline -----------------------------------------------
    def _exchange(self, create: Callable[..., Any], params: dict, deadline: float) -> dict:
        """Send one request through the openai client and read its whole JSON answer by `deadline`.

        Each socket read waits at most what is left of the deadline, and the deadline is checked after
        each chunk of the answer, so a server that trickles bytes is cut off in time.
        """
        import openai

        remaining = max(0.01, deadline - time.monotonic())
        timeout = openai.Timeout(remaining, connect=min(remaining, CONNECT_SECONDS))
        with create(**params, timeout=timeout) as response:
            body = wire.read_body(response, deadline)
            content_type = str(response.headers.get("content-type", ""))
        return wire.json_object(body, content_type)

    def _within(self, send: Callable[[float], Any], deadline: float) -> Any:
        """Run `send(deadline)` on a helper thread and wait for it no later than the deadline.

        The openai client's timeouts are per socket read; a server trickling its headers or an error
        body one byte at a time would hold the request far longer. The helper thread stops by itself at
        its next read; the caller does not wait for that.
        """
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["result"] = send(deadline)
            except BaseException as exc:  # handed to the caller as it is
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=run, name="llm-request", daemon=True).start()
        if not done.wait(max(0.0, deadline - time.monotonic()) + DEADLINE_GRACE_SECONDS):
            raise LLMFailure("timeout", "")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    # -- retries -----------------------------------------------------------------------------------
    def _request(
        self,
        send: Callable[[float], Any],
        context: CallContext,
        tokens_in: int,
        max_out: int = 0,
        first_attempt: int = 1,
    ) -> _Sent:
        """Send with retries on transient failures; every failed attempt is logged. Each attempt holds
        its estimated cost (`tokens_in` sent, at most `max_out` back) while it is in flight; the caller
        settles the hold of the attempt that succeeded."""
        attempt = first_attempt - 1
        retries = 0
        while True:
            self._gate()
            hold = self.budget.reserve(tokens_in + max_out, self.endpoint.cost_usd(tokens_in, max_out))
            attempt += 1
            started = time.monotonic()
            deadline = self._request_deadline(started)
            try:
                result = self._within(send, deadline)
            except Exception as exc:
                failure, retry_after, transient = self._failed_try(
                    exc, context, (started, deadline), attempt, hold, tokens_in
                )
            else:
                self._unreachable_streak = 0
                return _Sent(result, (time.monotonic() - started) * 1000, attempt, hold)
            wait = self._delay(retries + 1, retry_after)
            if not transient or retries >= self.endpoint.max_retries or self._past_run_deadline(wait):
                raise self._give_up(failure, attempt, transient and retries < self.endpoint.max_retries)
            retries += 1
            time.sleep(wait)

    def _request_deadline(self, started: float) -> float:
        deadline = started + self.endpoint.timeout
        return deadline if self.run_deadline is None else min(deadline, self.run_deadline)

    def _past_run_deadline(self, wait: float) -> bool:
        return self.run_deadline is not None and time.monotonic() + wait >= self.run_deadline

    def _give_up(self, failure: LLMFailure, attempt: int, cut_by_deadline: bool) -> LLMFailure:
        if cut_by_deadline:
            failure = LLMFailure(
                failure.status, f"{failure.message}; not retried, since the run's deadline comes first"
            )
        failure.calls = attempt
        self._note_failure(failure)
        return failure

    def _failed_try(
        self,
        exc: Exception,
        context: CallContext,
        window: tuple[float, float],
        attempt: int,
        hold: BudgetHold,
        tokens_in: int,
    ) -> tuple[LLMFailure, float | None, bool]:
        """Log a failed try and settle its hold: (the failure, Retry-After seconds, whether to retry).

        A try that reached the model (it timed out, or its answer was unreadable) is charged for the
        tokens it sent, which the endpoint may bill; a refused one costs nothing.
        """
        import openai

        started, deadline = window

        retry_after: float | None = None
        charged = 0
        if isinstance(exc, openai.APIStatusError):
            failure = self._status_failure(exc, context, started, attempt, hold)
            if exc.status_code == 429 or exc.status_code >= 500:
                retry_after = wire.retry_after_seconds(exc.response.headers)
            transient = exc.status_code in (408, 409, 429) or exc.status_code >= 500
        elif isinstance(exc, openai.APITimeoutError) or (isinstance(exc, LLMFailure) and exc.status == "timeout"):
            failure, transient = LLMFailure("timeout", self._late(started, deadline)), True
            charged = tokens_in
        elif isinstance(exc, openai.APIConnectionError):
            failure = LLMFailure("unreachable", f"cannot connect to {self.endpoint.base_url}: {exc}")
            transient = True
        elif isinstance(exc, LLMFailure):  # an answer that is not what was asked for (an HTML page…)
            failure, transient, charged = exc, True, tokens_in
        elif isinstance(exc, openai.OpenAIError):
            failure, transient = LLMFailure("http_error", f"the openai client failed: {str(exc)[:300]}"), False
        else:
            self.budget.release(hold)
            raise exc
        self._settle(hold, charged, 0)
        self._log_failure(context, started, attempt, failure, charged)
        return failure, retry_after, transient

    def _late(self, started: float, deadline: float) -> str:
        took = time.monotonic() - started
        if deadline < started + self.endpoint.timeout:
            return f"no answer before the run's deadline (this try took {took:.1f} s)"
        return (
            f"no answer within {self.endpoint.timeout:g} s, the request's total deadline (this try took "
            f"{took:.1f} s) — raise [llm] timeout if the model is slow"
        )

    def _status_failure(
        self, exc: Any, context: CallContext, started: float, attempt: int, hold: BudgetHold
    ) -> LLMFailure:
        message = wire.error_text(exc)
        if context.mode == "json_schema" and wire.rejects_structured_output(exc.status_code, message):
            self.budget.release(hold)
            self._log_failure(
                context,
                started,
                attempt,
                LLMFailure(
                    "http_error",
                    f"HTTP {exc.status_code}: json_schema not supported, switching to json_object: {message}",
                ),
            )
            raise StructuredModeRejected(message)
        return LLMFailure("http_error", f"HTTP {exc.status_code}: {message}")

    def _delay(self, retry: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_SECONDS) + random.uniform(0, 0.1)
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (retry - 1))
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter": never immediate, never in lockstep

    def _gate(self) -> None:
        if self._unreachable_streak >= UNREACHABLE_STREAK_LIMIT:
            raise EndpointUnreachable(
                f"{self.endpoint.base_url} was unreachable for {self._unreachable_streak} "
                "items in a row; check [llm] base_url and that the server is running"
            )
        if self.run_deadline is not None and time.monotonic() >= self.run_deadline:
            raise RunDeadlineReached(f"the run's deadline of {self.run_seconds:g} s passed")

    def _note_failure(self, failure: LLMFailure) -> None:
        if failure.status == "unreachable":
            self._unreachable_streak += 1

    # -- accounting --------------------------------------------------------------------------------
    def _settle(self, hold: BudgetHold, tokens_in: int, tokens_out: int) -> float | None:
        cost = self.endpoint.cost_usd(tokens_in, tokens_out)
        self.budget.settle(hold, tokens_in, tokens_out, cost)
        return cost

    def _log_failure(
        self, context: CallContext, started: float, attempt: int, failure: LLMFailure, tokens_in: int = 0
    ) -> None:
        reply = _Reply(None, tokens_in, 0, (time.monotonic() - started) * 1000, attempt)
        status = "timeout" if failure.status == "timeout" else "http_error"
        self._log(context, reply, status, failure.message)

    def _log(
        self, context: CallContext, reply: _Reply, status: str, error: str | None, model: str | None = None
    ) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT INTO llm_calls (purpose, provider, model, prompt_version, item_id, input_hash, "
                "structured_mode, tokens_in, tokens_out, latency_ms, cost_usd, status, error, attempt) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    context.purpose,
                    self.endpoint.provider,
                    model or self.endpoint.model,
                    context.prompt_version,
                    context.item_id,
                    context.input_hash,
                    context.mode,
                    reply.tokens_in,
                    reply.tokens_out,
                    round(reply.latency_ms, 1),
                    self.endpoint.cost_usd(reply.tokens_in, reply.tokens_out),
                    status,
                    error,
                    reply.attempt,
                ),
            )


EMBED_BATCH = 128


def embed_texts(
    config: Any, texts: list[str], conn: sqlite3.Connection | None = None, environ: Mapping[str, str] | None = None
) -> list[list[float]]:
    """Embeddings of `texts` from the configured endpoint with `[embed] model`, in order.

    `config` is the workspace `Config`. Requests are batched, retried like every other call, and
    logged to `conn` (the pile) when given. An unconfigured or failing endpoint is an error, never a
    quiet switch to another embedder.
    """
    from . import db

    endpoint = resolve_endpoint(config.llm, environ)
    if endpoint is None:
        raise SabbaticalError(
            '[embed] backend = "openai" needs an endpoint — set [llm] base_url in sabbatical.toml '
            '(or OPENAI_BASE_URL), or use backend = "tfidf"'
        )
    log = conn if conn is not None else db.connect(":memory:")
    client = LLM(endpoint, log)
    vectors: list[list[float]] = []
    try:
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            vectors += client.embed(batch, CallContext("embed"), model=config.embed.model or None)
    except (LLMFailure, RunStopped) as exc:
        raise SabbaticalError(
            f"embedding request to {endpoint.base_url} failed: {exc} — check [llm] base_url and [embed] model"
        ) from None
    finally:
        if conn is None:
            log.close()
    return vectors
