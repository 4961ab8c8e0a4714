"""The feeds, pages and files that the README's reading example reads, written for a `ReadmeWorld`.

`https://example.org/feed.xml` and `https://example.org/a-post` are served by the world's folder; the
OPML file lists a second feed there, which `read update` then fetches. refs.bib, paper.pdf, subs.opml
and arxiv-metadata-oai-snapshot.json are written into the workspace, as a reader's downloads would be.
Every name, title and text here is invented for the tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.test_ingest import make_pdf

BLOG_TITLE = "Notes on Small Models"
POST_TITLE = "What Steering Vectors Do Not Tell Us"
POST_AUTHOR = "Ada Lindqvist"
POST_DATE = "2024-02-20"
FEED_POSTS = ("Reading group: steering vectors", "Warm-up, again")
FRIEND_POSTS = ("Dead latents are mostly a learning-rate problem", "A week of transcoders")
BIB_DOI = "doi:10.5555/lnorm.2022.17"
SNAPSHOT_IDS = ("2312.00101", "2312.00102", "2312.00103")
PDF_ARXIV_ID = "2401.00001"


@dataclass
class WrittenWorld:
    feed_url: str
    post_url: str
    friends_url: str


def write_site(root: Path, base_url: str) -> WrittenWorld:
    """The blog: an RSS feed, an article page, and a friend's Atom feed (listed in subs.opml)."""
    world = WrittenWorld(f"{base_url}/feed.xml", f"{base_url}/a-post", f"{base_url}/friends.atom")
    (root / "feed.xml").write_text(_rss(base_url, world.post_url), encoding="utf-8")
    (root / "a-post").write_text(_article(), encoding="utf-8")
    (root / "friends.atom").write_text(_friends_atom(base_url), encoding="utf-8")
    return world


def _rss(base_url: str, post_url: str) -> str:
    first, second = FEED_POSTS
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>{BLOG_TITLE}</title>
  <link>{base_url}/</link>
  <description>Short notes on what small language models learn.</description>
  <item>
    <title>{POST_TITLE}</title>
    <link>{post_url}</link>
    <guid isPermaLink="true">{post_url}</guid>
    <dc:creator>{POST_AUTHOR}</dc:creator>
    <pubDate>Tue, 20 Feb 2024 08:30:00 GMT</pubDate>
    <description>Why a direction that steers a model need not be the one it uses.</description>
  </item>
  <item>
    <title>{first}</title>
    <link>{base_url}/posts/reading-group-steering</link>
    <guid>{base_url}/posts/reading-group-steering</guid>
    <pubDate>Mon, 12 Feb 2024 18:00:00 GMT</pubDate>
    <description><![CDATA[<p>This week we read <a href="https://arxiv.org/abs/2310.01405">the steering
    vectors paper</a> and argued about whether a readout is a mechanism.</p>]]></description>
  </item>
  <item>
    <title>{second}</title>
    <link>https://arxiv.org/abs/{PDF_ARXIV_ID}v1</link>
    <guid>{base_url}/posts/warm-up-again</guid>
    <pubDate>Fri, 02 Feb 2024 12:00:00 GMT</pubDate>
    <description>A paper says warm-up is not needed with a normalised optimiser.</description>
  </item>
</channel>
</rss>
"""


def _article() -> str:
    paragraphs = [
        "A steering vector is a direction in a model's residual stream: add it, and the model's answers "
        "change in a predictable way. The paper we read this week finds such directions for honesty and "
        "for refusal, and the results are striking.",
        "But a direction that steers is not necessarily a direction the model uses. Adding a large enough "
        "vector pushes activations off the distribution the model was trained on, and many directions "
        "could move the output in the same way.",
        "We tried a small check: project the activations of a held-out set onto the steering direction and "
        "compare with a random direction of the same norm. The steering direction separates the classes, "
        "but so do a third of the random ones once the layer is deep enough.",
        "So the readout is real and useful, and the mechanism is still open. Read the paper itself at "
        '<a href="https://arxiv.org/abs/2310.01405">arXiv 2310.01405</a>; our notebook is linked below.',
    ]
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{POST_TITLE} | {BLOG_TITLE}</title>
<meta name="author" content="{POST_AUTHOR}">
<meta property="og:title" content="{POST_TITLE}">
<meta property="article:published_time" content="{POST_DATE}T08:30:00Z">
</head><body>
<nav><a href="/">Home</a> · <a href="/feed.xml">Feed</a> · <a href="/about">About</a></nav>
<article><h1>{POST_TITLE}</h1>
<p class="byline">By {POST_AUTHOR}, {POST_DATE}</p>
{body}
</article>
<footer>© 2024 {BLOG_TITLE}. Subscribe to the feed.</footer>
</body></html>
"""


