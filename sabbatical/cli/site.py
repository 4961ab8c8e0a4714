"""`sabbatical site …`: build, serve and check the published site."""

from __future__ import annotations

import typer

from . import app
from .context import not_built_yet

site = typer.Typer(help="Publish sprints, findings, failures and reading as a static site.", no_args_is_help=True)
app.add_typer(site, name="site")


@site.command("build")
def build() -> None:
    """Build the site into site/."""
    not_built_yet("site build", 7)


@site.command("serve")
def serve() -> None:
    """Serve the site on 127.0.0.1, rebuilding on change."""
    not_built_yet("site serve", 7)


@site.command("check")
def check() -> None:
    """Check internal links and scan for secrets."""
    not_built_yet("site check", 7)
