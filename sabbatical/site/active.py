"""Files that could run script in the site's origin: which they are, and how each is made safe to publish.

A file published under the site's address runs with the site's rights when a reader opens it. Two rules:

- **SVG is cleaned** (`clean_svg`): the drawing is parsed (no entity declarations, no external
  references) and rebuilt from an allowlist of SVG drawing elements and presentation attributes. Gone are
  `<script>`, `<foreignObject>` (which embeds HTML), animation elements (which can set attributes),
  every `on*` handler, every link or reference that is not to a fragment of the same drawing (`#id`), and
  styles that could fetch something (`url(` to anything but `#id`, `@import`). An SVG that does not parse
  is not published. Notebook SVG figures pass through the same cleaner.
- **Other active types are published as text** (`ACTIVE_SUFFIXES`, `published_name`): `report.html`
  becomes `report.html.txt`, served as `text/plain`, linked with `download="report.html"`. There is never a
  same-origin page holding the original markup, so neither a click nor a typed URL can run it.
"""

from __future__ import annotations

import re

# HTML in every spelling, script, XML (which an XHTML namespace or a stylesheet makes scriptable), XSLT,
# feeds (rendered as XML), MathML, compressed SVG (not cleanable without inflating), Flash, HTML
# applications and components, web archives.
ACTIVE_SUFFIXES = frozenset(
    {
        ".html",
        ".htm",
        ".xhtml",
        ".xht",
        ".shtml",
        ".mht",
        ".mhtml",
        ".js",
        ".mjs",
        ".cjs",
        ".xml",
        ".xsl",
        ".xslt",
        ".rss",
        ".atom",
        ".rdf",
        ".mml",
        ".svgz",
        ".swf",
        ".hta",
        ".htc",
        ".xbl",
        ".xul",
        ".jsp",
        ".php",
        ".asp",
        ".aspx",
    }
)
TEXT_COPY_SUFFIX = ".txt"
SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"

_ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "defs",
        "symbol",
        "use",
        "title",
        "desc",
        "metadata",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "textPath",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "pattern",
        "marker",
        "style",
        "filter",
        "feGaussianBlur",
        "feOffset",
        "feBlend",
        "feColorMatrix",
        "feComposite",
        "feFlood",
        "feMerge",
        "feMergeNode",
        "feMorphology",
        "switch",
    }
)
_ATTRIBUTES = frozenset(
    {
        "id",
        "class",
        "style",
        "transform",
        "viewBox",
        "preserveAspectRatio",
        "width",
        "height",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "d",
        "points",
        "pathLength",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-miterlimit",
        "opacity",
        "color",
        "clip-path",
        "clip-rule",
        "mask",
        "filter",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "alignment-baseline",
        "baseline-shift",
        "letter-spacing",
        "word-spacing",
        "writing-mode",
        "dx",
        "dy",
        "rotate",
        "textLength",
        "lengthAdjust",
        "offset",
        "stop-color",
        "stop-opacity",
        "gradientUnits",
        "gradientTransform",
        "spreadMethod",
        "fx",
        "fy",
        "patternUnits",
        "patternContentUnits",
        "patternTransform",
        "clipPathUnits",
        "maskUnits",
        "maskContentUnits",
        "markerWidth",
        "markerHeight",
        "markerUnits",
        "refX",
        "refY",
        "orient",
        "marker-start",
        "marker-mid",
        "marker-end",
        "visibility",
        "display",
        "overflow",
        "stdDeviation",
        "in",
        "in2",
        "result",
        "mode",
        "operator",
        "values",
        "type",
        "k1",
        "k2",
        "k3",
        "k4",
        "flood-color",
        "flood-opacity",
        "radius",
        "filterUnits",
        "primitiveUnits",
        "version",
        "href",
        "vector-effect",
        "shape-rendering",
        "text-rendering",
        "image-rendering",
        "paint-order",
    }
)
# A url() to anything but "#id" fetches; so do image-set(), @import and friends; a backslash could spell
# any of them as a CSS escape. A value holding one is dropped whole.
_REFERENCE = re.compile(r"url\s*\(\s*['\"]?\s*(?!['\"#\s])", re.IGNORECASE)
_IMPORT = re.compile(
    r"[@\\]|image-set|image\s*\(|src\s*\(|cross-fade|element\s*\(|expression|javascript|"
    r"binding|behavior",
    re.IGNORECASE,
)


class UnsafeSvg(ValueError):
    """An SVG that cannot be parsed safely (malformed, entity declarations, not an SVG)."""


def is_active(name: str) -> bool:
    """Whether a file of this name is published only as a text copy."""
    lowered = name.lower()
    return any(lowered.endswith(suffix) for suffix in ACTIVE_SUFFIXES)


def is_svg(name: str) -> bool:
    return name.lower().endswith(".svg")


def published_name(name: str) -> str:
    """The name a file is published under: an active file gains `.txt`, everything else keeps its name."""
    return name + TEXT_COPY_SUFFIX if is_active(name) else name


def clean_svg(data: bytes) -> bytes:
    """The drawing in `data` rebuilt from allowed elements and attributes only; raises UnsafeSvg."""
    import xml.etree.ElementTree as ElementTree

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise UnsafeSvg(f"is not an SVG that can be cleaned ({type(exc).__name__})") from None
    if _local(root.tag) != "svg" or _namespace(root.tag) not in ("", SVG):
        raise UnsafeSvg("is not an SVG drawing (its root element is not <svg>)")
    cleaned = _rebuild(root)
    cleaned.set("xmlns", SVG)  # written by hand: ElementTree cannot pair a default namespace with plain attributes
    markup = ElementTree.tostring(cleaned, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + markup).encode("utf-8")


def _rebuild(element):
    import xml.etree.ElementTree as ElementTree

    copy = ElementTree.Element(_local(element.tag))
    for name, value in element.attrib.items():
        kept = _attribute(_local(name), _namespace(name), value)
        if kept is not None:
            copy.set(kept[0], kept[1])
    copy.text = _style_text(element.text) if _local(element.tag) == "style" else element.text
    _rebuild_children(element, copy)
    return copy


def _rebuild_children(element, copy) -> None:
    for child in element:
        if not isinstance(child.tag, str) or _namespace(child.tag) not in ("", SVG):
            continue
        if _local(child.tag) == "a":  # a link's drawing is kept, the link is not
            _rebuild_children(child, copy)
        elif _local(child.tag) in _ELEMENTS:
            rebuilt = _rebuild(child)
            rebuilt.tail = child.tail
            copy.append(rebuilt)


def _attribute(local: str, namespace: str, value: str) -> tuple[str, str] | None:
    if namespace not in ("", XLINK) or local not in _ATTRIBUTES or local.lower().startswith("on"):
        return None
    if local == "href":  # plain and xlink:href alike: only a fragment of this drawing
        return ("href", value) if value.strip().startswith("#") else None
    if local == "style":
        style = _style_text(value)
        return (local, style) if style is not None else None
    if _REFERENCE.search(value) or _IMPORT.search(value):
        return None
    return local, value


def _style_text(value: str | None) -> str | None:
    """CSS that cannot fetch or run anything; a style that could is dropped whole."""
    if value is None or not (_REFERENCE.search(value) or _IMPORT.search(value)):
        return value
    return ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