def _friends_atom(base_url: str) -> str:
    entries = "".join(
        f"<entry><title>{title}</title><id>{base_url}/friends/{n}</id>"
        f'<link rel="alternate" href="{base_url}/friends/{n}"/><updated>2024-03-0{n + 1}T10:00:00Z</updated>'
        f"<author><name>Sam Okafor</name></author><summary>{title}, in a few paragraphs.</summary></entry>"
        for n, title in enumerate(FRIEND_POSTS)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Sam's lab notes</title><id>{base_url}/friends</id><updated>2024-03-02T10:00:00Z</updated>"
        f"{entries}</feed>"
    )


def write_downloads(folder: Path, world: WrittenWorld) -> None:
    """refs.bib, paper.pdf, subs.opml and a slice of arXiv's metadata snapshot."""
    (folder / "refs.bib").write_text(_bibtex(), encoding="utf-8")
    (folder / "paper.pdf").write_bytes(
        make_pdf(
            [
                f"arXiv:{PDF_ARXIV_ID}v1 [cs.LG] 1 Jan 2024",
                "Warm-Up Is Not Needed When the Optimiser Is Normalised",
                "Priya Raman, Jonas Weber",
                "Abstract. Learning-rate warm-up is standard for small transformers.",
                "We show that it fails to matter once the update is normalised per layer.",
            ]
        )
    )
    (folder / "subs.opml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>Subscriptions</title></head>'
        f'<body><outline text="Research blogs"><outline type="rss" text="Sam\'s lab notes" '
        f'xmlUrl="{world.friends_url}" htmlUrl="{world.friends_url.rsplit("/", 1)[0]}/friends"/>'
        "</outline></body></opml>\n",
        encoding="utf-8",
    )
    (folder / "arxiv-metadata-oai-snapshot.json").write_text(
        "".join(json.dumps(record) + "\n" for record in _snapshot_records()), encoding="utf-8"
    )


def _bibtex() -> str:
    return """% exported from a reference manager
@article{carvalho2023steering,
  title         = {Steering Vectors Read Out of Population-Level Representations},
  author        = {Carvalho, Ines and Mensah, Kofi and Tanabe, Yuki},
  year          = {2023},
  eprint        = {2310.01405},
  archivePrefix = {arXiv},
  primaryClass  = {cs.LG}
}

@inproceedings{weber2022norms,
  title     = {Layer Norms and the First Steps of Training},
  author    = {Weber, Jonas and Raman, Priya},
  booktitle = {Proceedings of the Workshop on Small Models},
  year      = {2022},
  pages     = {17--29},
  doi       = {10.5555/LNORM.2022.17}
}
"""


def _snapshot_records() -> list[dict]:
    titles = (
        "Curriculum Order Matters Less Than Data Diversity",
        "Attention Sinks Appear in Models Without Softmax",
        "A Survey of Evaluation Leakage in Code Benchmarks",
    )
    return [
        {
            "id": arxiv_id,
            "submitter": "Rosa Alvarez",
            "authors": "Rosa Alvarez and Chen Jun",
            "title": title,
            "comments": "12 pages, 5 figures",
            "journal-ref": None,
            "doi": None,
            "report-no": None,
            "categories": "cs.LG cs.CL",
            "license": None,
            "abstract": f"  We study {title.lower()}.\nThe answer surprised us.\n",
            "versions": [{"version": "v1", "created": "Fri, 1 Dec 2023 10:00:00 GMT"}],
            "update_date": "2023-12-04",
            "authors_parsed": [["Alvarez", "Rosa", ""], ["Jun", "Chen", ""]],
        }
        for arxiv_id, title in zip(SNAPSHOT_IDS, titles)
    ]
