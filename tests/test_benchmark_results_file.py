"""benchmarks/run_all.py rewrites the generated tables of RESULTS.md and keeps every hand-written word:
the notes after each table, whole sections edited by hand, and everything below the marker."""

from __future__ import annotations

from benchmarks import run_all

MARKER = run_all.NOTES_MARKER


def _results(tmp_path, text: str):
    path = tmp_path / "RESULTS.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_rerun_rewrites_the_tables_and_keeps_the_notes_of_every_section(tmp_path):
    path = _results(
        tmp_path,
        "# Benchmark results\n\nold head\n\n"
        f"{run_all.heading('startup')}\n\n| figure | value | goal | |\n| --- | --- | --- | --- |\n| old | 1 | | |\n\n"
        "(3.0 s)\n\nStart-up was measured on a quiet machine.\n\n## Search quality (#15)\n\nnDCG notes.\n\n"
        f"{run_all.heading('topics')}\n\n| figure | value | goal | |\n| --- | --- | --- | --- |\n"
        "| NMI | 0.5 (was 0.4) | | |\n\nA hand-edited table.\n\n"
        f"{MARKER}\n\n## Daily loop\n\nkept below.\n",
    )
    notes = run_all.section_notes(path)
    results = {"startup": {"figures": [{"name": "new", "value": 2.0}], "_seconds": 1.0}, "topics": {"error": "x"}}
    text = run_all.render(results, {"cores": "2"}, 1.0, notes) + "\n" + run_all.kept_notes(path)
    assert "| old | 1 |" not in text and "| new | 2 |" in text
    assert "Start-up was measured on a quiet machine." in text
    assert "## Search quality (#15)\n\nnDCG notes." in text
    assert "Earlier figures and notes, as written before this run:" in text and "| NMI | 0.5 (was 0.4) |" in text
    assert text.index("Not measured: x") < text.index("A hand-edited table.")
    assert text.endswith(f"{MARKER}\n\n## Daily loop\n\nkept below.\n")
    assert text.count(run_all.heading("startup")) == 1


def test_the_real_results_file_loses_no_hand_written_section_on_a_rerun():
    path = run_all.HERE / "RESULTS.md"
    original = path.read_text(encoding="utf-8")
    notes = run_all.section_notes(path)
    results = {name: {"figures": [], "_seconds": 0.0} for name in run_all.ORDER}
    text = run_all.render(results, {}, 0.0, notes) + "\n" + run_all.kept_notes(path)
    generated = set()  # the tables a rerun replaces: a section's lines up to its "(N s)" line
    for name in run_all.ORDER:
        section = original.split(run_all.heading(name), 1)[1].split("\n## ", 1)[0].splitlines()
        ends = [i for i, line in enumerate(section) if run_all._ENDS_TABLE.match(line)]
        generated |= set(section[: ends[0] + 1]) if ends else set()
    body = original[original.index(run_all.heading(run_all.ORDER[0])) :]
    written = [line for line in body.splitlines() if line.strip() and line not in generated]
    now = set(text.splitlines())
    assert len(written) > 300 and [line for line in written if line not in now] == []
