"""Exports: JSON lines round-trips byte for byte; BibTeX parses back; Markdown notes link to each other."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from sabbatical.errors import ExitCode
from sabbatical.tour import read_stage
from sabbatical.workspace import init_workspace
from tests.helpers.fake_openai import FakeOpenAI, configure_llm
from tests.test_ingest import SAMPLE_PAPERS, SAMPLE_POSTS, open_pile


def _pile_with_history(workspace):
    """The tour's samples plus triage events and a private item, as a real pile would have."""
    read_stage(workspace)
    with open_pile(workspace) as pile:
        pile.conn.executemany(
            "INSERT INTO events (subject, action, value) VALUES (?, ?, ?)",
            [
                ("arxiv:2601.01187", "star", "{}"),
                ("arxiv:2601.01187", "note", '{"text": "read with the grokking paper"}'),
                ("arxiv:2601.04133", "drop", "{}"),
                ("topic:1", "rename", '{"name": "Training dynamics"}'),
            ],
        )
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
        assert (
            pile.conn.execute("SELECT COUNT(*) FROM items_fts WHERE items_fts MATCH 'superposition'").fetchone()[0] > 0
        )
        # The imported items still know which source wrote them, so re-reading a sample is a no-op.
        assert pile.get("https://reading-group.example.net/notes/week-2").metadata_from.startswith("feed:")


def test_importing_twice_adds_nothing(tmp_path, workspace, cli):
    _pile_with_history(workspace)
    path = tmp_path / "pile.jsonl"
    cli("--workspace", workspace.root, "pile", "export", "--out", path)
    again = json.loads(cli("--workspace", workspace.root, "pile", "import", path, "--json").stdout)
    assert (again["new"], again["existing"], again["events"], again["sources"]) == (
        0,
        SAMPLE_PAPERS + SAMPLE_POSTS,
        0,
        0,
    )


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
    assert all(re.fullmatch(r"[^\W_]+(-[^\W_]+)*", name) and name == name.lower() for name in names), names
    linked = 0
    for note in notes:
        text = note.read_text()
        front = yaml.safe_load(text.split("---\n")[1])
        assert front["id"] and front["kind"] in ("paper", "post") and front["state"] == "inbox"
        for target in (line[4:-2].split("|")[0] for line in text.splitlines() if line.startswith("- [[")):
            assert target in names
            linked += 1
    assert linked >= 40
    paper = (folder / "induction-heads-form-before-the-loss-plateau-ends.md").read_text()
    assert "- [[phase-changes-that-are-really-removals|Phase changes that are really removals]]" in paper


# -- everything the researcher did or paid for survives the round trip ---------------------------------------


def _researched_pile(workspace, cli, server):
    """Samples summarised at the loopback endpoint, organised, topics renamed/pinned/merged, items triaged."""
    configure_llm(workspace.root, base_url=server.url, model="loopback", max_retries=1, timeout=5.0)
    w = ("--workspace", workspace.root)
    read_stage(workspace)
    summarised = cli(*w, "pile", "summarise")
    assert summarised.exit_code == 0, summarised.stderr
    assert cli(*w, "pile", "organise").exit_code == 0
    topics = [t for t in json.loads(cli(*w, "pile", "topics", "--json").stdout) if t["id"]]
    assert len(topics) >= 3
    cli(*w, "pile", "topic", "rename", str(topics[0]["id"]), "Training dynamics")
    cli(*w, "pile", "topic", "pin", str(topics[0]["id"]))
    assert cli(*w, "pile", "topic", "merge", str(topics[1]["id"]), str(topics[2]["id"])).exit_code == 0
    cli(*w, "pile", "star", "2601.01187")
    cli(*w, "pile", "tag", "2601.01187", "grokking", "to-cite")
    cli(*w, "pile", "note", "2601.01187", "read with the phase-diagram paper")
    cli(*w, "pile", "tag", "2601.01302", "a", "b")
    assert cli(*w, "pile", "undo", "2601.01302").exit_code == 0  # one step: both tags
    cli(*w, "pile", "drop", "2601.04133")
    return w


