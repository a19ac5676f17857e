"""`batch --remote`'s upload: a streamed multipart body, and one state file copied once."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_httpserver import HTTPServer


def test_the_requests_file_is_streamed_and_the_state_written_once(
    cli, httpserver: HTTPServer, tmp_path: Path, user_dir: Path
) -> None:
    httpserver.expect_request("/v1/files", method="POST").respond_with_json({"id": "file-1"})
    httpserver.expect_request("/v1/batches", method="POST").respond_with_json(
        {"id": "batch_1", "input_file_id": "file-1", "status": "validating", "created_at": 7}
    )
    prompts = tmp_path / "p.txt"
    prompts.write_text("".join(f"prompt {i}\n" for i in range(1, 6)))
    out = tmp_path / "out"
    base = f"http://127.0.0.1:{httpserver.port}/v1"
    r = cli("batch", str(prompts), "--remote", "-m", "dall-e-2", "-o", str(out), "--base-url", base)
    assert r.code == 0, r.err
    assert r.out == "batch_1\n"

    upload = httpserver.log[0][0]
    boundary = upload.headers["Content-Type"].removeprefix("multipart/form-data; boundary=")
    assert boundary != upload.headers["Content-Type"]
    # A length known up front: the body was read from the file, not chunked.
    assert "Transfer-Encoding" not in upload.headers
    body = upload.get_data()
    assert int(upload.headers["Content-Length"]) == len(body)
    parts = body.split(f"--{boundary}".encode())
    assert parts[0] == b"" and parts[-1] == b"--\r\n"
    assert parts[1] == b'\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
    head, _, jsonl = parts[2].partition(b"\r\n\r\n")
    assert head == (
        b'\r\nContent-Disposition: form-data; name="file"; filename="easyimg-batch.jsonl"'
        b"\r\nContent-Type: application/jsonl"
    )
    lines = [json.loads(x) for x in jsonl.removesuffix(b"\r\n").decode().splitlines()]
    assert [line["body"]["prompt"] for line in lines] == [f"prompt {i}" for i in range(1, 6)]
    assert json.loads(httpserver.log[1][0].get_data())["input_file_id"] == "file-1"

    state = out / "easyimg-batch-batch_1.json"
    doc = json.loads(state.read_text())
    assert (doc["batch_id"], doc["input_file_id"], doc["created_at"]) == ("batch_1", "file-1", 7)
    assert [v["line"] for v in doc["items"].values()] == [1, 2, 3, 4, 5]
    assert list(doc["items"]) == [line["custom_id"] for line in lines]
    assert doc["items"][lines[0]["custom_id"]]["body"]["prompt"] == "prompt 1"
    copies = list((user_dir / ".local/share").rglob("batch_1.json"))
    assert [c.read_bytes() for c in copies] == [state.read_bytes()]
    # Nothing half-written is left beside the images.
    assert sorted(p.name for p in out.iterdir()) == [
        "easyimg-batch-batch_1.json",
        "easyimg-manifest.jsonl",
    ]
