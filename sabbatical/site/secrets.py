"""Finding secrets in files about to be published, without ever repeating them.

Two kinds of evidence: the shapes of well-known API keys (OpenAI, AWS, GitHub, Slack, Hugging Face, a
generic `api_key = …` assignment), and the exact values of secret environment variables of this process
(OPENAI_API_KEY and every variable whose name says KEY, TOKEN, SECRET or PASSWORD, when its value is at
least 8 characters). A hit names the file and the kind of secret, never the secret itself.

Files are scanned as bytes, so a key inside a JSON search index, a CSV artifact or an SVG is found too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

MIN_SECRET_LENGTH = 8
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD", re.IGNORECASE)
# Variables whose names match but whose values are not secrets (and are likely to appear in pages).
_NOT_SECRET_NAMES = {"SABBATICAL_WORKSPACE"}

PATTERNS: list[tuple[str, re.Pattern[bytes]]] = [
    ("an OpenAI project key (sk-proj-…)", re.compile(rb"sk-proj-[A-Za-z0-9_\-]{20,}")),
    ("an OpenAI-style secret key (sk-…)", re.compile(rb"(?<![A-Za-z0-9_\-])sk-(?!proj-)[A-Za-z0-9_\-]{20,}")),
    ("an AWS access key id (AKIA…)", re.compile(rb"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("a GitHub token (ghp_…)", re.compile(rb"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}")),
    ("a GitHub fine-grained token", re.compile(rb"\bgithub_pat_[A-Za-z0-9_]{40,}")),
    ("a Slack token (xox…)", re.compile(rb"\bxox[abposr]-[A-Za-z0-9\-]{10,}")),
    ("a Hugging Face token (hf_…)", re.compile(rb"\bhf_[A-Za-z0-9]{30,}")),
    ("an api_key assignment", re.compile(
        rb"(?i)\bapi[_\-]?key\b[\"']?\s*[:=]\s*[\"']?(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])"
        rb"[A-Za-z0-9_\-]{16,}")),
]


@dataclass(frozen=True)
class SecretHit:
    """A file that holds something secret-looking, and what kind of thing (never the value)."""

    path: Path
    what: str


def secret_env_values(environ: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """Name → value of every secret-looking environment variable worth searching for."""
    environ = os.environ if environ is None else environ
    found = {}
    for name, value in environ.items():
        if name in _NOT_SECRET_NAMES or not _SECRET_NAME.search(name):
            continue
        value = value.strip()
        if len(value) >= MIN_SECRET_LENGTH:
            found[name] = value.encode("utf-8")
    return found


def scan_bytes(data: bytes, env_values: Mapping[str, bytes]) -> list[str]:
    """What kinds of secret `data` holds (empty when none)."""
    kinds = [f"the value of ${name}" for name, value in env_values.items() if value in data]
    kinds += [label for label, pattern in PATTERNS if pattern.search(data)]
    return kinds


def scan_files(paths: Iterable[Path], environ: Mapping[str, str] | None = None) -> list[SecretHit]:
    """Scan each file; one hit per file and kind."""
    env_values = secret_env_values(environ)
    hits = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        hits += [SecretHit(path, what) for what in scan_bytes(data, env_values)]
    return hits


def scan_tree(root: Path, environ: Mapping[str, str] | None = None) -> list[SecretHit]:
    """Scan every file under `root`."""
    if not root.exists():
        return []
    return scan_files(sorted(path for path in root.rglob("*") if path.is_file()), environ)


def describe(hits: list[SecretHit], relative_to: Path) -> list[str]:
    """One line per file: which file, and what kind of secret it holds."""
    by_file: dict[Path, list[str]] = {}
    for hit in hits:
        by_file.setdefault(hit.path, []).append(hit.what)
    lines = []
    for path, kinds in by_file.items():
        try:
            shown = path.relative_to(relative_to)
        except ValueError:
            shown = path
        lines.append(f"{shown}: {', '.join(kinds)}")
    return lines
