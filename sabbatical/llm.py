"""The one LLM path: an OpenAI-compatible endpoint, structured answers, retries, a budget, a call log.

Everything that asks a model something goes through `LLM`: OpenAI itself and any OpenAI-compatible
server (vLLM, Ollama, llama.cpp server, LM Studio) work the same way, through the `openai` client with
the workspace's base_url, model and timeout. What this module guarantees:

- Structured output. A JSON schema is requested (`response_format` type json_schema, strict). A server
  that rejects that gets JSON mode (json_object) with the schema spelled out in the prompt, and the
  pile's `settings` table remembers it for that endpoint, so later runs do not ask again. Every answer
  is validated with pydantic; an invalid one is sent back once with the validation error, and a second
  invalid answer is a failure for that item.
- Retries. 429, 5xx, timeouts and dropped connections are retried with exponential backoff and jitter,
  waiting at least what Retry-After says. The openai client's own retries are off so that every attempt
  is logged and Retry-After is honoured exactly.
- A budget (tokens, or USD through `[llm] prices`) is checked before every request: when it is spent,
  the run stops cleanly and the work not yet started stays pending.
- Every request is a row in `llm_calls`: provider, model, prompt version, item, input hash, structured
  mode, tokens, latency, cost, status, error, attempt number.
- No silent fallback: if the configured endpoint fails, the caller gets `LLMFailure`, never an answer
  from somewhere else.

The `openai` package is imported only when the first request is made.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from .config import LLMConfig
from .errors import UsageError

STRUCTURED_MODES = ("json_schema", "json_object")
SETTING_PREFIX = "llm.structured_mode:"
# A server unreachable for this many items in a row (after their retries) stops the run.
UNREACHABLE_STREAK_LIMIT = 3
MAX_RETRY_AFTER_SECONDS = 120.0

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
    return Endpoint(base_url=base_url.rstrip("/"), model=config.model, api_key=api_key, timeout=config.timeout,
                    concurrency=max(1, config.concurrency), max_retries=max(0, config.max_retries),
                    prices=dict(config.prices))


# -- stopping a run cleanly -----------------------------------------------------------------------
class RunStopped(Exception):
    """No further requests will be made in this run; work not started stays pending."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class BudgetReached(RunStopped):
    pass


class EndpointUnreachable(RunStopped):
    pass


class LLMFailure(Exception):
    """One unit of work failed at the endpoint (after its retries), or its answer never validated."""

    def __init__(self, status: str, message: str, calls: int = 0):
        super().__init__(message)
        self.status = status
        self.message = message
        self.calls = calls


class Budget:
    """Tokens and dollars spent in one run, against optional limits (0 = no limit). Thread-safe."""

    def __init__(self, tokens: int = 0, usd: float = 0.0):
        self.limit_tokens = tokens
        self.limit_usd = usd
        self.tokens_in = 0
        self.tokens_out = 0
        self.usd = 0.0
        self.priced = False         # whether any request had a price (else `usd` means nothing)
        self._lock = threading.Lock()

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    def charge(self, tokens_in: int, tokens_out: int, usd: float | None) -> None:
        with self._lock:
            self.tokens_in += tokens_in
            self.tokens_out += tokens_out
            if usd is not None:
                self.usd += usd
                self.priced = True

    def check(self) -> None:
        """Raise BudgetReached when a limit is spent (requests already in flight still finish)."""
        with self._lock:
            if self.limit_tokens and self.tokens >= self.limit_tokens:
                raise BudgetReached(f"token budget of {self.limit_tokens:,} reached ({self.tokens:,} used)")
            if self.limit_usd and self.usd >= self.limit_usd:
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
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
                             for e in exc.errors()[:8])
        raise ValueError(f"the reply does not match the schema: {problems}") from None


