"""Every request has a total deadline: a server that trickles or never ends its body is cut off in time."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from sabbatical.reading.sources import SourceError
from sabbatical.reading.sources.fetch import Fetcher


def _serve(handler):
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
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}/feed"


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
