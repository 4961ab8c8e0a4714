"""Workspaces: finding one, creating one, and every path inside one.

A workspace is a folder holding `sabbatical.toml`. This module is the only place that knows where
things live (the pile, the sprints, the MLflow store, the site, the caches under `.sabbatical/`): one
property per path, which every other module calls, so moving a file is a one-line change here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import config as config_mod
from .errors import WorkspaceExists, WorkspaceNotFound

CONFIG_NAME = "sabbatical.toml"
ENV_WORKSPACE = "SABBATICAL_WORKSPACE"

# Anchored to the workspace root, so a nested folder that happens to be called `site` is not ignored.
GITIGNORE_ENTRIES = [
    "/reading/pile.db",
    "/reading/pile.db-*",
    "/mlflow.db",
    "/mlflow.db-*",
    "/mlartifacts/",
    "/site/",
    "/.sabbatical/",
]

MKDOCS_TEMPLATE = """\
# Site settings for `sabbatical site build`. Theme, palette and extras are yours to change;
# the pages and the navigation are generated from your sprints and your pile. The site's name,
# author and URL come from sabbatical.toml (`title`, `author`, `[site] url`).
theme:
  name: material
  features:
    - navigation.sections
    - navigation.top
    - search.highlight
  palette:
    - scheme: default
      primary: indigo
      toggle:
        icon: material/brightness-7
        name: Switch to dark mode
    - scheme: slate
      primary: indigo
      toggle:
        icon: material/brightness-4
        name: Switch to light mode
markdown_extensions:
  - admonition
  - attr_list
  - tables
  - toc:
      permalink: true
  - pymdownx.tasklist:
      custom_checkbox: true
# A "Was this page helpful?" widget needs an analytics provider that receives the answers; without one
# it is left out. Feedback and comments are set in sabbatical.toml: [site] feedback_url and giscus_*.
"""


@dataclass(frozen=True)
class Location:
    """One resolved location and the reason it is where it is (for `sabbatical paths`)."""

    name: str
    value: str
    origin: str


class Workspace:
    """An open workspace: its root, its validated config, and every path inside it."""

    def __init__(self, root: Path, origin: str = "given"):
        self.root = Path(root).resolve()
        self.origin = origin

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    @cached_property
    def config(self) -> config_mod.Config:
        return config_mod.load_config(self.config_path)

    # -- paths -------------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def mkdocs_path(self) -> Path:
        return self.root / "mkdocs.yml"

    @property
    def reading_dir(self) -> Path:
        return self.root / "reading"

    @property
    def pile_path(self) -> Path:
        return self.reading_dir / "pile.db"

    @property
    def digest_path(self) -> Path:
        """Where `pile digest` writes unless told otherwise."""
        return self.reading_dir / "digest.md"

    @property
    def samples_dir(self) -> Path:
        """Where the tour copies the bundled sample feeds before reading them."""
        return self.reading_dir / "samples"

    @property
    def sprints_dir(self) -> Path:
        return self.root / "sprints"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def site_index_path(self) -> Path:
        return self.site_dir / "index.html"

    @property
    def cache_dir(self) -> Path:
        return self.root / ".sabbatical"

    @property
    def site_source_dir(self) -> Path:
        """Where `site build` writes the generated Markdown before the engine runs."""
        return self.cache_dir / "site-src"

    @property
    def site_staging_dir(self) -> Path:
        """Where the site engine builds, to be scanned before it replaces `site/`."""
        return self.cache_dir / "site-build"

    @property
    def site_cache_dir(self) -> Path:
        """Rendered notebooks and charts from the last build, reused when their inputs did not change."""
        return self.cache_dir / "site-cache"

    @property
    def alt_text_cache_path(self) -> Path:
        """Alt text the LLM wrote for published images, by image hash and model."""
        return self.cache_dir / "alt-text.json"

    @property
    def mlflow_db_path(self) -> Path:
        return self.root / "mlflow.db"

    @property
    def mlartifacts_dir(self) -> Path:
        """The local store's run artifacts (unless `[tracking] artifact_root` says otherwise)."""
        return self.root / "mlartifacts"

    @property
    def tracking_uri(self) -> str:
        """Always absolute, so a notebook in any working directory logs to the same store."""
        return self.config.tracking.uri or f"sqlite:///{self.mlflow_db_path}"

    @property
    def artifact_root(self) -> str:
        configured = self.config.tracking.artifact_root
        if configured:
            return configured
        return self.mlartifacts_dir.as_uri()

    def _artifact_root_origin(self) -> str:
        tracking = self.config.tracking
        if tracking.artifact_root:
            return "[tracking] artifact_root in sabbatical.toml"
        if tracking.uri and not tracking.uri.startswith("sqlite:"):
            return "default; with a tracking server, the server's artifact store is used instead"
        return "default: the workspace's mlartifacts/"

    def locations(self) -> list[Location]:
        """Every resolved location and where it came from."""
        cfg = self.config
        derived = "derived from the workspace root"
        return [
            Location("workspace", str(self.root), self.origin),
            Location("config", str(self.config_path), derived),
            Location("mkdocs", str(self.mkdocs_path), derived),
            Location("pile", str(self.pile_path), derived),
            Location("sprints", str(self.sprints_dir), derived),
            Location("site", str(self.site_dir), derived),
            Location("cache", str(self.cache_dir), derived),
            Location("site_staging", str(self.site_staging_dir), derived),
            Location("site_cache", str(self.site_cache_dir), derived),
            Location("alt_text_cache", str(self.alt_text_cache_path), derived),
            Location(
                "tracking_uri",
                self.tracking_uri,
                "[tracking] uri in sabbatical.toml" if cfg.tracking.uri else "default: the workspace's mlflow.db",
            ),
            Location("artifact_root", self.artifact_root, self._artifact_root_origin()),
        ]