def test_the_round_trip_keeps_summaries_topic_edits_and_undo_and_summarise_then_calls_nothing(tmp_path, workspace, cli):
    with FakeOpenAI(latency=0.0) as server:
        w = _researched_pile(workspace, cli, server)
        calls = len(server.chat_requests)
        assert calls >= SAMPLE_PAPERS
        first = tmp_path / "pile.jsonl"
        assert cli(*w, "pile", "export", "--out", first).exit_code == 0
        records = [json.loads(line) for line in first.read_text().splitlines()]
        assert {r["type"] for r in records} >= {
            "header",
            "source",
            "item",
            "summary",
            "embedder",
            "topic",
            "item_topic",
            "event",
        }
        assert all(r["model"] and r["prompt_version"] for r in records if r["type"] == "summary")

        fresh, _ = init_workspace(tmp_path / "fresh")
        configure_llm(fresh.root, base_url=server.url, model="loopback", max_retries=1, timeout=5.0)
        f = ("--workspace", fresh.root)
        imported = cli(*f, "pile", "import", first)
        assert imported.exit_code == 0, imported.stderr
        second = tmp_path / "again.jsonl"
        cli(*f, "pile", "export", "--out", second)
        assert second.read_bytes() == first.read_bytes()

        again = cli(*f, "pile", "summarise")
        assert again.exit_code == 0, again.stderr
        assert len(server.chat_requests) == calls and "0 failed" in again.stdout

    def seen(*args):
        return (json.loads(cli(*w, *args, "--json").stdout), json.loads(cli(*f, *args, "--json").stdout))

    before, after = seen("pile", "topics")
    assert before == after and any(t["name"] == "Training dynamics" and t["pinned"] for t in after)
    before, after = seen("pile", "show", "2601.01187")
    assert (
        before.pop("metadata_from").split(":")[0] == after.pop("metadata_from").split(":")[0]
    )  # source numbers differ
    assert before == after and after["state"] == "starred" and after["tags"] == ["grokking", "to-cite"]
    assert after["summary"]["model"] == "loopback" and after["notes"][0]["text"] == "read with the phase-diagram paper"
    assert seen("pile", "show", "2601.01302")[1]["tags"] == []
    assert seen("pile", "list", "--state", "dropped")[1][0]["id"] == "arxiv:2601.04133"


def test_importing_into_an_organised_pile_keeps_its_topics_and_says_so(tmp_path, workspace, cli):
    read_stage(workspace)
    w = ("--workspace", workspace.root)
    cli(*w, "pile", "organise")
    path = tmp_path / "pile.jsonl"
    cli(*w, "pile", "export", "--out", path)
    result = cli(*w, "pile", "import", path)
    assert result.exit_code == 0 and "already has topics" in result.stderr


def test_an_export_from_a_newer_sabbatical_is_refused_with_nothing_imported(tmp_path, workspace, cli):
    path = tmp_path / "future.jsonl"
    path.write_text('{"type":"header","format":"sabbatical-pile","version":99}\n')
    result = cli("--workspace", workspace.root, "pile", "import", path)
    assert result.exit_code == ExitCode.ERROR and "upgrade sabbatical" in result.stderr


# -- BibTeX, CSL-JSON, Markdown keep what came in --------------------------------------------------------------

BIB = r"""
@article{smith2020grok,
  title = {Grokking as Phase Transition},
  author = {Smith, Jane and Doe, John and others},
  journal = {Journal of Learning},
  volume = {12}, number = {3}, pages = {1--20}, month = {mar}, year = {2020},
  doi = {10.1234/jol.2020.5},
}
@inproceedings{lee2021,
  title = {$\mathcal{O}(n)$ Attention with {KI-Wertschöpfung}},
  author = {Lee, Kim},
  booktitle = {Proceedings of Things}, publisher = {ACM}, address = {Berlin}, year = {2021},
  url = {https://example.org/lee2021},
}
"""


