"""Real servers that tests start and stop: a throwaway PostgreSQL and an `mlflow server`.

Both bind 127.0.0.1 on a free port, run in their own process group, and are stopped by that group,
so no worker outlives the test. PostgreSQL refuses to run as root; when the tests run as root the
cluster runs as the `postgres` system user in a directory it owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def stop_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(grace)


def postgres_bin() -> Path | None:
    for candidate in PG_BIN_CANDIDATES:
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


@contextmanager
def postgres_server(database: str = "mlflow") -> Iterator[str]:
    """A fresh PostgreSQL cluster on 127.0.0.1; yields a SQLAlchemy URL to `database`."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (scripts/system-deps installs it on Debian)")
    run_as = _pg_runner()
    root = Path(tempfile.mkdtemp(prefix="sabbatical-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
    port = free_port()
    data = root / "data"
    subprocess.run(
        [*run_as, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    start = [
        *run_as,
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(root / "log"),
        "-w",
        "-o",
        f"-h 127.0.0.1 -p {port} -k {root}",
    ]
    try:
        subprocess.run([*start, "start"], check=True, capture_output=True)
        subprocess.run(
            [
                str(bin_dir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-c",
                f"CREATE DATABASE {database}",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def _pg_runner() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root needs the `postgres` system user (from Debian's postgresql package)")
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def mlflow_server(backend_uri: str, artifacts: Path) -> Iterator[str]:
    """`mlflow server --workers 1` on 127.0.0.1 serving artifacts from `artifacts`; yields its URL."""
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        backend_uri,
        "--artifacts-destination",
        artifacts.as_uri(),
        "--serve-artifacts",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(url + "/health", timeout=120, process=process)
        except (RuntimeError, TimeoutError):
            log.seek(0)
            raise RuntimeError("mlflow server did not start:\n" + log.read().decode(errors="replace")[-3000:])
        yield url
    finally:
        stop_group(process)
        log.close()
