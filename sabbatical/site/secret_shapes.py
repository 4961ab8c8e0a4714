"""The shapes of secrets, and the encodings a published value can hide behind.

`SHAPES` recognise secrets without knowing them: well-known token formats (their prefixes are public, so a
label may show them), assignments such as `DB_PASSWORD=…` or `"api_key": "…"`, AWS secret keys next to
their name, private key blocks, and passwords inside URLs. Each shape's `label` also judges the match, so
placeholders (`YOUR_API_KEY`, `****`, `${TOKEN}`), code (`token = os.environ[…]`) and prose are not secrets.

`variants_of` decodes a text the ways a build can encode it (HTML entities, JSON and JavaScript escapes,
percent-encoding, typographic quotes), repeatedly, so a value escaped twice or by two layers is found too.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus

_MATCHES_PER_SHAPE = 200


@dataclass(frozen=True)
class Shape:
    """One kind of secret: a pattern, and a label for a match (None when the match is not a secret).

    The pattern is only run on a text holding one of `needles` (a fast substring test first); `after` is
    what must not come right before a match (a lookbehind would cost the pattern its fast literal prefix)."""

    name: str
    pattern: re.Pattern[str]
    label: Callable[[re.Match[str]], str | None]
    needles: tuple[str, ...] = ()
    after: str = ""

    def matches(self, text: str) -> Iterator[re.Match[str]]:
        if self.needles and not any(needle in text for needle in self.needles):
            return
        for match in self.pattern.finditer(text):
            start = match.start()
            if not (self.after and start and (text[start - 1].isalnum() or text[start - 1] in self.after)):
                yield match


def kinds_in(text: str, env: Mapping[str, str]) -> dict[str, int]:
    """Kind of secret → where it first occurs in `text`: the env values as they are, then every shape."""
    found: dict[str, int] = {}
    for name, value in env.items():
        at = text.find(value)
        if at >= 0:
            found.setdefault(f"the value of ${name}", at)
    for shape in SHAPES:
        for count, match in enumerate(shape.matches(text)):
            if count >= _MATCHES_PER_SHAPE:
                break
            label = shape.label(match)
            if label:
                found.setdefault(label, match.start())
    for count, match in enumerate(_assignments(text)):
        if count >= _MATCHES_PER_SHAPE:
            break
        label = _assignment(match)
        if label:
            found.setdefault(label, match.start())
    return found


# -- decoding ------------------------------------------------------------------------------------------------
# JSON and JavaScript escapes, and Markdown's backslash before punctuation (`ghp\_…` in a page's source)
_JSON_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[bfnrt]|[!-/:-@\[-`{-~])")
_SIMPLE_ESCAPES = {"\\": "\\", "/": "/", '"': '"', "'": "'", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_TYPOGRAPHY = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "--",
    "\u2014": "---",
    "\u2026": "...",
    "\u00ab": "<<",
    "\u00bb": ">>",
    "\u00a0": " ",
}
_TYPOGRAPHIC = re.compile("[" + "".join(_TYPOGRAPHY) + "]")


def _json_unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code[1:], 16)) if code[0] in "ux" else _SIMPLE_ESCAPES.get(code, code)

    return _JSON_ESCAPE.sub(one, text)


def _unquote(text: str) -> str:
    return unquote(text, errors="replace") if "%" in text else text


def _unquote_plus(text: str) -> str:
    return unquote_plus(text, errors="replace") if "%" in text or "+" in text else text


def _unescape_html(text: str) -> str:
    return html.unescape(text) if "&" in text else text


def _unescape_json(text: str) -> str:
    return _json_unescape(text) if "\\" in text else text


def _plain_typography(text: str) -> str:
    return _TYPOGRAPHIC.sub(lambda match: _TYPOGRAPHY[match.group()], text)


def _until_settled(decode: Callable[[str], str], text: str, rounds: int = 4) -> str:
    for _ in range(rounds):
        decoded = decode(text)
        if decoded == text:
            break
        text = decoded
    return text


def _everything(text: str) -> str:
    return _plain_typography(_unquote(_unescape_json(_unescape_html(text))))


def _everything_plus(text: str) -> str:
    return _plain_typography(_unquote_plus(_unescape_json(_unescape_html(text))))


def variants_of(text: str) -> list[str]:
    """`text` and its decodings: each layer alone (a decoder can spoil what another layer left, such as a
    literal `%` or `+` in a value), then HTML entities to the end, then every layer to the end."""
    if not any(char in text for char in "&\\%+") and not _TYPOGRAPHIC.search(text):
        return [text]
    html_settled = _until_settled(_unescape_html, text)
    candidates = [
        text,
        html_settled,
        _unescape_json(text),
        _until_settled(_unescape_html, _unescape_json(text)),
        _unquote(text),
        _unquote(html_settled),
        _unquote_plus(html_settled),
        _plain_typography(html_settled),
        _until_settled(_everything, text),
        _until_settled(_everything_plus, text),
    ]
    return list(dict.fromkeys(candidates))


# -- judging a match -----------------------------------------------------------------------------------------
_PLACEHOLDER = re.compile(
    r"(?i)your|example|placeholder|redacted|dummy|sample|changeme|xxxx|\*\*\*|\.\.\.|"
    r"environ|getenv|^[$%]|^\.?\.?/|^~/|^[a-z][a-z0-9+.\-]*://"
)
_DOTTED_NAME = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_URL_PLACEHOLDER = re.compile(r"^(?:\*+|x+|X+|\.\.\.|\u2026|<[^>]*>|\$\{?[A-Za-z_]\w*\}?|\{[^}]*\}|%s|%\(\w+\)s)$")


def looks_secret(value: str) -> bool:
    """An assigned value that is neither a placeholder nor code: long, and of at least two kinds of letter."""
    if len(value) < 8 or len(set(value)) < 4 or _PLACEHOLDER.search(value) or _DOTTED_NAME.match(value):
        return False
    classes = [
        any(c.islower() for c in value),
        any(c.isupper() for c in value),
        any(c.isdigit() for c in value),
        any(not c.isalnum() and c not in "_-./" for c in value),
    ]
    return sum(classes) >= 2 and (classes[2] or classes[3])  # letters alone are names in code far more often


def _name_before(match: re.Match[str], group: str) -> str:
    """The whole name a keyword ends (`DB_PASSWORD` for `PASSWORD`), read back from the keyword."""
    text, start = match.string, match.start(group)
    begin = start
    while begin > 0 and start - begin < 40 and (text[begin - 1].isalnum() or text[begin - 1] in "_.-"):
        begin -= 1
    return text[begin : match.end(group)].lstrip(".-")


def _assignment(match: re.Match[str]) -> str | None:
    if not looks_secret(match.group("value")):
        return None
    name = _name_before(match, "key")
    return f"a secret assigned to {name} ({name}=…)"


def _aws_secret(match: re.Match[str]) -> str | None:
    value = match.group("value")
    has_kinds = any(c.isdigit() for c in value) + any(c.isupper() for c in value) + any(c.islower() for c in value)
    return "an AWS secret access key (aws_secret_access_key=…)" if has_kinds >= 2 else None


def _url_password(match: re.Match[str]) -> str | None:
    if _URL_PLACEHOLDER.match(match.group("password")):
        return None
    text, begin = match.string, match.start()
    while begin > 0 and match.start() - begin < 30 and (text[begin - 1].isalnum() or text[begin - 1] in "+.-"):
        begin -= 1
    scheme = text[begin : match.start()] or "a"
    return f"a password inside a URL ({scheme}://…:…@{match.group('host')[:80]})"


def _prefixed(what: str) -> Callable[[re.Match[str]], str | None]:
    return lambda match: f"{what} ({match.group('prefix')}…)"


def _fixed(label: str) -> Callable[[re.Match[str]], str | None]:
    return lambda match: label


def _openai(label: str) -> Callable[[re.Match[str]], str | None]:
    def judge(match: re.Match[str]) -> str | None:
        body = match.group("body")
        return label if any(c.isdigit() for c in body) and any(c.isalpha() for c in body) else None

    return judge


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_KEYWORD = re.compile(
    r"(?:api[_\-]?key|apikey|access[_\-]?key|auth[_\-]?token|client[_\-]?secret|credentials?|"
    r"pass(?:word|wd|phrase)|private[_\-]?key|secret(?:[_\-]?key)?|token)(?![a-z0-9])"
)
_ASSIGNED = re.compile(
    r"(?P<key>[A-Za-z_\-]+)[\"']?\s{0,3}(?::=|=>|[:=])\s{0,3}[\"']?"
    r"(?P<value>[A-Za-z0-9_\-+/=.~!@#$%^&*?|:]{8,}+)(?![(\[{])"
)


def _assignments(text: str) -> Iterator[re.Match[str]]:
    """`NAME_TOKEN = value`, `"password": "value"` and the like: keywords are found in a lower-cased copy
    (fast), then the assignment is matched in the text itself from there."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few letters lower-case to two (İ); offsets must match the text's
        lowered = text.translate(_ASCII_LOWER)
    for keyword in _KEYWORD.finditer(lowered):
        match = _ASSIGNED.match(text, keyword.start())
        if match and match.end("key") == keyword.end():
            yield match


