"""What a rebuild may skip: the site engine when nothing it reads changed, and secret scans of known-clean files.

The engine (mkdocs) reads the generated sources (`.sabbatical/site-src/`: the pages, mkdocs.yml, the theme
overrides), the hooks that config names, and the installed packages. `engine_inputs_key` hashes all of
them, with our own post-processing code, so any change to any of them is a new key. After a build the key
and a manifest of `site/` (every file's path and content hash) are kept in `site-stamp.json` in the build
cache folder. A build whose key matches and whose `site/` still holds exactly the manifest's files (no file
missing, added, changed or replaced by a link) leaves `site/` as it is: the engine would write the same
bytes again.

The secret scans stay, but a file already found clean (`ScanMemo`: its path and content hash, under the
same scanner code and the same secret environment values) is not searched again. Theme files copied
byte-for-byte from the installed theme package are not the workspace's text and are not searched either.
Only clean results are remembered, so a file holding a secret is searched, and refused, every time.

The stamp files are data about the build, never instructions: one that is missing, unreadable, a symlink
or malformed only means the full work is done.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from ..files import write_atomically
from . import secrets
from .cache import key_of, only_real_files

STAMP_FILE = "site-stamp.json"
SCAN_FILE = "clean-scans.json"
_OWN_CODE = ("build.py", "sanitise.py", "incremental.py")  # what runs on the engine's output before publishing
_SCANNER_CODE = ("secrets.py", "secret_shapes.py")


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree_hashes(root: Path) -> dict[str, str] | None:
    """Relative path → content hash of every file under `root`; None when anything is not a regular file
    or a real folder (a symlink, a FIFO), so such a tree is never taken as unchanged."""
    if not only_real_files(root):
        return None
    found: dict[str, str] = {}
    for parent, _, files in os.walk(root):
        for name in files:
            path = Path(parent) / name
            found[path.relative_to(root).as_posix()] = file_hash(path.read_bytes())
    return found


_ENGINE_PACKAGES = ("mkdocs", "mkdocs-material", "pymdown-extensions", "Markdown", "Pygments", "Jinja2", "nh3")


@cache
def _installed_packages() -> tuple[tuple[str, str], ...]:
    """Versions of the engine, its Markdown extensions, and every installed mkdocs plugin or theme."""
    from importlib import metadata

    versions = set()
    for name in _ENGINE_PACKAGES:
        try:
            versions.add((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            versions.add((name, ""))
    for group in ("mkdocs.plugins", "mkdocs.themes"):
        for entry in _entry_points().select(group=group):
            dist = entry.dist
            versions.add((f"{group}:{entry.name}", dist.version if dist is not None else entry.value))
    return tuple(sorted(versions))


@cache
def _entry_points():  # one scan of the installed distributions' metadata per process
    from importlib import metadata

    return metadata.entry_points()


def theme_package_dirs(theme_name: str, workspace_root: Path) -> list[Path]:
    """The installed folder of the theme named `theme_name` (none when it lives inside the workspace)."""
    folders = []
    for entry in _entry_points().select(group="mkdocs.themes"):
        if entry.name == theme_name:
            try:
                module = __import__(entry.value, fromlist=["__file__"])
            except ImportError:
                continue
            folder = Path(module.__file__ or "").resolve().parent
            if folder.is_dir() and workspace_root.resolve() not in folder.parents:
                folders.append(folder)
    return folders


@cache
def _code_hash(names: tuple[str, ...]) -> str:
    here = Path(__file__).resolve().parent
    return file_hash(b"".join((here / name).read_bytes() for name in names))


def engine_inputs_key(source_dir: Path, hooks: Iterable[str], strict: bool) -> str | None:
    """A hash of everything the engine's output depends on; None when the sources cannot be trusted as files."""
    sources = tree_hashes(source_dir)
    if sources is None:
        return None
    hook_hashes = []
    for hook in hooks:
        try:
            hook_hashes.append((hook, file_hash(Path(hook).read_bytes())))
        except OSError:
            hook_hashes.append((hook, "missing"))
    return key_of("engine", sources, hook_hashes, strict, _installed_packages(), _code_hash(_OWN_CODE))


