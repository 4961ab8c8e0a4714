"""The effective site-engine configuration: the workspace's mkdocs.yml plus what the generator adds.

The researcher owns `mkdocs.yml` (site name, theme, palette, extra settings, Markdown extensions, their
own extra pages). The build writes `.sabbatical/site-src/mkdocs.yml`, which keeps all of that and adds:

- the site's identity from `sabbatical.toml`: `site_name` is its `title`, `site_author` its `author` and
  `site_url` its `[site] url` (mkdocs.yml's own values are used only where sabbatical.toml says nothing);
- `docs_dir` pointed at the generated pages and `site_dir` at the workspace's `site/`;
- the generated `nav`, followed by the researcher's own `nav` entries (their pages are copied in);
- the Markdown extensions the pages rely on (admonition, attr_list, tables, toc, task lists) when missing;
- `theme.font: false` unless you chose a font, so pages load no web fonts from a third party;
- our stylesheet and the table-sorting script (both local files);
- giscus comments (GitHub Discussions) on every page, when `[site]` names the repository and category.

The "Was this page helpful?" widget of `extra.analytics.feedback` is kept only when an analytics provider
of yours receives its answers: a widget that thanks the reader and sends nothing is left out.

YAML tags such as `!ENV` or `!!python/name:` are kept as written, so configs that use them still work.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

REQUIRED_EXTENSIONS: tuple[Any, ...] = (
    "admonition",
    "attr_list",
    "tables",
    "toc",
    {"pymdownx.tasklist": {"custom_checkbox": True}},
)
STYLESHEET = "assets/sabbatical.css"
TABLESORT_SCRIPT = "assets/tablesort.js"
OVERRIDES = "overrides"


@dataclass(frozen=True)
class TaggedValue:
    """A YAML node with an application tag (`!ENV`, `!!python/name:…`), kept to be written back."""

    tag: str
    value: Any


def _loader():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def construct_tagged(loader, tag_suffix, node):
        prefix = "tag:yaml.org,2002:" if node.tag.startswith("tag:yaml.org,2002:") else ""
        tag = "!!" + node.tag[len(prefix) :] if prefix else node.tag
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return TaggedValue(tag, value)

    Loader.add_multi_constructor("!", construct_tagged)
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", construct_tagged)
    return Loader


def _dumper():
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_tagged(dumper, data: TaggedValue):
        tag = "tag:yaml.org,2002:" + data.tag[2:] if data.tag.startswith("!!") else data.tag
        if isinstance(data.value, list):
            return dumper.represent_sequence(tag, data.value)
        if isinstance(data.value, dict):
            return dumper.represent_mapping(tag, data.value)
        return dumper.represent_scalar(tag, str(data.value))

    Dumper.add_representer(TaggedValue, represent_tagged)
    return Dumper


def load_user_config(path: Path) -> dict[str, Any]:
    """The workspace's mkdocs.yml as a dict (empty when the file is missing)."""
    import yaml

    if not path.exists():
        return {}
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"not valid YAML ({str(exc).splitlines()[0]}) — fix it and build again") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(path, "must be a mapping of settings (site_name:, theme:, …)")
    return raw


def dump(config: dict[str, Any]) -> str:
    import yaml

    return yaml.dump(config, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=120)


def effective_config(
    user: dict[str, Any],
    *,
    title: str,
    docs_dir: Path,
    site_dir: Path,
    nav: list[Any],
    source_root: Path,
    author: str = "",
    url: str = "",
) -> dict[str, Any]:
    """The workspace's settings with the generated pages plugged in (see the module docstring)."""
    config = dict(user)
    config["site_name"] = title or user.get("site_name") or "My sabbatical"
    if author:
        config["site_author"] = author
    if url:
        config["site_url"] = url
    config["docs_dir"] = str(docs_dir)
    config["site_dir"] = str(site_dir)
    config["nav"] = nav + list(user.get("nav") or [])
    config["theme"] = _theme(user.get("theme"), source_root)
    config["markdown_extensions"] = _extensions(user.get("markdown_extensions"))
    config["extra_css"] = [*(user.get("extra_css") or []), STYLESHEET]
    config["extra_javascript"] = [*(user.get("extra_javascript") or []), TABLESORT_SCRIPT]
    config["extra"] = _extra(user.get("extra"))
    if user.get("hooks"):
        config["hooks"] = [str((source_root / hook).resolve()) for hook in user["hooks"]]
    if isinstance(user.get("INHERIT"), str):
        config["INHERIT"] = str((source_root / user["INHERIT"]).resolve())
    return config


