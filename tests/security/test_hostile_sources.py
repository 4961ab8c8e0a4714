"""Sources that attack the reader: redirects into the private network, OPML lists naming it, devices and
FIFOs given as files, malformed locators, wrong-typed JSON Feeds and feeds cut short.

Every test runs the real CLI (or the real `Fetcher`) against real servers on 127.0.0.1. A "public" host is
played by a loopback server used as an HTTP proxy: requests for http://public.example/… reach it with the
public name, so the fetcher sees a public origin while the bytes stay on this machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from sabbatical.errors import ExitCode
from sabbatical.reading.ingest import sample_path
from sabbatical.reading.sources import SourceError
from sabbatical.reading.sources.fetch import Fetcher
from tests.helpers.httpserver import LoopbackServer, Response, raw_socket_server
from tests.test_ingest import configure, open_pile

ATOM = {"Content-Type": "application/atom+xml"}


@pytest.fixture
def proxy(tmp_path):
    """A loopback server that also answers as the proxy for http://public.example/…"""
    server = LoopbackServer(tmp_path / "www" if (tmp_path / "www").exists() else None).start()
    yield server
    server.stop()


def _through(server: LoopbackServer) -> dict[str, str]:
    return {"HTTP_PROXY": server.url, "http_proxy": server.url, "NO_PROXY": "", "no_proxy": ""}


# -- redirects into the private network ----------------------------------------------------------------------


def test_a_redirect_from_a_public_host_to_loopback_is_refused(proxy):
    secret = "/admin/secrets.atom"
    proxy.route("/feed.atom", status=302, headers={"Location": f"{proxy.url}{secret}"})
    proxy.route(secret, body=sample_path("notes.atom").read_bytes(), headers=ATOM)
    fetcher = Fetcher(timeout=5)
    fetcher.session.proxies = {"http": proxy.url}
    with pytest.raises(SourceError, match=r"redirect to a private address .* allow_private_addresses"):
        fetcher.get("http://public.example/feed.atom")
    assert proxy.requests_to(secret) == []


def test_a_local_mirror_may_redirect_when_the_workspace_allows_it(proxy):
    proxy.route("/feed.atom", status=301, headers={"Location": f"{proxy.url}/moved.atom"})
    proxy.route("/moved.atom", body=b"<feed/>", headers=ATOM)
    fetcher = Fetcher(timeout=5, allow_private=True)
    fetcher.session.proxies = {"http": proxy.url}
    fetched = fetcher.get("http://public.example/feed.atom")
    assert fetched.status == 200 and fetched.body == b"<feed/>" and fetched.url.endswith("/moved.atom")


def test_a_url_the_user_names_may_be_private_and_redirect_within_it(http_server):
    http_server.route("/old.atom", status=308, headers={"Location": "/new.atom"})
    http_server.route("/new.atom", body=b"<feed/>", headers=ATOM)
    assert Fetcher(timeout=5).get(http_server.url + "/old.atom").body == b"<feed/>"


def test_a_redirect_loop_ends_within_a_bounded_number_of_hops(http_server):
    http_server.route("/a", status=302, headers={"Location": "/b"})
    http_server.route("/b", status=302, headers={"Location": "/a"})
    with pytest.raises(SourceError, match="more than 5 redirects"):
        Fetcher(timeout=5).get(http_server.url + "/a")
    assert len(http_server.requests) == 6


