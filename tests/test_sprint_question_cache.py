"""The open sprint's question, as ranking reads it, is kept in the workspace's cache folder under a hash of
every sprint folder's name and sprint.md: the same answer as parsing them, and any edit, new or removed
sprint finds it again; a damaged kept value is read again from the files."""

from __future__ import annotations

import json
import shutil

import pytest

from sabbatical.reading import stats_cache
from sabbatical.reading.aim_cache import sprint_question
from sabbatical.sprints.model import open_sprint_question

OPEN = """---
id: '{number}'
title: {question}
question: {question}
hypothesis: ''
start: '2026-12-07'
end: '2026-12-20'
status: {status}
private: false
---

# Sprint {number}

## Question

{question}
"""


def _sprint(sprints, number: str, question: str, status: str = "open") -> None:
    folder = sprints / f"{number}-sprint"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sprint.md").write_text(OPEN.format(number=number, question=question, status=status))


@pytest.fixture
def sprints(tmp_path):
    folder = tmp_path / "sprints"
    _sprint(folder, "01", "Do sparse models generalise?")
    return folder


def _kept(cache):
    return json.loads((cache / stats_cache.CACHE_FILE).read_text())["figures"]["sprint-question"]


def _doctor(cache, question):
    data = json.loads((cache / stats_cache.CACHE_FILE).read_text())
    data["figures"]["sprint-question"]["value"]["question"] = question
    (cache / stats_cache.CACHE_FILE).write_text(json.dumps(data))


def test_the_question_is_kept_and_then_read_back(sprints, tmp_path):
    cache = tmp_path / ".sabbatical"
    assert sprint_question(sprints, cache) == open_sprint_question(sprints) == "Do sparse models generalise?"
    assert _kept(cache)["value"] == {"question": "Do sparse models generalise?"}
    _doctor(cache, "a kept question")
    assert sprint_question(sprints, cache) == "a kept question"  # read, not parsed


@pytest.mark.parametrize("change", ["edited", "closed", "a newer sprint", "removed", "unreadable"])
def test_any_change_to_the_sprints_finds_the_question_again(sprints, tmp_path, change):
    cache = tmp_path / ".sabbatical"
    sprint_question(sprints, cache)
    _doctor(cache, "a kept question")
    if change == "edited":
        _sprint(sprints, "01", "Do dense models generalise?")
    elif change == "closed":
        _sprint(sprints, "01", "Do sparse models generalise?", status="closed")
    elif change == "a newer sprint":
        _sprint(sprints, "02", "Does pruning help?")
    elif change == "removed":
        shutil.rmtree(sprints / "01-sprint")
    else:
        (sprints / "01-sprint" / "sprint.md").write_text("---\nnot: [valid\n---\n")
    assert sprint_question(sprints, cache) == open_sprint_question(sprints) != "a kept question"


def test_no_sprints_folder_and_no_cache_folder(tmp_path):
    assert sprint_question(tmp_path / "none", tmp_path / ".sabbatical") is None
    _sprint(tmp_path / "sprints", "01", "Q?")
    assert sprint_question(tmp_path / "sprints", None) == "Q?"


@pytest.mark.parametrize("damage", [17, ["a"], {"q": 1}])
def test_a_damaged_kept_question_is_found_again(sprints, tmp_path, damage):
    cache = tmp_path / ".sabbatical"
    sprint_question(sprints, cache)
    _doctor(cache, damage)
    assert sprint_question(sprints, cache) == "Do sparse models generalise?"
