"""Finding secrets in files about to be published, without ever repeating them.

Two kinds of evidence:

- the exact values of this process's secret environment variables (OPENAI_API_KEY and every variable whose
  name says KEY, TOKEN, SECRET, PASSWORD or CREDENTIAL, when the value has at least 8 characters);
- the shapes of secrets, found without knowing them (`secret_shapes`): `NAME_TOKEN=…`-style assignments,
  AWS keys, private key blocks, passwords inside URLs, GitHub, Slack, Google, OpenAI, Hugging Face and
  Stripe tokens.

Both are searched for in every form the build can give a value: as written, HTML-escaped (named and
numeric entities), JSON-escaped, percent-encoded, and "smartened" by typography. Each text is decoded into
those variants before searching, because a page can hold a value escaped once, twice, or mixed. Base64
blobs in a text are decoded and searched too; archives (zip, gzip, bzip2, xz, tar) are opened and every
member searched, within size limits. An archive that cannot be opened, or is too big or too deep to search,
is itself a finding: it is refused rather than published unread.

A hit names the file, the place (a line, an archive member, a byte offset) and the kind of secret, never
the secret: the only preview is what is not secret (a token's well-known prefix, the name a value was
assigned to).
"""

from __future__ import annotations

import base64
import binascii
import bz2
import gzip
import io
import lzma
import os
import re
import tarfile
import zipfile
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .secret_shapes import SHAPES, kinds_in, variants_of

MIN_SECRET_LENGTH = 8
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
# Variables whose names match but whose values are not secrets (and are likely to appear in pages).
_NOT_SECRET_NAMES = {"SABBATICAL_WORKSPACE"}

MAX_FILE_BYTES = 200 * 1024 * 1024  # a published file larger than this is refused, not searched
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # everything one published file's archives unpack to, in total
MAX_MEMBERS = 10_000  # archive members searched per published file
MAX_DEPTH = 4  # archives and base64 blobs inside each other
MIN_BASE64 = 16  # a shorter run of base64 letters is not decoded
_BASE64_LINE = rf"[A-Za-z0-9+/_\-]{{{MIN_BASE64},}}={{0,2}}"
_BASE64_RUN = re.compile(rf"(?<![A-Za-z0-9+/_\-]){_BASE64_LINE}(?:(?:\r?\n|\\n){_BASE64_LINE})*")
_REFUSED = " — publish its files unpacked or leave it out"


@dataclass(frozen=True)
class SecretHit:
    """A published file that holds something secret-looking: where in it, and what kind (never the value)."""

    path: Path
    what: str
    place: str = ""


@dataclass(frozen=True)
class _Finding:
    what: str
    place: str = ""


@dataclass
class _Budget:
    """What is left to unpack for one published file, shared by every archive nested in it."""

    bytes_left: int = MAX_UNPACKED_BYTES
    members_left: int = MAX_MEMBERS


class _TooBig(Exception):
    pass


class _Unreadable(Exception):
    pass


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


def _as_text(env_values: Mapping[str, bytes]) -> dict[str, str]:
    return {name: value.decode("utf-8", "replace") for name, value in env_values.items()}


def scan_bytes(data: bytes, env_values: Mapping[str, bytes]) -> list[str]:
    """What kinds of secret `data` holds (empty when none), in any encoding, archive or blob."""
    kinds: list[str] = []
    for finding in _scan_blob(data, _as_text(env_values), 0, _Budget()):
        if finding.what not in kinds:
            kinds.append(finding.what)
    return kinds


