"""`batch --remote` split into several batches: each part sent from disk, its state written once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from easyimg.batch.manifest import MANIFEST_NAME
from easyimg.batch.prompts import item_key
from easyimg.batch.state import StateItems
from easyimg.output import DEFAULT_TEMPLATE, write_json_atomic
from easyimg.redact import register


class BatchApi:
    """OpenAI's Batch API on pytest-httpserver: numbered files and batches, every body kept."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.uploads: list[Request] = []
        self.creates: list[dict[str, Any]] = []
        httpserver.expect_request("/v1/files", method="POST").respond_with_handler(self._file)
        httpserver.expect_request("/v1/batches", method="POST").respond_with_handler(self._batch)
        self.url = httpserver.url_for("/v1")

    def _file(self, request: Request) -> Response:
        request.get_data()  # read now: the body is gone once the answer is sent
        self.uploads.append(request)
        doc = {"id": f"file-{len(self.uploads)}", "object": "file", "purpose": "batch"}
        return Response(json.dumps(doc), content_type="application/json")

    def _batch(self, request: Request) -> Response:
        self.creates.append(json.loads(request.get_data()))
        n = len(self.creates)
        doc = {
            "id": f"batch_{n}",
            "input_file_id": f"file-{n}",
            "status": "validating",
            "created_at": 100 + n,
        }
        return Response(json.dumps(doc), content_type="application/json")


def body(prompt: str, n: int = 1) -> dict[str, Any]:
    return {"model": "dall-e-2", "prompt": prompt, "n": n, "size": "256x256"}


def multipart(request: Request) -> tuple[bytes, bytes]:
    """(the purpose field, the JSONL) of an upload, checking its exact framing."""
    boundary = request.headers["Content-Type"].removeprefix("multipart/form-data; boundary=")
    data = request.get_data()
    assert "Transfer-Encoding" not in request.headers
    assert int(request.headers["Content-Length"]) == len(data)
    sep = f"--{boundary}\r\n".encode()
    head = sep + b'Content-Disposition: form-data; name="purpose"\r\n\r\n'
    assert data.startswith(head)
    purpose, _, rest = data[len(head) :].partition(b"\r\n")
    file_head = (
        sep + b'Content-Disposition: form-data; name="file"; filename="easyimg-batch.jsonl"\r\n'
        b"Content-Type: application/jsonl\r\n\r\n"
    )
    assert rest.startswith(file_head)
    tail = f"\r\n--{boundary}--\r\n".encode()
    assert rest.endswith(tail)
    return purpose, rest[len(file_head) : -len(tail)]