def _with_schema_in_prompt(messages: list[dict], schema: dict) -> list[dict]:
    """JSON mode knows nothing of our schema, so the first system message spells it out."""
    instruction = ("Reply with one JSON object, and nothing else, that validates against this JSON schema:\n"
                   + json.dumps(schema, separators=(",", ":")))
    out = [dict(m) for m in messages]
    for message in out:
        if message["role"] == "system":
            message["content"] = f"{message['content']}\n\n{instruction}"
            return out
    return [{"role": "system", "content": instruction}, *out]


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
    context: CallContext | None = None     # the request as logged (with its mode and input hash)


class _StructuredModeRejected(Exception):
    pass


@dataclass
class CallContext:
    """What the call log records about the work a request belongs to."""

    purpose: str
    prompt_version: str | None = None
    item_id: str | None = None
    input_hash: str | None = None
    mode: str | None = None


def input_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class LLM:
    """Requests to one endpoint, logged to one pile. Share one instance between worker threads."""

    def __init__(self, endpoint: Endpoint, conn: sqlite3.Connection, budget: Budget | None = None,
                 *, lock: threading.Lock | None = None, backoff_base: float = 0.5, backoff_cap: float = 30.0):
        self.endpoint = endpoint
        self.conn = conn
        self.budget = budget or Budget()
        self.lock = lock or threading.Lock()   # guards every use of `conn`
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._unreachable_streak = 0
        self._mode: str | None = None

    # -- the client ----------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(base_url=self.endpoint.base_url, api_key=self.endpoint.api_key,
                                             timeout=self.endpoint.timeout, max_retries=0)
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
                "SET value = excluded.value, updated_at = datetime('now')", (self.setting_key, mode))

    # -- the public calls --------------------------------------------------------------------------
    def structured(self, messages: list[dict], model: type[Model], context: CallContext,
                   *, max_tokens: int = 1500) -> StructuredAnswer[Model]:
        """Ask for an answer shaped like `model`; validated, retried once on an invalid answer.

        Raises LLMFailure for this unit of work, or RunStopped when the run must stop (budget spent,
        endpoint unreachable) — then nothing is recorded for the unit, and it stays pending.
        """
        schema = strict_json_schema(model)
        conversation = [dict(m) for m in messages]
        totals = StructuredAnswer(value=None, calls=0, tokens_in=0, tokens_out=0, cost_usd=None,  # type: ignore[arg-type]
                                  latency_ms=0.0, mode="")
        problem = ""
        for _ in range(2):
            reply = self._complete(conversation, model.__name__, schema, context, max_tokens, totals)
            try:
                totals.value = parse_answer(reply.content, model)
            except ValueError as exc:
                problem = str(exc)
                self._log(reply.context or context, reply, "invalid", problem)
                conversation += [{"role": "assistant", "content": reply.content or ""},
                                 {"role": "user", "content": f"That reply is invalid: {problem}. Reply again with "
                                  "only the corrected JSON object."}]
                continue
            self._log(reply.context or context, reply, "ok", None)
            return totals
        raise LLMFailure("invalid", f"the model's answer was invalid twice: {problem}", totals.calls)

    def embed(self, texts: list[str], context: CallContext, model: str | None = None) -> list[list[float]]:
        """Embeddings for `texts` from the endpoint, in order (one logged request, with retries)."""
        name = model or self.endpoint.model
        context = CallContext(context.purpose, context.prompt_version, context.item_id,
                              context.input_hash or input_hash([name, texts]), None)

        def send() -> Any:
            return self.client.embeddings.create(model=name, input=texts)

        response, latency, attempt = self._request(send, context)
        usage = getattr(response, "usage", None)
        tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        self._charge(tokens, 0)
        self._log(context, _Reply(None, tokens, 0, latency, attempt), "ok", None, model=name)
        return [list(item.embedding) for item in sorted(response.data, key=lambda d: d.index)]

    # -- one chat completion, with the structured-mode fallback -----------------------------------
    def _complete(self, conversation: list[dict], name: str, schema: dict, context: CallContext,
                  max_tokens: int, totals: StructuredAnswer) -> _Reply:
        while True:
            mode = self.structured_mode()
            messages = conversation if mode == "json_schema" else _with_schema_in_prompt(conversation, schema)
            if mode == "json_schema":
                response_format = {"type": "json_schema",
                                   "json_schema": {"name": name, "schema": schema, "strict": True}}
            else:
                response_format = {"type": "json_object"}
            call = CallContext(context.purpose, context.prompt_version, context.item_id,
                               context.input_hash or input_hash([self.endpoint.model, messages]), mode)

            def send() -> Any:
                return self.client.chat.completions.create(model=self.endpoint.model, messages=messages,
                                                           response_format=response_format, max_tokens=max_tokens)

            try:
                completion, latency, attempt = self._request(send, call, first_attempt=totals.calls + 1)
            except _StructuredModeRejected:
                totals.calls += 1
                self.remember_structured_mode("json_object")
                continue
            usage = getattr(completion, "usage", None)
            reply = _Reply(completion.choices[0].message.content if completion.choices else None,
                           int(getattr(usage, "prompt_tokens", 0) or 0),
                           int(getattr(usage, "completion_tokens", 0) or 0), latency, attempt, call)
            totals.calls = attempt
            totals.tokens_in += reply.tokens_in
            totals.tokens_out += reply.tokens_out
            totals.latency_ms += latency
            totals.mode = mode
            cost = self._charge(reply.tokens_in, reply.tokens_out)
            if cost is not None:
                totals.cost_usd = (totals.cost_usd or 0.0) + cost
            return reply

    # -- retries -----------------------------------------------------------------------------------
    def _request(self, send: Callable[[], Any], context: CallContext,
                 first_attempt: int = 1) -> tuple[Any, float, int]:
        """Send with retries on transient failures; every failed attempt is logged. Returns
        (response, latency_ms, attempt number)."""
        import openai

        attempt = first_attempt - 1
        retries = 0
        while True:
            self._gate()
            attempt += 1
            started = time.monotonic()
            try:
                response = send()
            except openai.APIStatusError as exc:
                failure = self._status_failure(exc, context, started, attempt)
                wait = _retry_after_seconds(exc.response.headers) if exc.status_code == 429 or exc.status_code >= 500 else None
                transient = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            except openai.APITimeoutError:
                failure = LLMFailure("timeout", f"no answer within {self.endpoint.timeout:g} s")
                self._log_failure(context, started, attempt, failure)
                wait, transient = None, True
            except openai.APIConnectionError as exc:
                failure = LLMFailure("unreachable", f"cannot connect to {self.endpoint.base_url}: {exc}")
                self._log_failure(context, started, attempt, failure)
                wait, transient = None, True
            else:
                self._unreachable_streak = 0
                return response, (time.monotonic() - started) * 1000, attempt
            if not transient or retries >= self.endpoint.max_retries:
                failure.calls = attempt
                self._note_failure(failure)
                raise failure
            retries += 1
            time.sleep(self._delay(retries, wait))

    def _status_failure(self, exc: Any, context: CallContext, started: float, attempt: int) -> LLMFailure:
        message = _error_text(exc)
        if context.mode == "json_schema" and _rejects_structured_output(exc.status_code, message):
            self._log_failure(context, started, attempt,
                              LLMFailure("http_error", f"HTTP {exc.status_code}: json_schema not supported, "
                                         f"switching to json_object: {message}"))
            raise _StructuredModeRejected()
        failure = LLMFailure("http_error", f"HTTP {exc.status_code}: {message}")
        self._log_failure(context, started, attempt, failure)
        return failure

    def _delay(self, retry: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_SECONDS) + random.uniform(0, 0.1)
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (retry - 1))
        return random.uniform(ceiling / 2, ceiling)   # "equal jitter": never immediate, never in lockstep

    def _gate(self) -> None:
        if self._unreachable_streak >= UNREACHABLE_STREAK_LIMIT:
            raise EndpointUnreachable(f"{self.endpoint.base_url} was unreachable for {self._unreachable_streak} "
                                      "items in a row; check [llm] base_url and that the server is running")
        self.budget.check()

    def _note_failure(self, failure: LLMFailure) -> None:
        if failure.status == "unreachable":
            self._unreachable_streak += 1

    # -- accounting --------------------------------------------------------------------------------
    def _charge(self, tokens_in: int, tokens_out: int) -> float | None:
        cost = self.endpoint.cost_usd(tokens_in, tokens_out)
        self.budget.charge(tokens_in, tokens_out, cost)
        return cost

    def _log_failure(self, context: CallContext, started: float, attempt: int, failure: LLMFailure) -> None:
        reply = _Reply(None, 0, 0, (time.monotonic() - started) * 1000, attempt)
        status = "timeout" if failure.status == "timeout" else "http_error"
        self._log(context, reply, status, failure.message)

    def _log(self, context: CallContext, reply: _Reply, status: str, error: str | None,
             model: str | None = None) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT INTO llm_calls (purpose, provider, model, prompt_version, item_id, input_hash, "
                "structured_mode, tokens_in, tokens_out, latency_ms, cost_usd, status, error, attempt) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (context.purpose, self.endpoint.provider, model or self.endpoint.model, context.prompt_version,
                 context.item_id, context.input_hash, context.mode, reply.tokens_in, reply.tokens_out,
                 round(reply.latency_ms, 1), self.endpoint.cost_usd(reply.tokens_in, reply.tokens_out),
                 status, error, reply.attempt))


