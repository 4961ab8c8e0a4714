"""Running a piece of the product in a fresh interpreter, to see what it imports (a test process has
imported everything already)."""

from __future__ import annotations

import os
import subprocess
import sys

NOT_IMPORTED = "MLFLOW-NOT-IMPORTED"
_REPORT = '\nimport sys\nprint("MLFLOW-IMPORTED" if "mlflow" in sys.modules else "MLFLOW-NOT-IMPORTED")\n'


def run_without_mlflow(code: str, *args: str, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run `code` (with `args` as sys.argv[1:]) in a fresh interpreter; its standard output, without the
    last line, once it has exited 0 and its last line says MLflow was never imported."""
    done = subprocess.run(
        [sys.executable, "-c", code + _REPORT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    output, _, last = done.stdout.rstrip().rpartition("\n")
    assert last == NOT_IMPORTED, done.stdout[-500:]
    return output
