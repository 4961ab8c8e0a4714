"""The tour's last stage: build the site from everything the earlier stages made, and say where it is."""

from __future__ import annotations

from typing import Any

from ..errors import PartialFailure


def tour_stage(workspace: Any) -> str:
    from .build import build_site

    try:
        report = build_site(workspace)
    except PartialFailure as exc:
        index = workspace.site_dir / "index.html"
        return f"built the site with {len(exc.failures)} problem(s) ({'; '.join(exc.failures)}); open {index}"
    size_mb = report.size_bytes / 1024 / 1024
    return (f"built {report.pages} pages for {report.sprints} sprint(s) into site/ ({size_mb:.1f} MB, "
            f"{report.seconds:.1f} s); open {report.index}")
