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

The `openai` package is imported only when the first request is made.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from . import llm_wire as wire
from .config import LLMConfig
from .errors import (
    BudgetReached,
    EndpointUnreachable,
    LLMFailure,
    RunDeadlineReached,
    RunStopped,
    SabbaticalError,
    StructuredModeRejected,
    UsageError,
)

STRUCTURED_MODES = ("json_schema", "json_object")
SETTING_PREFIX = "llm.structured_mode:"
# A server unreachable for this many items in a row (after their retries) stops the run.
UNREACHABLE_STREAK_LIMIT = 3
# However long a server asks us to wait, one wait is at most this long (and never past the run's deadline).
MAX_RETRY_AFTER_SECONDS = 60.0
CONNECT_SECONDS = 10.0
# The helper thread that carries a request gets this long past the deadline to stop on its own.
DEADLINE_GRACE_SECONDS = 0.25
CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1_000  # what an image part of a message is counted as (its base64 text is not)

Model = TypeVar("Model", bound=BaseModel)


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
    base_url = config.base_url or environ.get("OPENAI_BASE_URL", "")
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


# -- the budget -----------------------------------------------------------------------------------
@dataclass
class BudgetHold:
    """Tokens (and dollars) a request in flight holds against the budget until it is settled."""

    tokens: int
    usd: float
    open: bool = True


class Budget:
    """Tokens and dollars spent in one run, against optional limits (0 = no limit). Thread-safe.

    A request holds its estimated cost before it is sent (`reserve`) and is settled with what it
    really cost (`settle`) or let go (`release`). A new request is refused while what is spent plus
    what is held reaches a limit, so the budget is overrun by at most one request.
    """

    def __init__(self, tokens: int = 0, usd: float = 0.0):
        self.limit_tokens = tokens
        self.limit_usd = usd
        self.tokens_in = 0
        self.tokens_out = 0
        self.usd = 0.0
        self.priced = False  # whether any request had a price (else `usd` means nothing)
        self.held_tokens = 0
        self.held_usd = 0.0
        self._lock = threading.Lock()

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    def charge(self, tokens_in: int, tokens_out: int, usd: float | None) -> None:
        with self._lock:
            self._charge(tokens_in, tokens_out, usd)

    def check(self) -> None:
        """Raise BudgetReached when a limit is spent or held (requests already in flight still finish)."""
        with self._lock:
            self._check()

    def reserve(self, tokens: int, usd: float | None) -> BudgetHold:
        """Hold a request's estimated cost; raises BudgetReached when no budget is left for it."""
        with self._lock:
            self._check()
            hold = BudgetHold(max(0, tokens), max(0.0, usd or 0.0))
            self.held_tokens += hold.tokens
            self.held_usd += hold.usd
            return hold

    def settle(self, hold: BudgetHold, tokens_in: int, tokens_out: int, usd: float | None) -> None:
        """Replace what `hold` held with what the request cost."""
        with self._lock:
            self._release(hold)
            self._charge(tokens_in, tokens_out, usd)

    def release(self, hold: BudgetHold) -> None:
        """The request cost nothing (refused before the model ran): let its hold go."""
        with self._lock:
            self._release(hold)

    def _release(self, hold: BudgetHold) -> None:
        if hold.open:
            hold.open = False
            self.held_tokens -= hold.tokens
            self.held_usd -= hold.usd

    def _charge(self, tokens_in: int, tokens_out: int, usd: float | None) -> None:
        self.tokens_in += max(0, tokens_in)
        self.tokens_out += max(0, tokens_out)
        if usd is not None:
            self.usd += max(0.0, usd)
            self.priced = True

    def _check(self) -> None:
        held = f", {self.held_tokens:,} held by requests in flight" if self.held_tokens else ""
        if self.limit_tokens and self.tokens + self.held_tokens >= self.limit_tokens:
            raise BudgetReached(f"token budget of {self.limit_tokens:,} reached ({self.tokens:,} used{held})")
        if self.limit_usd and self.usd + self.held_usd >= self.limit_usd:
            raise BudgetReached(f"budget of ${self.limit_usd:.2f} reached (${self.usd:.4f} spent)")


def parse_budget(text: str) -> Budget:
    """'5000' or '5k' tokens, '$0.50' or '0.5usd' dollars."""
    cleaned = text.strip().lower().replace(",", "").replace("_", "")
    dollars = re.fullmatch(r"\$\s*([0-9]*\.?[0-9]+)|([0-9]*\.?[0-9]+)\s*(?:usd|\$)", cleaned)
    if dollars:
        return Budget(usd=float(dollars.group(1) or dollars.group(2)))
    tokens = re.fullmatch(r"([0-9]+)(k|m)?", cleaned)
    if tokens:
        scale = {"k": 1_000, "m": 1_000_000}.get(tokens.group(2) or "", 1)
        return Budget(tokens=int(tokens.group(1)) * scale)
    raise UsageError(f"--budget {text!r} is neither tokens (5000, 20k) nor dollars ($0.50)")


