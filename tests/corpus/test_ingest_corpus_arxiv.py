"""The corpus's arXiv data: recorded API answers through the product's arXiv client on loopback, a full
OAI-PMH harvest with a rate limit, the Kaggle snapshot sample, and a week of daily listings."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from sabbatical import db
from sabbatical.config import ReadingConfig
from sabbatical.errors import ExitCode
from sabbatical.reading.identity import ArxivId
from sabbatical.reading.ingest import Ingester, read_arxiv, read_files
from sabbatical.reading.pile import Pile
from sabbatical.reading.sources import SourceError
from sabbatical.reading.sources.arxiv import ArxivSource
from tests.helpers.httpserver import Response
from tests.test_ingest import configure, open_pile

FIXTURES = "arxiv/arxiv.py_fixtures"
OAI = "arxiv/oai_pmh_2023-03-07"
DAYS = ["2026-06-22", "2026-06-24", "2026-06-25", "2026-06-26", "2026-06-27", "2026-06-30", "2026-07-01"]


def serve_recordings(corpus: Path, http_server) -> str:
    """Route every recorded request (exact path and query) to its recorded answer; return the API URL."""
    for recording in sorted((corpus / FIXTURES / "recorded_json").glob("*.json")):
        recorded = json.loads(recording.read_text())
        url = urlsplit(recorded["url"])
        body = (corpus / FIXTURES / "atom_xml" / f"{recording.stem}.xml").read_bytes()
        http_server.route(
            f"{url.path}?{url.query}",
            body=body,
            status=recorded["status_code"],
            headers={"Content-Type": "application/atom+xml"},
        )
    return http_server.url + "/api/query"


@pytest.fixture
def pile(tmp_path):
    opened = Pile(db.connect(tmp_path / "pile.db"))
    yield opened
    opened.close()


def test_recorded_id_lookups_through_the_real_client(corpus, http_server, pile):
    reading = ReadingConfig(arxiv_api_url=serve_recordings(corpus, http_server), timeout=5)
    wanted = ["1605.08386", "1707.08567", "2104.12255v1", "astro-ph/0601001", "quant-ph/0201082v1"]
    for arxiv_id in wanted:  # one request each, as they were recorded
        report = read_arxiv(Ingester(pile, reading), [arxiv_id])
        assert (report.new, report.failures) == (1, []), arxiv_id
    quantum = pile.get("quant-ph/0201082")
    assert quantum.title.startswith("Quantum Computers and Quantum Computer Languages")
    assert quantum.authors == ["Stephen Blaha"] and quantum.categories[0] == "quant-ph"
    assert [v.version for v in quantum.versions] == [1] and quantum.extra["comment"] == "32 pages"
    assert pile.get("arxiv:2104.12255").published.startswith("2021-")


def test_empty_answers_say_there_is_no_such_paper(corpus, http_server, pile):
    reading = ReadingConfig(arxiv_api_url=serve_recordings(corpus, http_server), timeout=5)
    for missing in ("0000.0000", "0808.05394"):
        report = read_arxiv(Ingester(pile, reading), [missing])
        assert report.failures == [f"arxiv {missing}: arXiv has no paper {missing} — check the id"]
    both = read_arxiv(Ingester(pile, reading), ["0808.05394", "1707.08567"])  # recorded as one request
    assert both.new == 1 and both.failures == ["arxiv 0808.05394: arXiv has no paper 0808.05394 — check the id"]
    assert isinstance(both.error().exit_code, int) and both.error().exit_code == ExitCode.PARTIAL


def test_the_http_400_error_feed_is_reported_in_arxivs_words(corpus, http_server):
    source = ArxivSource(serve_recordings(corpus, http_server), timeout=5, retries=1)
    with pytest.raises(SourceError) as caught:
        source.by_ids([ArxivId("abc")])  # the raw id the recording was made with
    # A client error is not retried: asking again would get the same answer.
    assert str(caught.value) == "arXiv refused the request: incorrect id format for abc (HTTP 400)"
    assert len(http_server.requests_to("/api/query")) == 1


def test_a_search_pages_through_the_recorded_pages(corpus, http_server, pile):
    reading = ReadingConfig(arxiv_api_url=serve_recordings(corpus, http_server), timeout=5)
    report = read_arxiv(Ingester(pile, reading), ["testing"], max_results=60, page_size=10)
    assert (report.new, report.failures) == (60, [])
    pages = [r.path for r in http_server.requests if "search_query=testing" in r.path]
    assert [p.split("start=")[1].split("&")[0] for p in pages] == ["0", "10", "20", "30", "40", "50"]
    # The overlapping recorded windows are the same papers: reading them again adds nothing.
    again = read_arxiv(Ingester(pile, reading), ["testing"], max_results=100)
    assert again.new == 40 and again.duplicate == 60 and pile.count() == 100


def test_every_recorded_answer_as_a_file(corpus, pile):
    report = read_files(Ingester(pile, ReadingConfig()), [corpus / FIXTURES / "atom_xml"])
    assert report.failures == [
        f"file {corpus / FIXTURES / 'atom_xml' / 'id_abc_s0_m100_b79c8dcf6bc3.xml'}: "
        "this is an arXiv error answer: incorrect id format for abc"
    ]
    assert sum("it has no entries" in w for w in report.warnings) == 2
    assert pile.count("paper") == 105 and pile.count() == 105


def test_oai_pmh_harvest_with_a_rate_limit_ingests_every_record(corpus, http_server, tmp_path, cli, workspace):
    pages = [(corpus / OAI / f"ListRecords_data_{n}.xml").read_bytes() for n in range(3)]
    first = "/oai?" + urlencode({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2023-03-07"})
    http_server.route(
        first,
        Response(
            503,
            (corpus / OAI / "arxiv_retry_after.html").read_bytes(),
            {"Retry-After": "1", "Content-Type": "text/html"},
        ),
        Response(200, pages[0], {"Content-Type": "text/xml"}),
    )
    for token, page in (("6511260|1001", pages[1]), ("6511260|2001", pages[2])):
        http_server.route("/oai?" + urlencode({"verb": "ListRecords", "resumptionToken": token}), body=page)
    configure(workspace, oai_pmh_url=http_server.url + "/oai")
    result = cli("--workspace", workspace.root, "read", "arxiv", "--harvest", "--from", "2023-03-07", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["new"] == 2265
    assert len(http_server.requests_to("/oai")) == 4  # the 503, then three pages
    with open_pile(workspace) as opened:
        assert opened.count("paper") == 2265
        paper = opened.get("0806.4410")
        assert paper.title == "Summing the curious series of Kempner and Irwin"
        assert paper.authors == ["Robert Baillie"] and paper.published == "2008-06-27"
        assert paper.extra["comment"].startswith("29 pages")


def test_the_kaggle_snapshot_sample_is_200_papers(corpus, pile):
    report = read_files(Ingester(pile, ReadingConfig()), [corpus / "arxiv/kaggle_snapshot_sample"])
    assert (report.new, report.failures, report.warnings) == (200, [], [])
    first = pile.get("0704.0001")
    assert first.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert first.authors[:2] == ["C. Balázs", "E. L. Berger"]
    assert pile.resolve("doi:10.1103/physrevd.76.013009") == "arxiv:0704.0001"


def test_a_week_of_daily_listings_is_1628_papers(corpus, tmp_path, pile):
    """Each listing row becomes an arXiv identifier in one of its many spellings; the pile must see one paper."""
    spellings = [
        lambda i: i,
        lambda i: f"arXiv:{i}",
        lambda i: f"https://arxiv.org/abs/{i}",
        lambda i: f"http://arxiv.org/pdf/{i}v1",
        lambda i: f"https://export.arxiv.org/abs/{i}v2",
    ]
    files = []
    for day in DAYS:
        rows = [json.loads(line) for line in (corpus / "arxiv/daily_listings_cs.CV_cs.CL" / f"{day}.jsonl").open()]
        converted = tmp_path / f"{day}.jsonl"
        converted.write_text(
            "".join(
                json.dumps({**row, "id": spellings[n % len(spellings)](row["id"])}) + "\n" for n, row in enumerate(rows)
            )
        )
        files.append(converted)
    report = read_files(Ingester(pile, ReadingConfig()), files)
    assert report.failures == [] and report.new == 1628
    assert pile.count("paper") == 1628 and pile.count() == 1628
    saturday = next(s for s in report.sources if "2026-06-27" in s.source)
    assert saturday.new == 0  # the same papers as Friday
