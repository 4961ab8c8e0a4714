"""Reading what an OpenAI-compatible endpoint sends back, for `sabbatical.llm`.

The whole answer is read within the request's deadline (chunk by chunk, the deadline checked after
each), then checked for the shape that was asked for: a chat completion or embeddings as a JSON
object. Anything else, such as an HTML page a proxy sends with HTTP 200, is an `LLMFailure` of that
try, so it is logged and retried like a 5xx. Error texts and Retry-After headers are read here too.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from .errors import LLMFailure

MAX_ANSWER_BYTES = 8_000_000


@functools.cache
def http_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(timeout, transport) exception classes of the HTTP library under the openai client: httpx, or
    httpx2 in newer releases. Reading a streamed answer raises these directly, not the openai ones."""
    timeouts: list[type[BaseException]] = []
    transports: list[type[BaseException]] = []
    for name in ("httpx2", "httpx"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        transports.append(module.TransportError)
    return tuple(timeouts), tuple(transports)


def read_body(response: Any, deadline: float, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """The whole answer, read chunk by chunk with the deadline checked after each."""
    timeouts, transports = http_errors()
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise LLMFailure(
                    "http_error", f"HTTP {response.status_code}, but the answer is larger than {limit // 1_000_000} MB"
                )
            if time.monotonic() >= deadline:
                raise LLMFailure("timeout", "")
    except timeouts:
        raise LLMFailure("timeout", "") from None
    except transports as exc:
        raise LLMFailure("http_error", f"the connection broke while the answer was read: {exc}") from None
    return b"".join(chunks)


def json_object(body: bytes, content_type: str) -> dict:
    """The answer as a JSON object; anything else (an HTML error page sent with 200) is a failed try."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        kind = content_type.split(";")[0].strip() or "no content type"
        raise LLMFailure(
            "http_error",
            f"HTTP 200, but the answer is not a JSON object ({kind}, {len(body):,} bytes: {_preview(body)})",
        )
    return data


def _preview(body: bytes, limit: int = 80) -> str:
    text = body[: limit * 4].decode("utf-8", "replace")
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def completion_parts(data: dict) -> tuple[str | None, dict]:
    """(the reply's text, the usage figures) of a chat completion; raises LLMFailure for another shape."""
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise LLMFailure("http_error", f"HTTP 200, but the answer is not a chat completion (it has {_keys(data)})")
    message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    usage = data.get("usage")
    return (content if isinstance(content, str) else None), (usage if isinstance(usage, dict) else {})


def embedding_parts(data: dict, count: int) -> tuple[list[list[float]], dict]:
    """(the vectors in input order, the usage figures) of an embeddings answer."""
    rows = data.get("data")
    try:
        ordered = sorted(rows, key=lambda row: row["index"])  # type: ignore[arg-type]
        vectors = [[float(v) for v in row["embedding"]] for row in ordered]
    except (TypeError, KeyError, ValueError):
        vectors = []
    if len(vectors) != count:
        raise LLMFailure(
            "http_error", f"HTTP 200, but the answer does not hold {count} embeddings (it has {_keys(data)})"
        )
    usage = data.get("usage")
    return vectors, (usage if isinstance(usage, dict) else {})


def _keys(data: dict) -> str:
    names = ", ".join(repr(str(k)[:30]) for k in list(data)[:6])
    return f"keys {names}" if names else "no keys"


def error_text(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else str(inner)
        if text:
            return str(text)[:300]
    if body:
        return str(body)[:300]
    return str(getattr(exc, "message", exc))[:300]


def rejects_structured_output(status: int, message: str) -> bool:
    """Whether an error says the server cannot do json_schema output. Most servers answer 400 or 422;
    llama-cpp-python's server answers 500 with its request-validation error, so a 500 counts only
    when it names both response_format and json_schema."""
    lowered = message.lower()
    if status in (400, 422, 501):
        return any(word in lowered for word in ("response_format", "json_schema", "schema", "structured"))
    return status == 500 and "response_format" in lowered and "json_schema" in lowered


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
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
