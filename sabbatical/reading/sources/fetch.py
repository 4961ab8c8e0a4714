"""Fetching over HTTP for every source: a total deadline, a size limit, redirects, politeness, retries.

One `Fetcher` per run (it keeps a connection pool and is safe to share between threads). Each `get` has
one total deadline covering every redirect hop, retry and wait. Transient failures — 429, 502/503/504,
500, timeouts, dropped connections — are retried with backoff, honouring `Retry-After` up to a cap; 4xx
answers are not. A response bigger than the limit is refused while streaming, before it is all in memory.

Redirects are followed here, hop by hop (at most `MAX_REDIRECTS`), so each hop is checked: a redirect from
a public host to a loopback, private or link-local address is refused unless `allow_private` (a local
mirror). A URL the user names directly may be private. Politeness is per host (host:port): one request
at a time, and `host_delay` seconds between two requests (arXiv's hosts: at least three seconds, as it
asks). Loopback hosts are your own machine and are not paced unless `pace_loopback`.

Every failure becomes a `SourceError` whose message says what happened and what to try.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from ... import __version__
from . import SourceError

USER_AGENT = f"sabbatical/{__version__} (research reading pile; +https://pypi.org/project/sabbatical/)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
ARXIV_DELAY_SECONDS = 3.0
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
    location: str = ""  # where a redirect points

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """HTTP GET with the workspace's limits ([reading] timeout, max_response_mb)."""

    def __init__(
        self,
        timeout: float = 30.0,
        max_mb: float = 25.0,
        retries: int = 2,
        backoff: float = 0.5,
        max_retry_after: float = 30.0,
        *,
        allow_private: bool = False,
        host_delay: float = 0.0,
        pace_loopback: bool = False,
    ):
        import requests

        self.timeout = timeout
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.max_mb = max_mb
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = min(max_retry_after, 60.0)
        self.allow_private = allow_private
        self.pacer = HostPacer(host_delay, pace_loopback)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    @classmethod
    def for_reading(cls, reading: Any, **overrides: Any) -> Fetcher:
        """The fetcher a workspace's [reading] settings describe."""
        settings = dict(allow_private=reading.allow_private_addresses, host_delay=reading.host_delay)
        return cls(reading.timeout, reading.max_response_mb, **{**settings, **overrides})

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        params: dict[str, str] | None = None,
        keep_error_body: bool = False,
    ) -> Fetched:
        """GET `url`; with validators it is a conditional GET and may come back `not_modified`.

        `keep_error_body` returns a 4xx answer (status and body) instead of raising, for APIs whose error
        answers say what was wrong.
        """
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
                return self._follow(url, headers, params, deadline, keep_error_body)
            except _Retryable as problem:
                wait = problem.wait if problem.wait is not None else self.backoff * (2**attempt)
                if attempt >= problem.retries_allowed(self.retries) or time.monotonic() + wait >= deadline:
                    raise SourceError(problem.message + (f" (after {attempt + 1} tries)" if attempt else "")) from None
                time.sleep(wait)
                attempt += 1

    def _follow(
        self, url: str, headers: dict[str, str], params: dict[str, str] | None, deadline: float, keep_error_body: bool
    ) -> Fetched:
        """One try: the request and every redirect hop, each hop checked before it is requested."""
        check_url(url)
        origin_public = self.allow_private or is_public_url(url)
        for _hop in range(MAX_REDIRECTS + 1):
            fetched = self._get_once(url, headers, params, deadline, keep_error_body)
            if fetched.status not in REDIRECT_STATUSES:
                return fetched
            url, params = self._next_hop(url, fetched.location, origin_public), None
        raise SourceError(f"more than {MAX_REDIRECTS} redirects — the address redirects in a loop; check it")

    def _next_hop(self, url: str, location: str, origin_public: bool) -> str:
        if not location:
            raise SourceError("a redirect without a Location — the server is misconfigured; try later")
        try:
            target = urljoin(url, location)
            scheme = urlsplit(target).scheme
        except ValueError:
            scheme, target = "", location
        if scheme not in ("http", "https"):
            raise SourceError(f"a redirect to a non-web address ({_short(target)}) was refused")
        try:
            check_url(target)
        except SourceError:
            raise SourceError(f"a redirect to a malformed address ({_short(location)}) was refused") from None
        if origin_public and not self.allow_private and not is_public_url(target):
            raise SourceError(
                f"a redirect to a private address ({_short(target)}) was refused — set "
                "[reading] allow_private_addresses = true to read from a local mirror"
            )
        return target

    def _get_once(
        self,
        url: str,
        headers: dict[str, str],
        params: dict[str, str] | None,
        deadline: float,
        keep_error_body: bool = False,
    ) -> Fetched:
        with self.pacer.turn(url, deadline, self._late):
            return self._request(url, headers, params, deadline, keep_error_body)

    def _request(
        self, url: str, headers: dict[str, str], params: dict[str, str] | None, deadline: float, keep_error_body: bool
    ) -> Fetched:
        import requests

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SourceError(self._late())
        try:
            response = self.session.get(
                url, headers=headers, params=params, timeout=remaining, stream=True, allow_redirects=False
            )
        except (requests.exceptions.InvalidURL, ValueError) as exc:
            raise SourceError(f"not a valid URL ({exc})") from None
        except requests.exceptions.MissingSchema:
            raise SourceError("not a URL (it needs http:// or https://)") from None
        except requests.exceptions.Timeout:
            raise _Retryable(
                f"no answer within {self.timeout:g} s — raise [reading] timeout or try later", max_retries=1
            ) from None
        except requests.exceptions.ConnectionError as exc:
            raise _Retryable(
                f"cannot connect ({_reason(exc)}) — check the address and your network", max_retries=1
            ) from None
        with response:
            if response.status_code in REDIRECT_STATUSES:
                return Fetched(
                    response.url,
                    response.status_code,
                    b"",
                    "",
                    None,
                    None,
                    location=response.headers.get("Location", ""),
                )
            return self._read(url, response, deadline, keep_error_body)

    def _late(self) -> str:
        return (
            f"no complete answer within {self.timeout:g} s (the request's total deadline) — "
            "raise [reading] timeout or try later"
        )

    def _read(self, url: str, response: Any, deadline: float, keep_error_body: bool = False) -> Fetched:
        import requests
        import urllib3

        status = response.status_code
        if status in RETRY_STATUSES:
            raise _Retryable(
                f"HTTP {status} {response.reason or ''}".rstrip() + " — the server is failing; try later",
                wait=self._retry_after(response.headers.get("Retry-After")),
            )
        if status >= 400 and not keep_error_body:
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
        return Fetched(
            url=response.url,
            status=status,
            body=bytes(body),
            content_type=response.headers.get("Content-Type", ""),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )

    def _too_big(self, size: int | None) -> str:
        shown = f"{size / 1024 / 1024:.1f} MB" if size else f"more than {self.max_mb:g} MB"
        return (
            f"the response is {shown}, over the {self.max_mb:g} MB limit — "
            "raise [reading] max_response_mb if you mean it"
        )

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


