"""sabbatical.toml: its keys, their defaults and meanings, validation, and the commented template.

The schema is written once, as dataclasses whose fields carry a one-line doc. The template that
`sabbatical init` writes and the validator that reads the file are both derived from it, so a key can
never be documented but unchecked, or checked but missing from a new workspace.
"""

from __future__ import annotations

import tomllib
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError


def _key(default: Any, doc: str) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class ReadingConfig:
    interests: list[str] = _key([], "what you care about, in plain words; ranks the inbox")
    feeds: list[str] = _key([], "feed URLs to follow (also added by `read feed` and OPML files)")
    arxiv_queries: list[str] = _key([], "arXiv search queries that `read update` runs")
    arxiv_api_url: str = _key("https://export.arxiv.org/api/query", "arXiv Atom API endpoint")
    oai_pmh_url: str = _key("https://oaipmh.arxiv.org/oai", "arXiv OAI-PMH endpoint for bulk harvests")
    timeout: float = _key(30.0, "total seconds one request may take (redirects, retries and waits included)")
    max_response_mb: float = _key(25.0, "larger responses (and local files) are refused")
    allow_private_addresses: bool = _key(
        False, "follow redirects and OPML feeds to loopback/private addresses (a local mirror)"
    )
    concurrency: int = _key(4, "followed sources `read update` fetches at once")
    host_delay: float = _key(1.0, "seconds between two requests to one host (arXiv: at least 3)")


@dataclass(frozen=True)
class LLMConfig:
    base_url: str = _key("", "OpenAI-compatible endpoint; empty = offline summaries (or OPENAI_BASE_URL)")
    model: str = _key("gpt-4o-mini", "model name sent to the endpoint")
    prompt: str = _key(
        "summarise-v3",
        "prompt version for LLM summaries; set a newer one to adopt it (`pile summarise --compare` first)",
    )
    api_key_env: str = _key("OPENAI_API_KEY", "environment variable holding the API key (never the key itself)")
    timeout: float = _key(60.0, "seconds per request")
    concurrency: int = _key(8, "requests in flight at once")
    max_retries: int = _key(4, "retries on 429/5xx/timeouts, with backoff")
    budget_tokens: int = _key(0, "stop a run after this many tokens; 0 = no limit")
    budget_usd: float = _key(0.0, "stop a run after this cost (needs prices); 0 = no limit")
    prices: dict[str, list[float]] = _key(
        {}, 'USD per million tokens [input, output] by model, e.g. {"gpt-4o-mini" = [0.15, 0.6]}'
    )


@dataclass(frozen=True)
class EmbedConfig:
    backend: str = _key(
        "tfidf",
        "tfidf (offline, default), wordllama (the `wordllama` extra), minilm (the `embed` extra) or openai (the [llm] endpoint)",
    )
    model: str = _key(
        "",
        "model for the openai backend, e.g. text-embedding-3-small; for wordllama a config such as l2_supercat (:DIM for another size)",
    )
    dimensions: int = _key(256, "vector size of the tfidf backend")


@dataclass(frozen=True)
class TrackingConfig:
    uri: str = _key("", "MLflow tracking URI; empty = sqlite:///<workspace>/mlflow.db")
    artifact_root: str = _key("", "where run artifacts go; empty = <workspace>/mlartifacts")


@dataclass(frozen=True)
class SprintsConfig:
    days: int = _key(14, "default sprint length in days")
    metrics: dict[str, str] = _key(
        {},
        'each metric\'s goal, "min" or "max" (e.g. {loss = "min"}); '
        "sprint status marks a best only where the goal is known",
    )


@dataclass(frozen=True)
class SiteConfig:
    url: str = _key("", "where the site is published (https://…/); makes page and feedback links absolute")
    feedback_url: str = _key("", "mailto: or issue URL template; {title} and {url} are filled in")
    reading: str = _key(
        "kept", "reading pages publish: starred (only), kept (kept and starred), all (but dropped), off"
    )
    reading_items: int = _key(10, "items shown per topic on the reading page")
    giscus_repo: str = _key("", "owner/name of a GitHub repository whose Discussions hold page comments (giscus)")
    giscus_repo_id: str = _key("", "that repository's id, as giscus.app shows it")
    giscus_category: str = _key("", "the Discussions category for comments")
    giscus_category_id: str = _key("", "that category's id, as giscus.app shows it")
    alt_text_model: str = _key(
        "", "vision model on the [llm] endpoint that describes uncaptioned images; empty = captions and file names"
    )


