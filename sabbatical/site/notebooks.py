"""Rendering notebooks to page fragments with nbconvert, their figures as files.

Each notebook becomes cleaned HTML (nbconvert's `basic` template: cells, prompts, highlighted code,
outputs) plus the images its outputs hold (PNG, JPEG, SVG), written next to the page that shows them.
The notebook is rendered from what is saved in it; nothing is executed here. Before rendering, outputs
that would run code in a reader's browser (JavaScript, widget views) are removed, and after rendering
the HTML goes through the same allowlist as every other untrusted fragment (`sanitise.clean_html`).
SVG figures become files a reader can open on their own, so each is cleaned like an SVG artifact
(`active.clean_svg`); one that cannot be cleaned is not published. The notebook is read once, as a
regular file inside its sprint folder (`paths.read_published`).

A notebook can keep itself off the site with `"sabbatical": {"private": true}` in its metadata.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import active, sanitise
from .cache import BuildCache, key_of
from .paths import read_published

_DROPPED_MIME = (
    "application/javascript",
    "text/javascript",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
)


class NotebookProblem(Exception):
    """A notebook that cannot be read or rendered; its message is one line for the user."""


@dataclass
class RenderedNotebook:
    html: str
    images: dict[str, bytes] = field(default_factory=dict)
    title: str = ""
    private: bool = False


def _import_jsonschema_lightly() -> None:
    """Import jsonschema (nbformat's validator) without its optional IRI format checker.

    jsonschema imports `rfc3987_syntax` when it is installed (JupyterLab's dependencies bring it), which
    builds a grammar at import: ~1.8 s of CPU, more than the rest of nbformat. Notebook validation never
    checks IRI formats, so the checker is left out, and only for jsonschema's own first import: the module
    stays importable for anything that asks for it afterwards.
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # makes its import an ImportError
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        pass
    finally:
        del sys.modules["rfc3987_syntax"]


class NotebookRenderer:
    """One nbconvert exporter, reused for every notebook of a build (building it costs ~0.3 s)."""

    def __init__(self) -> None:
        _import_jsonschema_lightly()
        from nbconvert import HTMLExporter

        # Heading anchors would point at ids that cleaning renames; the page has its own table of contents.
        exporter = HTMLExporter(template_name="basic", exclude_anchor_links=True)
        exporter.register_preprocessor("nbconvert.preprocessors.ExtractOutputPreprocessor", enabled=True)
        self._exporter = exporter

    def render(self, path: Path, image_prefix: str, data: bytes | None = None) -> RenderedNotebook:
        """Render `path` (or its bytes, `data`); images are named `<image_prefix>/…` in the HTML and in `images`."""
        notebook = read_notebook(path, data)
        private = bool((notebook.metadata.get("sabbatical") or {}).get("private", False))
        if private:
            return RenderedNotebook(html="", private=True)
        _drop_active_outputs(notebook)
        try:
            body, resources = self._exporter.from_notebook_node(
                notebook, resources={"unique_key": path.stem, "output_files_dir": image_prefix}
            )
        except Exception as exc:  # nbconvert raises many types for a malformed cell
            raise NotebookProblem(f"could not be rendered ({type(exc).__name__}: {_first_line(exc)})") from None
        cleaned = sanitise.clean_html(body, id_prefix="nb-", attribute_filter=_site_relative(image_prefix))
        title = _title_of(notebook)
        html = _describe_figures(_below_the_page_title(cleaned, title), path.stem)
        return RenderedNotebook(html=html, images=_inert_images(resources.get("outputs") or {}), title=title)


def _inert_images(images: dict[str, bytes]) -> dict[str, bytes]:
    """The figures, SVG ones cleaned of anything that could run or fetch; an SVG that cannot be is left out."""
    kept = {}
    for name, data in images.items():
        if active.is_svg(name):
            try:
                data = active.clean_svg(data)
            except active.UnsafeSvg:
                continue
        elif active.is_active(name):
            continue
        kept[name] = data
    return kept


def _site_relative(image_prefix: str):
    """Keep notebook URLs working on the site, and keep notebooks from pulling in arbitrary local files.

    Images may only be the notebook's own extracted figures or web images. Relative links were written
    from the notebooks/ folder; the rendered page sits one folder deeper, so they gain one `../`.
    """

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        if attribute not in ("src", "href"):
            return value
        if value.startswith("#"):
            return "#nb-" + value[1:]  # heading ids are prefixed when the HTML is cleaned
        if urlsplit(value).scheme or value.lstrip().startswith("//"):
            return value  # leaves the site: sanitise.site_url_policy decides (links kept, images dropped)
        if attribute == "src":
            return value if value.startswith(image_prefix + "/") else None
        return "../" + value

    return rewrite


class CachedRenderer:
    """Renders through the build cache: an unchanged notebook is neither rendered nor is nbconvert imported."""

    def __init__(self, cache: BuildCache):
        self.cache = cache
        self._renderer: NotebookRenderer | None = None

    def render(self, path: Path, image_prefix: str) -> RenderedNotebook:
        try:  # notebooks live in <sprint>/notebooks/: only a regular file inside that sprint is read
            data = read_published(path, path.parent.parent)
        except OSError as exc:
            raise NotebookProblem(f"cannot be read ({exc.strerror or exc})") from None
        key = key_of("notebook", data, image_prefix)
        hit = self.cache.load("notebooks", key)
        if hit is not None:
            folder, meta = hit
            images = {name: (folder / "images" / name).read_bytes() for name in meta["images"]}
            return RenderedNotebook(html=meta["html"], images=images, title=meta["title"], private=meta["private"])
        if self._renderer is None:
            self._renderer = NotebookRenderer()
        rendered = self._renderer.render(path, image_prefix, data)
        meta = {
            "html": rendered.html,
            "title": rendered.title,
            "private": rendered.private,
            "images": sorted(rendered.images),
        }
        self.cache.store("notebooks", key, meta, {f"images/{name}": data for name, data in rendered.images.items()})
        return rendered


def read_notebook(path: Path, data: bytes | None = None) -> Any:
    _import_jsonschema_lightly()
    import nbformat

    try:
        if data is None:
            notebook = nbformat.read(str(path), as_version=4)
        else:
            notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:  # invalid JSON, wrong schema, unreadable file
        raise NotebookProblem(f"is not a readable notebook ({type(exc).__name__}: {_first_line(exc)})") from None
    return notebook


def _drop_active_outputs(notebook: Any) -> None:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data:
                for mime in _DROPPED_MIME:
                    data.pop(mime, None)


def _title_of(notebook: Any) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def _below_the_page_title(html: str, title: str) -> str:
    """Headings one level down, so the page's own title is its only heading 1; a first heading that
    repeats that title is dropped."""
    demoted = re.sub(r"<(/?)h([1-5])\b", lambda m: f"<{m[1]}h{int(m[2]) + 1}", html)
    if title:
        repeated = re.compile(r"<h2[^>]*>\s*" + re.escape(sanitise.html_text(title)) + r"\s*</h2>")
        demoted = repeated.sub("", demoted, count=1)
    return demoted


def _describe_figures(html: str, notebook_name: str) -> str:
    # nbconvert gives every figure the same placeholder alt text; say where each one comes from instead.
    placeholder = 'alt="No description has been provided for this image"'
    count = html.count(placeholder)
    for number in range(1, count + 1):
        alt = sanitise.attribute(f"Figure {number} of {count} in notebook {notebook_name}")
        html = html.replace(placeholder, f'alt="{alt}"', 1)
    return html


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""
