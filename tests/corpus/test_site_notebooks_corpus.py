"""Real third-party notebooks published by `site build`: every one rendered, figures extracted, nothing active."""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest

from tests.helpers.site_workspace import add_sprint

pytestmark = pytest.mark.slow


def _image_outputs(path) -> int:
    notebook = nbformat.read(str(path), as_version=4)
    return sum(
        1
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        for mime in (output.get("data") or {})
        if mime in ("image/png", "image/jpeg", "image/svg+xml")
    )


def test_every_corpus_notebook_is_published_with_its_figures(workspace, corpus, cli):
    sprint = add_sprint(workspace, "What do other people's notebooks look like on the site?", slug="corpus")
    sources = sorted((corpus / "notebooks").glob("*.ipynb"))
    assert len(sources) >= 5
    for path in sources:
        shutil.copy(path, sprint.notebooks_dir / path.name)  # into the test's tmp_path, never the repo
    result = cli("--workspace", workspace.root, "site", "build")
    assert result.exit_code == 0, result.stderr
    for path in sources:
        folder = workspace.site_dir / "sprints" / sprint.name / "notebooks" / path.stem
        page = (folder / "index.html").read_text()
        article = page.split("<article", 1)[1].split("</article>", 1)[0]
        assert 'class="sabbatical-notebook"' in article, path.name
        assert "<script" not in article and not re.search(r"\son[a-z]+=", article), path.name
        figures = re.findall(r'<img alt="Figure \d+ of \d+ in notebook [^"]+" src="(figures/[^"]+)"', article)
        assert len(figures) == _image_outputs(path), path.name
        for figure in figures:
            assert (folder / figure).stat().st_size > 0
    check = cli("--workspace", workspace.root, "site", "check")
    assert check.exit_code == 0, check.stderr