@pytest.fixture
def bib_pile(tmp_path, workspace, cli):
    read_stage(workspace)
    path = tmp_path / "refs.bib"
    path.write_text(BIB, encoding="utf-8")
    result = cli("--workspace", workspace.root, "read", "file", path)
    assert result.exit_code == 0, result.stderr
    return workspace


def test_bibtex_keeps_entry_types_and_fields_and_others_is_no_author(bib_pile, cli):
    import bibtexparser

    result = cli("--workspace", bib_pile.root, "pile", "export", "--format", "bibtex")
    entries = {e.key: e for e in bibtexparser.parse_string(result.stdout).entries}
    article = entries["smith2020grok"]
    assert article.entry_type == "article" and article["journal"] == "Journal of Learning"
    assert (article["volume"], article["number"], article["month"], article["doi"]) == (
        "12",
        "3",
        "mar",
        "10.1234/jol.2020.5",
    )
    assert article["author"] == "Jane Smith and John Doe and others"
    proceedings = entries["lee2021"]
    assert proceedings.entry_type == "inproceedings" and proceedings["address"] == "Berlin"
    assert proceedings["booktitle"] == "Proceedings of Things"
    paper = next(e for e in entries.values() if e.fields_dict.get("eprint") and e["eprint"] == "2601.01187")
    assert paper["archivePrefix"] == "arXiv" and re.fullmatch(r"[a-z\-]+(\.[A-Z]{2})?", paper["primaryClass"])
    with open_pile(bib_pile) as pile:
        assert pile.get("doi:10.1234/jol.2020.5").authors == ["Jane Smith", "John Doe"]


def test_csl_json_is_what_zotero_imports(bib_pile, cli):
    result = cli("--workspace", bib_pile.root, "pile", "export", "--format", "csl")
    assert result.exit_code == 0, result.stderr
    records = {r["id"]: r for r in json.loads(result.stdout)}
    assert len(records) == SAMPLE_PAPERS + SAMPLE_POSTS + 2
    article = records["smith2020grok"]
    assert article["type"] == "article-journal" and article["container-title"] == "Journal of Learning"
    assert article["author"][0] == {"family": "Smith", "given": "Jane"} and article["issued"] == {
        "date-parts": [[2020]]
    }
    assert records["lee2021"]["type"] == "paper-conference"
    preprint = next(r for r in records.values() if r.get("number") == "2601.01187")
    assert preprint["type"] == "article" and preprint["publisher"] == "arXiv" and preprint["DOI"]
    assert all(r["title"] and r["type"] for r in records.values())


def test_markdown_carries_state_tags_topic_summary_and_notes_under_clean_names(tmp_path, bib_pile, cli):
    w = ("--workspace", bib_pile.root)
    cli(*w, "pile", "summarise")
    cli(*w, "pile", "organise")
    cli(*w, "pile", "star", "2601.01187")
    cli(*w, "pile", "tag", "2601.01187", "grokking")
    cli(*w, "pile", "note", "2601.01187", "compare with **Lee 2021**")
    folder = tmp_path / "vault"
    assert cli(*w, "pile", "export", "--format", "markdown", "--out", folder).exit_code == 0
    assert (folder / "o-n-attention-with-ki-wertschöpfung.md").exists()
    shown = json.loads(cli(*w, "pile", "show", "2601.01187", "--json").stdout)
    note = next(p for p in folder.glob("*.md") if "id: arxiv:2601.01187" in p.read_text()).read_text()
    front = yaml.safe_load(note.split("---\n")[1])
    assert (front["state"], front["tags"]) == ("starred", ["grokking"])
    assert front["topic"] == shown["topic"]["name"] and front["topic_link"] == f"[[{shown['topic']['name']}]]"
    assert (
        front["insight_kind"] == shown["summary"]["kind"]
        and front["insight_score"] == shown["summary"]["insight_score"]
    )
    assert shown["summary"]["tldr"] in note and "## Key claims" in note and "compare with **Lee 2021**" in note
    assert (
        f"> “{shown['summary']['key_claims'][0]['quote']}”" in " ".join(note.split())
        or shown["summary"]["key_claims"][0]["quote"].split()[0] in note
    )