def scan_text(text: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """What kinds of secret a short text (a run's param, a file name) holds, in any encoding."""
    env = _as_text(secret_env_values(environ))
    return sorted({what for variant in variants_of(text) for what in kinds_in(variant, env)})


def scan_files(
    paths: Iterable[Path], environ: Mapping[str, str] | None = None, root: Path | None = None
) -> list[SecretHit]:
    """Scan each file; one hit per file, kind and place. A file name holding a secret is a hit too."""
    env_bytes = secret_env_values(environ)
    env = _as_text(env_bytes)
    hits = []
    for path in paths:
        shown = _relative(path, root)
        hits += [SecretHit(path, f"{what} in the file's name") for what in scan_text(shown, environ)]
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                hits.append(SecretHit(path, f"a file too large to search ({size} bytes){_REFUSED}", "the whole file"))
                continue
            data = path.read_bytes()
        except OSError:
            continue
        hits += [SecretHit(path, found.what, found.place) for found in _scan_blob(data, env, 0, _Budget())]
    return hits


def scan_tree(root: Path, environ: Mapping[str, str] | None = None) -> list[SecretHit]:
    """Scan every file under `root`."""
    if not root.exists():
        return []
    return scan_files(sorted(path for path in root.rglob("*") if path.is_file()), environ, root)


def describe(hits: list[SecretHit], relative_to: Path, most: int = 40) -> list[str]:
    """One line per file: which file, then each kind of secret and where it is in the file."""
    by_file: dict[Path, list[str]] = {}
    for hit in hits:
        entries = by_file.setdefault(hit.path, [])
        entry = f"{hit.what} ({hit.place})" if hit.place else hit.what
        if entry not in entries:
            entries.append(entry)
    lines = []
    for path, entries in by_file.items():
        shown = _relative(path, relative_to)
        if scan_text(shown):
            shown = f"{path.parent.name}/<a file whose name holds a secret>"
        more = f", and {len(entries) - most} more" if len(entries) > most else ""
        lines.append(f"{shown}: {', '.join(entries[:most])}{more}")
    return lines


def _relative(path: Path, root: Path | None) -> str:
    try:
        return path.relative_to(root).as_posix() if root is not None else path.as_posix()
    except ValueError:
        return path.as_posix()


# -- one blob of bytes: an archive, binary data or text ----------------------------------------------------
def _scan_blob(data: bytes, env: Mapping[str, str], depth: int, budget: _Budget) -> list[_Finding]:
    kind = archive_kind(data)
    if kind:
        return _scan_archive(kind, data, env, depth, budget)
    if _is_binary(data):
        return _scan_binary(data, env)
    return _scan_text(data.decode("utf-8", "replace"), env, depth, budget)


def _is_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    return bool(head) and controls / len(head) > 0.1


def _scan_binary(data: bytes, env: Mapping[str, str]) -> list[_Finding]:
    """Raw bytes (an image, a font): the shapes and the values as they are, placed by byte offset."""
    found = [
        _Finding(f"the value of ${name}", f"byte {data.find(value.encode())}")
        for name, value in env.items()
        if value.encode() in data
    ]
    text = data.decode("latin-1")
    found += [_Finding(what, f"byte {offset}") for what, offset in kinds_in(text, {}).items()]
    return found


def _scan_text(text: str, env: Mapping[str, str], depth: int, budget: _Budget) -> list[_Finding]:
    found: list[_Finding] = []
    anywhere: set[str] = set()
    for variant in variants_of(text):
        anywhere.update(kinds_in(variant, env))
    if anywhere:
        found += _placed_by_line(text, env, anywhere)
    found += _scan_base64(text, env, depth, budget)
    return found


def _placed_by_line(text: str, env: Mapping[str, str], wanted: set[str]) -> list[_Finding]:
    """Which lines hold the kinds found in the whole text; a kind no single line holds is still reported."""
    found = []
    located: set[str] = set()
    for number, line in enumerate(text.split("\n"), 1):
        kinds = {what for variant in variants_of(line) for what in kinds_in(variant, env)} & wanted
        found += [_Finding(what, f"line {number}") for what in sorted(kinds)]
        located |= kinds
    found += [_Finding(what, "split across lines") for what in sorted(wanted - located)]
    return found


# -- base64 blobs --------------------------------------------------------------------------------------------
def _scan_base64(text: str, env: Mapping[str, str], depth: int, budget: _Budget) -> list[_Finding]:
    if depth >= MAX_DEPTH:
        return []
    found = []
    line_starts: list[int] | None = None
    for match in _BASE64_RUN.finditer(text):
        inner = []
        for candidate in _base64_candidates(match.group()):
            decoded = _decode_base64(candidate)
            if decoded is not None:
                inner += _scan_decoded(decoded, env, depth, budget)
        if inner:
            if line_starts is None:
                line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
            where = f"line {bisect_right(line_starts, match.start())} › base64"
            found += [_Finding(f.what, _join(where, f.place)) for f in dict.fromkeys(inner)]
    return found


def _base64_candidates(run: str) -> list[str]:
    """The run as one blob, and (when it is wrapped over lines) each line on its own."""
    pieces = re.split(r"\r?\n|\\n", run)
    whole = "".join(pieces)
    return [whole] + ([piece for piece in pieces if len(piece) >= MIN_BASE64] if len(pieces) > 1 else [])


def _decode_base64(blob: str) -> bytes | None:
    blob = blob.rstrip("=").replace("-", "+").replace("_", "/")
    if len(blob) % 4 == 1:
        blob = blob[:-1]
    try:
        return base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _scan_decoded(data: bytes, env: Mapping[str, str], depth: int, budget: _Budget) -> list[_Finding]:
    """A decoded blob is searched when it is text, an archive, or binary long enough to matter."""
    if archive_kind(data):
        return _scan_archive(archive_kind(data), data, env, depth + 1, budget)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _scan_binary(data, env) if len(data) >= 48 else []
    printable = sum(1 for char in text if char.isprintable() or char in "\r\n\t")
    if printable < 0.9 * len(text):
        return _scan_binary(data, env) if len(data) >= 48 else []
    return _scan_text(text, env, depth + 1, budget)


# -- archives ------------------------------------------------------------------------------------------------
def archive_kind(data: bytes) -> str:
    """The archive or compression format `data` starts with ("" when none)."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:3] == b"BZh" and data[4:10] in (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90"):
        return "bzip2"
    if data[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if data[257:262] == b"ustar":
        return "tar"
    for magic, kind in ((b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!\x1a\x07", "rar"), (b"\x28\xb5\x2f\xfd", "zstd")):
        if data.startswith(magic):
            return kind
    return ""


def _scan_archive(kind: str, data: bytes, env: Mapping[str, str], depth: int, budget: _Budget) -> list[_Finding]:
    if kind not in _MEMBERS:
        return [_Finding(f"a {kind} archive that cannot be searched{_REFUSED}")]
    if depth >= MAX_DEPTH:
        return [_Finding(f"a {kind} archive nested too deep to search{_REFUSED}")]
    found: list[_Finding] = []
    try:
        for number, (name, content) in enumerate(_MEMBERS[kind](data, budget), 1):
            shown, in_name = _member_name(name, number, env)
            found += [_Finding(f"{what} in a member's name", shown) for what in in_name]
            found += [_Finding(f.what, _join(shown, f.place)) for f in _scan_blob(content, env, depth + 1, budget)]
    except _TooBig as exc:
        found.append(_Finding(f"a {kind} archive too large to search ({exc}){_REFUSED}"))
    except _Unreadable as exc:
        found.append(_Finding(f"a {kind} archive that cannot be read ({exc}){_REFUSED}"))
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        tarfile.TarError,
        OSError,
        EOFError,
        lzma.LZMAError,
        zlib.error,
        RuntimeError,
        NotImplementedError,
        ValueError,
    ) as exc:
        found.append(_Finding(f"a {kind} archive that cannot be read ({type(exc).__name__}){_REFUSED}"))
    return found


def _member_name(name: str, number: int, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """How a member is named in a finding (its name, or its number when the name holds a secret), and what
    kinds of secret its name holds."""
    kinds = sorted({what for variant in variants_of(name) for what in kinds_in(variant, env)})
    if kinds:
        return f"member #{number}", kinds
    printable = "".join(char if char.isprintable() else "?" for char in name)
    return f"member {printable[:160]}", []


def _take(budget: _Budget, size: int) -> None:
    budget.members_left -= 1
    if budget.members_left < 0:
        raise _TooBig(f"more than {MAX_MEMBERS} members")
    if size > budget.bytes_left:
        raise _TooBig(f"more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB unpacked")
    budget.bytes_left -= size


def _zip_members(data: bytes, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise _Unreadable("an encrypted member")
            _take(budget, info.file_size)
            with archive.open(info) as member:  # reads at most the declared size, which was budgeted
                yield info.filename, member.read()


def _tar_members(data: bytes, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for member in archive:
            if not member.isfile():
                continue
            _take(budget, member.size)
            extracted = archive.extractfile(member)
            yield member.name, extracted.read() if extracted is not None else b""


def _stream_members(opener: Callable[[io.BytesIO], io.BufferedIOBase]) -> Callable[..., Iterator[tuple[str, bytes]]]:
    def members(data: bytes, budget: _Budget) -> Iterator[tuple[str, bytes]]:
        with opener(io.BytesIO(data)) as stream:
            content = stream.read(budget.bytes_left + 1)  # never more than the budget, however it expands
        _take(budget, len(content))
        yield "(decompressed)", content

    return members


_MEMBERS = {
    "zip": _zip_members,
    "tar": _tar_members,
    "gzip": _stream_members(lambda stream: gzip.GzipFile(fileobj=stream)),
    "bzip2": _stream_members(bz2.BZ2File),
    "xz": _stream_members(lzma.LZMAFile),
}


def _join(first: str, second: str) -> str:
    return f"{first} › {second}" if second else first


__all__ = [
    "SHAPES",
    "SecretHit",
    "archive_kind",
    "describe",
    "scan_bytes",
    "scan_files",
    "scan_text",
    "scan_tree",
    "secret_env_values",
]