def _error_text(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else str(inner)
        if text:
            return str(text)[:300]
    if body:
        return str(body)[:300]
    return str(getattr(exc, "message", exc))[:300]


def _rejects_structured_output(status: int, message: str) -> bool:
    """Whether an error says the server cannot do json_schema output. Most servers answer 400 or 422;
    llama-cpp-python's server answers 500 with its request-validation error, so a 500 counts only
    when it names both response_format and json_schema."""
    lowered = message.lower()
    if status in (400, 422, 501):
        return any(word in lowered for word in ("response_format", "json_schema", "schema", "structured"))
    return status == 500 and "response_format" in lowered and "json_schema" in lowered


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (Retry-After as seconds or an HTTP date, or retry-after-ms)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


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


def recent_calls(conn: sqlite3.Connection, limit: int = 50, item_id: str | None = None,
                 status: str | None = None) -> list[LoggedCall]:
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
        (*values, max(0, limit)))
    return [LoggedCall(**dict(row)) for row in rows]


EMBED_BATCH = 128


def embed_texts(config: Any, texts: list[str], conn: sqlite3.Connection | None = None,
                environ: Mapping[str, str] | None = None) -> list[list[float]]:
    """Embeddings of `texts` from the configured endpoint with `[embed] model`, in order.

    `config` is the workspace `Config`. Requests are batched, retried like every other call, and
    logged to `conn` (the pile) when given. An unconfigured or failing endpoint is an error, never a
    quiet switch to another embedder.
    """
    from . import db
    from .errors import SabbaticalError

    endpoint = resolve_endpoint(config.llm, environ)
    if endpoint is None:
        raise SabbaticalError('[embed] backend = "openai" needs an endpoint — set [llm] base_url in sabbatical.toml '
                              '(or OPENAI_BASE_URL), or use backend = "tfidf"')
    log = conn if conn is not None else db.connect(":memory:")
    client = LLM(endpoint, log)
    vectors: list[list[float]] = []
    try:
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start:start + EMBED_BATCH]
            vectors += client.embed(batch, CallContext("embed"), model=config.embed.model or None)
    except (LLMFailure, RunStopped) as exc:
        raise SabbaticalError(f"embedding request to {endpoint.base_url} failed: {exc} — check [llm] base_url "
                              "and [embed] model") from None
    finally:
        if conn is None:
            log.close()
    return vectors
