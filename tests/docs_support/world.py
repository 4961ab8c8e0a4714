"""The world the README's examples reach, on 127.0.0.1.

`ReadmeWorld` is a `LoopbackServer` (it serves a folder: the blog's feeds and pages that stand in for
example.org) that also answers as arXiv does:

- `/api/query`: the Atom API that the real `arxiv` client calls, for `id_list` (the latest version of an
  unversioned id, the asked version otherwise) and for `search_query` (a deterministic set of synthetic
  papers per query, paged by `start`/`max_results` with `opensearch:totalResults`);
- `/oai`: OAI-PMH ListRecords in oai_dc, two pages joined by a resumption token.

Every paper, author and abstract here is invented for the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.helpers.httpserver import LoopbackServer, Response

ATOM_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
    'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
)


@dataclass
class Paper:
    base: str  # 2310.01405 or hep-th/9901001
    latest: int
    title: str
    authors: list[str]
    abstract: str
    published: str
    categories: list[str] = field(default_factory=lambda: ["cs.LG"])
    comment: str = ""


# The papers the README's `read arxiv` line names, by id.
NAMED_PAPERS = {
    "2310.01405": Paper(
        "2310.01405",
        3,
        "Steering Vectors Read Out of Population-Level Representations",
        ["Ines Carvalho", "Kofi Mensah", "Yuki Tanabe"],
        "We locate directions in a language model's residual stream that track honesty and "
        "harmlessness across prompts, and show that adding them steers generations. We find that "
        "the same directions explain most of the variance in refusal behaviour.",
        "2023-10-02T17:59:07Z",
        ["cs.LG", "cs.CL"],
        "42 pages",
    ),
    "hep-th/9901001": Paper(
        "hep-th/9901001",
        4,
        "Open Strings in a Constant Background Field Revisited",
        ["Lena Brandt", "Omar Haddad"],
        "We revisit the boundary conditions of open strings ending on branes in a constant "
        "background field and derive the effective metric seen by the endpoints.",
        "1999-01-04T12:00:00Z",
        ["hep-th"],
    ),
    "2401.00001": Paper(
        "2401.00001",
        2,
        "Warm-Up Is Not Needed When the Optimiser Is Normalised",
        ["Priya Raman", "Jonas Weber"],
        "Learning-rate warm-up is standard for small transformers. We show that it fails to "
        "matter once the update is normalised per layer, and trace why: warm-up only limits "
        "the first steps' update size.",
        "2024-01-01T09:00:00Z",
        ["cs.LG"],
    ),
}
QUERY_TOPICS = (
    "dictionary width",
    "feature splitting",
    "dead latents",
    "reconstruction error",
    "attribution graphs",
    "transcoders",
)
# Per search query: (how many papers arXiv has for it, first id number). Unknown queries find nothing.
QUERIES = {"sparse autoencoders": (60, 10001)}
HARVEST_PAGES = [
    [
        ("2403.00011", "Gradient Noise Scale Predicts the Critical Batch Size", ["Adeyemi, Tolu"], "cs.LG"),
        ("2403.00012", "A Benchmark for Long-Context Retrieval in Code", ["Novak, Petra", "Lin, Wei"], "cs.SE"),
        ("2403.00013", "Why Small Models Forget Rare Facts First", ["Ortiz, Marisol"], "cs.CL"),
    ],
    [
        ("2403.00014", "Tokenizer Choice Changes Scaling Exponents", ["Kaur, Simran"], "cs.CL"),
        ("2403.00015", "Pruning Attention Heads Without Retraining", ["Moreau, Anaïs", "Diallo, Sékou"], "cs.LG"),
    ],
]
HARVEST_IDS = [record[0] for page in HARVEST_PAGES for record in page]


def query_papers(query: str) -> list[Paper]:
    count, first = QUERIES.get(query.strip().lower(), (0, 0))
    papers = []
    for n in range(count):
        topic = QUERY_TOPICS[n % len(QUERY_TOPICS)]
        papers.append(
            Paper(
                f"2402.{first + n:05d}",
                1 + n % 2,
                f"{query.title()} and {topic.title()}: Study {n + 1}",
                [f"Author {n} Alpha", f"Author {n} Beta"],
                f"We train {query} on a small language model and measure {topic}. We find that {topic} depends "
                f"on the dictionary size in a way that earlier work did not predict (study {n + 1}).",
                f"2024-02-{1 + n % 28:02d}T10:00:00Z",
            )
        )
    return papers


def atom_entry(paper: Paper, version: int) -> str:
    versioned = f"{paper.base}v{version}"
    authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in paper.authors)
    categories = "".join(f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in paper.categories)
    comment = f"<arxiv:comment>{escape(paper.comment)}</arxiv:comment>" if paper.comment else ""
    return (
        f"<entry><id>http://arxiv.org/abs/{versioned}</id><updated>{paper.published}</updated>"
        f"<published>{paper.published}</published><title>{escape(paper.title)}</title>"
        f"<summary>{escape(paper.abstract)}</summary>{authors}{comment}"
        f'<link href="https://arxiv.org/abs/{versioned}" rel="alternate" type="text/html"/>'
        f'<link title="pdf" href="https://arxiv.org/pdf/{versioned}" rel="related" type="application/pdf"/>'
        f'<arxiv:primary_category term="{paper.categories[0]}"/>{categories}</entry>\n'
    )


def atom_feed(entries: list[str], total: int, start: int) -> bytes:
    return (
        ATOM_HEAD + "<id>https://arxiv.org/api/readme-world</id><title>arXiv Query</title>"
        "<updated>2024-03-01T00:00:00Z</updated>"
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>"
        f"<opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>\n" + "".join(entries) + "</feed>\n"
    ).encode()


def arxiv_api_answer(params: dict[str, list[str]]) -> Response:
    start = int(params.get("start", ["0"])[0])
    size = int(params.get("max_results", ["10"])[0])
    id_list = [i for i in params.get("id_list", [""])[0].split(",") if i]
    if id_list:
        entries = []
        for asked in id_list:
            versioned = re.fullmatch(r"(.+?)v(\d+)", asked)
            paper = NAMED_PAPERS.get(versioned[1] if versioned else asked)
            if paper:
                entries.append(atom_entry(paper, int(versioned[2]) if versioned else paper.latest))
        page = entries[start : start + size]
        return _atom(atom_feed(page, len(entries), start))
    papers = query_papers(params.get("search_query", [""])[0])
    page = [atom_entry(p, p.latest) for p in papers[start : start + size]]
    return _atom(atom_feed(page, len(papers), start))


def _atom(body: bytes) -> Response:
    return Response(200, body, {"Content-Type": "application/atom+xml; charset=utf-8"})


def oai_record(arxiv_id: str, title: str, creators: list[str], category: str) -> str:
    dc = "".join(f"<dc:creator>{escape(c)}</dc:creator>" for c in creators)
    return (
        f"<record><header><identifier>oai:arXiv.org:{arxiv_id}</identifier><datestamp>2024-03-02</datestamp>"
        f"<setSpec>cs</setSpec></header><metadata>"
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{escape(title)}</dc:title>{dc}<dc:subject>{category}</dc:subject>"
        f"<dc:description>We report {escape(title.lower())}, with experiments on three model sizes.</dc:description>"
        f"<dc:date>2024-03-01</dc:date><dc:type>text</dc:type>"
        f"<dc:identifier>http://arxiv.org/abs/{arxiv_id}</dc:identifier></oai_dc:dc></metadata></record>"
    )


def oai_answer(params: dict[str, list[str]]) -> Response:
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        "<responseDate>2024-03-05T00:00:00Z</responseDate>"
    )
    token = params.get("resumptionToken", [""])[0]
    if params.get("verb") != ["ListRecords"] or not (token or params.get("from")):
        body = head + '<error code="badArgument">ListRecords needs from or resumptionToken</error></OAI-PMH>'
        return Response(200, body.encode(), {"Content-Type": "text/xml"})
    page = 1 if token == "readme-page-2" else 0
    records = "".join(oai_record(*record) for record in HARVEST_PAGES[page])
    next_token = "readme-page-2" if page == 0 else ""
    body = (
        head + f'<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request><ListRecords>{records}'
        f'<resumptionToken cursor="{page * 3}" completeListSize="{len(HARVEST_IDS)}">{next_token}</resumptionToken>'
        "</ListRecords></OAI-PMH>"
    )
    return Response(200, body.encode(), {"Content-Type": "text/xml; charset=utf-8"})


class ReadmeWorld(LoopbackServer):
    """The folder server, plus arXiv's Atom API at /api/query and OAI-PMH at /oai."""

    def _next_scripted(self, raw_path: str) -> Response | None:
        parts = urlsplit(raw_path)
        params = parse_qs(parts.query)
        if parts.path == "/api/query":
            return arxiv_api_answer(params)
        if parts.path == "/oai":
            return oai_answer(params)
        return super()._next_scripted(raw_path)

    @property
    def arxiv_api_url(self) -> str:
        return self.url + "/api/query"

    @property
    def oai_pmh_url(self) -> str:
        return self.url + "/oai"
