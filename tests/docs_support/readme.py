"""The README taken apart: fenced code blocks (with their language and section) and inline command spans.

Inline spans are the backticked `sabbatical …`, `pile …`, `sprint …`, `site …`, `read …` forms and the
bare `--option` spans of the prose. Each span keeps its paragraph (a table row, a bullet, a numbered item
or a run of lines between blank lines) and its section (a `##` heading), because a bare option belongs to
the command named before it in its paragraph, or else to one named somewhere in its section.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

README_PATH = Path(__file__).resolve().parents[2] / "README.md"
COMMAND_PREFIXES = ("sabbatical ", "pile ", "sprint ", "site ", "read ", "--")
# Other programs' command lines in the prose (installers, make, mkdocs, mlflow, …).
TOOL_PREFIXES = (
    "pip ",
    "python ",
    "python3 ",
    "mkdocs ",
    "make ",
    "mlflow ",
    "apt-get ",
    "apt ",
    "createdb ",
    "psql ",
    "docker ",
    "uv ",
    "pipx ",
    "curl ",
    "bash ",
    ".venv/",
    "ollama ",
    "vllm ",
)
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)


@dataclass
class CodeBlock:
    language: str
    text: str  # dedented, without the fences
    section: str
    line: int  # 1-based line of the opening fence in README.md

    @property
    def first_line(self) -> str:
        return self.text.strip().splitlines()[0].strip() if self.text.strip() else ""

    def commands(self) -> list[str]:
        """Shell lines with backslash continuations joined and `# comments` dropped."""
        joined = re.sub(r"\\\n\s*", " ", self.text)
        lines = [_strip_shell_comment(line).strip() for line in joined.splitlines()]
        return [line for line in lines if line]


@dataclass
class Span:
    text: str  # whitespace collapsed
    section: str
    paragraph: int  # index of its paragraph in the README
    line: int
    context: list[str] = field(default_factory=list)  # command spans earlier in the same paragraph

    @property
    def is_option(self) -> bool:
        return self.text.startswith("--")


def read_readme() -> str:
    return README_PATH.read_text(encoding="utf-8")


def code_blocks(text: str | None = None) -> list[CodeBlock]:
    text = read_readme() if text is None else text
    blocks = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        body = textwrap.dedent(match["body"])
        blocks.append(CodeBlock(match["lang"].lower(), body, _section_at(text, match.start()), line))
    return blocks


def _section_at(text: str, offset: int) -> str:
    headings = re.findall(r"^## (.+)$", text[:offset], re.M)
    return headings[-1].strip() if headings else ""


def _strip_shell_comment(line: str) -> str:
    """Drop a trailing `# comment` that is outside quotes."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def inline_spans(text: str | None = None, prefixes: tuple[str, ...] = COMMAND_PREFIXES) -> list[Span]:
    """Every backticked span outside code blocks that starts with one of `prefixes`, in reading order."""
    text = read_readme() if text is None else text
    prose = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)  # keep line numbers
    spans: list[Span] = []
    for number, (start_line, paragraph) in enumerate(_paragraphs(prose)):
        section = _section_at(prose, _offset_of_line(prose, start_line))
        commands_so_far: list[str] = []
        for match in re.finditer(r"`([^`]+)`", paragraph):
            span_text = " ".join(match[1].replace("\\|", "|").split())
            if not span_text.startswith(prefixes):
                continue
            line = start_line + paragraph.count("\n", 0, match.start())
            spans.append(Span(span_text, section, number, line, list(commands_so_far)))
            if not span_text.startswith("--"):
                commands_so_far.append(span_text)
    return spans


def _offset_of_line(text: str, line: int) -> int:
    return sum(len(chunk) + 1 for chunk in text.split("\n")[: line - 1])


def _paragraphs(prose: str) -> list[tuple[int, str]]:
    """(first line number, text) for each paragraph: table rows, list items and blank-line separated runs."""
    paragraphs: list[tuple[int, str]] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(prose.split("\n"), 1):
        starts_new = not line.strip() or line.startswith(("|", "#")) or re.match(r"\s*(- |\d+\. )", line)
        if starts_new and current:
            paragraphs.append((start, "\n".join(current)))
            current = []
        if line.strip():
            if not current:
                start = number
            current.append(line)
            if line.startswith(("|", "#")):
                paragraphs.append((start, "\n".join(current)))
                current = []
    if current:
        paragraphs.append((start, "\n".join(current)))
    return paragraphs


def expand_alternatives(span: str) -> list[list[str]]:
    """The argument lists one inline form stands for.

    `pile keep|star|drop ID…` is three commands; `[--from NAME]` is an option shown as optional; `…`
    stands for some text; `ID…` and `tag…` stand for one or more values.
    """
    cleaned = span.replace("[", " ").replace("]", " ")
    words = shlex.split(cleaned)
    choices = []
    for word in words:
        if word in ("…", "..."):
            word = "text"
        word = word.rstrip("…") or "text"
        choices.append(word.split("|") if "|" in word and not word.startswith("$") else [word])
    return [list(combo) for combo in product(*choices)]