@dataclass(frozen=True)
class Config:
    title: str = _key("My sabbatical", "shown on the site and in notebooks")
    author: str = _key("", "your name, for the site and exports")
    reading: ReadingConfig = field(default_factory=ReadingConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    sprints: SprintsConfig = field(default_factory=SprintsConfig)
    site: SiteConfig = field(default_factory=SiteConfig)


SECTIONS: dict[str, type] = {
    "reading": ReadingConfig,
    "llm": LLMConfig,
    "embed": EmbedConfig,
    "tracking": TrackingConfig,
    "sprints": SprintsConfig,
    "site": SiteConfig,
}
SCALARS = [f for f in fields(Config) if f.name not in SECTIONS]


def load_config(path: Path) -> Config:
    """Read and validate sabbatical.toml; a missing key takes its default."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "file not found — run `sabbatical init` to create it") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"not valid TOML ({exc})") from None
    return parse_config(raw, path)


def parse_config(raw: dict[str, Any], path: Path) -> Config:
    top_allowed = [f.name for f in SCALARS] + list(SECTIONS)
    top: dict[str, Any] = {}
    for key, value in raw.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(path, f"must be a table ([{key}])", key)
            top[key] = _parse_section(SECTIONS[key], value, path, prefix=key)
        elif key in {f.name for f in SCALARS}:
            top[key] = _check(next(f for f in SCALARS if f.name == key), value, path, key)
        else:
            raise ConfigError(path, f"unknown key; allowed: {', '.join(top_allowed)}", key)
    return Config(**top)


def _parse_section(cls: type, raw: dict[str, Any], path: Path, prefix: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in raw.items():
        dotted = f"{prefix}.{key}"
        if key not in known:
            raise ConfigError(path, f"unknown key; allowed in [{prefix}]: {', '.join(known)}", dotted)
        values[key] = _check(known[key], value, path, dotted)
    return cls(**values)


def _check(f: Any, value: Any, path: Path, dotted: str) -> Any:
    hint = typing.get_type_hints(_owner_of(f))[f.name]
    if not _matches(hint, value):
        raise ConfigError(path, f"must be {_describe(hint)}, got {type(value).__name__} {value!r}", dotted)
    return float(value) if hint is float else value


def _owner_of(f: Any) -> type:
    for cls in (Config, *SECTIONS.values()):
        if any(g is f for g in fields(cls)):
            return cls
    raise LookupError(f.name)


def _matches(hint: Any, value: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_matches(item, v) for v in value)
    if origin is dict:
        _, item = typing.get_args(hint)
        return isinstance(value, dict) and all(_matches(item, v) for v in value.values())
    raise TypeError(f"unsupported config type {hint}")


def _describe(hint: Any) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    if hint in names:
        return names[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return f"a list of {_describe(args[0]).removeprefix('a ')}s"
    if origin is dict:
        return f"a table whose values are {_describe(args[1])}"
    return str(hint)


def render_template(title: str = "My sabbatical") -> str:
    """The commented sabbatical.toml that `sabbatical init` writes: every key, its default, its meaning."""
    lines = [
        "# sabbatical workspace settings. Every key is shown with its default; edit freely.",
        "# `sabbatical paths` shows what these resolve to.",
        "",
    ]
    for f in SCALARS:
        value = title if f.name == "title" else _default(f)
        lines += [f"# {f.metadata['doc']}", f"{f.name} = {_toml_value(value)}"]
    for section, cls in SECTIONS.items():
        lines += ["", f"[{section}]"]
        for f in fields(cls):
            lines += [f"# {f.metadata['doc']}", f"{f.name} = {_toml_value(_default(f))}"]
    return "\n".join(lines) + "\n"


def _default(f: Any) -> Any:
    return f.default_factory() if f.default is MISSING else f.default


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_value(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def describe_keys() -> list[tuple[str, str, str]]:
    """(dotted key, default as TOML, doc) for every key: the README's reference table is checked against it."""
    rows = [(f.name, _toml_value(_default(f)), f.metadata["doc"]) for f in SCALARS]
    for section, cls in SECTIONS.items():
        rows += [(f"{section}.{f.name}", _toml_value(_default(f)), f.metadata["doc"]) for f in fields(cls)]
    return rows