def jsonl(*lines: dict[str, Any]) -> bytes:
    return b"".join(
        json.dumps(x, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for x in lines
    )


def request(line: int, key: str, b: dict[str, Any]) -> dict[str, Any]:
    return {
        "custom_id": f"line-{line}-{key[:8]}",
        "method": "POST",
        "url": "/v1/images/generations",
        "body": b,
    }


def test_three_parts_send_exactly_their_lines_and_each_state_is_written_once(
    cli, httpserver: HTTPServer, tmp_path: Path, user_dir: Path
) -> None:
    api = BatchApi(httpserver)
    source = tmp_path / "p.txt"
    source.write_text("a fox\nun café\nb\nc\nd\n", encoding="utf-8")
    out = tmp_path / "out"
    # A partial item from an earlier run: the batch asks for the image it lacks.
    out.mkdir()
    (out / "had.png").write_bytes(b"x")
    key_b = item_key(body("b", 2), None)
    partial = {"key": key_b, "status": "partial", "files": ["had.png"], "line": 3}
    (out / MANIFEST_NAME).write_text(json.dumps(partial) + "\n")
    r = cli(
        "batch",
        str(source),
        "--remote",
        "-m",
        "dall-e-2",
        "-s",
        "256x256",
        "-n",
        "2",
        "-o",
        str(out),
        "--base-url",
        api.url,
        "--max-batch-lines",
        "2",
    )
    assert r.code == 0, r.err
    assert r.out.split() == ["batch_1", "batch_2", "batch_3"]

    prompts = ["a fox", "un café", "b", "c", "d"]
    keys = [item_key(body(p, 2), None) for p in prompts]
    sent = [body(p, 2) for p in prompts]
    sent[2] = body("b", 1)  # only the image it lacks
    # dall-e-2 takes n up to 10: each item is one request, two a batch.
    assert [multipart(u) for u in api.uploads] == [
        (b"batch", jsonl(request(1, keys[0], sent[0]), request(2, keys[1], sent[1]))),
        (b"batch", jsonl(request(3, keys[2], sent[2]), request(4, keys[3], sent[3]))),
        (b"batch", jsonl(request(5, keys[4], sent[4]))),
    ]
    assert [u.path for u in api.uploads] == ["/v1/files"] * 3
    metadata = [{"easyimg_source": str(source), "easyimg_items": n} for n in ("2", "2", "1")]
    assert api.creates == [
        {
            "input_file_id": f"file-{n}",
            "endpoint": "/v1/images/generations",
            "completion_window": "24h",
            "metadata": metadata[n - 1],
        }
        for n in (1, 2, 3)
    ]

    def state(n: int, lines: list[int]) -> dict[str, Any]:
        items = {}
        for line in lines:
            entry = {"line": line, "key": keys[line - 1], "name": None, "body": sent[line - 1]}
            if line == 3:
                entry["have"] = ["had.png"]
            items[f"line-{line}-{keys[line - 1][:8]}"] = entry
        return {
            "batch_id": f"batch_{n}",
            "input_file_id": f"file-{n}",
            "backend": "openai",
            "endpoint": "/v1/images/generations",
            "source": str(source),
            "directory": str(out.resolve()),
            "template": DEFAULT_TEMPLATE,
            "created_at": 100 + n,
            "items": items,
        }

    kept = next((user_dir / ".local/share").rglob("batches"))
    for n, lines in ((1, [1, 2]), (2, [3, 4]), (3, [5])):
        text = json.dumps(state(n, lines), indent=2, ensure_ascii=False) + "\n"
        assert (out / f"easyimg-batch-batch_{n}.json").read_text(encoding="utf-8") == text
        assert (kept / f"batch_{n}.json").read_text(encoding="utf-8") == text
    assert sorted(p.name for p in kept.iterdir()) == [f"batch_{n}.json" for n in (1, 2, 3)]
    manifest = [json.loads(x) for x in (out / MANIFEST_NAME).read_text().splitlines()]
    assert [(e.get("batch"), e.get("items"), e.get("requests")) for e in manifest[1:]] == [
        ("batch_1", 2, 2),
        ("batch_2", 2, 2),
        ("batch_3", 1, 1),
    ]
    # No requests file or spooled state is left beside the images.
    assert sorted(p.name for p in out.iterdir()) == [
        "easyimg-batch-batch_1.json",
        "easyimg-batch-batch_2.json",
        "easyimg-batch-batch_3.json",
        MANIFEST_NAME,
        "had.png",
    ]


def test_a_failed_upload_leaves_no_part_behind(cli, httpserver: HTTPServer, tmp_path: Path):
    api = BatchApi(httpserver)
    httpserver.clear()
    httpserver.expect_request("/v1/files", method="POST").respond_with_json(
        {"error": {"message": "file too large", "code": "too_large"}}, status=400
    )
    source = tmp_path / "p.txt"
    source.write_text("a\nb\nc\n")
    out = tmp_path / "out"
    r = cli(
        "batch",
        str(source),
        "--remote",
        "-o",
        str(out),
        "--base-url",
        api.url,
        "--max-batch-lines",
        "2",
    )
    assert r.code != 0 and "file too large" in r.err
    assert len(httpserver.log) == 1  # the second part was never written or sent
    assert list(out.iterdir()) == []


def test_easyrouter_uploads_the_requests_file_from_disk(
    cli, httpserver: HTTPServer, tmp_path: Path, user_dir: Path
) -> None:
    uploads: list[Request] = []

    def upload(request: Request) -> Response:
        request.get_data()
        uploads.append(request)
        doc = {"id": "file-1", "object": "file", "batch_id": "b1", "status": "validating"}
        return Response(json.dumps(doc), content_type="application/json")

    httpserver.expect_request("/api/image-batch-privacy", method="PUT").respond_with_json(
        {"success": True}
    )
    httpserver.expect_request("/v1/image-files", method="POST").respond_with_handler(upload)
    source = tmp_path / "p.txt"
    source.write_text("a fox\n")
    r = cli(
        "batch",
        str(source),
        "--remote",
        "--batch-api",
        "easyrouter",
        "--accept-batch-privacy",
        "-m",
        "dall-e-2",
        "-s",
        "256x256",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        httpserver.url_for("/v1"),
    )
    assert r.code == 0, r.err
    key = item_key(body("a fox"), None)
    assert [multipart(u) for u in uploads] == [
        (b"image_batch", jsonl(request(1, key, body("a fox"))))
    ]


def test_spooled_state_reads_byte_for_byte_as_the_whole_one(tmp_path: Path) -> None:
    register("sk-test-0123456789abcdef0123")
    head = {"batch_id": "b\u00e9", "created_at": None, "source": 'a "quoted"\npath'}
    items = {
        "line-1-x": {"line": 1, "body": {"prompt": "two\nlines \u2603", "n": 1}, "have": []},
        "line-2-y": {"line": 2, "body": {"prompt": "key sk-test-0123456789abcdef0123"}},
        "line-3-z": {"line": 3, "body": {}, "have": ["a.png", "b.png"]},
    }
    for chosen in ({}, {"line-1-x": items["line-1-x"]}, items):
        spool = StateItems(tmp_path)
        for cid, entry in chosen.items():
            spool.add(cid, entry)
        spool.write(head, [tmp_path / "one.json", tmp_path / "sub" / "two.json"])
        spool.discard()
        write_json_atomic(tmp_path / "whole.json", {**head, "items": chosen})
        whole = (tmp_path / "whole.json").read_bytes()
        assert (tmp_path / "one.json").read_bytes() == whole
        assert (tmp_path / "sub" / "two.json").read_bytes() == whole
        assert b"0123456789abcdef" not in whole
        assert sorted(p.name for p in tmp_path.iterdir()) == ["one.json", "sub", "whole.json"]
