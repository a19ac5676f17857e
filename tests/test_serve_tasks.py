"""`easyimg serve --tasks`: generations answered with an APIMart task that completes later."""

from __future__ import annotations

import io

from PIL import Image

from easyimg.serve.http import ImageServer

from . import serve_api
from .serve_api import Api

api, api_factory = serve_api.api, serve_api.api_factory  # the fixtures


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def submit(api: Api, **body: object) -> str:
    r = api.post("/v1/images/generations", json={"model": "gpt-image-2", "prompt": "a fox", **body})
    assert r.status_code == 200
    doc = r.json()
    assert doc["code"] == 200
    (item,) = doc["data"]
    assert item["status"] == "submitted" and item["task_id"].startswith("task_")
    assert api.state.tasks.wait(item["task_id"], 5)
    return str(item["task_id"])


def poll(api: Api, task_id: str) -> dict:
    r = api.get(f"/v1/tasks/{task_id}")
    assert r.status_code == 200 and r.json()["code"] == 200
    return r.json()["data"]


def test_a_task_is_pending_then_processing_then_completed_after_the_latency(api_factory):
    clock = Clock()
    api = api_factory(tasks=True, latency=10.0, clock=clock)
    task_id = submit(api, n=2, size="1536x1024")
    first = poll(api, task_id)
    assert (first["id"], first["status"], first["progress"]) == (task_id, "pending", 0)
    assert first["estimated_time"] == 10 and "result" not in first
    clock.now = 106.0
    assert (poll(api, task_id)["status"], poll(api, task_id)["progress"]) == ("processing", 60)
    clock.now = 110.0
    done = poll(api, task_id)
    assert done["status"] == "completed" and done["progress"] == 100
    (entry,) = done["result"]["images"]
    assert entry["expires_at"] == done["created"] + 86400
    assert len(entry["url"]) == 2
    for url in entry["url"]:
        assert url.startswith(f"{api.url}/images/files/img_")
        r = api.get(url.removeprefix(api.url.removesuffix("/v1")))
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
        assert Image.open(io.BytesIO(r.content)).size == (1536, 1024)


def test_a_request_the_api_would_refuse_becomes_a_failed_task(api_factory):
    api = api_factory(tasks=True)
    task_id = submit(api, size="12x12")
    doc = poll(api, task_id)
    assert doc["status"] == "failed" and "result" not in doc
    assert doc["error"]["code"] == "invalid_size"
    assert "12x12" in doc["error"]["message"]


def test_an_unknown_task_is_a_404(api_factory):
    api = api_factory(tasks=True)
    r = api.get("/v1/tasks/task_nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "task_not_found"


def test_without_task_mode_generations_answer_images(api: Api):
    r = api.post("/v1/images/generations", json={"prompt": "a fox"})
    assert r.status_code == 200 and r.json()["data"][0]["b64_json"]


def test_serve_command_takes_tasks_and_chat_style(cli, monkeypatch):
    seen: list[tuple[str, bool]] = []

    def interrupted(self: ImageServer, poll_interval: float = 0.5) -> None:
        seen.append((self.dialects.chat_style, self.dialects.tasks_mode))
        raise KeyboardInterrupt

    monkeypatch.setattr(ImageServer, "serve_forever", interrupted)
    r = cli("serve", "--port", "0", "--tasks", "--chat-style", "openrouter")
    assert r.code == 0, r.err
    assert seen == [("openrouter", True)]
    assert "generations answer tasks" in r.err
    bad = cli("serve", "--port", "0", "--chat-style", "midjourney")
    assert bad.code == 2 and bad.err.startswith("error: --chat-style 'midjourney'")


def test_streamed_generations_are_not_tasks(api_factory):
    api = api_factory(tasks=True)
    r = api.post("/v1/images/generations", json={"prompt": "a fox", "stream": True})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
