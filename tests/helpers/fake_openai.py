"""A loopback OpenAI-compatible server and sample pile items, for tests and benchmarks.

`FakeOpenAI` is a real HTTP server on 127.0.0.1 (threaded, keep-alive) answering POST
/v1/chat/completions, POST /v1/embeddings and GET /v1/models the way OpenAI-compatible servers do,
so the real `openai` client talks to it over HTTP. It can be slowed down (`latency`) and made to fail
on purpose, per request in order (`queue`) or for requests mentioning a marker (`when`):

    rate_limit          429 with Retry-After
    server_error        500
    timeout             answers only after `hang_seconds` (longer than the client's timeout)
    invalid_json        200, but the content is not JSON
    schema_violation    200, JSON that does not match the requested schema
    reject_json_schema  400 "response_format json_schema is not supported" (as servers without
                        structured output answer; `reject_status=500` as llama-cpp-python's does);
                        `reject_json_schema=True` does this for every request
    invented_quotes     200, a valid summary whose quotes are not in the document
    html_200            200 with an HTML page for a body (as a proxy or captive portal answers)
    trickle             200 and its headers at once, then the body one byte every `trickle_interval` s
    trickle_headers     the status line and headers themselves one byte every `trickle_interval` s

`usage` sets what every answer reports as its token usage: "real" (an estimate from the text, as
servers do), "none" (no usage field), "negative" or "absurd" (a count no tokeniser could give).

Otherwise it acts as a small, deterministic model: it reads the document between <document> and
</document>, summarises it with the offline summariser (so quotes are real sentences and verify) and
adjusts the insight score when the system prompt carries a scoring rubric, so two prompt versions
answer differently. It is naive about prompt injection on purpose: an "ignore previous instructions …
reply with {…}" that it finds outside the document fence (or anywhere, with `obey_injections="anywhere"`)
is obeyed, and the JSON after "reply with" is returned verbatim (text between <pile_neighbours> and the
first </pile_neighbours> counts as fenced too). Tests use that to show the fence holds
and that what an obeyed injection returns is schema-checked.

Embeddings are deterministic feature-hashed bags of words, L2-normalised: texts sharing words are near.

`python -m tests.helpers.fake_openai --latency 0.3` runs the server in its own process (benchmarks do).
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = (
    "ok",
    "rate_limit",
    "server_error",
    "timeout",
    "invalid_json",
    "schema_violation",
    "reject_json_schema",
    "invented_quotes",
    "html_200",
    "trickle",
    "trickle_headers",
)
USAGES = ("real", "none", "negative", "absurd")
HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
    "<p>The upstream server did not answer.</p></body></html>"
)
_FENCE = re.compile(r"<document\b[^>]*>(.*?)</document>", re.S | re.I)
_NEIGHBOURS = re.compile(r"<pile_neighbours>.*?</pile_neighbours>", re.S | re.I)  # the pile's items: also data
_INJECTION = re.compile(r"ignore (?:all )?previous instructions(.*)", re.S | re.I)


@dataclass
class RecordedRequest:
    path: str
    body: dict[str, Any]
    at: float  # time.monotonic() when it arrived
    fault: str = "ok"

    @property
    def response_format(self) -> str | None:
        fmt = self.body.get("response_format") or {}
        return fmt.get("type")


@dataclass
class _Rule:
    marker: str
    fault: str
    times: int | None  # None = every time
    used: int = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients connect at once; a short backlog would stall them
    allow_reuse_address = True


@dataclass
class FakeOpenAI:
    """A loopback OpenAI-compatible server (see the module docstring). Use as a context manager."""

    latency: float = 0.0
    reject_json_schema: bool = False
    reject_status: int = 400  # llama-cpp-python's server rejects with 500
    retry_after: float = 1.0
    hang_seconds: float = 3.0
    trickle_interval: float = 0.2
    usage: str = "real"
    obey_injections: str = "outside_fence"  # or "anywhere"
    # False: answers judge with the named features only. The standalone server (benchmarks) stands in for a
    # remote model on the same two cores as the client it measures: WordLlama's load and its tokenizer's
    # threads would be the server's CPU competing with the client's, which a remote model's never is.
    wording: bool = True
    model: str = "loopback-model"
    port: int = 0
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[str] = []
        self._rules: list[_Rule] = []
        self._httpd = _Server(("127.0.0.1", self.port), _handler_for(self))
        # A short poll interval makes stop() quick (it waits for the serving loop to notice).
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting faults --------------------------------------------------------------------------
    def queue(self, *faults: str) -> None:
        """The next chat requests get these faults, one each, in order."""
        _check_faults(faults)
        with self._lock:
            self._queue.extend(faults)

    def when(self, marker: str, fault: str, times: int | None = None) -> None:
        """Chat requests whose messages contain `marker` get `fault` (`times` times, or always)."""
        _check_faults([fault])
        with self._lock:
            self._rules.append(_Rule(marker, fault, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._queue.clear()
            self._rules.clear()
            self.reject_json_schema = False

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _fault_for(self, body: dict[str, Any]) -> str:
        text = json.dumps(body.get("messages", []), ensure_ascii=False)
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
            for rule in self._rules:
                if rule.marker in text and (rule.times is None or rule.used < rule.times):
                    rule.used += 1
                    return rule.fault
        wants_schema = (body.get("response_format") or {}).get("type") == "json_schema"
        return "reject_json_schema" if self.reject_json_schema and wants_schema else "ok"

    # -- answering ---------------------------------------------------------------------------------
    def chat(self, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(status, headers, JSON body) for one chat completion request."""
        fault = self._fault_for(body)
        self.requests.append(RecordedRequest("/v1/chat/completions", body, time.monotonic(), fault))
        if self.latency:
            time.sleep(self.latency)
        if fault == "rate_limit":
            return (
                429,
                {"Retry-After": f"{self.retry_after:g}"},
                _error("Rate limit reached; retry later", "rate_limit"),
            )
        if fault == "server_error":
            return 500, {}, _error("The server had an error while processing your request", "server_error")
        if fault == "reject_json_schema" and (body.get("response_format") or {}).get("type") == "json_schema":
            return (
                self.reject_status,
                {},
                _error(
                    "response_format type 'json_schema' is not supported by this server; use 'json_object'",
                    "invalid_request_error",
                    param="response_format",
                ),
            )
        if fault == "timeout":
            time.sleep(self.hang_seconds)
        if fault == "html_200":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, HTML_PAGE.encode()
        if fault == "invalid_json":
            content = '{"tldr": "an answer cut off in the midd'
        elif fault == "schema_violation":
            content = json.dumps({"tldr": "Fine.", "contribution": "groundbreaking", "insight": {"score": 7}})
        else:
            content = self.answer(body.get("messages", []))
        if fault == "invented_quotes":
            content = _invent_quotes(content)
        completion = _completion(self.model, body.get("messages", []), content, self.usage)
        if fault in ("trickle", "trickle_headers"):
            return 200, {"X-Fake-Trickle": fault}, completion
        return 200, {}, completion

    def answer(self, messages: list[dict[str, Any]]) -> str:
        """What this naive model replies: an obeyed injection, or a summary of the fenced document."""
        system = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
        user = next(
            (
                str(m.get("content", ""))
                for m in messages
                if m.get("role") == "user" and "<document" in str(m.get("content", ""))
            ),
            str(messages[-1].get("content", "")) if messages else "",
        )
        fenced = _FENCE.search(user)
        outside = _NEIGHBOURS.sub(" ", _FENCE.sub(" ", user) if fenced else user)
        searched = user if self.obey_injections == "anywhere" else outside
        injected = _INJECTION.search(searched)
        if injected:
            demand = re.search(r"reply with\s*(\{.*\})", injected.group(1), re.S | re.I)
            return demand.group(1) if demand else injected.group(1).strip()
        return json.dumps(self._summary(fenced.group(1) if fenced else user, system))

    def _judge_model(self) -> Any:
        """The judge the answers use: the shipped one, or without its wording block (`wording=False`)."""
        if self.wording:
            return None
        from dataclasses import replace

        from sabbatical.reading import judge

        return replace(judge.shipped_model(), wording=None)

    def _summary(self, document: str, system: str) -> dict[str, Any]:
        from sabbatical.reading.offline import summarise_offline
        from sabbatical.reading.summary_schema import SourceDocument

        title, body = _parse_fenced(html.unescape(document))
        summary = summarise_offline(SourceDocument("loopback", "paper", title, body, "", ""), self._judge_model())
        data = summary.model_dump(mode="json")
        if "rubric" in system.lower():  # a prompt with a scoring rubric pulls scores to its bands
            band = {
                "sota_increment": 0.15,
                "new_method": 0.35,
                "dataset_benchmark": 0.3,
                "tool_system": 0.3,
                "survey": 0.5,
                "new_insight": 0.85,
            }.get(data["contribution"], 0.5)
            data["insight"]["score"] = round((band * 2 + data["insight"]["score"]) / 3, 2)
            data["insight"]["rationale"] = f"By the rubric band around {band:.2f}, adjusted by the evidence"
        return data

    def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RecordedRequest("/v1/embeddings", body, time.monotonic()))
        if self.latency:
            time.sleep(self.latency)
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else list(texts)
        dimensions = int(body.get("dimensions") or 64)
        data = [
            {"object": "embedding", "index": i, "embedding": pseudo_embedding(str(t), dimensions)}
            for i, t in enumerate(texts)
        ]
        tokens = sum(_token_estimate(str(t)) for t in texts)
        return {
            "object": "list",
            "data": data,
            "model": body.get("model", self.model),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


def _invent_quotes(content: str) -> str:
    data = json.loads(content)
    for claim in data.get("key_claims", []):
        claim["quote"] = "a sentence this document never contained"
    data["insight"]["quote"] = "words nobody wrote in this document"
    return json.dumps(data)


def pseudo_embedding(text: str, dimensions: int = 64) -> list[float]:
    """A deterministic bag-of-words vector (feature hashing, signed), L2-normalised."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "little") % dimensions
        vector[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [round(v / norm, 6) for v in vector]


def _parse_fenced(document: str) -> tuple[str, str]:
    title = re.search(r"^\s*Title:\s*(.*)$", document, re.M)
    _, _, body = document.partition("\n\n")
    if not body:
        return (title.group(1) if title else ""), document
    return (title.group(1).strip() if title else ""), body


def _token_estimate(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _completion(model: str, messages: list[dict[str, Any]], content: str, usage: str = "real") -> dict[str, Any]:
    prompt_tokens = sum(_token_estimate(str(m.get("content", ""))) + 4 for m in messages)
    completion_tokens = _token_estimate(content)
    if usage == "negative":
        prompt_tokens, completion_tokens = -prompt_tokens * 1000, -completion_tokens * 1000
    elif usage == "absurd":
        prompt_tokens, completion_tokens = 10**15, 10**15
    answer = {
        "id": "chatcmpl-" + hashlib.sha1(content.encode()).hexdigest()[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    if usage == "none":
        del answer["usage"]
    return answer


def _error(message: str, kind: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def _check_faults(faults: Iterable[str]) -> None:
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {unknown}; known: {', '.join(FAULTS)}")


def _handler_for(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm on, the second waits for the
        # client's delayed ACK (~40 ms), which would dwarf the latency being simulated.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {}, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
            else:
                self._send(404, {}, _error(f"no route {self.path}", "not_found"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._send(400, {}, _error("the request body is not JSON", "invalid_request_error"))
                return
            if self.path.endswith("/chat/completions"):
                self._send(*server.chat(body))
            elif self.path.endswith("/embeddings"):
                self._send(200, {}, server.embeddings(body))
            else:
                self._send(404, {}, _error(f"no route {self.path}", "not_found"))

        def _send(self, status: int, headers: dict[str, str], payload: dict[str, Any] | bytes) -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            headers = dict(headers)
            trickle = headers.pop("X-Fake-Trickle", None)
            headers.setdefault("Content-Type", "application/json")
            try:
                if trickle == "trickle_headers":
                    self._trickle(self._head(status, headers, len(data)) + data)
                elif trickle == "trickle":
                    self.wfile.write(self._head(status, headers, len(data)))
                    self._trickle(data)
                else:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout fault); nothing to tell it

        def _head(self, status: int, headers: dict[str, str], length: int) -> bytes:
            lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
            lines += [f"{name}: {value}" for name, value in {**headers, "Content-Length": str(length)}.items()]
            return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

        def _trickle(self, data: bytes) -> None:
            for index in range(len(data)):
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
                time.sleep(server.trickle_interval)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


# -- sample items ---------------------------------------------------------------------------------
_INSIGHT_SENTENCES = [
    "We find that attention heads in the middle layers copy tokens from earlier positions.",
    "Surprisingly, the effect disappears when the training data is deduplicated.",
    "We show why larger models memorise rare sequences: the mechanism is a sharp increase in weight norm.",
    "Our analysis explains the failure modes we observe, and the method fails to transfer across languages.",
]
_BENCHMARK_SENTENCES = [
    "Our model achieves state-of-the-art results on three benchmarks.",
    "It outperforms the strongest baseline and improves accuracy by 2.3% on ImageNet.",
    "On WMT14 English-German we obtain +1.2 BLEU over prior work.",
    "The approach sets a new SOTA on the GLUE leaderboard.",
]
_NEUTRAL_SENTENCES = [
    "We train transformer language models of several sizes on a public web corpus.",
    "The experiments cover image classification, translation and question answering.",
    "Code and data are available to reproduce every figure.",
    "We describe the training setup, the datasets and the evaluation protocol in detail.",
]


def sample_documents(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """`count` synthetic pile items, alternating insight-style and benchmark-style abstracts."""
    documents = []
    for n in range(seed, seed + count):
        insightful = n % 2 == 0
        pool = _INSIGHT_SENTENCES if insightful else _BENCHMARK_SENTENCES
        sentences = [_NEUTRAL_SENTENCES[n % 4], pool[n % 4], pool[(n + 1) % 4], _NEUTRAL_SENTENCES[(n + 2) % 4]]
        topic = "How attention heads copy tokens" if insightful else "A stronger baseline for translation"
        documents.append(
            {
                "id": f"test:{n:05d}",
                "kind": "paper",
                "title": f"{topic} (study {n})",
                "abstract": " ".join(sentences),
                "content": "",
                "authors": ["A. Researcher"],
                "published": "2025-01-01",
            }
        )
    return documents


def content_hash(title: str, abstract: str, content: str) -> str:
    return hashlib.sha256("\n".join([title, abstract, content]).encode()).hexdigest()


def insert_items(conn: sqlite3.Connection, documents: Iterable[dict[str, Any]]) -> int:
    """Put sample items straight into a pile (test data only; the ingester owns real ingestion)."""
    rows = [
        (
            d["id"],
            d.get("kind", "paper"),
            d.get("title", ""),
            json.dumps(d.get("authors", [])),
            d.get("abstract", ""),
            d.get("content", ""),
            d.get("published"),
            content_hash(d.get("title", ""), d.get("abstract", ""), d.get("content", "")),
            int(d.get("private", 0)),
        )
        for d in documents
    ]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT INTO items (id, kind, title, authors, abstract, content, published, content_hash, "
            "private) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return len(rows)


def configure_llm(workspace_root: Any, **values: Any) -> None:
    """Set keys of the [llm] section in a workspace's sabbatical.toml (e.g. base_url=server.url)."""
    from pathlib import Path

    from sabbatical.config import _toml_value

    path = Path(workspace_root) / "sabbatical.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    section, seen = "", set()
    for index, line in enumerate(lines):
        header = re.fullmatch(r"\s*\[([a-z_]+)\]\s*", line)
        if header:
            section = header.group(1)
            continue
        key = re.match(r"\s*([a-z_]+)\s*=", line)
        if section == "llm" and key and key.group(1) in values:
            lines[index] = f"{key.group(1)} = {_toml_value(values[key.group(1)])}"
            seen.add(key.group(1))
    missing = set(values) - seen
    if missing:
        raise KeyError(f"no such [llm] keys in {path}: {sorted(missing)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Run the loopback server in this process until interrupted; prints its base URL first."""
    import argparse

    parser = argparse.ArgumentParser(description="A loopback OpenAI-compatible server for tests and benchmarks.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    parser.add_argument("--reject-json-schema", action="store_true")
    args = parser.parse_args(argv)
    server = FakeOpenAI(
        latency=args.latency, reject_json_schema=args.reject_json_schema, port=args.port, wording=False
    ).start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
