"""Extraction keeps words whole and drops bylines (feeds' HTML and web pages share the cleaning)."""

from __future__ import annotations

from sabbatical.reading.sources.cleaning import is_byline
from sabbatical.reading.sources.feeds import html_to_text


def test_words_stay_whole_and_bylines_go():
    text = html_to_text(
        "<p>Die KI-Wert&shy;sch<em>ö</em>pfung w&auml;chst.</p>"
        "<p><a href='/author/jane'>View all posts by Jane Doe</a></p><p>By Jane Doe</p>"
    )
    assert text == "Die KI-Wertschöpfung wächst."


def test_only_short_author_lines_are_bylines():
    assert all(
        map(
            is_byline,
            ["View all posts by Jane Doe", "Posted by Kim", "Author: Kim Lee", "Alle Beiträge von Max Muster anzeigen"],
        )
    )
    assert not any(
        map(
            is_byline,
            ["By training on more data we found that loss falls", "By 2030, models", "Die KI-Wertschöpfung wächst."],
        )
    )
