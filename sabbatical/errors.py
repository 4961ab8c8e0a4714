"""The exception hierarchy and the exit-code contract.

Every error the library raises on purpose is a `SabbaticalError`. Its message is one line that says what
went wrong and what to do next; its `exit_code` is what the CLI exits with. The CLI turns these into
`Error: …` on stderr in exactly one place (`sabbatical.cli.main`).
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """The documented exit codes of every `sabbatical` command."""

    OK = 0
    ERROR = 1
    USAGE = 2
    PARTIAL = 3


class SabbaticalError(Exception):
    """Base of every deliberate error. The message says what to do next."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(SabbaticalError):
    """The command was called wrongly (a bad option value, a bad date)."""

    exit_code = ExitCode.USAGE


class WorkspaceNotFound(SabbaticalError):
    def __init__(self, start: Path, default: Path | None = None):
        self.start = start
        self.default = default
        anywhere = f", or `sabbatical init {default}` for a default workspace used from any folder" if default else ""
        super().__init__(
            f"No sabbatical workspace at or above {start} — run `sabbatical init` there, "
            f"or pass --workspace / set SABBATICAL_WORKSPACE{anywhere}"
        )


class WorkspaceExists(SabbaticalError):
    def __init__(self, root: Path):
        self.root = root
        super().__init__(
            f"{root} is already a sabbatical workspace (it has sabbatical.toml) — nothing was changed; "
            "use `sabbatical init --force` to add only what is missing"
        )


class ConfigError(SabbaticalError):
    """sabbatical.toml is unreadable or has a bad key or value."""

    def __init__(self, path: Path, problem: str, key: str | None = None):
        self.path = path
        self.key = key
        self.problem = problem
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(where + problem)


class NotFound(SabbaticalError):
    """A thing the user named (an item, a sprint, a topic) does not exist."""


class PathProblem(SabbaticalError):
    """An error about one file or folder: `path` and `problem` are kept for callers, `explain` words the message."""

    def __init__(self, path: Path, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(self.explain())

    def explain(self) -> str:
        return f"{self.path}: {self.problem}"


class CannotOpen(SabbaticalError):
    """An item has no web address to open (none, or not http/https), or no browser could be started."""


class EmbedderUnavailable(SabbaticalError):
    """The configured embedding backend cannot run here (a missing extra, no endpoint model, unknown name)."""


class StoreError(SabbaticalError):
    """The SQLite store cannot be opened or written (disk full, corrupt, newer schema)."""


class ReadOnlyWorkspace(StoreError):
    """The pile's file or folder is not writable: reads work, this command would have written."""

    def __init__(self, path: Path, why: str = "this command writes to the pile"):
        self.path = path
        super().__init__(
            f"the workspace is read-only ({path} cannot be written) and {why} — nothing was "
            "changed; run it where the workspace is writable (reading commands work here)"
        )


class CorruptPile(PathProblem, StoreError):
    """The pile failed SQLite's integrity check: it is opened read-only and never written again."""

    def explain(self) -> str:
        path = self.path
        return (
            f"the pile {path} is damaged ({self.problem}) and nothing more is written to it — recover what it "
            f'holds with `sqlite3 {path} ".recover" | sqlite3 {path}.recovered`, then move the damaged file aside '
            f"and {path}.recovered into its place"
        )


class PartialFailure(SabbaticalError):
    """Some units of work failed while others succeeded; the successes are kept.

    `failures` holds one line per failed unit, already phrased for the user.
    """

    exit_code = ExitCode.PARTIAL

    def __init__(self, summary: str, failures: list[str]):
        self.failures = failures
        super().__init__(summary)


class SprintFileError(PathProblem):
    """A sprint's sprint.md cannot be read (broken front matter, a missing key)."""

    def explain(self) -> str:
        return f"{self.path}: {self.problem} — fix the YAML between the two `---` lines at the top of the file"


class TrackingError(SabbaticalError):
    """The MLflow tracking store could not be reached or refused a write."""


class SiteBuildError(SabbaticalError):
    """The site engine refused the generated pages (a strict-mode warning, a bad mkdocs.yml)."""

    def __init__(self, message: str, details: list[str] | None = None):
        self.details = details or []
        super().__init__(message)


class UnsafeSitePath(PathProblem):
    """A folder the site build writes or deletes is a symlink or lies outside the workspace; nothing was touched."""

    def explain(self) -> str:
        return (
            f"{self.path} {self.problem} — the site build only writes and deletes inside the workspace; "
            "remove it (the build recreates it) and build again"
        )


class SecretsInSite(SabbaticalError):
    """Files about to be published hold something that looks like a secret; nothing was published.

    `files` holds one line per file naming it, the kind of secret and where it is, never the secret itself;
    `hint` says what to do (the default suits a file; a run's params cannot be edited, so it differs).
    """

    def __init__(
        self,
        files: list[str],
        hint: str = "remove them from the source (clear the notebook output or the file) and build again",
    ):
        self.files = files
        self.hint = hint
        shown = "; ".join(files[:5]) + (f"; and {len(files) - 5} more" if len(files) > 5 else "")
        super().__init__(f"the site was not published: secrets found in {shown} — {hint}")


class SiteCheckFailed(SabbaticalError):
    """`site check` found broken internal links or secrets in the built site."""

    def __init__(self, message: str, problems: list[str]):
        self.problems = problems
        super().__init__(message)


class SiteDeployError(SabbaticalError):
    """`site deploy` could not publish the built site (no build, no git repository, a refused push)."""


class EveryUnitFailed(PartialFailure):
    """Nothing succeeded (every source, every item): an error (exit 1), listed one unit per line."""

    exit_code = ExitCode.ERROR


# -- the LLM path (sabbatical.llm) -------------------------------------------------------------------
class RunStopped(SabbaticalError):
    """No further LLM requests will be made in this run; the work not started stays pending."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class BudgetReached(RunStopped):
    """The run's token or dollar budget is spent (or held by requests in flight)."""


class EndpointUnreachable(RunStopped):
    """The endpoint could not be reached for several items in a row."""


class RunDeadlineReached(RunStopped):
    """The run's deadline passed; nothing more is sent, and what is left stays pending."""


class LLMFailure(SabbaticalError):
    """One unit of work failed at the endpoint (after its retries), or its answer never validated.

    `status` is what the call log records ('timeout', 'unreachable', 'http_error', 'invalid');
    `calls` is how many requests the unit made.
    """

    def __init__(self, status: str, message: str, calls: int = 0):
        self.status = status
        self.calls = calls
        super().__init__(message)


class StructuredModeRejected(LLMFailure):
    """The endpoint does not accept json_schema output; the request is asked again in JSON mode."""

    def __init__(self, message: str):
        super().__init__("http_error", message)
