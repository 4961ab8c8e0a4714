"""The leak suite: secrets planted in every place a build publishes are found, the build is refused, and the
refusal names the file and the place without repeating the secret.

One workspace holds every secret shape in every place (notebook output, artifact text, zip, gzip, base64,
journal) and is built once; a second, small one shows a run's params refusing the build and the
`sabbatical.publish = false` tag keeping that run off the site.
"""

from __future__ import annotations

import base64
import gzip
import io
import zipfile
from datetime import date, timedelta

import pytest

from sabbatical.errors import SecretsInSite
from tests.helpers.site_workspace import add_artifact, add_run, add_sprint, write_notebook

pytestmark = pytest.mark.slow

ENV_NAME = "MY_SERVICE_TOKEN"
ENV_VALUE = "Pa&ss<wo>rd\"x'=:9Zq"  # every character HTML, JSON or a URL would escape

# shape → (planted text, what the finding says); values are built here so no real-looking key is committed
SHAPES = {
    "assignment": ("DB_PASSWORD=" + "Hunter2" + "Hunter9", "assigned to DB_PASSWORD"),
    "api-key": ('"billing_api_key": "' + "q8w7e6r5" + "t4y3u2i1" + '"', "assigned to billing_api_key"),
    "aws-id": ("AKIA" + "QWERTYUIOP123456", "AWS access key id"),
    "aws-secret": (
        "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzzzzKEY123",
        "AWS secret access key",
    ),
    "private-key": ("-----BEGIN RSA " + "PRIVATE KEY-----", "private key (-----BEGIN RSA PRIVATE KEY-----)"),
    "url-password": ("postgres://" + "alice:pw" + "@db.internal.example/x", "password inside a URL"),
    "github": ("ghp_" + "a1B2" * 9, "GitHub token (ghp_…)"),
    "github-pat": ("github_pat_" + "A1b2" * 11, "GitHub fine-grained token"),
    "slack": ("xoxb-" + "1234567890-abcdefghij", "Slack token (xoxb-…)"),
    "google": ("AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "Google API key"),
    "openai": ("sk-" + "abcDEF123" * 4, "OpenAI-style secret key"),
}
ALL_SHAPES = "\n".join(["notes from the run:"] + [text for text, _ in SHAPES.values()] + [f"env {ENV_VALUE}"])
# what must never be told (a private key's header line is not secret, and is shown to say which key it is)
SECRET_PARTS = [
    text.split("=")[-1].split(":")[-1].strip(' "') for shape, (text, _) in SHAPES.items() if shape != "private-key"
] + [ENV_VALUE, "a1B2a1B2a1B2"]


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("readme.txt", "nothing here")
        archive.writestr(name, text)
    return buffer.getvalue()


def _run(workspace, sprint, name: str, params: dict) -> str:
    """A finished run in the sprint's experiment (made now if the sprints library makes them on first use)."""
    from sabbatical.sprints import tracking

    ensure = getattr(tracking, "ensure_sprint_experiment", None)
    if ensure is not None and not sprint.meta.mlflow_experiment_id:
        ensure(sprint)
    return add_run(workspace, sprint, name, params=params)


def _tag_off(workspace, run_id: str) -> None:
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=workspace.tracking_uri).set_tag(run_id, "sabbatical.publish", "false")


@pytest.fixture(scope="module")
def refused(tmp_path_factory):
    """A workspace with every shape in every place, built once: the SecretsInSite it raised."""
    from sabbatical.site.build import build_site
    from sabbatical.workspace import init_workspace

    root = tmp_path_factory.mktemp("leaks") / "ws"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(root.parent / "home"))
        patch.setenv("MPLBACKEND", "Agg")
        patch.delenv("OPENAI_API_KEY", raising=False)
        patch.setenv(ENV_NAME, ENV_VALUE)
        ws, _ = init_workspace(root, title="Leaky sabbatical")
        sprint = add_sprint(ws, "Does the pipeline leak?", start=date.today() - timedelta(days=3), slug="leaky")
        write_notebook(sprint.notebooks_dir / "leaky.ipynb", text_output=ALL_SHAPES)
        add_artifact(sprint, "notes.txt", ALL_SHAPES.encode())
        add_artifact(sprint, "bundle.zip", _zip("inner/secrets.txt", ALL_SHAPES))
        add_artifact(sprint, "log.gz", gzip.compress(ALL_SHAPES.encode()))
        add_artifact(sprint, "encoded.txt", b"blob: " + base64.b64encode(ALL_SHAPES.encode()) + b"\n")
        sprint.log("finding", f"the key was {SHAPES['github'][0]} and env {ENV_VALUE}")
        hidden = _run(ws, sprint, "hidden-run", {"token": SHAPES["github"][0]})
        _tag_off(ws, hidden)
        _run(ws, sprint, "clean-run", {"lr": "0.1"})
        with pytest.raises(SecretsInSite) as caught:
            build_site(ws)
    return ws, caught.value


