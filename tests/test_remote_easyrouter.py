"""EasyRouter's Batch API (`--batch-api easyrouter`): privacy, upload, poll, fetch, variants."""

from __future__ import annotations

import base64
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from easyimg.batch import easyrouter
from easyimg.batch.manifest import MANIFEST_NAME
from easyimg.cli.common import batch_backend
from easyimg.config import Settings
from easyimg.serve.http import start_background

from .conftest import make_image

PNG = make_image("PNG", (64, 48))
ER = ("--batch-api", "easyrouter")


@pytest.fixture
def server():
    s = start_background()
    yield s
    s.close()


def prompts(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "p.txt"
    path.write_text("".join(f"{x}\n" for x in lines))
    return path


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_privacy_is_the_users_to_accept_once_per_host(cli, server, tmp_path, user_dir):
    source = prompts(tmp_path, "a fox", "a hen")
    out = tmp_path / "out"
    args = ("batch", str(source), "--remote", *ER, "-o", str(out), "--base-url", server.url)
    r = cli(*args)
    assert r.code == 3
    assert "127.0.0.1's image batches need its batch privacy terms accepted" in r.err
    assert "--accept-batch-privacy" in r.err
    assert server.dialects.batches.listing()["data"] == []  # nothing was uploaded
    assert not server.dialects.batches.accepted("")

    r = cli(*args, "--accept-batch-privacy", "--wait")
    assert r.code == 0, r.err
    assert server.dialects.batches.accepted("")
    config = tomllib.loads((user_dir / "config.toml").read_text())
    assert set(config["batch_privacy"]) == {"127.0.0.1"}
    assert "accepted the batch privacy terms for 127.0.0.1" in r.err
    assert len(r.out.splitlines()) == 2
    assert [e["status"] for e in lines_of(out / MANIFEST_NAME)] == ["submitted", "ok", "ok"]

    # Remembered: a later run needs no flag (the server still has the acceptance).
    more = prompts(tmp_path, "an owl")
    r = cli("batch", str(more), "--remote", *ER, "-o", str(out), "--base-url", server.url, "--wait")
    assert r.code == 0, r.err
    assert "accepted" not in r.err


def test_upload_poll_and_fetch_through_serve(cli, server, tmp_path, user_dir):
    (user_dir / "config.toml").write_text('[batch_privacy]\n"127.0.0.1" = "2026-12-01T00:00:00Z"\n')
    server.dialects.batches.accept("", {})
    source = tmp_path / "p.jsonl"
    source.write_text(json.dumps({"prompt": "a fox", "size": "1536x1024"}) + "\n")
    out = tmp_path / "out"
    r = cli("batch", str(source), "--remote", *ER, "-o", str(out), "--base-url", server.url)
    assert r.code == 0, r.err
    (batch_id,) = r.out.split()
    assert batch_id.startswith("imgbatch_")
    batch = server.dialects.batches.get(batch_id)
    _, data = server.files.get(batch["input_file_id"])
    (line,) = [json.loads(x) for x in data.splitlines()]
    assert line["method"] == "POST" and line["url"] == "/v1/images/generations"
    assert line["body"] == {"model": "gpt-image-2", "prompt": "a fox", "n": 1, "size": "1536x1024"}

    r = cli("batches", "fetch", batch_id, *ER, "-o", str(out), "--wait", "--base-url", server.url)
    assert r.code == 0, r.err
    (path,) = r.out.split()
    assert Path(path).parent == out
    r = cli("batches", "show", batch_id, *ER, "--base-url", server.url, "--json")
    doc = r.json
    assert doc["status"] == "completed" and doc["provider_status"] == "succeeded"
    assert doc["request_counts"] == {"total": 1, "completed": 1, "failed": 0}
    r = cli("batches", "list", *ER, "--base-url", server.url)
    header, row = r.out.splitlines()
    assert header.startswith("id\tstatus\tdone")
    assert row.split("\t")[:3] == [batch_id, "completed", "1/1"]


def test_cancel_through_serve(cli, tmp_path, user_dir):
    slow = start_background(latency=30)
    try:
        slow.dialects.batches.accept("", {})
        (user_dir / "config.toml").write_text('[batch_privacy]\n"127.0.0.1" = "x"\n')
        source = prompts(tmp_path, "a", "b")
        r = cli("batch", str(source), "--remote", *ER, "-o", str(tmp_path), "--base-url", slow.url)
        (batch_id,) = r.out.split()
        r = cli("batches", "fetch", batch_id, *ER, "-o", str(tmp_path), "--base-url", slow.url)
        assert r.code == 5 and "is in_progress" in r.err
        r = cli("batches", "cancel", batch_id, *ER, "--base-url", slow.url)
        assert r.code == 0 and r.out.split("\t")[1].strip() in ("cancelling", "cancelled")
    finally:
        slow.close()


def test_default_backend_by_host():
    assert batch_backend(Settings(base_url="https://easyrouter.io/v1")).name == "easyrouter"
    assert batch_backend(Settings(base_url="https://api.openai.com/v1")).name == "openai"
    assert batch_backend(Settings(base_url="http://127.0.0.1:9/v1")).name == "openai"
    chosen = Settings(base_url="https://easyrouter.io/v1", batch_api="openai")
    assert batch_backend(chosen).name == "openai"


def test_offline_rehearses_easyrouter_for_the_default_host(cli, tmp_path):
    source = prompts(tmp_path, "a fox")
    r = cli("batch", str(source), "--remote", "--offline", "--wait", "-o", str(tmp_path / "o"))
    assert r.code == 0, r.err
    (submitted, ok) = lines_of(tmp_path / "o" / MANIFEST_NAME)
    assert submitted["backend"] == "easyrouter" and submitted["batch"].startswith("imgbatch_")
    assert ok["status"] == "ok"


# --- the unconfirmed parts of ROUTERS.md §2a, answered by a stand-in ------------------------


class Stand:
    """An EasyRouter stand-in on pytest-httpserver, answering in the shapes a test gives.

    The output file holds one line per uploaded request, made by `line(custom_id)`.
    """

    def __init__(self, httpserver: HTTPServer, upload: Any, batch: Any, line: Any = None) -> None:
        self.uploads: list[tuple[dict[str, str], bytes]] = []
        self.upload = upload
        self.line = line
        httpserver.expect_request("/api/image-batch-privacy", method="PUT").respond_with_json(
            {"success": True}
        )
        httpserver.expect_request("/v1/image-files", method="POST").respond_with_handler(self._up)
        httpserver.expect_request("/v1/image-batches/b1", method="GET").respond_with_json(batch)
        httpserver.expect_request("/v1/files/out-1/content").respond_with_handler(self._out)

    def _up(self, request: Request) -> Response:
        self.uploads.append((dict(request.form), request.files["file"].read()))
        return Response(json.dumps(self.upload), content_type="application/json")

    def _out(self, request: Request) -> Response:
        ids = [json.loads(x)["custom_id"] for x in self.uploads[0][1].splitlines()]
        return Response("".join(json.dumps(self.line(i)) + "\n" for i in ids))


def b64(blob: bytes) -> str:
    return base64.b64encode(blob).decode()


def run(cli, httpserver, tmp_path, *extra: str) -> Any:
    source = prompts(tmp_path, "a fox")
    return cli(
        "batch",
        str(source),
        "--remote",
        "--wait",
        *ER,
        "--accept-batch-privacy",
        "--no-metadata",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        httpserver.url_for("/v1"),
        *extra,
    )


ANSWER = {"created": 1, "data": [{"b64_json": b64(PNG)}]}
COMPLETED = {"id": "b1", "status": "completed", "output_file_id": "out-1"}


@pytest.mark.parametrize(
    "upload",
    [
        {"id": "file-9", "object": "file", "purpose": "image_batch", "batch_id": "b1"},
        {"id": "b1", "status": "pending"},
        {"success": True, "data": {"id": "b1", "status": "queued"}},
        {"data": {"batch_id": "b1", "file_id": "file-9"}},
    ],
)
@pytest.mark.parametrize(
    "batch",
    [
        {**COMPLETED, "request_counts": {"total": 1, "completed": 1, "failed": 0}},
        {
            "success": True,
            "data": {
                "batch_id": "b1",
                "status": "JOB_STATE_SUCCEEDED",
                "output_file": {"id": "out-1"},
                "total": 1,
                "succeeded": 1,
            },
        },
        {"id": "b1", "status": "succeeded", "result_file_id": "out-1"},
    ],
)
def test_every_likely_answer_shape(cli, httpserver, tmp_path, upload, batch):
    line = {"response": {"status_code": 200, "body": ANSWER}}
    stand = Stand(httpserver, upload, batch, lambda cid: {"custom_id": cid, **line})
    r = run(cli, httpserver, tmp_path)
    assert r.code == 0, r.err
    (path,) = r.out.split()
    assert Path(path).read_bytes() == PNG
    form, data = stand.uploads[0]
    assert form == {"purpose": "image_batch"}
    (request,) = [json.loads(x) for x in data.splitlines()]
    assert request["url"] == "/v1/images/generations" and request["body"]["prompt"] == "a fox"


@pytest.mark.parametrize(
    "line",
    [
        {"response": {"status_code": 200, "body": ANSWER}},
        {"response": ANSWER},
        {**ANSWER, "usage": {"total_tokens": 3}},
        {"b64_json": b64(PNG)},
    ],
)
def test_output_line_shapes(cli, httpserver, tmp_path, line):
    Stand(httpserver, {"batch_id": "b1"}, COMPLETED, lambda cid: {"custom_id": cid, **line})
    r = run(cli, httpserver, tmp_path)
    assert r.code == 0, r.err
    assert Path(r.out.split()[0]).read_bytes() == PNG


def test_a_failed_line_is_an_item_error(cli, httpserver, tmp_path):
    line = {"response": {"status_code": 400, "body": {"error": {"message": "flagged"}}}}
    Stand(httpserver, {"batch_id": "b1"}, COMPLETED, lambda cid: {"custom_id": cid, **line})
    r = run(cli, httpserver, tmp_path)
    assert r.code == 4 and "flagged" in r.err


@pytest.mark.parametrize(
    ("upload", "batch", "message"),
    [
        ({"id": "file-9", "object": "file"}, {}, "POST image-files: the answer names no batch: "),
        ({"batch_id": "b1"}, {"id": "b1", "status": "mulling"}, "has no status easyimg knows: "),
        ({"batch_id": "b1"}, {"ok": True}, "the answer has no batch id: "),
    ],
)
def test_an_answer_that_fits_nothing_is_quoted(cli, httpserver, tmp_path, upload, batch, message):
    Stand(httpserver, upload, batch)
    r = run(cli, httpserver, tmp_path)
    assert r.code == 5
    assert message + json.dumps(batch or upload) in r.err


def test_privacy_refused_by_the_server_is_exit_3(cli, httpserver, tmp_path, user_dir):
    (user_dir / "config.toml").write_text('[batch_privacy]\n"localhost" = "x"\n')
    httpserver.expect_request("/v1/image-files").respond_with_json(
        {"error": {"message": "accept the privacy policy first", "code": "privacy"}}, status=403
    )
    source = prompts(tmp_path, "a fox")
    r = cli(
        "batch",
        str(source),
        "--remote",
        *ER,
        "-o",
        str(tmp_path),
        "--base-url",
        httpserver.url_for("/v1"),
    )
    assert r.code == 3 and "accept the privacy policy first" in r.err


def test_result_line_keeps_openai_lines_as_they_are():
    line = {
        "custom_id": "c",
        "response": {"status_code": 400, "body": {"error": {}}},
        "error": None,
    }
    assert easyrouter.result_line(line) == line
    assert easyrouter.result_line({"key": "k", "error": {"message": "x"}}) == {
        "custom_id": "k",
        "response": None,
        "error": {"message": "x"},
    }


def test_server_errors_in_the_quote_lose_the_bearer_token():
    assert easyrouter.quoted({"echo": "Authorization: Bearer sk-secret-123"}) == (
        '{"echo": "Authorization: Bearer …'
    )