def _read_json(path: Path) -> dict | None:
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(descriptor, "rb") as handle:
            value = json.loads(handle.read(64 * 1024 * 1024))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_json(path: Path, value: dict) -> None:
    """Write through a temporary file and a rename, so a planted link at `path` is replaced, never followed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(value))


def site_is_current(cache_dir: Path, inputs_key: str | None, site_dir: Path) -> bool:
    """Whether `site/` is what the engine would build from inputs with this key, file for file."""
    if inputs_key is None:
        return False
    stamp = _read_json(cache_dir / STAMP_FILE)
    if stamp is None or stamp.get("inputs") != inputs_key or not isinstance(stamp.get("site"), dict):
        return False
    return tree_hashes(site_dir) == stamp["site"]


def record_site(cache_dir: Path, inputs_key: str | None, site_dir: Path) -> None:
    """Remember which inputs built the `site/` just published, and what it holds."""
    built = tree_hashes(site_dir)
    if inputs_key is None or built is None:
        forget_site(cache_dir)
        return
    _write_json(cache_dir / STAMP_FILE, {"inputs": inputs_key, "site": built})


def forget_site(cache_dir: Path) -> None:
    stamp = cache_dir / STAMP_FILE
    if stamp.is_symlink() or stamp.exists():
        stamp.unlink()


class ScanMemo:
    """The secret scan, skipping files already found clean by the same scanner with the same secrets."""

    def __init__(self, cache_dir: Path, environ: dict[str, str] | None = None):
        self.path = cache_dir / SCAN_FILE
        self.environ = environ
        values = sorted(secrets.secret_env_values(environ).items())
        # The secret values enter only through a hash, mixed with the scanner's code: never written out.
        self.fingerprint = key_of("scan", _code_hash(_SCANNER_CODE), [(name, value) for name, value in values])
        stored = _read_json(self.path) or {}
        known = stored.get("clean") if stored.get("fingerprint") == self.fingerprint else None
        self.known: set[str] = set(known) if isinstance(known, list) else set()
        self.clean: set[str] = set()  # what this build found (or confirmed) clean
        self.package_dirs: list[Path] = []

    def scan_tree(self, root: Path) -> list[secrets.SecretHit]:
        """Like `secrets.scan_tree`: every file under `root`, its name and its content."""
        if not root.exists():
            return []
        unknown = []
        for path in sorted(path for path in root.rglob("*") if path.is_file()):
            relative = path.relative_to(root).as_posix()
            try:
                data = path.read_bytes() if not path.is_symlink() else None
            except OSError:
                data = None
            entry = f"{relative}\0{file_hash(data)}" if data is not None else ""
            if entry and (entry in self.known or self._is_package_file(relative, data)):
                self.clean.add(entry)
                continue
            unknown.append((path, entry))
        hits = secrets.scan_files([path for path, _ in unknown], self.environ, root)
        dirty = {hit.path for hit in hits}
        self.clean.update(entry for path, entry in unknown if entry and path not in dirty)
        return hits

    def use_theme_package(self, folders: Iterable[Path]) -> None:
        """Folders of the installed theme (outside the workspace); its files are published at the same paths."""
        self.package_dirs = list(folders)

    def _is_package_file(self, relative: str, data: bytes | None) -> bool:
        if data is None:
            return False
        for folder in self.package_dirs:  # looked up by path: the theme has thousands of icons
            package = folder / relative
            try:
                if not package.is_symlink() and package.is_file() and package.stat().st_size == len(data):
                    return package.read_bytes() == data
            except OSError:
                continue
        return False

    def save(self) -> None:
        _write_json(self.path, {"fingerprint": self.fingerprint, "clean": sorted(self.clean)})
