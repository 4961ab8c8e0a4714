"""Canonical identity: one id per thing read, whatever form it arrived in.

Every item in the pile has exactly one canonical id:

- `arxiv:2310.01405` — an arXiv paper, without its version (versions are history, see `item_versions`);
  old-style ids keep their archive and drop the subject class: `arxiv:hep-th/9901001`.
- `doi:10.1145/3292500.3330701` — a DOI, lower-cased (DOIs are case-insensitive). arXiv's own DOIs
  (`10.48550/arXiv.ID`) are arXiv ids.
- a normalised URL: `https` for `http`, lower-case host, no default port, no fragment, no tracking
  parameters (utm_*, fbclid, gclid, ref, …), the remaining query sorted, no trailing slash.

Anything a user types or a source gives (abs/pdf URLs, `arXiv:ID`, versioned ids, doi.org links) goes
through `canonical_id`; the other forms become aliases of the item. `find_arxiv_links` finds the arXiv
papers a post or page mentions, with the link text when there is one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# New-style ids (0704.0001 onwards): YYMM.NNNN until 2014, YYMM.NNNNN since 2015.
_NEW_ID = r"(?P<new>\d{4}\.\d{4,5})"
# Old-style ids: archive[.SUBJECT-CLASS]/YYMMNNN, e.g. hep-th/9901001, math.GT/0309136.
_OLD_ID = r"(?P<old>(?P<archive>[a-z][a-z\-]*[a-z])(?:\.(?P<subject>[A-Z]{2}))?/(?P<number>\d{7}))"
_VERSION = r"(?:v(?P<version>\d+))?"
_ID_BODY = rf"(?:{_NEW_ID}|{_OLD_ID}){_VERSION}"
_BARE_ID = re.compile(rf"^(?:arxiv:\s*)?{_ID_BODY}$", re.IGNORECASE)
_ARXIV_HOSTS = {"arxiv.org", "www.arxiv.org", "export.arxiv.org", "xxx.lanl.gov", "browse.arxiv.org"}
_ARXIV_PATH = re.compile(rf"^/(?:abs|pdf|html|format|ps)/{_ID_BODY}(?:\.pdf)?/?$")
_ARXIV_DOI = re.compile(rf"^10\.48550/arxiv\.{_ID_BODY}$", re.IGNORECASE)
_DOI = re.compile(r"^(?:doi:\s*)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_DOI_HOSTS = {"doi.org", "dx.doi.org", "www.doi.org"}
# Something that was meant to be an arXiv id but is not one ("arXiv:abc", "2310.1", "2310.014051").
_ATTEMPTED_ID = re.compile(r"^(?:arxiv:.*|\d{3,5}\.\d+(?:v\d*)?|[a-z\-]+(?:\.[a-z]{2})?/\d+(?:v\d*)?)$", re.IGNORECASE)

# Query parameters that only track where a click came from; they never change what a page is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gclsrc",
        "msclkid",
        "yclid",
        "igshid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "hsctatracking",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "cmpid",
        "__s",
        "s_cid",
        "spm",
        "si",
        "_ga",
        "_gl",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "ga_")


@dataclass(frozen=True)
class ArxivId:
    """An arXiv identifier split into its base id and version (None when unversioned)."""

    base: str
    version: int | None = None

    @property
    def canonical(self) -> str:
        return f"arxiv:{self.base}"

    @property
    def versioned(self) -> str:
        return f"arxiv:{self.base}v{self.version}" if self.version else self.canonical

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.base}"


@dataclass(frozen=True)
class ArxivLink:
    """An arXiv paper mentioned in a text, with the anchor text that linked it (if any)."""

    arxiv: ArxivId
    text: str = ""


def _from_match(match: re.Match) -> ArxivId:
    if match["new"]:
        base = match["new"]
    else:
        base = f"{match['archive'].lower()}/{match['number']}"
    version = int(match["version"]) if match["version"] else None
    return ArxivId(base, version)


def parse_arxiv_id(text: str) -> ArxivId | None:
    """An arXiv id from `2310.01405`, `2310.01405v2`, `arXiv:…`, `arxiv:…`, abs/pdf URLs or an arXiv DOI."""
    text = (text or "").strip()
    if not text:
        return None
    match = _BARE_ID.match(text)
    if match:
        return _from_match(match)
    doi = _doi_body(text)
    if doi:
        match = _ARXIV_DOI.match(doi)
        return _from_match(match) if match else None
    if "://" in text or text.lower().startswith(("arxiv.org/", "www.arxiv.org/", "export.arxiv.org/")):
        parts = urlsplit(text if "://" in text else "https://" + text)
        if (parts.hostname or "").lower() in _ARXIV_HOSTS:
            match = _ARXIV_PATH.match(unquote(parts.path))
            if match:
                return _from_match(match)
    return None


def looks_like_bad_arxiv_id(text: str) -> bool:
    """True for input that was clearly meant as an arXiv id but is malformed (so it is not a search)."""
    text = (text or "").strip()
    return bool(_ATTEMPTED_ID.match(text)) and parse_arxiv_id(text) is None


def _doi_body(text: str) -> str | None:
    text = text.strip()
    match = _DOI.match(text)
    if match:
        return match[1]
    if "://" in text:
        parts = urlsplit(text)
        if (parts.hostname or "").lower() in _DOI_HOSTS:
            path = unquote(parts.path).lstrip("/")
            if _DOI.match(path):
                return path
    return None


def normalise_doi(text: str) -> str | None:
    """`doi:10.x/y` (lower-case) from a bare DOI, `doi:…` or a doi.org URL; None if it is not a DOI."""
    body = _doi_body(text or "")
    if not body:
        return None
    return "doi:" + body.rstrip(".,;)").lower()


def is_tracking_param(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


@lru_cache(maxsize=1 << 16)  # feeds and pages repeat the same URLs; normalising is pure
def normalise_url(url: str, *, keep_fragment: bool = False) -> str:
    """The canonical form of a web URL (see the module docstring). Raises ValueError if it is not one."""
    parts = urlsplit((url or "").strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not a web URL: {url!r}")
    host = parts.hostname.lower().rstrip(".")
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=~%-._")
    path = re.sub(r"/{2,}", "/", path).rstrip("/")
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k))
    fragment = parts.fragment if keep_fragment else ""
    # http and https name the same document on every site a researcher reads; one id for both.
    return urlunsplit(("https", netloc, path, urlencode(query, quote_via=quote, safe="/:@,"), fragment))


@lru_cache(maxsize=1 << 16)
def canonical_id(text: str, *, keep_fragment: bool = False) -> str | None:
    """The canonical id for an arXiv id/URL, a DOI, or a web URL; None for anything else."""
    arxiv = parse_arxiv_id(text)
    if arxiv:
        return arxiv.canonical
    doi = normalise_doi(text)
    if doi:
        return doi
    try:
        return normalise_url(text, keep_fragment=keep_fragment)
    except ValueError:
        return None


def id_kind(name: str) -> str:
    """What kind of name this is, as the alias table records it: 'arxiv', 'arxiv_version' (an arXiv id
    with its version), 'doi', 'url', or 'entry' (anything else, e.g. a feed entry's guid)."""
    if name.startswith("arxiv:"):
        arxiv = parse_arxiv_id(name)
        return "arxiv_version" if arxiv and arxiv.version else "arxiv"
    if name.startswith("doi:"):
        return "doi"
    if name.startswith(("http://", "https://")):
        return "url"
    return "entry"


# -- finding arXiv papers mentioned in text or HTML ------------------------------------------------------

_ANCHOR = re.compile(r"<a\s[^>]*?href\s*=\s*[\"']([^\"']+)[\"'][^>]*>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_URL_MENTION = re.compile(rf"(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/{_ID_BODY}", re.IGNORECASE)
_TEXT_MENTION = re.compile(rf"\barxiv:\s?{_ID_BODY}", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def find_arxiv_links(text: str) -> list[ArxivLink]:
    """The arXiv papers a text or HTML mentions, each once: linked ones first, then bare mentions.

    Anchors (`<a href="https://arxiv.org/abs/…">text</a>`) keep their text; bare URLs and `arXiv:ID`
    mentions in running text are found too.
    """
    if not text or "arxiv" not in text.lower():
        return []
    found: dict[str, ArxivLink] = {}
    for href, inner in _ANCHOR.findall(text):
        arxiv = parse_arxiv_id(html.unescape(href))
        if arxiv and arxiv.base not in found:
            label = " ".join(html.unescape(_TAG.sub(" ", inner)).split())
            found[arxiv.base] = ArxivLink(arxiv, "" if parse_arxiv_id(label) or "arxiv.org" in label else label)
    bare = sorted([*_URL_MENTION.finditer(text), *_TEXT_MENTION.finditer(text)], key=lambda m: m.start())
    for match in bare:
        arxiv = _from_match(match)
        found.setdefault(arxiv.base, ArxivLink(arxiv))
    return list(found.values())
