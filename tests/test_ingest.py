"""Ingesting into the pile through the real CLI: dedup across sources, versions, links, updates.

Everything runs against real SQLite and, for anything fetched, a real HTTP server on 127.0.0.1 serving the
bundled samples (arXiv API answers, feeds, pages) to the real `arxiv` client, feedparser and trafilatura.
"""

from __future__ import annotations

import json
import re
import sqlite3

from sabbatical import db
from sabbatical.errors import ExitCode
from sabbatical.reading.ingest import sample_path
from sabbatical.reading.pile import Pile
from sabbatical.tour import read_stage

SAMPLE_PAPERS = 36
SAMPLE_POSTS = 12


# -- helpers shared by the other ingest tests ------------------------------------------------------------------


def configure(workspace, **values) -> None:
    """Set [reading] keys in the workspace's sabbatical.toml."""
    path = workspace.config_path
    head, marker, rest = path.read_text().partition("[reading]\n")
    section, sep, tail = rest.partition("\n[")
    for key, value in values.items():
        rendered = json.dumps(value) if isinstance(value, (str, list, bool)) else repr(value)
        section, found = re.subn(rf"^{key} = .*$", f"{key} = {rendered}", section, flags=re.M)
        assert found == 1, key
    path.write_text(head + marker + section + sep + tail)


def open_pile(workspace) -> Pile:
    return Pile(db.connect(workspace.pile_path))


def serve_arxiv_api(http_server, body: bytes) -> str:
    """Answer every arXiv API query with `body`; return the API URL to configure."""
    http_server.route("/api/query", body=body, headers={"Content-Type": "application/atom+xml"})
    return http_server.url + "/api/query"


def rss(items: list[dict[str, str]], title: str = "A test feed") -> str:
    entries = "".join(
        f"<item><title>{i['title']}</title><link>{i['link']}</link><guid>{i.get('guid', i['link'])}</guid>"
        f"<pubDate>{i.get('date', 'Mon, 05 Jan 2026 10:00:00 GMT')}</pubDate>"
        f"<description><![CDATA[{i.get('body', '')}]]></description></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://feeds.example.org/</link><description>d</description>{entries}</channel></rss>"
    )


