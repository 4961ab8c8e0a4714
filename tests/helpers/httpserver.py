"""A real HTTP server on 127.0.0.1 that serves a folder and scripted responses.

Files under `root` are served with a strong ETag and Last-Modified, and conditional GETs get 304, as a
well-behaved feed host does. `route()` scripts a path (optionally with its query string): status,
headers, body, delay, and a sequence of responses for retries (e.g. 503 with Retry-After, then 200).
Every request is recorded, so tests can assert what the client really sent.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


class _QuietServer(ThreadingHTTPServer):
    """A client that gives up (a timeout, a size limit) is expected here, not an error to print."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class LoopbackServer:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else None
        self.routes: dict[str, list[Response]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def route(
        self,
        path: str,
        *responses: Response,
        body: bytes | str | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        """Script `path`. Several responses are served in turn; the last one repeats."""
        if not responses:
            data = body.encode() if isinstance(body, str) else (body or b"")
            responses = (Response(status, data, headers or {}, delay),)
        with self._lock:
            self.routes[path] = list(responses)

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path or urlsplit(r.path).path == path]

    def _next_scripted(self, raw_path: str) -> Response | None:
        with self._lock:
            for key in (raw_path, urlsplit(raw_path).path):
                queue = self.routes.get(key)
                if queue:
                    return queue.pop(0) if len(queue) > 1 else queue[0]
        return None

    def _serve_file(self, raw_path: str, request_headers) -> Response:
        if self.root is None:
            return Response(404, b"not found")
        relative = unquote(urlsplit(raw_path).path).lstrip("/")
        target = (self.root / relative).resolve()
        if not target.is_file() or self.root.resolve() not in target.parents:
            return Response(404, b"not found")
        data = target.read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        mtime = target.stat().st_mtime
        headers = {
            "ETag": etag,
            "Last-Modified": formatdate(mtime, usegmt=True),
            "Content-Type": mimetypes.guess_type(target.name)[0] or "application/octet-stream",
        }
        if request_headers.get("If-None-Match") == etag or _not_modified_since(request_headers, mtime):
            return Response(304, b"", headers)
        return Response(200, data, headers)

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._respond(with_body=True)

            def do_HEAD(self) -> None:
                self._respond(with_body=False)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self._respond(with_body=True)

            def _respond(self, with_body: bool) -> None:
                server.requests.append(Request(self.command, self.path, dict(self.headers)))
                response = server._next_scripted(self.path) or server._serve_file(self.path, self.headers)
                if response.delay:
                    time.sleep(response.delay)
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if with_body and response.body:
                    try:
                        self.wfile.write(response.body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass

            def log_message(self, *args) -> None:
                pass

        return Handler


def _not_modified_since(request_headers, mtime: float) -> bool:
    since = request_headers.get("If-Modified-Since")
    if not since or request_headers.get("If-None-Match"):
        return False
    try:
        return int(mtime) <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError):
        return False


def raw_socket_server(handler, path: str = "/feed"):
    """A bare TCP server on 127.0.0.1 that hands each connection to `handler(conn)` on its own thread, for
    answers no HTTP server would send (trickled bytes, short bodies); returns (listener, url). Close the
    listener to stop it."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def run():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    threading.Thread(target=run, daemon=True).start()
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}{path}"
