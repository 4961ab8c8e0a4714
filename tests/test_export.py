"""Exports: JSON lines round-trips byte for byte; BibTeX parses back; Markdown notes link to each other."""

from __future__ import annotations

import json

import yaml

from sabbatical.errors import ExitCode
from sabbatical.tour import read_stage
from sabbatical.workspace import init_workspace
from tests.test_ingest import SAMPLE_PAPERS, SAMPLE_POSTS, open_pile


def _pile_with_history(workspace):
    """The tour's samples plus triage events and a private item, as a real pile would have."""
    read_stage(workspace)
    with open_pile(workspace) as pile:
        pile.conn.executemany("INSERT INTO events (subject, action, value) VALUES (?, ?, ?)", [
            ("arxiv:2601.01187", "star", "{}"), ("arxiv:2601.01187", "note", '{"text": "read with the grokking paper"}'),
            ("arxiv:2601.04133", "drop", "{}"), ("topic:1", "rename", '{"name": "Training dynamics"}')])
        pile.conn.execute("UPDATE items SET private = 1 WHERE id = 'arxiv:2601.03399'")


def test_jsonl_export_import_export_is_byte_identical(tmp_path, workspace, cli):
    _pile_with_history(workspace)
    first = tmp_path / "pile.jsonl"
    result = cli("--workspace", workspace.root, "pile", "export", "--format", "jsonl", "--out", first)
    assert result.exit_code == 0 and f"Exported {SAMPLE_PAPERS + SAMPLE_POSTS} items" in result.stderr

    fresh, _ = init_workspace(tmp_path / "fresh")
    result = cli("--workspace", fresh.root, "pile", "import", first, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["new"], report["existing"], report["events"]) == (SAMPLE_PAPERS + SAMPLE_POSTS, 0, 4)

    second = tmp_path / "again.jsonl"
    cli("--workspace", fresh.root, "pile", "export", "--out", second)
    assert second.read_bytes() == first.read_bytes()

    with open_pile(fresh) as pile:
        item = pile.get("2601.01302")
        assert [v.version for v in item.versions] == [3] and item.links_in
        assert pile.conn.execute("SELECT private FROM items WHERE id = 'arxiv:2601.03399'").fetchone()[0] == 1
        assert pile.conn.execute("SELECT COUNT(*) FROM items_fts WHERE items_fts MATCH 'superposition'").fetchone()[0] > 0
        # The imported items still know which source wrote them, so re-reading a sample is a no-op.
        assert pile.get("https://reading-group.example.net/notes/week-2").metadata_from.startswith("feed:")


def test_importing_twice_adds_nothing(tmp_path, workspace, cli):
    _pile_with_history(workspace)
    path = tmp_path / "pile.jsonl"
    cli("--workspace", workspace.root, "pile", "export", "--out", path)
    again = json.loads(cli("--workspace", workspace.root, "pile", "import", path, "--json").stdout)
    assert (again["new"], again["existing"], again["events"], again["sources"]) == (0, SAMPLE_PAPERS + SAMPLE_POSTS, 0, 0)


def test_a_bad_export_file_imports_nothing(tmp_path, workspace, cli):
    _pile_with_history(workspace)
    path = tmp_path / "pile.jsonl"
    cli("--workspace", workspace.root, "pile", "export", "--out", path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:10] + ["{not json"] + lines[10:]) + "\n")
    fresh, _ = init_workspace(tmp_path / "fresh")
    result = cli("--workspace", fresh.root, "pile", "import", path)
    assert result.exit_code == ExitCode.ERROR and "line 11: not valid JSON" in result.stderr
    with open_pile(fresh) as pile:
        assert pile.count() == 0
    other = tmp_path / "other.jsonl"
    other.write_text('{"id": 1}\n')
    result = cli("--workspace", fresh.root, "pile", "import", other)
    assert "is not a pile export" in result.stderr


def test_bibtex_export_parses_back_with_every_item(workspace, cli):
    import bibtexparser

    read_stage(workspace)
    result = cli("--workspace", workspace.root, "pile", "export", "--format", "bibtex")
    assert result.exit_code == 0
    library = bibtexparser.parse_string(result.stdout)
    assert not library.failed_blocks
    assert len(library.entries) == SAMPLE_PAPERS + SAMPLE_POSTS
    assert len({e.key for e in library.entries}) == len(library.entries)
    paper = next(e for e in library.entries if e.fields_dict.get("eprint") and e["eprint"] == "2601.01187")
    assert paper["archivePrefix"] == "arXiv" and "Ferreira" in paper["author"]


def test_markdown_notes_have_front_matter_and_working_wiki_links(tmp_path, workspace, cli):
    read_stage(workspace)
    folder = tmp_path / "notes"
    result = cli("--workspace", workspace.root, "pile", "export", "--format", "markdown", "--out", folder)
    assert result.exit_code == 0, result.stderr
    notes = sorted(folder.glob("*.md"))
    assert len(notes) == SAMPLE_PAPERS + SAMPLE_POSTS
    names = {note.stem for note in notes}
    linked = 0
    for note in notes:
        text = note.read_text()
        front = yaml.safe_load(text.split("---\n")[1])
        assert front["id"] and front["kind"] in ("paper", "post")
        for target in (line[4:-2] for line in text.splitlines() if line.startswith("- [[")):
            assert target in names
            linked += 1
    assert linked >= 40
    paper = (folder / "Induction Heads Form Before the Loss Plateau Ends.md").read_text()
    assert "- [[Phase changes that are really removals]]" in paper
