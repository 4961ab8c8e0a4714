"""Canonical ids: arXiv ids in every form, DOIs, normalised URLs, and arXiv links found in text."""

from __future__ import annotations

import pytest

from sabbatical.reading.identity import (
    ArxivId,
    canonical_id,
    find_arxiv_links,
    looks_like_bad_arxiv_id,
    normalise_doi,
    normalise_url,
    parse_arxiv_id,
)


@pytest.mark.parametrize(
    "text, base, version",
    [
        ("2310.01405", "2310.01405", None),
        ("2310.01405v2", "2310.01405", 2),
        ("arXiv:2310.01405v12", "2310.01405", 12),
        ("arxiv: 0704.0001", "0704.0001", None),
        ("1501.00001", "1501.00001", None),
        ("hep-th/9901001", "hep-th/9901001", None),
        ("hep-th/9901001v3", "hep-th/9901001", 3),
        ("math.GT/0309136", "math/0309136", None),
        ("quant-ph/0201082v1", "quant-ph/0201082", 1),
        ("https://arxiv.org/abs/2310.01405", "2310.01405", None),
        ("http://arxiv.org/abs/2310.01405v3", "2310.01405", 3),
        ("https://arxiv.org/pdf/2310.01405v2", "2310.01405", 2),
        ("https://arxiv.org/pdf/2310.01405v2.pdf", "2310.01405", 2),
        ("https://export.arxiv.org/abs/hep-th/9901001", "hep-th/9901001", None),
        ("https://www.arxiv.org/html/2401.00001v1", "2401.00001", 1),
        ("arxiv.org/abs/2401.00001", "2401.00001", None),
        ("https://doi.org/10.48550/arXiv.2310.01405", "2310.01405", None),
        ("10.48550/arxiv.2310.01405", "2310.01405", None),
    ],
)
def test_arxiv_ids_in_every_form(text, base, version):
    assert parse_arxiv_id(text) == ArxivId(base, version)
    assert canonical_id(text) == f"arxiv:{base}"


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "2310.014",
        "arxiv:abc",
        "https://example.org/abs/2310.01405",
        "https://arxiv.org/list/cs.LG/new",
        "sparse autoencoders",
        "",
    ],
)
def test_things_that_are_not_arxiv_ids(text):
    assert parse_arxiv_id(text) is None


@pytest.mark.parametrize(
    "text, bad",
    [
        ("arXiv:abc", True),
        ("2401.1", True),
        ("2401.123456", True),
        ("hep-th/99", True),
        ("2401.12345", False),
        ("interpretability", False),
        ("scaling laws 2024", False),
    ],
)
def test_malformed_ids_are_told_apart_from_queries(text, bad):
    assert looks_like_bad_arxiv_id(text) is bad


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10.1145/3292500.3330701", "doi:10.1145/3292500.3330701"),
        ("doi:10.1038/NATURE14539", "doi:10.1038/nature14539"),
        ("https://doi.org/10.1038/Nature14539", "doi:10.1038/nature14539"),
        ("http://dx.doi.org/10.1103/PhysRevD.76.013009", "doi:10.1103/physrevd.76.013009"),
        ("https://example.org/10.1000/x", None),
    ],
)
def test_dois_are_lower_case_with_a_prefix(text, expected):
    assert normalise_doi(text) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("HTTP://Example.COM/Path/", "https://example.com/Path"),
        ("https://example.com/", "https://example.com"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8080/a", "https://example.com:8080/a"),
        ("https://example.com/post#comments", "https://example.com/post"),
        ("https://example.com/p?utm_source=rss&utm_medium=feed&b=2&a=1", "https://example.com/p?a=1&b=2"),
        ("https://example.com/p?fbclid=XYZ&gclid=1&ref=hn&id=7", "https://example.com/p?id=7"),
        ("https://example.com/a//b/", "https://example.com/a/b"),
        ("https://example.com/caf%C3%A9", "https://example.com/caf%C3%A9"),
    ],
)
def test_urls_are_normalised(raw, expected):
    assert normalise_url(raw) == expected
    assert canonical_id(raw) == expected


def test_a_fragment_is_kept_only_when_asked():
    assert normalise_url("https://example.com/changelog#1.2", keep_fragment=True) == "https://example.com/changelog#1.2"


def test_text_that_is_no_identifier_has_no_canonical_id():
    assert canonical_id("just some words") is None
    assert canonical_id("ftp://example.com/file") is None


def test_arxiv_links_in_html_keep_their_text_and_bare_mentions_are_found():
    html = (
        '<p>See <a href="https://arxiv.org/abs/2601.01187v2">the induction paper</a> and '
        '<a href="https://arxiv.org/pdf/2601.02017">https://arxiv.org/pdf/2601.02017</a>; '
        "also arXiv:2601.03011 and http://arxiv.org/abs/hep-th/9901001, and again "
        '<a href="https://arxiv.org/abs/2601.01187">same paper</a>.</p>'
    )
    links = find_arxiv_links(html)
    assert [(link.arxiv.base, link.text) for link in links] == [
        ("2601.01187", "the induction paper"),
        ("2601.02017", ""),
        ("2601.03011", ""),
        ("hep-th/9901001", ""),
    ]


def test_text_without_arxiv_has_no_links():
    assert find_arxiv_links("<a href='https://example.org'>a blog</a>") == []