SHAPES: list[Shape] = [
    Shape(
        "openai-project",
        re.compile(r"sk-proj-(?P<body>[A-Za-z0-9_\-]{20,})"),
        _openai("an OpenAI project key (sk-proj-…)"),
        ("sk-proj-",),
        "_-",
    ),
    Shape(
        "openai",
        re.compile(r"sk-(?!proj-)(?P<body>[A-Za-z0-9_\-]{20,})"),
        _openai("an OpenAI-style secret key (sk-…)"),
        ("sk-",),
        "_-",
    ),
    Shape(
        "aws-access-key-id",
        re.compile(r"(?P<prefix>AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])"),
        _prefixed("an AWS access key id"),
        ("AKIA", "ASIA", "ABIA", "ACCA"),
        "",
    ),
    Shape(
        "aws-secret-key",
        re.compile(
            r"(?i)aws[\w.\-]{0,30}?(?:secret|private)[\w.\-]{0,30}?[\"']?\s{0,3}"
            r"(?::=|=>|[:=])?\s{0,3}[\"']?(?-i:(?P<value>[A-Za-z0-9/+]{40}))"
            r"(?![A-Za-z0-9/+=])"
        ),
        _aws_secret,
        ("aws", "AWS", "Aws"),
    ),
    Shape(
        "github",
        re.compile(r"(?P<prefix>gh[pousr]_)[A-Za-z0-9]{30,}"),
        _prefixed("a GitHub token"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        "_",
    ),
    Shape(
        "github-pat",
        re.compile(r"github_pat_[A-Za-z0-9_]{40,}"),
        _fixed("a GitHub fine-grained token (github_pat_…)"),
        ("github_pat_",),
        "_",
    ),
    Shape("slack", re.compile(r"(?P<prefix>xox[abposr]-)[A-Za-z0-9\-]{10,}"), _prefixed("a Slack token"), ("xox",)),
    Shape(
        "slack-webhook",
        re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"),
        _fixed("a Slack webhook URL (hooks.slack.com/services/…)"),
        ("hooks.slack.com",),
    ),
    Shape(
        "google",
        re.compile(r"AIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])"),
        _fixed("a Google API key (AIza…)"),
        ("AIza",),
        "_-",
    ),
    Shape("huggingface", re.compile(r"hf_[A-Za-z0-9]{30,}"), _fixed("a Hugging Face token (hf_…)"), ("hf_",), "_"),
    Shape("stripe", re.compile(r"(?P<prefix>[sr]k_live_)[0-9A-Za-z]{20,}"), _prefixed("a Stripe key"), ("k_live_",)),
    Shape(
        "private-key",
        re.compile(r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"),
        lambda match: f"a private key ({' '.join(match.group().split())})",
        ("PRIVATE KEY",),
    ),
    Shape(
        "url-password",
        re.compile(
            r"://(?P<user>[^\s/:@?#\"'<>\\]{0,100}):(?P<password>[^\s/@?#\"'<>\\]{1,200})"
            r"@(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])"
        ),
        _url_password,
        ("://",),
    ),
]