def budget_from_config(config: LLMConfig) -> Budget:
    return Budget(tokens=config.budget_tokens, usd=config.budget_usd)


# -- counting tokens ------------------------------------------------------------------------------
def estimate_tokens(text: str) -> int:
    """About four characters a token: what a request is counted as when the endpoint does not say."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_message_tokens(messages: list[dict]) -> int:
    """The estimated input tokens of chat messages (a few tokens of framing each)."""
    total = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):  # parts: text counts by its length, an image by a flat figure
            total += sum(
                estimate_tokens(str(part.get("text", ""))) if part.get("type") == "text" else IMAGE_TOKENS
                for part in content
                if isinstance(part, dict)
            )
        else:
            total += estimate_tokens(str(content or ""))
        total += 4
    return total


def trusted_tokens(reported: Any, estimate: int, ceiling: int) -> int:
    """The endpoint's token count when it is believable, else our estimate.

    Missing, non-numeric, negative, above `ceiling`, or below a tenth of the estimate (a server
    reporting 0 for a long prompt) all count as not reported.
    """
    if isinstance(reported, bool) or not isinstance(reported, (int, float)) or not math.isfinite(reported):
        return estimate
    count = int(reported)
    if count != reported or count < estimate // 10 or count > ceiling:
        return estimate
    return count


def _input_ceiling(estimate: int) -> int:
    return 10 * estimate + 1_000


# -- structured output ----------------------------------------------------------------------------
_UNSUPPORTED_IN_STRICT = ("minLength", "maxLength", "default")


@functools.cache
def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the form strict structured output requires.

    Every object lists all its properties as required and allows no others; keywords strict mode does
    not accept are left out (pydantic still enforces them when the answer is validated). Cached per
    model: treat the result as read-only.
    """

    def tighten(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: tighten(v) for k, v in node.items() if k not in _UNSUPPORTED_IN_STRICT}
            if node.get("type") == "object" and "properties" in node:
                node["required"] = list(node["properties"])
                node["additionalProperties"] = False
            return node
        if isinstance(node, list):
            return [tighten(v) for v in node]
        return node

    return tighten(model.model_json_schema())


def parse_answer(content: str | None, model: type[Model]) -> Model:
    """Validate a model's reply; raises ValueError with a message fit to send back to the model."""
    text = (content or "").strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.S)
    if fenced:  # small models like to wrap JSON in a Markdown fence even in JSON mode
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not valid JSON ({exc.msg} at position {exc.pos})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()[:8])
        raise ValueError(f"the reply does not match the schema: {problems}") from None


def _with_schema_in_prompt(messages: list[dict], schema: dict) -> list[dict]:
    """JSON mode knows nothing of our schema, so the first system message spells it out."""
    instruction = (
        "Reply with one JSON object, and nothing else, that validates against this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":"))
    )
    out = [dict(m) for m in messages]
    for message in out:
        if message["role"] == "system":
            message["content"] = f"{message['content']}\n\n{instruction}"
            return out
    return [{"role": "system", "content": instruction}, *out]


@dataclass
@dataclass
class StructuredAnswer(Generic[Model]):
    value: Model
    calls: int
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    latency_ms: float
    mode: str


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
        tokens = trusted_tokens(usage.get("prompt_tokens"), estimate, _input_ceiling(estimate))
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
            messages = conversation if mode == "json_schema" else _with_schema_in_prompt(conversation, schema)
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
                trusted_tokens(usage.get("prompt_tokens"), estimate, _input_ceiling(estimate)),
                trusted_tokens(
                    usage.get("completion_tokens"),
                    estimate_tokens(content or ""),
                    max(max_tokens, _input_ceiling(estimate_tokens(content or ""))),
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


# -- reading the call log -------------------------------------------------------------------------
@dataclass(frozen=True)
class LoggedCall:
    id: int
    at: str
    purpose: str
    provider: str
    model: str
    prompt_version: str | None
    item_id: str | None
    structured_mode: str | None
    tokens_in: int
    tokens_out: int
    latency_ms: float | None
    cost_usd: float | None
    status: str
    error: str | None
    attempt: int


def recent_calls(
    conn: sqlite3.Connection, limit: int = 50, item_id: str | None = None, status: str | None = None
) -> list[LoggedCall]:
    """The newest logged calls first, optionally of one item or with one status."""
    where, values = [], []
    if item_id:
        where.append("item_id = ?")
        values.append(item_id)
    if status:
        where.append("status = ?")
        values.append(status)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT id, at, purpose, provider, model, prompt_version, item_id, structured_mode, tokens_in, tokens_out, "
        f"latency_ms, cost_usd, status, error, attempt FROM llm_calls {clause} ORDER BY id DESC LIMIT ?",
        (*values, max(0, limit)),
    )
    return [LoggedCall(**dict(row)) for row in rows]


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
