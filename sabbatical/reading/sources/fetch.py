"""Fetching over HTTP for every source: timeouts, a size limit, conditional GET, and retries.

One `Fetcher` per run (it keeps a connection pool). Transient failures — 429, 502/503/504, 500, timeouts,
dropped connections — are retried with backoff, honouring `Retry-After` up to a cap; 4xx answers are not.
A response bigger than the limit is refused while streaming, before it is all in memory. Every failure
becomes a `SourceError` whose message says what happened and what to try.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from ... import __version__
from . import SourceError

USER_AGENT = f"sabbatical/{__version__} (research reading pile; +https://pypi.org/project/sabbatical/)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHUNK = 8 * 1024


@dataclass
class Fetched:
    """A response: 200 with a body, or 304 (`not_modified`) with none."""

    url: str
    status: int
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """HTTP GET with the workspace's limits ([reading] timeout, max_response_mb)."""

    def __init__(self, timeout: float = 30.0, max_mb: float = 25.0, retries: int = 2, backoff: float = 0.5,
                 max_retry_after: float = 30.0):
        import requests

        self.timeout = timeout
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.max_mb = max_mb
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = min(max_retry_after, 60.0)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            accept: str | None = None, params: dict[str, str] | None = None) -> Fetched:
        """GET `url`; with validators it is a conditional GET and may come back `not_modified`."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            try:
                return self._get_once(url, headers, params, deadline)
            except _Retryable as problem:
                wait = problem.wait if problem.wait is not None else self.backoff * (2 ** attempt)
                if attempt >= problem.retries_allowed(self.retries) or time.monotonic() + wait >= deadline:
                    raise SourceError(problem.message + (f" (after {attempt + 1} tries)" if attempt else "")) from None
                time.sleep(wait)
                attempt += 1

    def _get_once(self, url: str, headers: dict[str, str], params: dict[str, str] | None,
                  deadline: float) -> Fetched:
        import requests

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SourceError(self._late())
        try:
            response = self.session.get(url, headers=headers, params=params, timeout=remaining, stream=True)
        except (requests.exceptions.InvalidURL, ValueError) as exc:
            raise SourceError(f"not a valid URL ({exc})") from None
        except requests.exceptions.MissingSchema:
            raise SourceError("not a URL (it needs http:// or https://)") from None
        except requests.exceptions.Timeout:
            raise _Retryable(f"no answer within {self.timeout:g} s — raise [reading] timeout or try later",
                             max_retries=1) from None
        except requests.exceptions.ConnectionError as exc:
            raise _Retryable(f"cannot connect ({_reason(exc)}) — check the address and your network",
                             max_retries=1) from None
        with response:
            return self._read(url, response, deadline)

    def _late(self) -> str:
        return (f"no complete answer within {self.timeout:g} s (the request's total deadline) — "
                "raise [reading] timeout or try later")

    def _read(self, url: str, response: Any, deadline: float) -> Fetched:
        import requests
        import urllib3

        status = response.status_code
        if status in RETRY_STATUSES:
            raise _Retryable(f"HTTP {status} {response.reason or ''}".rstrip() + " — the server is failing; try later",
                             wait=self._retry_after(response.headers.get("Retry-After")))
        if status >= 400:
            hint = " — check the address" if status in (404, 410) else ""
            raise SourceError(f"HTTP {status} {response.reason or ''}".rstrip() + hint)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise SourceError(self._too_big(int(declared)))
        # One socket read at a time (read1), so a server that trickles a byte at a time meets the total
        # deadline after the read that crosses it; a server that goes silent meets the read timeout,
        # which never exceeds what was left of the deadline when the request started.
        body = bytearray()
        try:
            while chunk := response.raw.read1(_CHUNK, decode_content=True):
                body += chunk
                if len(body) > self.max_bytes:
                    raise SourceError(self._too_big(None))
                if time.monotonic() >= deadline:
                    raise SourceError(self._late())
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if time.monotonic() >= deadline:
                raise SourceError(self._late()) from None
            raise _Retryable(f"the connection broke while reading ({_reason(exc)})", max_retries=1) from None
        return Fetched(url=response.url, status=status, body=bytes(body),
                       content_type=response.headers.get("Content-Type", ""),
                       etag=response.headers.get("ETag"), last_modified=response.headers.get("Last-Modified"))

    def _too_big(self, size: int | None) -> str:
        shown = f"{size / 1024 / 1024:.1f} MB" if size else f"more than {self.max_mb:g} MB"
        return (f"the response is {shown}, over the {self.max_mb:g} MB limit — "
                "raise [reading] max_response_mb if you mean it")

    def _retry_after(self, value: str | None) -> float | None:
        if not value:
            return None
        value = value.strip()
        if value.isdigit():
            seconds = float(value)
        else:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                return None
        return max(0.0, min(seconds, self.max_retry_after))


class _Retryable(Exception):
    def __init__(self, message: str, wait: float | None = None, max_retries: int | None = None):
        super().__init__(message)
        self.message = message
        self.wait = wait
        self.max_retries = max_retries

    def retries_allowed(self, configured: int) -> int:
        return configured if self.max_retries is None else min(configured, self.max_retries)


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "Temporary failure in name resolution",
                   "No route to host", "timed out", "Connection reset"):
        if marker in text:
            return marker
    return type(exc).__name__