def _line_for(error: SecretsInSite, file_part: str) -> str:
    lines = [line for line in error.files if line.split(":", 1)[0].endswith(file_part)]
    assert lines, f"no finding for {file_part}: {error.files}"
    return " ".join(lines)


@pytest.mark.parametrize(
    "file_part, place",
    [
        ("artifacts/notes.txt", "(line "),
        ("artifacts/bundle.zip", "(member inner/secrets.txt › line "),
        ("artifacts/log.gz", "(member (decompressed) › line "),
        ("artifacts/encoded.txt", "(line 1 › base64 › line "),
        ("notebooks/leaky/index.md", "(line "),
        ("leaky.ipynb", "(line "),
    ],
)
def test_every_shape_and_the_env_value_is_found_in_every_place(refused, file_part, place):
    _, error = refused
    line = _line_for(error, file_part)
    for shape, (_, said) in SHAPES.items():
        assert f"{said}" in line, (shape, line)
    assert f"the value of ${ENV_NAME}" in line
    assert place in line


def test_a_journal_entry_is_found_on_the_pages_it_reaches(refused):
    _, error = refused
    line = _line_for(error, "findings.md")
    assert "GitHub token (ghp_…) (line " in line and f"the value of ${ENV_NAME} (line " in line


def test_the_refusal_never_repeats_a_secret_and_nothing_is_published(refused):
    ws, error = refused
    told = str(error) + "\n".join(error.files)
    for part in SECRET_PARTS:
        assert part not in told
    assert "hidden-run" not in told  # the run tagged off the site is not even read
    assert not ws.site_dir.exists() or not any(ws.site_dir.rglob("*.html"))


def test_a_secret_in_a_run_param_refuses_the_build_and_the_publish_tag_keeps_the_run_off(workspace, monkeypatch):
    from sabbatical.site import secrets
    from sabbatical.site.build import build_site

    monkeypatch.setenv(ENV_NAME, ENV_VALUE)
    sprint = add_sprint(workspace, "Which runs are public?", slug="runs")
    leaky = _run(
        workspace,
        sprint,
        "leaky-run",
        {"db_url": SHAPES["url-password"][0], "service": ENV_VALUE, "aws": SHAPES["aws-id"][0]},
    )
    _run(workspace, sprint, "clean-run", {"lr": "0.1"})
    with pytest.raises(SecretsInSite) as caught:
        build_site(workspace)
    told = str(caught.value)
    assert f"MLflow run {leaky} ('leaky-run')" in told
    assert "password inside a URL (postgres://…:…@db.internal.example) in param 'db_url'" in told
    assert f"the value of ${ENV_NAME} in param 'service'" in told and "AWS access key id" in told
    assert "sabbatical.publish = false" in told and "MlflowClient().set_tag" in told
    assert all(part not in told for part in SECRET_PARTS)

    _tag_off(workspace, leaky)
    build_site(workspace)
    page = next((workspace.site_dir / "sprints").glob("*runs/index.html")).read_text()
    assert "clean-run" in page and "leaky-run" not in page
    assert secrets.scan_tree(workspace.site_dir) == []  # a normal build, theme assets included: no finding


def test_an_archive_that_cannot_be_read_is_refused(tmp_path):
    from sabbatical.site import secrets

    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    encrypted = bytearray(_zip("a.txt", "hello"))
    encrypted[6] |= 0x1  # the local header's "encrypted" flag
    (tmp_path / "odd.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\x00" * 20)
    lines = secrets.describe(secrets.scan_tree(tmp_path, {}), tmp_path)
    assert any(line.startswith("broken.zip: a zip archive that cannot be read") for line in lines), lines
    assert any(line.startswith("odd.7z: a 7z archive that cannot be searched") for line in lines), lines


def test_ordinary_prose_and_code_are_not_secrets():
    from sabbatical.site import secrets

    prose = (
        "The password is stored elsewhere. max_tokens=512; token = tokenizer.eos_token; "
        'api_key = os.environ["OPENAI_API_KEY"]; see https://medium.com/@user and http://[::1]:8080/x; '
        "password=${DB_PASSWORD}; postgres://user:****@host; risk-averse-learning-rate-schedules"
    )
    assert secrets.scan_bytes(prose.encode(), {}) == []
    assert secrets.scan_bytes(base64.b64encode(prose.encode()), {}) == []