class HostPacer:
    """One request at a time per host (host:port), and a delay between two requests to it."""

    def __init__(self, delay: float, pace_loopback: bool = False):
        self.delay = delay
        self.pace_loopback = pace_loopback
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}

    def delay_for(self, host: str) -> float:
        if host == "arxiv.org" or host.endswith(".arxiv.org"):
            return max(self.delay, ARXIV_DELAY_SECONDS)  # arXiv asks for three seconds between requests
        return self.delay

    def turn(self, url: str, deadline: float, late: Any) -> Any:
        """A context manager holding the host's turn; SourceError(late()) if the deadline comes first."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if not self.pace_loopback and _is_loopback_name(host):
            return _NoTurn()
        with self._guard:
            lock = self._locks.setdefault(parts.netloc.lower(), threading.Lock())
        return _Turn(self, parts.netloc.lower(), self.delay_for(host), lock, deadline, late)


class _NoTurn:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


class _Turn:
    def __init__(self, pacer: HostPacer, key: str, delay: float, lock: threading.Lock, deadline: float, late: Any):
        self.pacer, self.key, self.delay, self.lock, self.deadline, self.late = pacer, key, delay, lock, deadline, late

    def __enter__(self) -> None:
        if not self.lock.acquire(timeout=max(0.0, self.deadline - time.monotonic())):
            raise SourceError(self.late())
        wait = self.pacer._last.get(self.key, -1e9) + self.delay - time.monotonic()
        if wait > 0:
            if time.monotonic() + wait >= self.deadline:
                self.lock.release()
                raise SourceError(self.late())
            time.sleep(wait)

    def __exit__(self, *exc: Any) -> None:
        self.pacer._last[self.key] = time.monotonic()
        self.lock.release()


def is_public_url(url: str) -> bool:
    """True when every address the URL's host resolves to is public (not loopback/private/link-local)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if not host:
        return False
    try:
        return _is_public_address(ipaddress.ip_address(host))
    except ValueError:
        pass
    if _is_loopback_name(host):
        return False
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return True  # it cannot be reached at all; the request itself will say so
    return all(_is_public_address(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in infos)


def _is_public_address(address: Any) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _is_loopback_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        raise SourceError(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError("not a web address (it needs http:// or https:// and a host)")


def _short(url: str) -> str:
    return url if len(url) <= 80 else url[:77] + "..."


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
    for marker in (
        "Connection refused",
        "Name or service not known",
        "Temporary failure in name resolution",
        "No route to host",
        "timed out",
        "Connection reset",
    ):
        if marker in text:
            return marker
    return type(exc).__name__
