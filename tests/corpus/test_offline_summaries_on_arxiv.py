"""The offline summariser on 1,000 real arXiv abstracts: valid summaries whose quotes all verify."""

from __future__ import annotations

import csv
from collections import Counter

from sabbatical.reading.offline import summarise_offline
from sabbatical.reading.summary_schema import SourceDocument, split_sentences, verify_quotes


def test_every_abstract_gets_a_valid_summary_with_verified_quotes(corpus):
    path = corpus / "arxiv" / "keras_arxiv_abstracts" / "arxiv_data.1000.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kinds: Counter[str] = Counter()
    unverified = []
    for number, row in enumerate(rows):
        document = SourceDocument(f"csv:{number}", "paper", row["titles"], row["summaries"], "", "h")
        summary = summarise_offline(document)
        assert len(split_sentences(summary.tldr)) <= 2
        unverified += [(number, c.quote) for c in verify_quotes(summary, document.full_text) if not c.verified]
        kinds[summary.contribution.value] += 1
    assert len(rows) == 1000 and unverified == []
    # Mostly method and benchmark papers, with a real share judged as insight; no kind swallows all.
    assert kinds["new_method"] + kinds["sota_increment"] > kinds["new_insight"] > 100
    assert max(kinds.values()) < 700 and len(kinds) >= 5
