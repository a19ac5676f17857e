"""Relays that answer with a task: APIMart's and TheRouter's shapes, polled until done."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from easyimg.api import images, tasks
from easyimg.api.client import Client
from easyimg.serve.http import start_background

from . import serve_api
from .conftest import make_image

elsewhere, other_host = serve_api.elsewhere, serve_api.other_host  # the fixtures

KEY = "sk-task-test-abcdefghijkl1234"
GEN = "/v1/images/generations"
PNG = make_image("PNG", (64, 48))
JPEG = make_image("JPEG", (40, 30))


def submitted(task_id: str = "task_01") -> dict[str, Any]:
    return {"code": 200, "data": [{"status": "submitted", "task_id": task_id}]}


def states(*answers: dict[str, Any]) -> Any:
    """A handler that gives one answer per poll, the last one for ever after."""
    given = iter(answers)
    last: list[dict[str, Any]] = []

    def handle(request: Request) -> Response:
        doc = next(given, None)
        if doc is None:
            doc = last[0]
        last[:] = [doc]
        return Response(json.dumps(doc), content_type="application/json")

    return handle


def apimart(status: str, **data: Any) -> dict[str, Any]:
    return {"code": 200, "data": {"id": "task_01", "status": status, **data}}


def run(cli, httpserver: HTTPServer, tmp_path: Path, *args: str) -> Any:
    return cli(
        "gen",
        "a fox",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        httpserver.url_for("/v1"),
        "--no-metadata",
        *args,
    )


def test_apimart_task_is_polled_and_its_urls_downloaded(cli, httpserver, tmp_path, elsewhere):
    other = elsewhere
    other.expect_request("/f/image_0.png").respond_with_data(PNG, content_type="image/png")
    httpserver.expect_request("/own.jpg").respond_with_data(JPEG, content_type="image/jpeg")
    httpserver.expect_request(GEN, method="POST").respond_with_json(submitted())
    result = {
        "images": [
            {"url": [other.url_for("/f/image_0.png")], "expires_at": 1763174708},
            {"url": httpserver.url_for("/own.jpg"), "expires_at": 1763174708},
        ]
    }
    httpserver.expect_request("/v1/tasks/task_01", method="GET").respond_with_handler(
        states(
            apimart("processing", progress=40),
            apimart("completed", progress=100, result=result),
        )
    )
    r = run(cli, httpserver, tmp_path, "-n", "2", "--api-key", KEY, "--json")
    assert r.code == 0, r.err
    assert "Authorization" not in other.log[0][0].headers
    files = [Path(i["path"]).read_bytes() for i in r.json["images"]]
    assert files == [PNG, JPEG]
    polls = [req for req, _ in httpserver.log if req.path == "/v1/tasks/task_01"]
    assert len(polls) == 2
    assert all(req.headers["Authorization"] == f"Bearer {KEY}" for req in polls)
    (post,) = [req for req, _ in httpserver.log if req.method == "POST"]
    assert json.loads(post.get_data()) == {"model": "gpt-image-2", "prompt": "a fox", "n": 2}


def test_therouter_job_is_polled_at_its_polling_url(cli, httpserver, tmp_path):
    job = {
        "id": "job_7",
        "object": "image_job",
        "status": "queued",
        "polling_url": httpserver.url_for("/v1/jobs/job_7"),
    }
    httpserver.expect_request(GEN).respond_with_json(job, status=202)
    httpserver.expect_request("/img.png").respond_with_data(PNG, content_type="image/png")
    httpserver.expect_request("/v1/jobs/job_7").respond_with_handler(
        states(
            {"id": "job_7", "status": "in_progress"},
            {
                "id": "job_7",
                "status": "succeeded",
                "result": {"data": [{"url": httpserver.url_for("/img.png")}]},
            },
        )
    )
    r = run(cli, httpserver, tmp_path)
    assert r.code == 0, r.err
    assert Path(r.out.strip()).read_bytes() == PNG


def test_task_poll_profile_key_and_b64_results(cli, httpserver, tmp_path, user_dir):
    (user_dir / "config.toml").write_text('[profiles.relay]\ntask_poll = "/api/status/{id}"\n')
    httpserver.expect_request(GEN).respond_with_json(submitted("t/../1"))
    done = apimart(
        "completed", result={"images": [{"b64_json": __import__("base64").b64encode(PNG).decode()}]}
    )
    httpserver.expect_request("/api/status/t/../1").respond_with_json(done)
    r = run(cli, httpserver, tmp_path, "--profile", "relay")
    assert r.code == 0, r.err
    assert Path(r.out.strip()).read_bytes() == PNG
    # The id is the relay's, so it is quoted: it cannot walk up the path.
    assert httpserver.log[-1][0].environ["REQUEST_URI"] == "/api/status/t%2F..%2F1"


def test_failed_task_is_exit_4_with_its_message(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(submitted())
    httpserver.expect_request("/v1/tasks/task_01").respond_with_json(
        apimart("failed", error={"code": "moderation", "message": "the prompt was flagged"})
    )
    r = run(cli, httpserver, tmp_path)
    assert r.code == 4
    assert "task task_01 failed: the prompt was flagged (code: moderation)" in r.err
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_timeout_bounds_the_whole_wait(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(submitted())
    httpserver.expect_request("/v1/tasks/task_01").respond_with_json(
        apimart("processing", progress=10)
    )
    r = run(cli, httpserver, tmp_path, "--timeout", "0.3")
    assert r.code == 5
    assert "task task_01 was still processing after 0.3 s" in r.err


def test_unknown_status_quotes_it(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(submitted())
    httpserver.expect_request("/v1/tasks/task_01").respond_with_json(apimart("weird"))
    r = run(cli, httpserver, tmp_path)
    assert r.code == 5 and "status 'weird'" in r.err


def test_status_and_progress_are_reported(httpserver):
    httpserver.expect_request(GEN).respond_with_json(submitted())
    httpserver.expect_request("/v1/tasks/task_01").respond_with_handler(
        states(
            apimart("processing", progress=60),
            apimart("completed", result={"images": [{"url": "https://example.invalid/x.png"}]}),
        )
    )
    seen: list[str] = []
    dialect = tasks.Dialect(images.Dialect(), on_status=seen.append)
    client = Client(httpserver.url_for("/v1"))
    items: list[dict[str, Any]] = []
    resp = dialect.send(client, {"model": "m", "prompt": "p"}, 1)
    dialect.read(resp, lambda item, meta: items.append(item))
    assert seen == ["task task_01: processing 60%", "task task_01: completed"]
    assert items == [{"url": "https://example.invalid/x.png"}]
    assert dialect.pending == set()


def test_against_serve_in_task_mode(cli, tmp_path):
    server = start_background(tasks=True)
    try:
        r = cli(
            "gen",
            "a fox",
            "-n",
            "2",
            "-s",
            "1536x1024",
            "--base-url",
            server.url,
            "-o",
            str(tmp_path),
            "--json",
        )
    finally:
        server.close()
    assert r.code == 0, r.err
    assert [(i["width"], i["height"]) for i in r.json["images"]] == [(1536, 1024)] * 2


@pytest.mark.parametrize(
    ("base", "chosen", "polling", "url"),
    [
        ("https://api.apimart.ai/v1", None, None, "https://api.apimart.ai/v1/tasks/T"),
        ("https://api.therouter.ai/v1", None, None, "https://api.therouter.ai/v1/jobs/T"),
        ("https://relay.example/v1", None, None, "https://relay.example/v1/tasks/T"),
        (
            "https://relay.example/v1",
            "tasks/{id}/fetch",
            None,
            "https://relay.example/v1/tasks/T/fetch",
        ),
        ("https://r.example/v1", None, "https://q.example/s/T", "https://q.example/s/T"),
        ("https://r.example/v1", "/x/{id}", "https://q.example/s/T", "https://r.example/x/T"),
    ],
)
def test_where_a_task_is_polled(base, chosen, polling, url):
    assert tasks.poll_path(base, chosen, tasks.Task("T", "pending", polling)) == url


@pytest.mark.parametrize(
    ("obj", "task"),
    [
        ({"status": "submitted", "task_id": "a"}, "a"),
        ({"id": "b", "status": "QUEUED"}, "b"),
        ({"data": {"task_id": "c", "status": "pending"}}, "c"),
        ({"id": "d", "status": "completed"}, None),
        ({"task_id": "e", "status": "pending", "url": "https://x/y.png"}, None),
        ({"created": 1, "usage": {}}, None),
    ],
)
def test_what_is_a_task(obj, task):
    found = tasks.task_in(obj)
    assert (found.id if found else None) == task


def test_ctrl_c_names_the_task_and_exits_130(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    server = start_background(tasks=True, latency=30)
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "easyimg",
                "gen",
                "a cat",
                "-o",
                str(tmp_path / "out"),
                "--base-url",
                server.url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "EASYIMG_HISTORY": str(tmp_path / "h.jsonl")},
        )
        deadline = time.monotonic() + 15
        while server.requests_served < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert server.requests_served >= 2  # submitted, and polled at least once
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        server.close()
    assert proc.returncode == 130
    assert stdout == ""
    (line,) = stderr.strip().splitlines()
    assert line.startswith("error: interrupted while task task_") and "still running" in line