def make_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with a text layer (for pypdf to read back)."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 11 Tf 72 720 Td 14 TL " + " ".join(f"({escape(line)}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def item_sources(workspace, item_id: str) -> list[tuple[str, str]]:
    with open_pile(workspace) as pile:
        return sorted((s.kind, s.locator) for s in pile.get(item_id).sources)


# -- the tour ---------------------------------------------------------------------------------------------------


def test_tour_stage_reads_the_samples_once(workspace):
    first = read_stage(workspace)
    assert (
        first
        == f"read {SAMPLE_PAPERS} papers and {SAMPLE_POSTS} posts into the pile ({SAMPLE_PAPERS + SAMPLE_POSTS} new)"
    )
    second = read_stage(workspace)
    assert second == f"read {SAMPLE_PAPERS} papers and {SAMPLE_POSTS} posts into the pile (0 new on a re-run)"
    with open_pile(workspace) as pile:
        assert pile.counts_by_kind() == {"paper": SAMPLE_PAPERS, "post": SAMPLE_POSTS}
        assert pile.conn.execute("SELECT COUNT(*) FROM links").fetchone()[0] >= 20
        assert pile.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        post = pile.get("https://gradient-notes.example.org/2026/01/phase-changes")
        assert {link.id for link in post.links_out} == {"arxiv:2601.01187", "arxiv:2601.02478"}


def test_samples_ship_as_package_data():
    for name in ("papers.atom", "blog.rss", "notes.atom"):
        assert sample_path(name).is_file(), name


# -- one paper, many ways in -------------------------------------------------------------------------------------


def test_the_same_paper_by_query_feed_bibtex_and_blog_link_is_one_item(workspace, http_server, cli, tmp_path):
    configure(workspace, arxiv_api_url=serve_arxiv_api(http_server, sample_path("papers.atom").read_bytes()))
    ws = ["--workspace", workspace.root]
    result = cli(*ws, "read", "arxiv", "sparse autoencoders", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["new"] == SAMPLE_PAPERS

    feed = tmp_path / "daily-papers.xml"
    feed.write_text(
        rss(
            [
                {
                    "title": "Feature splitting tracks token frequency",
                    "link": "https://arxiv.org/abs/2601.01103v2",
                    "body": "A short teaser.",
                }
            ]
        )
    )
    bib = tmp_path / "refs.bib"
    bib.write_text(
        "@misc{okonkwo2026,\n title={Feature Splitting in Sparse Autoencoders},\n"
        " author={Okonkwo, Mira},\n eprint={2601.01103}, archivePrefix={arXiv}, year={2026}\n}\n"
        "@article{ferreira2026, title={Induction heads}, doi={10.48550/arXiv.2601.01187}}\n"
    )
    (http_server.root / "blog.rss").write_bytes(sample_path("blog.rss").read_bytes())
    for command in (["feed", str(feed)], ["file", str(bib)], ["feed", http_server.url + "/blog.rss"]):
        result = cli(*ws, "read", *command)
        assert result.exit_code == 0, (command, result.stderr)

    with open_pile(workspace) as pile:
        assert pile.count("paper") == SAMPLE_PAPERS
        paper = pile.get("https://arxiv.org/pdf/2601.01103v2")
        assert paper.id == "arxiv:2601.01103"
        assert paper.title == "Feature Splitting in Sparse Autoencoders Tracks Token Frequency"  # arXiv's wins
        assert {s.kind for s in paper.sources} == {"arxiv_query", "feed", "file"}
        assert [link.id for link in paper.links_in] == ["https://gradient-notes.example.org/2026/02/superposition"]
        assert len(pile.get("arxiv:2601.01187").sources) == 2  # the BibTeX DOI entry found the arXiv paper


def test_a_post_linking_an_unread_paper_makes_a_minimal_paper_item(workspace, http_server, cli):
    page = (
        "<html><head><title>Notes on probes</title></head><body><article><h1>Notes on probes</h1>"
        + "<p>Probing classifiers are everywhere in interpretability work, and they are easy to misread. "
        "A probe that reads a property does not show that the model uses it. </p>"
        * 6
        + '<p>The best treatment is <a href="https://arxiv.org/abs/2601.09999">a causal ablation study</a>.</p>'
        "</article></body></html>"
    )
    (http_server.root / "probes.html").write_text(page)
    result = cli("--workspace", workspace.root, "read", "url", http_server.url + "/probes.html?utm_source=x")
    assert result.exit_code == 0, result.stderr
    assert "1 linked papers not read yet" in result.stdout
    with open_pile(workspace) as pile:
        stub = pile.get("2601.09999")
        assert (stub.kind, stub.title, stub.metadata_from) == ("paper", "a causal ablation study", "link")
        page_item = stub.links_in[0]
        assert page_item.id == http_server.url.replace("http://", "https://") + "/probes.html"
        assert page_item.kind == "page" and page_item.title == "Notes on probes"
    # Reading the paper itself later fills the minimal item in, and counts it as new.
    body = sample_path("papers.atom").read_text().replace("2601.01103", "2601.09999")
    configure(workspace, arxiv_api_url=serve_arxiv_api(http_server, body.encode()))
    result = cli("--workspace", workspace.root, "read", "arxiv", "2601.09999", "--json")
    assert json.loads(result.stdout)["new"] == 1, result.stdout


# -- versions and updates ----------------------------------------------------------------------------------------


def _one_entry_atom(version: int, title: str) -> bytes:
    text = sample_path("papers.atom").read_text()
    entries = re.findall(r"  <entry>.*?</entry>\n", text, re.S)
    first = (
        entries[0]
        .replace("2601.01103v2", f"2601.01103v{version}")
        .replace("Feature Splitting in Sparse Autoencoders Tracks Token Frequency", title)
    )
    return (text.split("  <entry>")[0] + first + "</feed>\n").encode()


def test_arxiv_versions_are_history_and_an_older_one_never_wins(workspace, tmp_path, cli):
    ws = ["--workspace", workspace.root]
    for version, title in (
        (2, "Feature Splitting Tracks Token Frequency"),
        (3, "Why Features Split"),
        (1, "An Early Title"),
    ):
        path = tmp_path / f"v{version}.atom"
        path.write_bytes(_one_entry_atom(version, title))
        result = cli(*ws, "read", "file", path)
        assert result.exit_code == 0, result.stderr
    with open_pile(workspace) as pile:
        item = pile.get("2601.01103")
        assert item.title == "Why Features Split"
        assert [(v.version, v.title) for v in item.versions] == [
            (1, "An Early Title"),
            (2, "Feature Splitting Tracks Token Frequency"),
            (3, "Why Features Split"),
        ]
        assert {"arxiv:2601.01103v1", "arxiv:2601.01103v2", "arxiv:2601.01103v3"} <= {a for a, _ in item.aliases}


def test_changed_content_updates_the_item_its_hash_and_the_search_index(workspace, tmp_path, cli):
    feed = tmp_path / "feed.xml"
    post = {"title": "On warmup", "link": "https://blog.example.org/warmup", "body": "<p>Warmup tames curvature.</p>"}
    feed.write_text(rss([post]))
    cli("--workspace", workspace.root, "read", "feed", feed)
    with open_pile(workspace) as pile:
        before = pile.get("https://blog.example.org/warmup").content_hash
    feed.write_text(rss([{**post, "body": "<p>Warmup tames curvature. Edited: and sharpness.</p>"}]))
    result = cli("--workspace", workspace.root, "read", "feed", feed, "--json")
    assert json.loads(result.stdout)["updated"] == 1
    with open_pile(workspace) as pile:
        item = pile.get("https://blog.example.org/warmup")
        assert item.content_hash != before and "sharpness" in item.content
        hits = pile.conn.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH 'sharpness'").fetchall()
        assert [h[0] for h in hits] == [item.seq]
        assert pile.count() == 1


def test_update_uses_conditional_get_and_adds_only_new_entries(workspace, http_server, cli):
    feed = http_server.root / "blog.rss"
    feed.write_bytes(sample_path("blog.rss").read_bytes())
    url = http_server.url + "/blog.rss"
    ws = ["--workspace", workspace.root]
    assert json.loads(cli(*ws, "read", "feed", url, "--json").stdout)["new"] == 8

    result = cli(*ws, "read", "update", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["new"], report["duplicate"]) == (0, 0)
    assert report["sources"][0]["status"] == "not_modified"
    assert "If-None-Match" in http_server.requests_to("/blog.rss")[-1].headers

    new_item = (
        "<item><title>A new post</title><link>https://gradient-notes.example.org/2026/02/new/</link>"
        '<guid isPermaLink="false">gradient-notes-new</guid>'
        "<description>Fresh.</description></item>\n    <item>"
    )
    feed.write_text(feed.read_text().replace("<item>", new_item, 1))
    report = json.loads(cli(*ws, "read", "update", "--json").stdout)
    assert (report["new"], report["updated"], report["duplicate"]) == (1, 0, 8)
    with open_pile(workspace) as pile:
        source = pile.find_source("feed", url)
        assert source.followed and source.etag and source.last_status == "ok"


def test_update_follows_the_feeds_named_in_the_config_and_in_opml(workspace, http_server, cli, tmp_path):
    (http_server.root / "blog.rss").write_bytes(sample_path("blog.rss").read_bytes())
    (http_server.root / "notes.atom").write_bytes(sample_path("notes.atom").read_bytes())
    # The list names a loopback feed: a local mirror, which the workspace has to allow.
    configure(workspace, feeds=[http_server.url + "/blog.rss"], allow_private_addresses=True)
    opml = tmp_path / "subs.opml"
    opml.write_text(
        f'<?xml version="1.0"?><opml version="1.0"><body><outline text="Lab">'
        f'<outline text="Notes" type="rss" xmlUrl="{http_server.url}/notes.atom"/></outline></body></opml>'
    )
    result = cli("--workspace", workspace.root, "read", "file", opml)
    assert result.exit_code == 0 and "following 1 feeds" in result.stdout
    report = json.loads(cli("--workspace", workspace.root, "read", "update", "--json").stdout)
    assert report["new"] == SAMPLE_POSTS and report["failed"] == 0


# -- bad input ---------------------------------------------------------------------------------------------------


def test_failing_sources_exit_3_and_the_others_are_read(workspace, http_server, cli):
    configure(workspace, timeout=0.5, max_response_mb=0.05)
    (http_server.root / "good.rss").write_bytes(sample_path("blog.rss").read_bytes())
    http_server.route("/gone.rss", status=404, body="no")
    http_server.route("/broken.rss", status=500, body="oops")
    http_server.route("/slow.rss", body=rss([]), delay=2.0)
    http_server.route("/huge.rss", body=b"<rss>" + b" " * 200_000 + b"</rss>")
    (http_server.root / "page.html").write_text(
        '<html><head><link rel="alternate" type="application/rss+xml" '
        'href="/good.rss"></head><body><p>Hello</p></body></html>'
    )
    urls = [
        http_server.url + path
        for path in ("/good.rss", "/gone.rss", "/broken.rss", "/slow.rss", "/huge.rss", "/page.html")
    ]
    result = cli("--workspace", workspace.root, "read", "feed", *urls)
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    assert "8 new" in result.stdout and "5 failed" in result.stdout
    # The loopback server may log the connections the client dropped (timeout, size limit) before our lines.
    ours = result.stderr[result.stderr.index("Error: 5 of 6") :]
    lines = ours.splitlines()
    assert lines[0].startswith("Error: 5 of 6 sources failed") and len(lines) == 6
    expected = {
        "gone.rss": "HTTP 404",
        "broken.rss": "HTTP 500",
        "slow.rss": "no answer within 0.5 s",
        "huge.rss": "over the 0.05 MB limit",
        "page.html": "web page, not a feed",
    }
    for name, words in expected.items():
        line = next(line for line in lines if name in line)
        assert line.startswith("  - feed ") and words in line, line
    assert f"names its feed at {http_server.url}/good.rss" in ours
    # 0.5 s is the request's whole deadline: no time for a 0.5 s backoff, so no retry.
    assert len(http_server.requests_to("/broken.rss")) == 1
    assert "Traceback" not in ours
    with open_pile(workspace) as pile:
        assert pile.count("post") == 8
        assert {s.locator for s in pile.sources()} == {urls[0]}  # a feed that never worked is not followed


def test_a_failing_server_is_retried_twice_within_the_deadline(workspace, http_server, cli):
    configure(workspace, timeout=5)
    http_server.route("/broken.rss", status=500, body="oops")
    result = cli("--workspace", workspace.root, "read", "feed", http_server.url + "/broken.rss")
    assert result.exit_code == ExitCode.ERROR
    assert "HTTP 500" in result.stderr and "(after 3 tries)" in result.stderr, result.stderr
    assert len(http_server.requests_to("/broken.rss")) == 3


def test_a_single_failing_source_exits_1_with_one_line(workspace, http_server, cli):
    http_server.route("/gone.rss", status=404)
    result = cli("--workspace", workspace.root, "read", "feed", http_server.url + "/gone.rss")
    assert result.exit_code == ExitCode.ERROR
    assert result.stderr.splitlines() == [
        f"Error: feed {http_server.url}/gone.rss: HTTP 404 Not Found — check the address"
    ]


def test_a_bad_arxiv_id_says_what_an_id_looks_like(workspace, cli):
    result = cli("--workspace", workspace.root, "read", "arxiv", "arXiv:abc")
    assert result.exit_code == ExitCode.ERROR
    assert "'arXiv:abc' is not a valid arXiv id — use a form like 2310.01405" in result.stderr


def test_read_arxiv_needs_something_to_read(workspace, cli):
    assert cli("--workspace", workspace.root, "read", "arxiv").exit_code == ExitCode.USAGE
    result = cli("--workspace", workspace.root, "read", "arxiv", "--harvest", "--from", "yesterday")
    assert result.exit_code == ExitCode.USAGE and "--from must be a date" in result.stderr


def test_a_malformed_but_readable_feed_is_read_with_a_warning(workspace, tmp_path, cli):
    feed = tmp_path / "sloppy.xml"
    feed.write_text(rss([{"title": "Caf&eacute; notes", "link": "https://blog.example.org/cafe"}]))
    result = cli("--workspace", workspace.root, "read", "feed", feed)
    assert result.exit_code == 0
    assert "Warning: feed" in result.stderr and "malformed" in result.stderr
    with open_pile(workspace) as pile:
        assert pile.count() == 1


def test_bibtex_with_a_broken_block_reads_the_rest(workspace, tmp_path, cli):
    bib = tmp_path / "refs.bib"
    bib.write_text(
        "@misc{good1, title={First}, url={https://example.org/one}}\n"
        "@misc{broken, title={Never closed}\n"
        "@book{good2, title={Second}, year={2001}, doi={10.1000/ABC}}\n"
    )
    result = cli("--workspace", workspace.root, "read", "file", bib, "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["new"] == 2
    assert any("not valid BibTeX" in w for w in report["warnings"])
    with open_pile(workspace) as pile:
        assert pile.get("doi:10.1000/abc").title == "Second"


def test_a_pdf_showing_an_arxiv_stamp_is_that_paper(workspace, tmp_path, cli):
    read_stage(workspace)
    pdf = tmp_path / "sinks.pdf"
    pdf.write_bytes(
        make_pdf(
            [
                "Attention Sinks Are Learned Register Tokens",
                "arXiv:2601.01355v1 [cs.LG] 9 Jan 2026",
                "Many transformers put large attention weight on the first token.",
            ]
        )
    )
    result = cli("--workspace", workspace.root, "read", "file", pdf, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["updated"] == 1  # the paper's empty text is filled in
    with open_pile(workspace) as pile:
        item = pile.get("2601.01355")
        assert "first token" in item.content and item.title == "Attention Sinks Are Learned Register Tokens"
        assert len(item.sources) == 2


def test_unknown_files_and_missing_files_fail_in_one_line(workspace, tmp_path, cli):
    odd = tmp_path / "notes.bin"
    odd.write_bytes(b"\x00\x01binary")
    result = cli("--workspace", workspace.root, "read", "file", odd, tmp_path / "missing.pdf")
    assert result.exit_code == ExitCode.ERROR
    assert result.stderr.splitlines()[0] == "Error: all 2 sources failed; nothing was read"
    assert "not a file type sabbatical reads" in result.stderr and "no such file" in result.stderr


def test_reading_an_unchanged_file_again_is_skipped_unless_forced(workspace, cli):
    path = sample_path("papers.atom")
    ws = ["--workspace", workspace.root]
    assert json.loads(cli(*ws, "read", "file", path, "--json").stdout)["new"] == SAMPLE_PAPERS
    again = cli(*ws, "read", "file", path)
    assert "not modified since last read" in again.stdout and again.stdout.endswith(
        "0 new, 0 updated, 0 duplicate, 0 failed\n"
    )
    forced = json.loads(cli(*ws, "read", "file", path, "--force", "--json").stdout)
    assert (forced["new"], forced["updated"], forced["duplicate"]) == (0, 0, SAMPLE_PAPERS)


def test_arxiv_json_lines_read_as_papers(workspace, tmp_path, cli):
    lines = tmp_path / "snapshot.jsonl"
    lines.write_text(
        json.dumps(
            {
                "id": "0704.0001",
                "title": "Calculation of\n  cross sections",
                "authors": "A. One, B. Two and C. Three",
                "abstract": "  We compute.\n",
                "categories": "hep-ph hep-ex",
                "doi": "10.1103/PhysRevD.76.013009",
                "versions": [
                    {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
                    {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
                ],
            }
        )
        + "\n"
        + "not json\n"
        + json.dumps(
            {
                "id": "2606.19617",
                "title": "A listing row",
                "authors": ["Max Shad"],
                "summary": "S.",
                "categories": ["cs.CV"],
            }
        )
        + "\n"
    )
    result = cli("--workspace", workspace.root, "read", "file", lines, "--json")
    report = json.loads(result.stdout)
    assert report["new"] == 2 and any("line 2" in w for w in report["warnings"])
    with open_pile(workspace) as pile:
        item = pile.get("doi:10.1103/physrevd.76.013009")
        assert (item.id, item.title, item.authors) == (
            "arxiv:0704.0001",
            "Calculation of cross sections",
            ["A. One", "B. Two", "C. Three"],
        )
        assert item.published == "2007-04-02T19:18:42Z" and [v.version for v in item.versions] == [2]


# -- inspecting --------------------------------------------------------------------------------------------------


def test_pile_list_and_show(workspace, cli):
    read_stage(workspace)
    ws = ["--workspace", workspace.root]
    listed = json.loads(cli(*ws, "pile", "list", "--kind", "post", "--limit", "0", "--json").stdout)
    assert len(listed) == SAMPLE_POSTS and listed[0]["title"] == "Superposition has a thermostat"
    by_source = json.loads(cli(*ws, "pile", "list", "--source", "notes.atom", "--json").stdout)
    assert len(by_source) == 4
    shown = cli(*ws, "pile", "show", "2601.01302")
    assert shown.exit_code == 0
    for words in (
        "A Phase Diagram of Superposition Under Weight Decay",
        "Sources",
        "papers.atom",
        "Versions",
        "v3",
        "Linked from",
        "gradient-notes.example.org/2026/02/superposition",
    ):
        assert words in shown.stdout, words
    as_json = json.loads(cli(*ws, "pile", "show", "arxiv:2601.01302", "--json").stdout)
    assert as_json["id"] == "arxiv:2601.01302" and as_json["versions"][0]["version"] == 3


def test_show_of_an_unknown_item_says_where_to_look(workspace, cli):
    read_stage(workspace)
    missing = cli("--workspace", workspace.root, "pile", "show", "2601.99999")
    assert missing.exit_code == ExitCode.ERROR and "`sabbatical pile list`" in missing.stderr
    ambiguous = cli("--workspace", workspace.root, "pile", "show", "2601.011")
    assert "matches several items" in ambiguous.stderr


def test_resolve_accepts_seq_prefix_alias_and_url(workspace):
    read_stage(workspace)
    with open_pile(workspace) as pile:
        item = pile.get("2601.01466")
        assert pile.resolve(str(item.seq)) == item.id
        assert pile.resolve("arxiv:2601.01466v2") == item.id
        assert pile.resolve("https://arxiv.org/pdf/2601.01466v1.pdf") == item.id
        assert pile.resolve("2601.0146") == item.id


def test_a_batch_is_one_transaction(workspace):
    """Entries are written in batches; a failure inside a batch leaves the earlier batches and nothing else."""
    from sabbatical.reading.pile import Entry

    def entries():
        for n in range(7):
            if n == 5:
                raise RuntimeError("the source broke")
            yield Entry(ids=[f"https://example.org/{n}"], kind="post", title=f"Post {n}")

    with open_pile(workspace) as pile:
        source = pile.ensure_source("feed", "https://example.org/feed")
        try:
            pile.add(entries(), source, f"feed:{source}", batch_size=2)
        except RuntimeError:
            pass
        assert pile.count() == 4
        assert pile.conn.execute("SELECT COUNT(*) FROM item_sources").fetchone()[0] == 4
    assert sqlite3.connect(workspace.pile_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_update_runs_the_configured_arxiv_queries(workspace, http_server, cli):
    configure(
        workspace,
        arxiv_api_url=serve_arxiv_api(http_server, sample_path("papers.atom").read_bytes()),
        arxiv_queries=["cat:cs.LG AND interpretability"],
    )
    ws = ["--workspace", workspace.root]
    first = json.loads(cli(*ws, "read", "update", "--json").stdout)
    assert (first["new"], first["failed"]) == (SAMPLE_PAPERS, 0)
    query = http_server.requests_to("/api/query")[0].path
    assert "sortBy=submittedDate" in query and "interpretability" in query
    second = json.loads(cli(*ws, "read", "update", "--json").stdout)
    assert (second["new"], second["updated"], second["duplicate"]) == (0, 0, SAMPLE_PAPERS)


def test_read_url_sends_arxiv_urls_to_the_arxiv_api(workspace, http_server, cli):
    configure(workspace, arxiv_api_url=serve_arxiv_api(http_server, sample_path("papers.atom").read_bytes()))
    result = cli("--workspace", workspace.root, "read", "url", "https://arxiv.org/pdf/2601.02017v1", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["new"] == 1
    assert "id_list=2601.02017v1" in http_server.requests_to("/api/query")[0].path
    with open_pile(workspace) as pile:
        assert pile.get("2601.02017").sources[0].kind == "arxiv_ids"


def test_json_feeds_are_read_as_json(workspace, tmp_path, cli):
    feed = tmp_path / "feed.json"
    feed.write_text(
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "A JSON blog",
                "home_page_url": "https://json.example.org/",
                "items": [
                    {
                        "id": "1",
                        "url": "https://json.example.org/one",
                        "title": "One",
                        "content_html": "<p>See <a href='https://arxiv.org/abs/2601.01244'>probes</a>.</p>",
                        "date_published": "2026-01-20T10:00:00+01:00",
                        "authors": [{"name": "Ada"}],
                    },
                    {"id": "2", "url": "https://json.example.org/two", "title": "Two", "content_text": "Plain text."},
                ],
            }
        )
    )
    result = cli("--workspace", workspace.root, "read", "feed", feed, "--json")
    assert json.loads(result.stdout)["new"] == 2
    with open_pile(workspace) as pile:
        one = pile.get("https://json.example.org/one")
        assert (one.title, one.authors, one.published, one.content) == (
            "One",
            ["Ada"],
            "2026-01-20T09:00:00Z",
            "See probes.",
        )
        assert [link.id for link in one.links_out] == ["arxiv:2601.01244"]
