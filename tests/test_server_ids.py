"""Ids a server chooses (batch ids, custom ids) never pick where files go."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from easyimg.output import id_name

from .conftest import make_image


class HostileBatchAPI:
    """A Batch API whose batch, file and custom ids are paths."""

    def __init__(self, batch_id: str) -> None:
        self.batch_id = batch_id

    def batch(self) -> dict:
        return {
            "id": self.batch_id,
            "object": "batch",
            "status": "completed",
            "endpoint": "/v1/images/generations",
            "input_file_id": "../../input",
            "output_file_id": "../../output",
            "error_file_id": None,
            "created_at": 1_700_000_000,
            "request_counts": {"total": 2, "completed": 2, "failed": 0},
            "metadata": {},
        }

    def __call__(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/v1/files":
            doc = {"id": "../../input", "object": "file", "purpose": "batch"}
        elif request.path.startswith("/v1/batches"):
            doc = self.batch()
        elif request.path.endswith("/content"):
            png = base64.b64encode(make_image()).decode()
            lines = [
                {
                    "custom_id": cid,
                    "response": {"status_code": 200, "body": {"data": [{"b64_json": png}]}},
                }
                for cid in ("../../../owned", "/tmp/owned-too")
            ]
            return Response("".join(json.dumps(x) + "\n" for x in lines))
        else:
            return Response("{}", status=404)
        return Response(json.dumps(doc), content_type="application/json")


def files_under(*roots: Path) -> set[Path]:
    return {p for root in roots for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("kind", ["relative", "absolute", "dots"])
def test_hostile_ids_stay_in_the_output_and_state_folders(
    cli, httpserver: HTTPServer, tmp_path, user_dir, kind
):
    batch_id = {
        "relative": "../../../escaped",
        "absolute": str(tmp_path / "escaped-absolute"),
        "dots": "....",
    }[kind]
    httpserver.expect_request(re.compile("/v1/.*")).respond_with_handler(HostileBatchAPI(batch_id))
    work = tmp_path / "work"
    out = work / "out"
    state = user_dir / ".local/share/easyimg/batches"
    work.mkdir()
    prompts = work / "p.txt"
    prompts.write_text("a cat\n")
    before = files_under(tmp_path, user_dir)
    base = ("--base-url", httpserver.url_for("/v1"))
    r = cli("batch", str(prompts), "--remote", "-o", str(out), *base)
    assert r.code == 0, r.err
    assert r.out == f"{batch_id}\n"
    r = cli("batches", "fetch", batch_id, "-o", str(out), *base)
    assert r.code == 0, r.err

    new = files_under(tmp_path, user_dir) - before
    assert new, "something was written"
    history = {user_dir / "history.jsonl", user_dir / "history.jsonl.summary.json"}
    for path in new - history:
        assert path.parent in (out, state), path
    stem = id_name(batch_id)
    assert (out / f"easyimg-batch-{stem}.json").is_file()
    assert (state / f"{stem}.json").is_file()
    assert sorted(p.name for p in out.glob("*.png")) == ["owned.png", "tmp-owned-too.png"]
    assert not (tmp_path / "escaped-absolute.json").exists()


@pytest.mark.parametrize(
    ("server_id", "name"),
    [
        ("batch_abc123", "batch_abc123"),
        ("../../x", "x"),
        ("/x", "x"),
        ("..", "id"),
        ("a/../../b", "a-.-.-b"),
        ("C:\\windows\\x", "C--windows-x"),
        ("NUL", "_NUL"),
        ("line\n1", "line1"),
    ],
)
def test_id_name_is_a_plain_name(server_id, name):
    assert id_name(server_id) == name
    assert "/" not in name and "\\" not in name and name not in ("", ".", "..")
