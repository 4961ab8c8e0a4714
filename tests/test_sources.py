"""Sources you can manage: health in `read sources`, back-off for failing sources, mute and unmute, and
`read update`'s progress and one summary line — over real feeds on a loopback server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sabbatical import db
from sabbatical.errors import ExitCode
from sabbatical.reading.ingest import Ingester, update
from sabbatical.reading.pile import Pile
from sabbatical.reading.source_health import LONGEST_BACKOFF, backoff, source_health
from sabbatical.workspace import find_workspace
from tests.test_ingest import sample_path


def _two_feeds(workspace, http_server, cli):
    """Two followed feeds on loopback; then the second one disappears (404)."""
    for name in ("blog.rss", "notes.atom"):
        (http_server.root / name).write_bytes(sample_path(name).read_bytes())
    ws = ("--workspace", workspace.root)
    result = cli(*ws, "read", "feed", http_server.url + "/blog.rss", http_server.url + "/notes.atom")
    assert result.exit_code == 0, result.stderr
    (http_server.root / "notes.atom").unlink()
    return ws


def _sources(cli, ws):
    return {s["locator"].rsplit("/", 1)[-1]: s for s in json.loads(cli(*ws, "read", "sources", "--json").stdout)}


def test_the_backoff_doubles_from_an_hour_up_to_a_week():
    assert [backoff(n) for n in (0, 1, 2, 3)] == [
        timedelta(0),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
    ]
    assert backoff(8) == timedelta(hours=128) and backoff(9) == backoff(500) == LONGEST_BACKOFF


def test_a_failing_source_backs_off_and_is_left_alone_until_forced(workspace, http_server, cli):
    ws = _two_feeds(workspace, http_server, cli)
    failed = cli(*ws, "read", "update")
    assert failed.exit_code == ExitCode.PARTIAL
    listed = _sources(cli, ws)
    good, bad = listed["blog.rss"], listed["notes.atom"]
    assert (good["health"], good["failures"], good["items"]) == ("ok", 0, 8) and good["last_success"]
    assert good["last_new_item"]
    assert (bad["health"], bad["failures"], bad["last_status"]) == ("backing off", 1, "failed") and bad["last_error"]
    retry = datetime.strptime(bad["retry_after"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(minutes=55) < retry - datetime.now(UTC) <= timedelta(hours=1)

    asked = len(http_server.requests_to("/notes.atom"))
    quiet = cli(*ws, "read", "update")
    assert quiet.exit_code == 0, quiet.stderr
    assert len(http_server.requests_to("/notes.atom")) == asked
    assert quiet.stdout.count("\n") == 1 and "1 failing sources left alone" in quiet.stdout
    assert "1 unchanged" in quiet.stdout

    forced = cli(*ws, "read", "update", "--force")
    assert forced.exit_code == ExitCode.PARTIAL and len(http_server.requests_to("/notes.atom")) == asked + 1
    assert _sources(cli, ws)["notes.atom"]["failures"] == 2

    (http_server.root / "notes.atom").write_bytes(sample_path("notes.atom").read_bytes())
    back = cli(*ws, "read", "update", "--force")
    assert back.exit_code == 0, back.stderr
    healed = _sources(cli, ws)["notes.atom"]
    assert (healed["health"], healed["failures"], healed["retry_after"]) == ("ok", 0, None)


def test_a_muted_source_is_listed_and_skipped_until_unmuted(workspace, http_server, cli):
    ws = _two_feeds(workspace, http_server, cli)
    (http_server.root / "notes.atom").write_bytes(sample_path("notes.atom").read_bytes())
    number = str(_sources(cli, ws)["blog.rss"]["id"])
    muted = cli(*ws, "read", "mute", number)
    assert muted.exit_code == 0 and muted.stdout.startswith("Muted feed")
    asked = len(http_server.requests_to("/blog.rss"))
    result = cli(*ws, "read", "update")
    assert result.exit_code == 0 and "1 muted" in result.stdout
    assert len(http_server.requests_to("/blog.rss")) == asked
    assert _sources(cli, ws)["blog.rss"]["health"] == "muted"
    table = cli(*ws, "read", "sources")
    assert "muted" in table.stdout and "last success" in table.stdout
    cli(*ws, "read", "unmute", http_server.url + "/blog.rss")
    cli(*ws, "read", "update")
    assert len(http_server.requests_to("/blog.rss")) == asked + 1
    missing = cli(*ws, "read", "mute", "999")
    assert missing.exit_code == ExitCode.ERROR and "`sabbatical read sources`" in missing.stderr


def test_update_progress_counts_sources_and_failures(workspace, http_server, cli):
    _two_feeds(workspace, http_server, cli)
    seen: list[dict] = []
    conn = db.connect(workspace.pile_path)
    try:
        config = find_workspace(workspace.root).config.reading
        ingester = Ingester(Pile(conn), config, on_progress=lambda **k: seen.append(k))
        report = update(ingester)
        assert report.failed == 1 and len(report.sources) == 2
        assert seen[0] == {"advance": 0, "total": 2, "description": "Updating 0/2 sources"}
        steps = [k["description"] for k in seen[1:]]
        assert len(steps) == 2 and steps[-1].startswith("Updating 2/2 sources") and steps[-1].endswith("1 failed")
        assert {s.locator.rsplit("/", 1)[-1]: s.failures for s in source_health(conn)} == {
            "blog.rss": 0,
            "notes.atom": 1,
        }
    finally:
        conn.close()