def test_a_redirect_to_another_scheme_is_refused(http_server):
    http_server.route("/a", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(SourceError, match="non-web address"):
        Fetcher(timeout=5).get(http_server.url + "/a")


def test_read_feed_reports_the_refused_redirect_on_one_line_and_reads_the_rest(workspace, proxy, cli):
    proxy.route("/good.atom", body=sample_path("notes.atom").read_bytes(), headers=ATOM)
    proxy.route("/evil.atom", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    result = cli(
        "--workspace",
        workspace.root,
        "read",
        "feed",
        "http://public.example/good.atom",
        "http://public.example/evil.atom",
        env=_through(proxy),
    )
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "evil.atom" in line]
    assert "redirect to a private address" in line
    with open_pile(workspace) as pile:
        assert pile.count() > 0


# -- OPML lists naming the private network ---------------------------------------------------------------------


def _opml(tmp_path, *urls: str):
    outlines = "".join(f'<outline text="f{i}" type="rss" xmlUrl="{u}"/>' for i, u in enumerate(urls))
    path = tmp_path / "subs.opml"
    path.write_text(f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>')
    return path


def test_an_opml_list_naming_private_addresses_is_not_followed(workspace, tmp_path, cli):
    opml = _opml(
        tmp_path,
        "http://127.0.0.1:9/admin.atom",
        "http://192.168.1.1/feed",
        "http://[::1]/x",
        "http://localhost:8080/feed",
        "https://blog.example.org/feed.xml",
    )
    result = cli("--workspace", workspace.root, "read", "file", opml)
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    refused = [line for line in result.stderr.splitlines() if "loopback or private address" in line]
    assert len(refused) == 4 and "following 1 feeds" in result.stdout
    with open_pile(workspace) as pile:
        assert [s.locator for s in pile.sources(followed=True)] == ["https://blog.example.org/feed.xml"]


def test_an_opml_list_for_a_local_mirror_is_followed_when_allowed(workspace, tmp_path, cli, http_server):
    (http_server.root / "notes.atom").write_bytes(sample_path("notes.atom").read_bytes())
    configure(workspace, allow_private_addresses=True)
    result = cli("--workspace", workspace.root, "read", "file", _opml(tmp_path, http_server.url + "/notes.atom"))
    assert result.exit_code == 0 and "following 1 feeds" in result.stdout
    assert cli("--workspace", workspace.root, "read", "update").exit_code == 0


def test_a_malformed_url_in_an_opml_list_does_not_break_later_updates(workspace, tmp_path, cli, http_server):
    (http_server.root / "notes.atom").write_bytes(sample_path("notes.atom").read_bytes())
    configure(workspace, allow_private_addresses=True)
    result = cli(
        "--workspace",
        workspace.root,
        "read",
        "file",
        _opml(tmp_path, "http://[::1", "http://host:port/x", http_server.url + "/notes.atom"),
    )
    assert result.exit_code == ExitCode.PARTIAL and "following 1 feeds" in result.stdout
    for _ in range(2):
        update = cli("--workspace", workspace.root, "read", "update", "--json")
        assert update.exit_code == 0, update.stderr
        assert json.loads(update.stdout)["failed"] == 0


# -- malformed locators, and unfollowing ----------------------------------------------------------------------


def test_a_malformed_locator_is_one_failed_source_and_the_good_one_is_read(workspace, tmp_path, cli):
    good = tmp_path / "good.atom"
    good.write_bytes(sample_path("notes.atom").read_bytes())
    result = cli("--workspace", workspace.root, "read", "feed", "http://[::1", "htp:/x", "", str(good))
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(failed) == 3, result.stderr
    assert any("http://[::1" in line and "not a valid URL" in line for line in failed)
    with open_pile(workspace) as pile:
        assert pile.count() > 0
        assert [s.locator for s in pile.sources(followed=True)] == [str(good)]


def test_a_followed_source_can_be_unfollowed_and_keeps_its_items(workspace, http_server, cli):
    for name in ("blog.rss", "notes.atom"):
        (http_server.root / name).write_bytes(sample_path(name).read_bytes())
    ws = ["--workspace", workspace.root]
    blog, notes = http_server.url + "/blog.rss", http_server.url + "/notes.atom"
    assert cli(*ws, "read", "feed", blog, notes).exit_code == 0
    listed = json.loads(cli(*ws, "read", "sources", "--json").stdout)
    ids = {s["locator"]: s["id"] for s in listed}
    assert set(ids) == {blog, notes}
    with open_pile(workspace) as pile:
        before = pile.count()
    gone = cli(*ws, "read", "unfollow", str(ids[blog]))
    assert gone.exit_code == 0 and "No longer following feed " + blog in gone.stdout
    assert cli(*ws, "read", "unfollow", notes).exit_code == 0
    assert cli(*ws, "read", "unfollow", notes).exit_code == ExitCode.ERROR  # not followed any more
    asked = len(http_server.requests)
    update = json.loads(cli(*ws, "read", "update", "--json").stdout)
    assert update["sources"] == [] and len(http_server.requests) == asked
    with open_pile(workspace) as pile:
        assert pile.count() == before > 0
        assert {s.locator for s in pile.sources(followed=False)} == {blog, notes}
    assert "not fetched yet" not in cli(*ws, "read", "sources", "--all").stdout


# -- local files that are not files ---------------------------------------------------------------------------


def _read_feed_in_a_subprocess(workspace, *paths) -> subprocess.CompletedProcess:
    """The CLI in its own process, so a regression that hangs fails on the timeout instead of hanging."""
    return subprocess.run(
        [sys.executable, "-m", "sabbatical", "--workspace", str(workspace.root), "read", "feed", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_devices_fifos_and_folders_are_refused_without_hanging(workspace, tmp_path):
    fifo = tmp_path / "feed.fifo"
    os.mkfifo(fifo)
    (tmp_path / "zero.atom").symlink_to("/dev/zero")
    (tmp_path / "fifo.atom").symlink_to(fifo)
    folder = tmp_path / "folder.atom"
    folder.mkdir()
    good = tmp_path / "good.atom"
    good.write_bytes(sample_path("notes.atom").read_bytes())
    bad = ["/dev/zero", fifo, tmp_path / "zero.atom", tmp_path / "fifo.atom", folder]
    result = _read_feed_in_a_subprocess(workspace, *bad, good)
    assert result.returncode == ExitCode.PARTIAL, result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(failed) == 5, result.stderr
    assert sum("not a regular file" in line for line in failed) == 4
    assert any("is a folder" in line for line in failed)


def test_a_local_file_over_the_size_limit_is_refused(workspace, tmp_path, cli):
    configure(workspace, max_response_mb=0.01)
    big = tmp_path / "big.atom"
    big.write_bytes(b"<feed>" + b" " * 20_000 + b"</feed>")
    result = cli("--workspace", workspace.root, "read", "feed", big)
    assert result.exit_code == ExitCode.ERROR and "over the 0.01 MB limit" in result.stderr
    result = cli("--workspace", workspace.root, "read", "file", big)
    assert result.exit_code == ExitCode.ERROR and "over the 0.01 MB limit" in result.stderr


# -- JSON Feeds with wrong types, and feeds cut short ----------------------------------------------------------


def test_one_wrong_typed_json_feed_item_loses_only_that_item(workspace, tmp_path, cli):
    items = [
        {"id": "1", "url": "https://e.example/1", "title": "Good one", "content_text": "Fine."},
        "a string where an item belongs",
        {"id": "2", "url": ["https://e.example/2"], "title": "URL is a list"},
        {"id": "3", "url": "https://e.example/3", "title": {"nested": True}},
        {"id": "4", "url": "https://e.example/4", "title": 1234, "content_text": "A number for a title."},
        {"id": "5", "url": "https://e.example/5", "title": "Tags wrong", "tags": [["x"]]},
        {"id": "6", "url": "https://e.example/6", "title": "Good too", "authors": "nobody", "date_published": ["2024"]},
    ]
    path = tmp_path / "feed.json"
    path.write_text(
        json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": ["not", "text"], "items": items})
    )
    result = cli("--workspace", workspace.root, "read", "feed", path, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["new"] == 3 and report["failed"] == 0
    assert any("4 of 7 items are malformed" in w for w in report["warnings"])
    with open_pile(workspace) as pile:
        assert {pile.get(f"https://e.example/{n}").title for n in (1, 4, 6)} == {"Good one", "1234", "Good too"}


def test_a_feed_cut_mid_document_is_a_failed_source(workspace, http_server, cli):
    whole = sample_path("blog.rss").read_bytes()
    http_server.route("/cut.rss", body=whole[: len(whole) // 2], headers={"Content-Type": "application/rss+xml"})
    result = cli("--workspace", workspace.root, "read", "feed", http_server.url + "/cut.rss")
    assert result.exit_code == ExitCode.ERROR
    assert "cut short" in result.stderr and "0 new, 0 updated, 0 duplicate, 1 failed" in result.stdout


def _short_body_server(body: bytes, claimed: int):
    def answer(conn):
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                + f"Content-Length: {claimed}\r\nConnection: close\r\n\r\n".encode()
                + body
            )

    return raw_socket_server(answer, "/feed.rss")


def test_a_body_shorter_than_its_content_length_is_a_failed_source(workspace, cli):
    whole = sample_path("blog.rss").read_bytes()
    listener, url = _short_body_server(whole, len(whole) + 5000)
    try:
        result = cli("--workspace", workspace.root, "read", "feed", url)
    finally:
        listener.close()
    assert result.exit_code == ExitCode.ERROR, result.stdout
    assert "connection broke" in result.stderr and "1 failed" in result.stdout


def test_a_whole_feed_with_sloppy_markup_is_still_read_with_a_warning(workspace, http_server, cli):
    sloppy = sample_path("blog.rss").read_bytes().replace(b"</channel>", b"<junk></channel>", 1)
    http_server.route("/sloppy.rss", Response(200, sloppy, {"Content-Type": "application/rss+xml"}))
    result = cli("--workspace", workspace.root, "read", "feed", http_server.url + "/sloppy.rss")
    assert result.exit_code == 0 and "malformed" in result.stderr


# -- arXiv through the one fetcher ------------------------------------------------------------------------------


def test_the_arxiv_api_has_the_same_size_limit(workspace, http_server, cli):
    huge = sample_path("papers.atom").read_bytes().replace(b"</feed>", b"<!--" + b" " * 300_000 + b"--></feed>")
    http_server.route("/api/query", body=huge, headers=ATOM)
    configure(workspace, arxiv_api_url=http_server.url + "/api/query", max_response_mb=0.1)
    result = cli("--workspace", workspace.root, "read", "arxiv", "sparse autoencoders")
    assert result.exit_code == ExitCode.ERROR and "over the 0.1 MB limit" in result.stderr


def test_the_arxiv_api_has_the_same_total_deadline(workspace, http_server, cli):
    http_server.route("/api/query", body=sample_path("papers.atom").read_bytes(), headers=ATOM, delay=5)
    configure(workspace, arxiv_api_url=http_server.url + "/api/query", timeout=1.0)
    started = time.monotonic()
    result = cli("--workspace", workspace.root, "read", "arxiv", "2601.01103")
    assert result.exit_code == ExitCode.ERROR and "no answer within 1 s" in result.stderr
    assert time.monotonic() - started < 4


def test_arxiv_hosts_get_three_seconds_and_others_the_configured_delay():
    from sabbatical.reading.sources.fetch import HostPacer

    pacer = HostPacer(1.0)
    assert pacer.delay_for("export.arxiv.org") == pacer.delay_for("arxiv.org") == 3.0
    assert pacer.delay_for("blog.example.org") == 1.0 and pacer.delay_for("notarxiv.org") == 1.0


def test_no_private_attribute_of_a_third_party_library_is_used_by_the_sources():
    from pathlib import Path

    import sabbatical.reading.sources as sources

    for path in Path(sources.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "._session" not in text and "import arxiv" not in text, path.name
