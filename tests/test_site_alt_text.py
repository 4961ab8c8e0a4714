"""Alt text: the caption wins, a configured vision model describes the rest through the one LLM path."""

from __future__ import annotations

import json
import re

import pytest

from sabbatical import db
from sabbatical.errors import ExitCode
from tests.helpers.fake_openai import FakeOpenAI, configure_llm
from tests.helpers.site_workspace import add_artifact, add_sprint, png_bytes

pytestmark = pytest.mark.slow


class VisionModel(FakeOpenAI):
    """The loopback server answering as a vision model: it looks for an image part and describes it."""

    def answer(self, messages):
        parts = [part for m in messages if isinstance(m.get("content"), list) for part in m["content"]]
        images = [p for p in parts if p.get("type") == "image_url"]
        named = next((p["text"] for p in parts if p.get("type") == "text"), "")
        if not images or not images[0]["image_url"]["url"].startswith("data:image/png;base64,"):
            return json.dumps({"alt": "no image was sent"})
        return json.dumps({"alt": f"A line chart that rises at the end ({named.split(chr(39))[1]})"})


def _use_model(workspace, server, model="vision-mini"):
    configure_llm(workspace.root, base_url=server.url)
    text = workspace.config_path.read_text().replace('alt_text_model = ""', f'alt_text_model = "{model}"')
    workspace.config_path.write_text(text)


def _sprint_page(workspace, sprint) -> str:
    return (workspace.site_dir / "sprints" / sprint.name / "index.html").read_text()


def test_without_a_model_alt_text_is_the_caption_or_the_file_name(workspace, cli):
    sprint = add_sprint(workspace, "Do captions beat file names?", slug="captions")
    add_artifact(sprint, "plot_one.png", png_bytes(), caption="Accuracy by epoch, two seeds")
    add_artifact(sprint, "loss-curve.png", png_bytes())
    assert cli("--workspace", workspace.root, "site", "build").exit_code == 0
    page = _sprint_page(workspace, sprint)
    assert 'alt="Accuracy by epoch, two seeds"' in page and 'alt="loss curve (image)"' in page


def test_a_vision_model_describes_uncaptioned_images_once(workspace, cli):
    sprint = add_sprint(workspace, "Can a model write our alt text?", slug="vision")
    add_artifact(sprint, "plot_one.png", png_bytes(), caption="Accuracy by epoch, two seeds")
    add_artifact(sprint, "loss-curve.png", png_bytes())
    with VisionModel() as server:
        _use_model(workspace, server)
        first = cli("--workspace", workspace.root, "site", "build")
        assert first.exit_code == 0, first.stderr
        assert len(server.chat_requests) == 1  # only the uncaptioned image
        assert server.chat_requests[0].body["model"] == "vision-mini"
        again = cli("--workspace", workspace.root, "site", "build")
        assert again.exit_code == 0 and len(server.chat_requests) == 1  # cached by image and model
    page = _sprint_page(workspace, sprint)
    assert 'alt="Accuracy by epoch, two seeds"' in page
    assert re.search(r'alt="A line chart that rises at the end \(loss-curve.png\)"', page)
    conn = db.connect(workspace.pile_path)
    try:
        purposes = [row[0] for row in conn.execute("SELECT purpose FROM llm_calls")]
    finally:
        conn.close()
    assert purposes == ["alt_text"]


def test_a_failing_model_is_reported_and_the_image_keeps_its_file_name(workspace, cli):
    sprint = add_sprint(workspace, "What if the model is down?", slug="down")
    add_artifact(sprint, "loss-curve.png", png_bytes())
    with VisionModel() as server:
        _use_model(workspace, server)
        server.queue("invalid_json", "invalid_json")
        result = cli("--workspace", workspace.root, "site", "build")
    assert result.exit_code == ExitCode.PARTIAL
    assert "loss-curve.png: the alt-text model failed" in result.stderr
    assert 'alt="loss curve (image)"' in _sprint_page(workspace, sprint)


def test_a_symlinked_alt_text_file_is_neither_read_nor_written_through(workspace, cli, tmp_path):
    sprint = add_sprint(workspace, "Can a link steer our alt text?", slug="link")
    add_artifact(sprint, "loss-curve.png", png_bytes())
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"planted": "text from outside the workspace"}))
    cache = workspace.alt_text_cache_path
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.symlink_to(outside)
    with VisionModel() as server:
        _use_model(workspace, server)
        result = cli("--workspace", workspace.root, "site", "build")
        assert result.exit_code == 0, result.stderr
        assert len(server.chat_requests) == 1
    assert json.loads(outside.read_text()) == {"planted": "text from outside the workspace"}
    assert not cache.is_symlink() and len(json.loads(cache.read_text())) == 1
