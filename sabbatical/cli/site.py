"""`sabbatical site …`: build, serve, check and deploy the published site."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .context import current_workspace, progress

site = typer.Typer(help="Publish sprints, findings, failures and reading as a static site.", no_args_is_help=True)


@site.command("build")
def build(
    strict: Annotated[
        bool, typer.Option("--strict/--no-strict", help="Fail on any warning of the site engine (a broken link, say).")
    ] = True,
) -> None:
    """Build the site into site/ (private sprints, entries and items are left out; secrets stop the build)."""
    from ..site.build import build_site

    with progress("Building the site") as report:
        result = build_site(current_workspace(), strict=strict, on_progress=report)
    typer.echo(
        f"Built {result.pages} pages ({result.sprints} sprints) into {result.site_dir}: "
        f"{result.files} files, {result.size_bytes / 1024 / 1024:.1f} MB, in {result.seconds:.1f} s"
    )
    typer.echo("Look at it with `sabbatical site serve` (links between pages need a web server, not file://)")


@site.command("serve")
def serve(
    port: Annotated[int, typer.Option("--port", "-p", help="Port on 127.0.0.1 (0 picks a free one).")] = 8000,
    strict: Annotated[bool, typer.Option("--strict/--no-strict", help="Fail rebuilds on engine warnings.")] = True,
) -> None:
    """Serve the site on 127.0.0.1, rebuilding it when the workspace changes (Ctrl-C stops)."""
    from ..site.serve import SiteServer

    server = SiteServer(current_workspace(), port)
    outcome = server.rebuild(strict)
    typer.echo(outcome[:1].upper() + outcome[1:])
    typer.echo(f"Serving {server.workspace.site_dir} at {server.start()} (rebuilds on change; Ctrl-C stops)")
    try:
        server.watch(lambda line: typer.echo(line), strict=strict)
    finally:
        server.stop()


@site.command("check")
def check() -> None:
    """Check the built site's internal links and scan it for secrets."""
    from ..errors import SiteCheckFailed
    from ..site.check import check_site, feedback_warnings

    workspace = current_workspace()
    report = check_site(workspace.site_dir)
    for warning in feedback_warnings(workspace):
        typer.echo(f"Warning: {warning}", err=True)
    for line in report.broken + [f"{line} (a secret: rebuild to remove it)" for line in report.secrets]:
        typer.echo(f"  - {line}", err=True)
    if not report.ok:
        raise SiteCheckFailed(
            f"site check: {len(report.broken)} broken links, {len(report.secrets)} files with "
            "secrets — fix the sources and run `sabbatical site build`",
            report.broken,
        )
    typer.echo(
        f"Checked {report.pages} pages and {report.links} links in {report.site_dir}: no broken links, no secrets"
    )


@site.command("deploy")
def deploy(
    to: Annotated[
        Path | None,
        typer.Option("--to", help="Copy the built site into this folder instead of a branch.", show_default=False),
    ] = None,
    remote: Annotated[str, typer.Option("--remote", help="Git remote to push the branch to.")] = "origin",
    branch: Annotated[str, typer.Option("--branch", help="Branch that holds the published site.")] = "gh-pages",
    push: Annotated[bool, typer.Option("--push/--no-push", help="Push the branch after committing it.")] = True,
) -> None:
    """Publish the built site: commit it as the gh-pages branch and push it, or copy it to a folder (--to)."""
    from ..site.deploy import deploy_branch, deploy_folder

    workspace = current_workspace()
    if to is not None:
        report = deploy_folder(workspace, to)
    else:
        report = deploy_branch(workspace, remote=remote, branch=branch, push=push)
    typer.echo(f"Deployed {report.files} files to {report.target}")
