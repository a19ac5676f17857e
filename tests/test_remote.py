"""`batch --remote` and `easyimg batches` against `easyimg serve`'s /files and /batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from easyimg.api.client import Client
from easyimg.batch.manifest import MANIFEST_NAME
from easyimg.batch.openai import get_batch
from easyimg.batch.prompts import item_key
from easyimg.batch.remote import wait
from easyimg.serve.http import ImageServer, start_background


@pytest.fixture
def server():
    s = start_background()
    yield s
    s.close()


def lines_of(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def uploaded(server: ImageServer, batch_id: str) -> list[dict]:
    file_id = server.batches.get(batch_id)["input_file_id"]
    meta, data = server.files.get(file_id)
    assert meta["purpose"] == "batch"
    return [json.loads(x) for x in data.decode().splitlines()]


def write_prompts(tmp_path: Path) -> Path:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        json.dumps({"prompt": "one"})
        + "\n"
        + json.dumps({"prompt": "two", "n": 2, "model": "dall-e-3", "name": "two-{index}"})
        + "\n"
    )
    return prompts


ONE = {"model": "gpt-image-2", "prompt": "one", "n": 1, "size": "1024x1024"}
TWO = {"model": "dall-e-3", "prompt": "two", "n": 2, "size": "1024x1024"}


def test_submit_uploads_requests_and_records_the_batch(cli, server, tmp_path, user_dir):
    prompts = write_prompts(tmp_path)
    out = tmp_path / "out"
    r = cli(
        "batch", str(prompts), "--remote", "-s", "square", "-o", str(out), "--base-url", server.url
    )
    assert r.code == 0, r.err
    batch_id = r.out.strip()
    assert r.out == f"{batch_id}\n" and batch_id.startswith("batch_")
    batch = server.batches.get(batch_id)
    assert (batch["endpoint"], batch["completion_window"], batch["metadata"]) == (
        "/v1/images/generations",
        "24h",
        {"easyimg_source": str(prompts), "easyimg_items": "2"},
    )
    one, two = item_key(ONE, None), item_key(TWO, "two-{index}")
    assert uploaded(server, batch_id) == [
        {
            "custom_id": f"line-1-{one[:8]}",
            "method": "POST",
            "url": "/v1/images/generations",
            "body": ONE,
        },
        # dall-e-3 makes one image a request: the item goes out in two parts.
        {
            "custom_id": f"line-2-{two[:8]}",
            "method": "POST",
            "url": "/v1/images/generations",
            "body": {**TWO, "n": 1},
        },
        {
            "custom_id": f"line-2-{two[:8]}-2",
            "method": "POST",
            "url": "/v1/images/generations",
            "body": {**TWO, "n": 1},
        },
    ]
    state = json.loads((out / f"easyimg-batch-{batch_id}.json").read_text())
    copy = user_dir / ".local/share/easyimg/batches" / f"{batch_id}.json"
    assert json.loads(copy.read_text()) == state
    assert state["items"] == {
        f"line-1-{one[:8]}": {"line": 1, "key": one, "name": None, "body": ONE},
        f"line-2-{two[:8]}": {"line": 2, "key": two, "name": "two-{index}", "body": TWO},
    }
    (submitted,) = lines_of(out / MANIFEST_NAME)
    assert {k: v for k, v in submitted.items() if k != "time"} == {
        "status": "submitted",
        "batch": batch_id,
        "items": 2,
        "requests": 3,
        "source": str(prompts),
        "state": f"easyimg-batch-{batch_id}.json",
        "backend": "openai",
    }


def test_fetch_writes_what_a_local_run_writes_and_refetch_writes_nothing(cli, server, tmp_path):
    prompts = write_prompts(tmp_path)
    out = tmp_path / "out"
    batch_id = cli(
        "batch",
        str(prompts),
        "--remote",
        "-s",
        "square",
        "-o",
        str(out),
        "--name",
        "{slug}-{index}.{ext}",
        "--base-url",
        server.url,
    ).out.strip()
    r = cli("batches", "fetch", batch_id, "-o", str(out), "--wait", "--base-url", server.url)
    assert r.code == 0, r.err
    assert sorted(r.out.splitlines()) == [
        str(out / "one-1.png"),
        str(out / "two-1.png"),
        str(out / "two-2.png"),
    ]
    entries = [e for e in lines_of(out / MANIFEST_NAME) if e["status"] != "submitted"]
    one, two = item_key(ONE, None), item_key(TWO, "two-{index}")
    assert sorted(
        ({k: v for k, v in e.items() if k not in ("time", "usage")} for e in entries),
        key=lambda e: e["line"],
    ) == [
        {
            "line": 1,
            "key": one,
            "status": "ok",
            "files": ["one-1.png"],
            "error": None,
            "exit_code": None,
            "prompt": "one",
            "batch": batch_id,
            "custom_id": f"line-1-{one[:8]}",
        },
        {
            "line": 2,
            "key": two,
            "status": "ok",
            "files": ["two-1.png", "two-2.png"],
            "error": None,
            "exit_code": None,
            "prompt": "two",
            "batch": batch_id,
            "custom_id": f"line-2-{two[:8]}",
        },
    ]
    assert next(e for e in entries if e["line"] == 1)["usage"]["output_tokens"] > 0
    with Image.open(out / "two-2.png") as im:
        assert json.loads(im.text["parameters"]) == TWO  # type: ignore[attr-defined]
    before = sorted(p.name for p in out.iterdir())
    manifest_before = (out / MANIFEST_NAME).read_text()

    r = cli("batches", "fetch", batch_id, "-o", str(out), "--base-url", server.url, "--json")
    assert r.code == 0, r.err
    assert (r.json["skipped"], r.json["ok"], r.json["images"]) == (2, 0, [])
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / MANIFEST_NAME).read_text() == manifest_before
    # A local run of the same file finds every item done.
    served = server.requests_served
    r = cli("batch", str(prompts), "-s", "square", "-o", str(out), "--base-url", server.url)
    assert r.code == 0 and "nothing to do" in r.err
    assert server.requests_served == served
    # ...and so does another --remote submission.
    r = cli(
        "batch", str(prompts), "--remote", "-s", "square", "-o", str(out), "--base-url", server.url
    )
    assert (r.code, r.out) == (0, "")
    assert len(server.batches.listing()) == 1


def test_remote_wait_with_a_refused_item_is_exit_6(cli, server, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("fine\n")
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"prompt": "fine"}\n{"prompt": "odd", "size": "300x300"}\n')
    out = tmp_path / "out"
    r = cli(
        "batch",
        str(bad),
        "--remote",
        "--wait",
        "-m",
        "dall-e-2",
        "-s",
        "256x256",
        "--no-validate",
        "-o",
        str(out),
        "--base-url",
        server.url,
        "--json",
    )
    assert r.code == 6, r.err
    doc = r.json
    assert (doc["ok"], doc["failed"], len(doc["images"])) == (1, 1, 1)
    assert doc["batch"].startswith("batch_")
    (failure,) = doc["failures"]
    assert failure["line"] == 2 and failure["exit_code"] == 4
    assert "300x300" in failure["error"]
    assert f"error: {bad}:2: 400 Bad Request: size '300x300'" in r.err
    error_line = next(e for e in lines_of(out / MANIFEST_NAME) if e.get("line") == 2)
    assert (error_line["status"], error_line["files"]) == ("error", [])


def test_running_batch_is_not_fetched_and_can_be_cancelled(cli, tmp_path):
    slow = start_background(latency=30)
    try:
        prompts = tmp_path / "p.txt"
        prompts.write_text("a\nb\n")
        out = tmp_path / "out"
        batch_id = cli(
            "batch", str(prompts), "--remote", "-o", str(out), "--base-url", slow.url
        ).out.strip()
        r = cli("batches", "fetch", batch_id, "-o", str(out), "--base-url", slow.url)
        assert r.code == 5
        assert f"error: batch {batch_id} is " in r.err and "--wait" in r.err
        r = cli("batches", "cancel", batch_id, "--base-url", slow.url)
        assert (r.code, r.out) == (0, f"{batch_id}\tcancelling\n")
        done = wait(Client(slow.url), batch_id, sleep=lambda s: None)
        assert done["status"] == "cancelled"
        r = cli("batches", "fetch", batch_id, "-o", str(out), "--base-url", slow.url, "--json")
        # Cancelled with items missing: not everything asked for was written.
        assert r.code == 6, r.err
        assert (r.json["ok"], r.json["not_started"]) == (0, 2)
        assert "was cancelled: 2 items have no result" in r.err
    finally:
        slow.close()


def test_list_and_show(cli, server, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a\n")
    batch_id = cli(
        "batch", str(prompts), "--remote", "-o", str(tmp_path), "--base-url", server.url
    ).out.strip()
    wait(Client(server.url), batch_id, sleep=lambda s: None)
    r = cli("batches", "list", "--base-url", server.url)
    assert r.code == 0, r.err
    header, row = r.out.splitlines()
    assert header == "id\tstatus\tdone\tfailed\tcreated\tsource"
    fields = row.split("\t")
    assert fields[:4] == [batch_id, "completed", "1/1", "0"] and fields[5] == str(prompts)
    r = cli("batches", "list", "--limit", "5", "--json", "--base-url", server.url)
    assert [b["id"] for b in r.json["data"]] == [batch_id]
    r = cli("batches", "show", batch_id, "--base-url", server.url)
    assert r.code == 0, r.err
    shown = dict(line.split(":", 1) for line in r.out.splitlines())
    assert shown["status"].strip() == "completed"
    assert shown["requests"].strip() == "1 completed, 0 failed, 1 total"
    assert shown["output file"].strip() == get_batch(Client(server.url), batch_id)["output_file_id"]
    assert shown["source"].strip() == str(prompts)
    r = cli("batches", "show", "batch_nope", "--base-url", server.url)
    assert r.code == 4 and "No batch found with id 'batch_nope'" in r.err


def test_fetch_of_a_foreign_batch_names_files_by_custom_id(cli, server, tmp_path):
    client = Client(server.url)
    requests = [
        {
            "custom_id": cid,
            "method": "POST",
            "url": "/v1/images/generations",
            "body": {"model": "gpt-image-2", "prompt": cid, "n": n, "size": "1024x640"},
        }
        for cid, n in (("cat/a", 1), ("dog", 2))
    ]
    data = "".join(json.dumps(x) + "\n" for x in requests).encode()
    resp = client.request(
        "POST",
        "files",
        data={"purpose": "batch"},
        files={"file": ("in.jsonl", data, "application/jsonl")},
    )
    file_id = resp.json()["id"]
    batch_id = client.request(
        "POST",
        "batches",
        json_body={
            "input_file_id": file_id,
            "endpoint": "/v1/images/generations",
            "completion_window": "24h",
        },
    ).json()["id"]
    out = tmp_path / "out"
    r = cli("batches", "fetch", batch_id, "-o", str(out), "--wait", "--base-url", server.url)
    assert r.code == 0, r.err
    assert "files are named by custom_id" in r.err
    assert sorted(Path(p).name for p in r.out.splitlines()) == [
        "cat-a.png",
        "dog-1.png",
        "dog-2.png",
    ]
    lines = lines_of(out / MANIFEST_NAME)
    assert sorted((e["custom_id"], e["line"], e["status"]) for e in lines) == [
        ("cat/a", None, "ok"),
        ("dog", None, "ok"),
    ]


def test_offline_remote_round_trip_and_dry_run(cli, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a\nb\n")
    r = cli("batch", str(prompts), "--remote", "--dry-run", "-s", "1024x640")
    assert r.code == 0, r.err
    assert [json.loads(x)["body"]["prompt"] for x in r.out.splitlines()] == ["a", "b"]
    assert [json.loads(x)["custom_id"][:7] for x in r.out.splitlines()] == ["line-1-", "line-2-"]
    r = cli(
        "batch",
        str(prompts),
        "--remote",
        "--offline",
        "-s",
        "1024x640",
        "-o",
        str(tmp_path / "out"),
    )
    assert r.code == 2 and "needs --wait" in r.err
    r = cli(
        "batch",
        str(prompts),
        "--remote",
        "--wait",
        "--offline",
        "-s",
        "1024x640",
        "-o",
        str(tmp_path / "out"),
        "--name",
        "{slug}.{ext}",
    )
    assert r.code == 0, r.err
    assert sorted(Path(p).name for p in r.out.splitlines()) == ["a.png", "b.png"]
