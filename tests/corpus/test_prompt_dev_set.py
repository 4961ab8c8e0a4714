"""`pile summarise --compare --dev-set`: the repository's dev set finds all its text in the shared corpus."""

from __future__ import annotations

from benchmarks.judge_quality import DEV_SET, cases, load_dev_set
from sabbatical.reading.prompt_dev_set import read_dev_set


def test_every_dev_set_row_reads_the_same_text_as_the_judge_benchmark(corpus):
    dev = read_dev_set(DEV_SET, corpus)
    benchmark = cases(load_dev_set(DEV_SET), corpus)
    assert dev.missing == 0 and len(dev.rows) == len(benchmark) >= 300
    assert [(r.id, r.label, r.title, r.abstract) for r in dev.rows] == [
        (c.id, c.label, c.title, c.abstract) for c in benchmark
    ]
