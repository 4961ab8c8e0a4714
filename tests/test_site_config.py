"""The effective mkdocs config keeps the researcher's settings and plugs the generated pages in."""

from __future__ import annotations

from pathlib import Path

from sabbatical.site import config

USER_MKDOCS = """\
site_name: My public sabbatical
site_url: https://me.example.org/sabbatical/
docs_dir: pages
theme:
  name: material
  custom_dir: my-overrides
  palette:
    primary: teal
  features: [navigation.tabs]
markdown_extensions:
  - toc:
      permalink: "#"
  - pymdownx.emoji:
      emoji_index: !!python/name:material.extensions.emoji.twemoji
      emoji_generator: !!python/name:material.extensions.emoji.to_svg
extra:
  homepage: !ENV [SABBATICAL_HOME, "https://me.example.org"]
  analytics:
    feedback:
      title: Useful?
      ratings: []
extra_css: [my.css]
nav:
  - About me: about.md
"""


def _effective(tmp_path: Path) -> tuple[dict, str]:
    (tmp_path / "mkdocs.yml").write_text(USER_MKDOCS)
    user = config.load_user_config(tmp_path / "mkdocs.yml")
    nav = [{"Home": "index.md"}]
    effective = config.effective_config(
        user, title="", docs_dir=tmp_path / "gen" / "docs", site_dir=tmp_path / "site", nav=nav, source_root=tmp_path
    )
    return effective, config.dump(effective)


def test_theme_palette_extra_and_extensions_are_kept(tmp_path):
    effective, _ = _effective(tmp_path)
    assert effective["site_name"] == "My public sabbatical"
    assert effective["theme"]["palette"] == {"primary": "teal"}
    assert effective["theme"]["features"] == ["navigation.tabs"]
    assert effective["theme"]["font"] is False  # no third-party font requests unless chosen
    assert "analytics" not in effective["extra"]  # a helpful-widget with no provider to receive it is left out
    assert effective["extra"]["homepage"].tag == "!ENV"
    names = [e if isinstance(e, str) else next(iter(e)) for e in effective["markdown_extensions"]]
    assert names[:2] == ["toc", "pymdownx.emoji"] and {"admonition", "attr_list", "tables"} <= set(names)
    assert effective["extra_css"] == ["my.css", config.STYLESHEET]


def test_generated_nav_comes_first_then_the_users_own(tmp_path):
    effective, _ = _effective(tmp_path)
    assert effective["nav"] == [{"Home": "index.md"}, {"About me": "about.md"}]
    assert effective["docs_dir"] == str(tmp_path / "gen" / "docs")
    assert effective["site_dir"] == str(tmp_path / "site")
    assert config.user_docs_dir(config.load_user_config(tmp_path / "mkdocs.yml"), tmp_path) == tmp_path / "pages"


def test_yaml_tags_survive_the_round_trip(tmp_path):
    _, text = _effective(tmp_path)
    assert "!!python/name:material.extensions.emoji.twemoji" in text
    assert "!ENV" in text and "SABBATICAL_HOME" in text


def test_an_analytics_provider_the_user_chose_is_respected(tmp_path):
    user = {"extra": {"analytics": {"provider": "google", "property": "G-X", "feedback": {"title": "t"}}}}
    effective = config.effective_config(
        user, title="t", docs_dir=tmp_path, site_dir=tmp_path, nav=[], source_root=tmp_path
    )
    assert effective["extra"]["analytics"]["provider"] == "google"


def test_sabbatical_toml_names_the_site_and_mkdocs_yml_keeps_the_rest(tmp_path):
    (tmp_path / "mkdocs.yml").write_text(USER_MKDOCS)
    user = config.load_user_config(tmp_path / "mkdocs.yml")
    effective = config.effective_config(
        user,
        title="Ada's year of sparse models",
        docs_dir=tmp_path,
        site_dir=tmp_path,
        nav=[],
        source_root=tmp_path,
        author="Ada Lovelace",
        url="https://ada.example.org/year/",
    )
    assert effective["site_name"] == "Ada's year of sparse models"
    assert effective["site_author"] == "Ada Lovelace" and effective["site_url"] == "https://ada.example.org/year/"
    assert effective["theme"]["palette"] == {"primary": "teal"}


def test_overrides_copy_the_users_custom_dir_and_add_giscus_only_when_configured(tmp_path):
    (tmp_path / "mkdocs.yml").write_text(USER_MKDOCS)
    (tmp_path / "my-overrides" / "partials").mkdir(parents=True)
    (tmp_path / "my-overrides" / "partials" / "footer.html").write_text("<footer>mine</footer>")
    user = config.load_user_config(tmp_path / "mkdocs.yml")
    overrides = config.write_overrides(tmp_path / "gen", user, tmp_path)
    assert (overrides / "partials" / "footer.html").read_text() == "<footer>mine</footer>"
    assert not (overrides / "partials" / "comments.html").exists()
    giscus = config.Giscus('me/"sab"', "R_1", "Site comments", "DIC_2")
    overrides = config.write_overrides(tmp_path / "gen", user, tmp_path, giscus)
    partial = (overrides / "partials" / "comments.html").read_text()
    assert 'data-repo="me/&quot;sab&quot;"' in partial and 'data-category="Site comments"' in partial
    assert 'data-category-id="DIC_2"' in partial and "giscus.app/client.js" in partial
