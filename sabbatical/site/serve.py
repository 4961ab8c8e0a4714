"""`site serve`: the built site on 127.0.0.1, rebuilt when the workspace changes.

Watching is plain polling of modification times (sprints, notebooks, journals, artifacts, the pile, the
MLflow store, mkdocs.yml, sabbatical.toml), which needs no extra package and works on every filesystem.
The server is Python's `http.server`, bound to loopback only, serving `site/`. A failed rebuild leaves
the last good site being served and is reported through the callback.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable
from typing import Any

from ..errors import PartialFailure, SabbaticalError

HOST = "127.0.0.1"
_IGNORED_PARTS = {".ipynb_checkpoints", "__pycache__", ".git"}


def workspace_fingerprint(workspace: Any) -> tuple:
    """Changes whenever something the site shows may have changed."""
    stamps = []
    for path in _watched_files(workspace):
        try:
            stat = path.stat()
        except OSError:
            continue
        stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(stamps))


def _watched_files(workspace: Any):
    root = workspace.root
    pile, mlflow_db = workspace.pile_path, workspace.mlflow_db_path
    yield from (
        workspace.mkdocs_path,
        workspace.config_path,
        pile,
        pile.with_name(pile.name + "-wal"),
        mlflow_db,
        mlflow_db.with_name(mlflow_db.name + "-wal"),
    )
    for folder in (workspace.sprints_dir, root / "docs"):
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file() and not _IGNORED_PARTS.intersection(path.parts) and not path.name.startswith("."):
                    yield path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class SiteServer:
    """Serve `workspace.site_dir` on 127.0.0.1 and rebuild it when the workspace changes."""

    def __init__(self, workspace: Any, port: int = 8000, *, interval: float = 1.0):
        self.workspace = workspace
        self.interval = interval
        handler = functools.partial(_QuietHandler, directory=str(workspace.site_dir))
        try:
            self._httpd = http.server.ThreadingHTTPServer((HOST, port), handler)
        except OSError as exc:
            raise SabbaticalError(
                f"cannot serve on {HOST}:{port} ({exc.strerror}) — pass --port with another "
                "number, or --port 0 for any free port"
            ) from None
        self._thread: threading.Thread | None = None
        self._built_from: tuple | None = None  # the workspace as the served site last saw it
        self.stopped = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._httpd.server_address[1]}/"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self.stopped.set()
        if self._thread is not None:  # shutdown() waits for serve_forever, so only once it runs
            self._httpd.shutdown()
        self._httpd.server_close()

    def rebuild(self, strict: bool = True) -> str:
        """Build once; returns a line saying how it went (a failure keeps the last good site)."""
        from .build import build_site

        # Taken before building: a change made while the build runs is still a change the next poll sees.
        self._built_from = workspace_fingerprint(self.workspace)
        try:
            report = build_site(self.workspace, strict=strict)
        except PartialFailure as exc:
            return f"rebuilt, with problems: {'; '.join(exc.failures)}"
        except SabbaticalError as exc:
            return f"rebuild failed, still serving the last good site: {exc}"
        return f"rebuilt {report.pages} pages in {report.seconds:.1f} s"

    def watch(self, on_event: Callable[[str], None], *, strict: bool = True) -> None:
        """Poll for changes until `stop()`; each rebuild's outcome goes to `on_event`.

        Changes are measured against the last build, not against when watching began, so an edit made
        between the first build and the first poll is not missed.
        """
        if self._built_from is None:
            self._built_from = workspace_fingerprint(self.workspace)
        while not self.stopped.wait(self.interval):
            if workspace_fingerprint(self.workspace) != self._built_from:
                on_event(self.rebuild(strict))
