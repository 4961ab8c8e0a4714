"""Building workspaces for the site tests: real sprint folders, journals, MLflow runs, notebooks, artifacts.

Sprints are made with the sprints library's own scaffolding, runs with a real MlflowClient on the
workspace's store, notebooks with nbformat (saved outputs, as an executed notebook has them).
"""

from __future__ import annotations

import base64
import io
import time
from datetime import date
from pathlib import Path
from typing import Any


def add_sprint(
    workspace: Any,
    question: str,
    *,
    hypothesis: str = "",
    start: date | str | None = None,
    private: bool = False,
    slug: str | None = None,
):
    from sabbatical.sprints.scaffold import create_sprint

    return create_sprint(workspace, question, hypothesis=hypothesis, start=start, private=private, slug=slug).sprint


def png_bytes(colour: str = "tab:blue", label: str = "figure") -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(2, 1.5))
    axes.plot([0, 1, 2], [2, 1, 3], color=colour)
    axes.set_title(label)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=60)
    plt.close(figure)
    return buffer.getvalue()


def add_artifact(sprint: Any, name: str, data: bytes, caption: str | None = None) -> Path:
    path = sprint.artifacts_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if caption is not None:
        path.with_name(path.name + ".caption.txt").write_text(caption, encoding="utf-8")
    return path


def add_run(
    workspace: Any,
    sprint: Any,
    name: str,
    *,
    status: str = "FINISHED",
    params: dict | None = None,
    metrics: dict[str, list[float]] | None = None,
) -> str:
    """A run in the sprint's experiment with metric histories (one value per step) and an end status."""
    from mlflow import MlflowClient

    from sabbatical.sprints.tracking import ensure_sprint_experiment

    client = MlflowClient(tracking_uri=workspace.tracking_uri)
    run = client.create_run(ensure_sprint_experiment(sprint, client), run_name=name)
    for key, value in (params or {}).items():
        client.log_param(run.info.run_id, key, value)
    now = int(time.time() * 1000)
    for key, values in (metrics or {}).items():
        for step, value in enumerate(values):
            client.log_metric(run.info.run_id, key, value, timestamp=now + step, step=step)
    client.set_terminated(run.info.run_id, status=status)
    return run.info.run_id


def write_notebook(
    path: Path,
    *,
    title: str = "A notebook",
    text_output: str = "hello",
    image: bytes | None = None,
    html_output: str | None = None,
    private: bool = False,
) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    outputs = [new_output("stream", name="stdout", text=text_output + "\n")]
    if image is not None:
        outputs.append(
            new_output(
                "display_data", data={"image/png": base64.b64encode(image).decode("ascii"), "text/plain": "<Figure>"}
            )
        )
    if html_output is not None:
        outputs.append(
            new_output("execute_result", data={"text/html": html_output, "text/plain": "html"}, execution_count=1)
        )
    notebook = new_notebook(
        cells=[
            new_markdown_cell(f"# {title}\n\nSome **prose**."),
            new_code_cell("print('hello')", outputs=outputs, execution_count=1),
        ]
    )
    if private:
        notebook.metadata["sabbatical"] = {"private": True}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path
