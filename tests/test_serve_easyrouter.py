"""`easyimg serve`'s EasyRouter batches: privacy, image-files uploads, image-batches."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from PIL import Image

from . import serve_api
from .conftest import make_image
from .serve_api import Api, wait_for

api, api_factory = serve_api.api, serve_api.api_factory  # the fixtures

KEY = "sk-easyrouter-test-0123456789"


def line(custom_id: str, prompt: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/images/generations",
        "body": {"model": "gpt-image-2", "prompt": prompt, **body},
    }


def jsonl(*lines: dict[str, Any]) -> bytes:
    return "".join(json.dumps(x) + "\n" for x in lines).encode()


def upload(api: Api, data: bytes, purpose: str = "image_batch", **kw: Any) -> Any:
    return api.post(
        "/v1/image-files",
        data={"purpose": purpose},
        files={"file": ("batch.jsonl", data, "application/jsonl")},
        **kw,
    )


def accept(api: Api, **kw: Any) -> None:
    r = api.put("/api/image-batch-privacy", json={"accepted": True}, **kw)
    assert r.status_code == 200 and r.json() == {"success": True}


def finished(api: Api, batch_id: str) -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        doc = api.get(f"/v1/image-batches/{batch_id}").json()
        return doc if doc["status"] not in ("pending", "running", "cancelling") else None

    return wait_for(poll)


def content(api: Api, file_id: str) -> list[dict[str, Any]]:
    r = api.get(f"/v1/files/{file_id}/content")
    assert r.status_code == 200
    return [json.loads(x) for x in r.content.splitlines()]


def test_batch_upload_is_refused_until_privacy_is_accepted(api: Api):
    r = upload(api, jsonl(line("a", "a fox")))
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "image_batch_privacy_not_accepted"
    assert "PUT /api/image-batch-privacy" in err["message"]
    refused = api.put("/api/image-batch-privacy", json={"accepted": False})
    assert refused.status_code == 400
    assert upload(api, jsonl(line("a", "a fox"))).status_code == 403
    # The documented curl example sends {}: accepted defaults to true.
    assert api.put("/api/image-batch-privacy", json={}).json() == {"success": True}
    assert upload(api, jsonl(line("a", "a fox"))).status_code == 200


def test_acceptance_belongs_to_the_key_that_gave_it(api: Api):
    accept(api, headers={"Authorization": f"Bearer {KEY}"})
    assert upload(api, jsonl(line("a", "x"))).status_code == 403
    r = upload(api, jsonl(line("a", "x")), headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200


def test_upload_creates_the_batch_and_its_output_is_a_file(api: Api):
    accept(api)
    r = upload(
        api, jsonl(line("line-1", "a fox", size="1536x1024"), line("line-2", "x", size="9x9"))
    )
    assert r.status_code == 200
    doc = r.json()
    assert doc["id"].startswith("file-") and doc["purpose"] == "image_batch"
    assert doc["batch_id"].startswith("imgbatch_")
    batch = finished(api, doc["batch_id"])
    assert batch["status"] == "succeeded" and batch["object"] == "image_batch"
    assert batch["input_file_id"] == doc["id"]
    assert batch["request_counts"] == {"total": 2, "completed": 1, "failed": 1}
    (ok,) = content(api, batch["output_file_id"])
    assert ok["custom_id"] == "line-1" and ok["response"]["status_code"] == 200
    blob = base64.b64decode(ok["response"]["body"]["data"][0]["b64_json"])
    assert Image.open(io.BytesIO(blob)).size == (1536, 1024)
    (bad,) = content(api, batch["error_file_id"])
    assert bad["custom_id"] == "line-2" and bad["response"]["status_code"] == 400
    assert bad["response"]["body"]["error"]["code"] == "invalid_size"


def test_bare_bodies_and_vision_files_as_references(api: Api):
    accept(api)
    r = upload(api, make_image(size=(300, 200)), purpose="vision")
    assert r.status_code == 200
    vision = r.json()
    assert vision["purpose"] == "vision" and vision["id"].startswith("file-")
    body = {"model": "gpt-image-2", "prompt": "make it blue", "image_file_id": vision["id"]}
    batch_id = upload(api, jsonl(body, {"model": "gpt-image-2", "prompt": "plain"})).json()[
        "batch_id"
    ]
    batch = finished(api, batch_id)
    assert batch["request_counts"]["completed"] == 2
    lines = {x["custom_id"]: x for x in content(api, batch["output_file_id"])}
    assert set(lines) == {"request-1", "request-2"}
    # An edit of a 3:2 input at size auto follows its shape.
    blob = base64.b64decode(lines["request-1"]["response"]["body"]["data"][0]["b64_json"])
    assert Image.open(io.BytesIO(blob)).size == (1536, 1024)


def test_a_file_that_is_not_requests_fails_the_batch(api: Api):
    accept(api)
    data = b'not json\n{"custom_id": "x", "url": "/v1/chat/completions", "body": {}}\n'
    batch = finished(api, upload(api, data).json()["batch_id"])
    assert batch["status"] == "failed"
    assert [(e["line"], e["code"]) for e in batch["errors"]] == [
        (1, "invalid_json_line"),
        (2, "invalid_url"),
    ]


def test_a_deeply_nested_line_fails_the_batch_not_the_server(api: Api):
    accept(api)
    data = jsonl(line("a", "a cat")) + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    batch = finished(api, upload(api, data).json()["batch_id"])
    assert batch["status"] == "failed"
    assert [(e["line"], e["code"]) for e in batch["errors"]] == [(2, "invalid_json_line")]


@pytest.mark.parametrize(
    ("purpose", "data", "code"),
    [("batch", b"{}", "invalid_value"), ("vision", b"not an image", "invalid_image_file")],
)
def test_bad_uploads(api: Api, purpose, data, code):
    accept(api)
    r = upload(api, data, purpose=purpose)
    assert r.status_code == 400 and r.json()["error"]["code"] == code


def test_list_and_cancel(api_factory):
    api = api_factory(latency=30.0)
    accept(api)
    batch_id = upload(api, jsonl(line("a", "x"), line("b", "y"))).json()["batch_id"]
    listed = api.get("/v1/image-batches").json()
    assert listed["object"] == "list" and [b["id"] for b in listed["data"]] == [batch_id]
    r = api.post(f"/v1/image-batches/{batch_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] in ("cancelling", "cancelled")
    batch = finished(api, batch_id)
    assert batch["status"] == "cancelled" and "output_file_id" not in batch
    again = api.post(f"/v1/image-batches/{batch_id}/cancel")
    assert again.status_code == 200
    assert api.get("/v1/image-batches/imgbatch_nope").status_code == 404
