"""Workspaces: init, refusing to clobber, --force adding only what is missing, discovery, paths."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from sabbatical.config import describe_keys
from sabbatical.errors import ExitCode, WorkspaceExists, WorkspaceNotFound
from sabbatical.workspace import GITIGNORE_ENTRIES, find_workspace, init_workspace


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_init_creates_the_layout_with_every_key_documented(tmp_path, cli):
    result = cli("init", tmp_path / "ws", "--title", 'Why do "models" generalise?')
    assert result.exit_code == 0, result.stderr
    root = tmp_path / "ws"
    assert {p.name for p in root.iterdir()} == {"sabbatical.toml", "mkdocs.yml", "reading", "sprints", ".gitignore"}
    text = (root / "sabbatical.toml").read_text()
    parsed = tomllib.loads(text)
    assert parsed["title"] == 'Why do "models" generalise?'
    for dotted, _default, doc in describe_keys():
        section, _, key = dotted.rpartition(".")
        table = parsed[section] if section else parsed
        assert key in table, dotted
        assert f"# {doc}" in text, dotted
    ignored = (root / ".gitignore").read_text().splitlines()
    assert set(GITIGNORE_ENTRIES) <= set(ignored)


def test_init_twice_refuses_and_changes_nothing(tmp_path, cli):
    root = tmp_path / "ws"
    assert cli("init", root).exit_code == 0
    (root / "sabbatical.toml").write_text((root / "sabbatical.toml").read_text() + "\n# my edit\n")
    before = snapshot(root)
    result = cli("init", root)
    assert result.exit_code == ExitCode.ERROR
    assert result.stderr.startswith("Error: ") and "already a sabbatical workspace" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(root) == before


def test_force_adds_only_what_is_missing_and_never_overwrites(tmp_path):
    root = tmp_path / "ws"
    init_workspace(root)
    (root / "mkdocs.yml").write_text("site_name: mine\n")
    (root / "sprints" / "01-mine").mkdir()
    (root / "sprints" / "01-mine" / "sprint.md").write_text("my notes")
    (root / "reading").rename(root / "reading-moved")
    (root / ".gitignore").write_text("secret.txt\n/mlflow.db\n")
    before = snapshot(root)

    _, created = init_workspace(root, force=True)

    assert sorted(created) == [".gitignore", "reading/"]
    after = snapshot(root)
    for name, data in before.items():
        if name != ".gitignore":
            assert after[name] == data, name
    ignore = (root / ".gitignore").read_text().splitlines()
    assert ignore[:2] == ["secret.txt", "/mlflow.db"]
    assert ignore.count("/mlflow.db") == 1 and "/site/" in ignore
    _, again = init_workspace(root, force=True)
    assert again == []


def test_init_without_force_raises_a_typed_error(tmp_path):
    init_workspace(tmp_path)
    with pytest.raises(WorkspaceExists):
        init_workspace(tmp_path)


def test_discovery_walks_up_and_explicit_choices_win(tmp_path, monkeypatch):
    outer, _ = init_workspace(tmp_path / "outer")
    inner, _ = init_workspace(tmp_path / "other")
    deep = outer.root / "sprints" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_workspace(cwd=deep).root == outer.root
    monkeypatch.setenv("SABBATICAL_WORKSPACE", str(inner.root))
    assert find_workspace(cwd=deep).root == inner.root
    assert find_workspace(outer.root, cwd=deep).root == outer.root
    monkeypatch.delenv("SABBATICAL_WORKSPACE")
    with pytest.raises(WorkspaceNotFound):
        find_workspace(cwd=tmp_path)


def test_paths_reports_locations_and_origins(tmp_path, cli, monkeypatch):
    ws, _ = init_workspace(tmp_path / "ws")
    monkeypatch.chdir(ws.sprints_dir)
    result = cli("paths", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["workspace"]["path"] == str(ws.root)
    assert data["workspace"]["origin"].startswith("found by walking up")
    assert data["pile"]["path"] == str(ws.root / "reading" / "pile.db")
    assert data["tracking_uri"]["path"] == f"sqlite:///{ws.root}/mlflow.db"
    assert os.path.isabs(data["tracking_uri"]["path"].removeprefix("sqlite:///"))
    other = cli("--workspace", ws.root, "paths", "--json")
    assert json.loads(other.stdout)["workspace"]["origin"] == "--workspace"
    table = cli("paths")
    assert table.exit_code == 0 and "tracking_uri" in table.stdout


def test_commands_outside_a_workspace_say_how_to_make_one(tmp_path, cli):
    result = cli("paths")
    assert result.exit_code == ExitCode.ERROR
    assert "No sabbatical workspace" in result.stderr and "sabbatical init" in result.stderr


def test_every_path_lives_under_the_workspace_and_the_caches_are_shown(tmp_path, cli):
    ws, created = init_workspace(tmp_path / "ws")
    assert sorted(created) == [".gitignore", "mkdocs.yml", "reading/", "sabbatical.toml", "sprints/"]
    paths = [
        value
        for name in dir(type(ws))
        if isinstance(getattr(type(ws), name), property) and isinstance(value := getattr(ws, name), Path)
    ]
    assert len(paths) >= 14 and len(set(paths)) == len(paths)  # one property per path
    assert all(ws.root in p.parents for p in paths if p != ws.root)
    caches = [ws.site_source_dir, ws.site_staging_dir, ws.site_cache_dir, ws.alt_text_cache_path]
    assert all(ws.cache_dir in p.parents for p in caches)
    assert "/.sabbatical/" in GITIGNORE_ENTRIES  # caches are never committed
    assert ws.artifact_root == ws.mlartifacts_dir.as_uri()
    shown = json.loads(cli("--workspace", ws.root, "paths", "--json").stdout)
    assert shown["site_cache"]["path"] == str(ws.site_cache_dir)
    assert shown["alt_text_cache"]["path"] == str(ws.alt_text_cache_path)
    assert shown["site_staging"]["path"] == str(ws.site_staging_dir)