def _theme(theme: Any, source_root: Path) -> dict[str, Any]:
    if theme is None:
        theme = {"name": "material"}
    elif isinstance(theme, str):
        theme = {"name": theme}
    else:
        theme = dict(theme)
    # Our overrides folder holds a copy of the user's custom_dir plus the comments partial (when configured).
    theme["custom_dir"] = OVERRIDES
    # mkdocs-material fetches Google Fonts unless told otherwise: a published sabbatical should not make
    # its readers' browsers call a third party (nor fail offline). Setting `font:` yourself brings them back.
    theme.setdefault("font", False)
    return theme


def user_custom_dir(user: dict[str, Any], source_root: Path) -> Path | None:
    theme = user.get("theme")
    if isinstance(theme, dict) and theme.get("custom_dir"):
        return (source_root / str(theme["custom_dir"])).resolve()
    return None


def _name(extension: Any) -> str:
    return extension if isinstance(extension, str) else next(iter(extension), "")


def _extensions(extensions: Any) -> list[Any]:
    listed = list(extensions or [])
    names = {_name(item) for item in listed}
    return listed + [item for item in REQUIRED_EXTENSIONS if _name(item) not in names]


def _extra(extra: Any) -> dict[str, Any]:
    """`extra` as written, minus a "Was this page helpful?" widget that no analytics provider receives."""
    extra = dict(extra or {})
    analytics = extra.get("analytics")
    if isinstance(analytics, dict) and analytics.get("feedback") and not analytics.get("provider"):
        kept = {key: value for key, value in analytics.items() if key != "feedback"}
        if kept:
            extra["analytics"] = kept
        else:
            extra.pop("analytics")
    return extra


def user_docs_dir(user: dict[str, Any], source_root: Path) -> Path:
    return (source_root / str(user.get("docs_dir") or "docs")).resolve()


# giscus, as mkdocs-material documents it (partials/comments.html): a GitHub Discussions thread per page,
# matched by the page's path. The values come from `[site]` and are written as attribute values.
COMMENTS_PARTIAL = """\
{#- Comments through giscus (GitHub Discussions); generated by `sabbatical site build` from [site]. -#}
{% if page.meta.comments != false %}
<h2 id="__comments">{{ lang.t("meta.comments") }}</h2>
<script src="https://giscus.app/client.js" data-repo="$repo" data-repo-id="$repo_id"
  data-category="$category" data-category-id="$category_id" data-mapping="pathname" data-strict="1"
  data-reactions-enabled="1" data-emit-metadata="0" data-input-position="top" data-theme="preferred_color_scheme"
  data-lang="en" data-loading="lazy" crossorigin="anonymous" async></script>
{% endif %}
"""


@dataclass(frozen=True)
class Giscus:
    repo: str
    repo_id: str
    category: str
    category_id: str

    @property
    def complete(self) -> bool:
        return all((self.repo, self.repo_id, self.category, self.category_id))


def giscus_of(site: Any) -> Giscus | None:
    """The giscus settings of `[site]`, or None when comments are not configured."""
    giscus = Giscus(
        site.giscus_repo.strip(),
        site.giscus_repo_id.strip(),
        site.giscus_category.strip(),
        site.giscus_category_id.strip(),
    )
    return giscus if giscus.complete else None


def comments_partial(giscus: Giscus) -> str:
    from html import escape

    values = {
        key: escape(value, quote=True)
        for key, value in (
            ("repo", giscus.repo),
            ("repo_id", giscus.repo_id),
            ("category", giscus.category),
            ("category_id", giscus.category_id),
        )
    }
    from string import Template

    return Template(COMMENTS_PARTIAL).substitute(values)


def write_overrides(source_dir: Path, user: dict[str, Any], workspace_root: Path, giscus: Giscus | None = None) -> Path:
    """The theme overrides folder: the user's custom_dir (if any) plus the giscus partial (if configured)."""
    overrides = source_dir / OVERRIDES
    if overrides.exists():
        shutil.rmtree(overrides)
    custom = user_custom_dir(user, workspace_root)
    if custom is not None and custom.is_dir():
        shutil.copytree(custom, overrides)
    overrides.mkdir(parents=True, exist_ok=True)
    if giscus is not None:
        partial = overrides / "partials" / "comments.html"
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(comments_partial(giscus), encoding="utf-8")
    return overrides
