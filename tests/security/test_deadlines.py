"""Every request has a total deadline: a server that trickles or never ends its body is cut off in time."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from sabbatical.reading.sources import SourceError
from sabbatical.reading.sources.fetch import Fetcher
from tests.helpers.httpserver import Response, raw_socket_server


def _serve(handler):
    return raw_socket_server(handler)


def _trickle(conn):
    try:
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/atom+xml\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(400):
            conn.sendall(b"<")
            time.sleep(0.2)
    except OSError:
        pass
    finally:
        conn.close()


def test_a_trickling_server_is_stopped_at_the_total_deadline():
    listener, url = _serve(_trickle)
    try:
        started = time.monotonic()
        with pytest.raises(SourceError, match="total deadline"):
            Fetcher(timeout=2, retries=2).get(url)
        assert time.monotonic() - started < 6
    finally:
        listener.close()


def test_a_malformed_url_is_a_source_error_not_a_crash():
    with pytest.raises(SourceError):
        Fetcher(timeout=2).get("http://[::1")


def _endless(conn):
    try:
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n<rss>")
        block = b"<item>" * 8192
        while True:
            conn.sendall(block)
    except OSError:
        pass
    finally:
        conn.close()


def test_an_endless_body_is_cut_off_by_the_size_limit():
    listener, url = _serve(_endless)
    try:
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"over the 0\.5 MB limit"):
            Fetcher(timeout=20, max_mb=0.5).get(url)
        assert time.monotonic() - started < 10
    finally:
        listener.close()


def test_retry_after_99999_waits_neither_8_minutes_nor_past_the_deadline(http_server):
    http_server.route("/busy", Response(503, b"busy", {"Retry-After": "99999"}), Response(200, b"<rss/>", {}))
    started = time.monotonic()
    with pytest.raises(SourceError, match="HTTP 503"):
        Fetcher(timeout=3, retries=3).get(http_server.url + "/busy")
    assert time.monotonic() - started < 3.5
    assert len(http_server.requests_to("/busy")) == 1  # a capped 60 s wait would pass the 3 s deadline
    # The cap: a fetcher with time to spare waits at most 60 s, not 99999 s.
    assert Fetcher(timeout=300, max_retry_after=99999)._retry_after("99999") == 60.0
    http_server.route("/soon", Response(503, b"busy", {"Retry-After": "1"}), Response(200, b"<rss/>", {}))
    assert Fetcher(timeout=5).get(http_server.url + "/soon").body == b"<rss/>"


def _oai_page(token: str) -> bytes:
    return (
        b'<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
        b'<resumptionToken completeListSize="999">' + token.encode() + b"</resumptionToken>"
        b"</ListRecords></OAI-PMH>"
    )


def _at_most(pages: int):
    """An on_page callback that fails the test (instead of letting it run forever) past `pages` pages."""
    seen = []

    def count(*_):
        seen.append(1)
        if len(seen) > pages:
            pytest.fail(f"the harvest went on past {pages} pages")

    return count


def test_a_repeated_resumption_token_stops_the_harvest(http_server):
    from sabbatical.reading.sources.oai_pmh import harvest

    http_server.route("/oai", body=_oai_page("same-token"), headers={"Content-Type": "text/xml"})
    started = time.monotonic()
    with pytest.raises(SourceError, match="resumption token 'same-token' a second time"):
        list(harvest(Fetcher(timeout=5), http_server.url + "/oai", "2024-01-01", on_page=_at_most(10)))
    assert len(http_server.requests_to("/oai")) == 2  # the first page, then the token that comes back
    assert time.monotonic() - started < 5


def test_harvest_pages_are_paced_one_request_at_a_time_per_host(http_server):
    from sabbatical.reading.sources.oai_pmh import harvest

    pages = [_oai_page(f"t{n}") for n in range(3)] + [_oai_page("").replace(b">999<", b"><")]
    http_server.route("/oai", *[Response(200, page, {"Content-Type": "text/xml"}) for page in pages])
    stamps = []
    fetcher = Fetcher(timeout=10, host_delay=0.4, pace_loopback=True)
    list(harvest(fetcher, http_server.url + "/oai", "2024-01-01", on_page=lambda *_: stamps.append(time.monotonic())))
    assert len(stamps) == 4
    assert all(b - a >= 0.38 for a, b in itertools.pairwise(stamps)), stamps


def test_two_threads_never_ask_one_host_at_the_same_time(http_server):
    http_server.route("/slow", body=b"ok", delay=0.3)
    fetcher = Fetcher(timeout=10, host_delay=0.1, pace_loopback=True)
    spans = []

    def fetch():
        start = time.monotonic()
        fetcher.get(http_server.url + "/slow")
        spans.append((start, time.monotonic()))

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started >= 3 * 0.3 + 2 * 0.1 - 0.05  # one after another, with the delay


def test_a_deadline_too_short_for_the_host_delay_fails_instead_of_waiting(http_server):
    http_server.route("/x", body=b"ok")
    fetcher = Fetcher(timeout=1, host_delay=5, pace_loopback=True)
    fetcher.get(http_server.url + "/x")
    started = time.monotonic()
    with pytest.raises(SourceError, match="total deadline"):
        fetcher.get(http_server.url + "/x")
    assert time.monotonic() - started < 0.5


def test_update_is_not_held_up_by_one_trickling_source(workspace, cli, tmp_path):
    """1 trickling + 3 slow-but-good sources: about one deadline in all, not the sum of them."""
    import json

    from tests.helpers.httpserver import LoopbackServer
    from tests.test_ingest import configure, open_pile, rss

    listener, trickling = _serve(_trickle)
    servers = [LoopbackServer().start() for _ in range(3)]
    try:
        urls = []
        for n, server in enumerate(servers):
            body = rss([{"title": f"Post {n}", "link": f"https://blog{n}.example/post"}])
            server.route("/feed.rss", body=body, headers={"Content-Type": "application/rss+xml"}, delay=1.5)
            urls.append(server.url + "/feed.rss")
        configure(workspace, timeout=3.0, feeds=[trickling, *urls])
        started = time.monotonic()
        result = cli("--workspace", workspace.root, "read", "update", "--json")
        elapsed = time.monotonic() - started
    finally:
        listener.close()
        for server in servers:
            server.stop()
    assert result.exit_code == 3, result.stderr
    report = json.loads(result.stdout)
    assert report["new"] == 3 and report["failed"] == 1
    assert any("total deadline" in line for line in report["failures"])
    assert elapsed < 3.0 + 1.5, elapsed  # one after another: 3 + 3 × 1.5 = 7.5 s
    with open_pile(workspace) as pile:
        assert {pile.get(f"https://blog{n}.example/post").title for n in range(3)} == {"Post 0", "Post 1", "Post 2"}
