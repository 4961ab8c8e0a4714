"""The stop-word lists are package data: every list file is one the module names, and each reads as words."""

from __future__ import annotations

from importlib import resources

import pytest

from sabbatical.reading import stopwords


def test_every_list_file_is_a_named_list_and_every_list_has_its_file():
    folder = resources.files("sabbatical.reading").joinpath("stopword_lists")
    files = {entry.name for entry in folder.iterdir() if entry.name.endswith(".txt")}
    assert files == {f"{name.lower()}.txt" for name in stopwords.LISTS}


@pytest.mark.parametrize("name", [*stopwords.LISTS, *stopwords.UNIONS])
def test_each_list_is_lower_case_single_words_with_no_comment_lines(name):
    words = getattr(stopwords, name)
    assert isinstance(words, frozenset) and len(words) >= 30
    assert all(word == word.strip().lower() and " " not in word and not word.startswith("#") for word in words)


def test_the_joined_lists_hold_their_parts_and_the_imports_stay_as_they_were():
    from sabbatical.reading.stopwords import LABEL_STOP_WORDS, STOP_WORDS, SUMMARY_STOP_WORDS

    assert {"the", "and", "of"} <= STOP_WORDS
    assert stopwords.GERMAN | stopwords.WEB | STOP_WORDS <= LABEL_STOP_WORDS
    assert stopwords.PAPER_WORDS | STOP_WORDS == SUMMARY_STOP_WORDS
    assert "the" not in stopwords.PAPER_WORDS  # each file holds its own words, not another list's
    with pytest.raises(AttributeError):
        _ = stopwords.NOT_A_LIST