def find_workspace(explicit: Path | str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Workspace:
    """Find the workspace: `explicit` (--workspace), then $SABBATICAL_WORKSPACE, then walk up from cwd
    to a folder with sabbatical.toml, then the default workspace in the user config dir, if it exists."""
    if explicit:
        return _open_at(Path(explicit), "--workspace")
    if os.environ.get(ENV_WORKSPACE):
        return _open_at(Path(os.environ[ENV_WORKSPACE]), f"${ENV_WORKSPACE}")
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return Workspace(folder, f"found by walking up from {start}")
    default = default_workspace_dir()
    if (default / CONFIG_NAME).is_file():
        return Workspace(default, "the default workspace in the user config dir")
    raise WorkspaceNotFound(start, default)


def default_workspace_dir(environ: dict[str, str] | None = None) -> Path:
    """Where the default workspace lives: $XDG_CONFIG_HOME/sabbatical (~/.config/sabbatical), or
    %APPDATA%\\sabbatical on Windows. Commands use it from any folder that is in no other workspace."""
    env = os.environ if environ is None else environ
    if os.name == "nt" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / "sabbatical"
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base).expanduser() / "sabbatical"


def _open_at(path: Path, origin: str) -> Workspace:
    root = path.expanduser().resolve()
    if not (root / CONFIG_NAME).is_file():
        raise WorkspaceNotFound(root)
    return Workspace(root, origin)


def init_workspace(directory: Path, *, force: bool = False, title: str | None = None) -> tuple[Workspace, list[str]]:
    """Create a workspace in `directory`; return it and the paths created.

    On an existing workspace this refuses unless `force`, and with `force` it only adds what is
    missing: it never overwrites or deletes a file. `.gitignore` gains only the entries it lacks.
    """
    workspace = Workspace(Path(directory).expanduser(), "created by sabbatical init")
    root = workspace.root
    if workspace.config_path.exists() and not force:
        raise WorkspaceExists(root)
    created: list[str] = []
    root.mkdir(parents=True, exist_ok=True)
    title = title or "My sabbatical"
    files = {
        workspace.config_path: config_mod.render_template(title),
        workspace.mkdocs_path: MKDOCS_TEMPLATE,
    }
    for path, text in files.items():
        if _write_new(path, text):
            created.append(path.relative_to(root).as_posix())
    for folder in (workspace.reading_dir, workspace.sprints_dir):
        if not folder.exists():
            folder.mkdir()
            created.append(folder.relative_to(root).as_posix() + "/")
    if _extend_gitignore(root / ".gitignore"):
        created.append(".gitignore")
    _ = workspace.config  # validate now: a --force over a broken config must say so
    return workspace, created


def _write_new(path: Path, text: str) -> bool:
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        return False
    return True


def _extend_gitignore(path: Path) -> bool:
    existing = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    missing = [entry for entry in GITIGNORE_ENTRIES if entry not in existing]
    if not missing:
        return False
    prefix = "" if not existing or existing[-1] == "" else "\n"
    header = "# sabbatical: generated and local-only files\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(prefix + header + "\n".join(missing) + "\n")
    return True
