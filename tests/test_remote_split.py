"""A remote run past one batch's limits becomes several batches, fetched as one run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from easyimg.batch.manifest import MANIFEST_NAME
from easyimg.batch.prompts import Item
from easyimg.batch.remote import _parts, request_lines
from easyimg.serve.http import ImageServer, start_background


@pytest.fixture
def server():
    s = start_background()
    yield s
    s.close()


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def uploaded(server: ImageServer, batch_id: str) -> list[dict[str, Any]]:
    _, data = server.files.get(server.batches.get(batch_id)["input_file_id"])
    return [json.loads(x) for x in data.decode().splitlines()]


def submit(cli, server, tmp_path, text: str, *extra: str) -> Any:
    source = tmp_path / "p.txt"
    source.write_text(text)
    return cli(
        "batch",
        str(source),
        "--remote",
        "-s",
        "square",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        server.url,
        "--max-batch-lines",
        "2",
        *extra,
    )


def test_five_prompts_at_two_a_batch_make_three_batches(cli, server, tmp_path):
    r = submit(cli, server, tmp_path, "a\nb\nc\nd\ne\n")
    assert r.code == 0, r.err
    ids = r.out.split()
    assert len(ids) == 3
    assert f"submitted 5 items (5 requests) as 3 batches ({', '.join(ids)})" in r.err
    assert [[x["body"]["prompt"] for x in uploaded(server, i)] for i in ids] == [
        ["a", "b"],
        ["c", "d"],
        ["e"],
    ]
    out = tmp_path / "out"
    submitted = lines_of(out / MANIFEST_NAME)
    assert [(e["status"], e["batch"], e["items"]) for e in submitted] == [
        ("submitted", ids[0], 2),
        ("submitted", ids[1], 2),
        ("submitted", ids[2], 1),
    ]
    assert all((out / f"easyimg-batch-{i}.json").exists() for i in ids)

    r = cli("batches", "fetch", str(out), "--wait", "--base-url", server.url, "--json")
    assert r.code == 0, r.err
    doc = r.json
    assert (doc["total"], doc["ok"], doc["failed"]) == (5, 5, 0)
    assert doc["batch"] == ", ".join(ids)
    assert len(doc["images"]) == 5 and all(Path(p).parent == out for p in doc["images"])
    again = cli("batches", "fetch", str(out), "--base-url", server.url, "--json")
    assert again.code == 0 and again.json["skipped"] == 5 and again.json["images"] == []


def test_wait_fetches_every_batch_and_an_item_keeps_its_parts_together(cli, server, tmp_path):
    r = submit(
        cli, server, tmp_path, "a\nb\n", "-m", "dall-e-3", "-s", "1024x1024", "-n", "2", "--wait"
    )
    assert r.code == 0, r.err
    assert len(r.out.split()) == 4
    batches = [e for e in lines_of(tmp_path / "out" / MANIFEST_NAME) if e["status"] == "submitted"]
    # Two requests an item (dall-e-3 makes one image a request), two allowed a batch.
    assert [(e["items"], e["requests"]) for e in batches] == [(1, 2), (1, 2)]


def test_fetch_of_a_directory_without_batches_is_a_usage_error(cli, tmp_path):
    r = cli("batches", "fetch", str(tmp_path), "--base-url", "http://127.0.0.1:9/v1")
    assert r.code == 2 and "no batches were submitted from here" in r.err


def test_max_batch_lines_needs_remote(cli, tmp_path):
    source = tmp_path / "p.txt"
    source.write_text("a\n")
    r = cli("batch", str(source), "--max-batch-lines", "2", "--offline")
    assert r.code == 2 and "--max-batch-lines goes with --remote" in r.err


def test_the_byte_limit_splits_too(tmp_path):
    items = [
        Item(i, {"model": "m", "prompt": "x" * 100, "n": 1}, None, f"{i:064x}", 1) for i in range(5)
    ]
    one = len(next(request_lines(items[:1]))[1]) + 1
    limit = one * 5 // 2
    sizes = []
    for part in _parts(items, tmp_path, "/v1/images/generations", 50_000, limit):
        sizes.append((len(part.items), part.size, len(part.path.read_bytes().splitlines())))
        part.path.unlink()
    assert [s[0] for s in sizes] == [2, 2, 1]
    assert all(size <= limit for _, size, _ in sizes)
    assert list(tmp_path.iterdir()) == []


def test_a_batch_that_cannot_start_names_the_ones_that_did(cli, httpserver: HTTPServer, tmp_path):
    httpserver.expect_request("/v1/files", method="POST").respond_with_json(
        {"id": "file-1", "object": "file"}
    )
    answers = iter(
        [
            ({"id": "batch_1", "status": "validating", "created_at": 1}, 200),
            ({"error": {"message": "too many batches", "code": "limit"}}, 400),
        ]
    )

    def create(request: Any) -> Any:
        from werkzeug import Response

        doc, status = next(answers)
        return Response(json.dumps(doc), status=status, content_type="application/json")

    httpserver.expect_request("/v1/batches", method="POST").respond_with_handler(create)
    source = tmp_path / "p.txt"
    source.write_text("a\nb\nc\n")
    r = cli(
        "batch",
        str(source),
        "--remote",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        httpserver.url_for("/v1"),
        "--max-batch-lines",
        "2",
    )
    assert r.code == 4
    assert "too many batches" in r.err
    assert f"after submitting batch_1: `easyimg batches fetch {tmp_path / 'out'}`" in r.err
    (entry,) = lines_of(tmp_path / "out" / MANIFEST_NAME)
    assert entry["batch"] == "batch_1"
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.endswith(".part")] == []
