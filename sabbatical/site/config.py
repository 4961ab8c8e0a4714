"""The effective site-engine configuration: the workspace's mkdocs.yml plus what the generator adds.

The researcher owns `mkdocs.yml` (site name, theme, palette, extra settings, Markdown extensions, their
own extra pages). The build writes `.sabbatical/site-src/mkdocs.yml`, which keeps all of that and adds:

- `docs_dir` pointed at the generated pages and `site_dir` at the workspace's `site/`;
- the generated `nav`, followed by the researcher's own `nav` entries (their pages are copied in);
- the Markdown extensions the pages rely on (admonition, attr_list, tables, toc) when missing;
- `theme.font: false` unless you chose a font, so pages load no web fonts from a third party;
- our stylesheet, and a local analytics provider so the "Was this page helpful?" widget shows without
  sending anything anywhere (mkdocs-material only reveals the widget when an analytics provider runs).

YAML tags such as `!ENV` or `!!python/name:` are kept as written, so configs that use them still work.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

LOCAL_ANALYTICS = "sabbatical"
REQUIRED_EXTENSIONS = ("admonition", "attr_list", "tables", "toc")
STYLESHEET = "assets/sabbatical.css"
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
        tag = "!!" + node.tag[len(prefix):] if prefix else node.tag
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


def effective_config(user: dict[str, Any], *, title: str, docs_dir: Path, site_dir: Path,
                     nav: list[Any], source_root: Path) -> dict[str, Any]:
    """The workspace's settings with the generated pages plugged in (see the module docstring)."""
    config = dict(user)
    config.setdefault("site_name", title)
    config["docs_dir"] = str(docs_dir)
    config["site_dir"] = str(site_dir)
    config["nav"] = nav + list(user.get("nav") or [])
    config["theme"] = _theme(user.get("theme"), source_root)
    config["markdown_extensions"] = _extensions(user.get("markdown_extensions"))
    config["extra_css"] = [*(user.get("extra_css") or []), STYLESHEET]
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
    # Our overrides folder holds a copy of the user's custom_dir plus the local analytics partial.
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


def _extensions(extensions: Any) -> list[Any]:
    listed = list(extensions or [])
    names = {item if isinstance(item, str) else next(iter(item), "") for item in listed}
    return listed + [name for name in REQUIRED_EXTENSIONS if name not in names]


def _extra(extra: Any) -> dict[str, Any]:
    extra = dict(extra or {})
    analytics = extra.get("analytics")
    if isinstance(analytics, dict) and analytics.get("feedback") and not analytics.get("provider"):
        extra["analytics"] = {**analytics, "provider": LOCAL_ANALYTICS}
    return extra


def user_docs_dir(user: dict[str, Any], source_root: Path) -> Path:
    return (source_root / str(user.get("docs_dir") or "docs")).resolve()


# The widget script of the local provider: reveal the form, and on a click show the matching note.
# Nothing is stored or sent; the "Give feedback" link on the page is how a reader says more.
ANALYTICS_PARTIAL = """\
{#- A local analytics provider for the "Was this page helpful?" widget: it sends nothing anywhere. -#}
<script>
function __md_analytics() {
  document.addEventListener("DOMContentLoaded", function () {
    document$.subscribe(function () {
      var form = document.forms.feedback
      if (typeof form === "undefined") return
      for (var button of form.querySelectorAll("[type=submit]")) {
        button.addEventListener("click", function (event) {
          event.preventDefault()
          var value = this.getAttribute("data-md-value")
          form.firstElementChild.disabled = true
          var note = form.querySelector(".md-feedback__note [data-md-value='" + value + "']")
          if (note) note.hidden = false
        })
      }
      form.hidden = false
    })
  })
}
</script>
"""


def write_overrides(source_dir: Path, user: dict[str, Any], workspace_root: Path) -> Path:
    """The theme overrides folder: the user's custom_dir (if any) plus our analytics partial."""
    overrides = source_dir / OVERRIDES
    if overrides.exists():
        shutil.rmtree(overrides)
    custom = user_custom_dir(user, workspace_root)
    if custom is not None and custom.is_dir():
        shutil.copytree(custom, overrides)
    partial = overrides / "partials" / "integrations" / "analytics" / f"{LOCAL_ANALYTICS}.html"
    partial.parent.mkdir(parents=True, exist_ok=True)
    if not partial.exists():
        partial.write_text(ANALYTICS_PARTIAL, encoding="utf-8")
    return overrides
