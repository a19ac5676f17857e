"""`easyimg serve` answers like OpenAI's image API, checked against its OpenAPI schemas."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from PIL import Image

from easyimg import models
from easyimg.serve import http as server
from easyimg.serve.http import ImageServer, Refusal, parse_multipart, start_background

from .conftest import make_image

KEY = "sk-serve-test-0123456789abcdef"
OPENAPI = Path(__file__).parent / "data" / "openai-images-batches-files.json"


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return json.loads(OPENAPI.read_text())


def check(openapi: dict[str, Any], schema: str, doc: Any) -> None:
    """Validate `doc` against components/schemas/`schema` of OpenAI's OpenAPI document."""
    root = {"$ref": f"#/components/schemas/{schema}", "components": openapi["components"]}
    jsonschema.Draft202012Validator(root).validate(doc)


@pytest.fixture(scope="module")
def srv() -> Iterator[ImageServer]:
    s = start_background(port=0)
    yield s
    s.close()


@pytest.fixture(scope="module")
def keyed() -> Iterator[ImageServer]:
    s = start_background(port=0, api_key=KEY)
    yield s
    s.close()


def gen(s: ImageServer, **body: Any) -> requests.Response:
    return requests.post(f"{s.url}/images/generations", json=body, timeout=10)


def decode(item: dict[str, Any]) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(item["b64_json"])))


def png(
    size: tuple[int, int] = (64, 64), color: tuple[int, ...] = (200, 40, 90), mode: str = "RGB"
) -> bytes:
    return make_image("PNG", size, color, mode)


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((fields["event"], json.loads(fields["data"])))
    return out


def wait_for(fn: Any, deadline: float = 5.0) -> Any:
    """Poll `fn` until it returns something truthy (bounded by a deadline, not a fixed sleep)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not reached before the deadline")


# --- generations ---------------------------------------------------------------------------


def test_generation_matches_schema_and_size(srv, openapi):
    r = gen(
        srv, prompt="a lighthouse at dusk", model="gpt-image-2", size="1536x1024", quality="medium"
    )
    assert r.status_code == 200
    assert r.headers["x-request-id"].startswith("req_")
    doc = r.json()
    check(openapi, "ImagesResponse", doc)
    assert doc["size"] == "1536x1024" and doc["quality"] == "medium"
    assert doc["background"] == "opaque" and doc["output_format"] == "png"
    # What gpt-image-2 bills for one such image (easyimg.prices).
    assert doc["usage"]["output_tokens"] == 1372
    assert doc["usage"]["input_tokens_details"] == {"text_tokens": 5, "image_tokens": 0}
    assert doc["usage"]["total_tokens"] == doc["usage"]["input_tokens"] + 1372
    img = decode(doc["data"][0])
    assert (img.format, img.size) == ("PNG", (1536, 1024))
    assert "revised_prompt" not in doc["data"][0]


@pytest.mark.parametrize(
    ("fmt", "compression", "pil"),
    [("jpeg", 60, "JPEG"), ("webp", 80, "WEBP"), ("png", None, "PNG")],
)
def test_output_format_and_arbitrary_size(srv, fmt, compression, pil):
    body: dict[str, Any] = {"prompt": "x", "size": "2048x1152", "output_format": fmt}
    if compression is not None:
        body["output_compression"] = compression
    doc = gen(srv, **body).json()
    img = decode(doc["data"][0])
    assert (img.format, img.size) == (pil, (2048, 1152))
    assert doc["output_format"] == fmt and doc["size"] == "2048x1152"


def test_auto_and_named_sizes(srv):
    assert decode(gen(srv, prompt="x", size="auto").json()["data"][0]).size == (1024, 1024)
    assert decode(gen(srv, prompt="x", size="portrait").json()["data"][0]).size == (1024, 1536)
    doc = gen(srv, prompt="x", model="flux-kontext-pro").json()
    assert decode(doc["data"][0]).size == (1024, 1024)
    assert "usage" not in doc  # unknown (router) models get the plain answer


def test_transparent_background_has_alpha(srv, openapi):
    doc = gen(srv, prompt="a sticker", background="transparent").json()
    check(openapi, "ImagesResponse", doc)
    img = decode(doc["data"][0])
    assert img.mode == "RGBA" and doc["background"] == "transparent"
    assert img.getchannel("A").getextrema() == (0, 255)
    assert img.getpixel((0, 0))[3] == 0


def test_same_request_same_bytes_and_prompts_differ(srv):
    body = {"prompt": "a red fox", "size": "1024x1024", "n": 2}
    first, second = gen(srv, **body).json(), gen(srv, **body).json()
    assert first["data"] == second["data"]
    assert first["data"][0] != first["data"][1]  # "1/2" and "2/2" tell them apart
    other = gen(srv, **{**body, "prompt": "a blue fox"}).json()
    assert other["data"][0] != first["data"][0]


def test_url_mode_serves_the_same_bytes(srv, openapi):
    body = {"prompt": "a castle", "model": "dall-e-3", "size": "1792x1024"}
    doc = gen(srv, **body).json()  # dall-e models answer with a URL unless told otherwise
    check(openapi, "ImagesResponse", doc)
    item = doc["data"][0]
    assert item["revised_prompt"].startswith("a castle")
    assert item["url"].startswith(f"{srv.url}/images/files/")
    got = requests.get(item["url"], timeout=10)
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/png"
    b64 = gen(srv, **body, response_format="b64_json").json()["data"][0]["b64_json"]
    assert got.content == base64.b64decode(b64)
    assert Image.open(io.BytesIO(got.content)).size == (1792, 1024)
    missing = requests.get(f"{srv.url}/images/files/img_nope.png", timeout=10)
    assert missing.status_code == 404
    check(openapi, "ErrorResponse", missing.json())


def test_paths_work_without_v1(srv):
    root = srv.url.removesuffix("/v1")
    assert (
        requests.post(f"{root}/images/generations", json={"prompt": "x"}, timeout=10).status_code
        == 200
    )


# --- edits and variations --------------------------------------------------------------------


def test_edit_one_image(srv, openapi):
    r = requests.post(
        f"{srv.url}/images/edits",
        timeout=10,
        files={"image": ("cat.png", png((96, 64)), "image/png")},
        data={"prompt": "add a hat", "model": "gpt-image-1.5", "n": "2"},
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    check(openapi, "ImagesResponse", doc)
    assert len(doc["data"]) == 2
    assert decode(doc["data"][0]).size == (1536, 1024)  # "auto" follows the landscape input
    assert doc["usage"]["input_tokens_details"]["image_tokens"] > 0


def test_edit_many_images_with_mask(srv):
    mask = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 32, 64))  # left half transparent: edit there only
    buf = io.BytesIO()
    mask.save(buf, "PNG")
    files = [
        ("image[]", ("a.png", png(color=(255, 0, 0)), "image/png")),
        ("image[]", ("b.jpg", make_image("JPEG", (50, 80), (0, 0, 255)), "image/jpeg")),
        ("mask", ("mask.png", buf.getvalue(), "image/png")),
    ]
    r = requests.post(
        f"{srv.url}/images/edits",
        files=files,
        timeout=10,
        data={"prompt": "paint the left side", "size": "1024x1024"},
    )
    assert r.status_code == 200, r.text
    img = decode(r.json()["data"][0]).convert("RGB")
    assert img.size == (1024, 1024)
    assert img.getpixel((1000, 500)) == (255, 0, 0)  # kept where the mask is opaque
    assert img.getpixel((300, 500)) != (255, 0, 0)


def test_edit_rejects_mask_of_another_size(srv, openapi):
    files = {
        "image": ("a.png", png((64, 64)), "image/png"),
        "mask": ("m.png", png((32, 32), mode="RGBA", color=(0, 0, 0, 0)), "image/png"),
    }
    r = requests.post(f"{srv.url}/images/edits", files=files, data={"prompt": "x"}, timeout=10)
    assert r.status_code == 400
    check(openapi, "ErrorResponse", r.json())
    assert r.json()["error"]["param"] == "mask"


def test_edit_json_body_with_data_url(srv):
    url = "data:image/png;base64," + base64.b64encode(png()).decode()
    r = requests.post(
        f"{srv.url}/images/edits",
        timeout=10,
        json={"prompt": "x", "images": [{"image_url": url}], "size": "1024x1024"},
    )
    assert r.status_code == 200, r.text
    assert decode(r.json()["data"][0]).size == (1024, 1024)


def test_variations(srv, openapi):
    r = requests.post(
        f"{srv.url}/images/variations",
        timeout=10,
        files={"image": ("a.png", png((128, 128)), "image/png")},
        data={"n": "2", "size": "256x256", "response_format": "b64_json"},
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    check(openapi, "ImagesResponse", doc)
    images = [decode(item) for item in doc["data"]]
    assert [i.size for i in images] == [(256, 256), (256, 256)]
    assert doc["data"][0] != doc["data"][1]
    bad = requests.post(
        f"{srv.url}/images/variations",
        timeout=10,
        files={"image": ("a.png", png((128, 64)), "image/png")},
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "image"


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"prompt": "x", "model": "dall-e-3", "size": "512x512"}, "size", "invalid_size"),
        ({"prompt": "x", "model": "dall-e-3", "n": 2}, "n", "invalid_n"),
        ({"prompt": "  "}, "prompt", "empty_prompt"),
        ({"model": "gpt-image-2"}, "prompt", "missing_required_parameter"),
        ({"prompt": "x", "size": "1000x1000"}, "size", "invalid_size"),
        (
            {"prompt": "x", "response_format": "url"},
            "response_format",
            "unsupported_response_format",
        ),
    ],
)
def test_rule_errors(srv, openapi, body, param, code):
    r = gen(srv, **body)
    assert r.status_code == 400
    assert r.headers["x-request-id"].startswith("req_")
    check(openapi, "ErrorResponse", r.json())
    error = r.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)


def test_invalid_json(srv, openapi):
    r = requests.post(
        f"{srv.url}/images/generations",
        data=b"{not json",
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    check(openapi, "ErrorResponse", r.json())
    assert r.json()["error"]["code"] == "invalid_json"


def test_api_key_is_required(keyed, openapi):
    url = f"{keyed.url}/images/generations"
    missing = requests.post(url, json={"prompt": "x"}, timeout=10)
    wrong = requests.post(
        url,
        json={"prompt": "x"},
        timeout=10,
        headers={"Authorization": "Bearer sk-wrong-key-000000000000"},
    )
    right = requests.post(
        url, json={"prompt": "x"}, timeout=10, headers={"Authorization": f"Bearer {KEY}"}
    )
    for r in (missing, wrong):
        assert r.status_code == 401
        check(openapi, "ErrorResponse", r.json())
        assert r.json()["error"]["code"] == "invalid_api_key"
    assert "Incorrect API key" in wrong.json()["error"]["message"]
    assert "sk-wrong-key-000000000000" not in wrong.text
    assert right.status_code == 200


def test_unknown_path_and_wrong_method(srv, openapi):
    r = requests.get(f"{srv.url}/audio/speech", timeout=10)
    assert r.status_code == 404
    check(openapi, "ErrorResponse", r.json())
    r = requests.get(f"{srv.url}/chat/completions", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    r = requests.get(f"{srv.url}/images/generations", timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    check(openapi, "ErrorResponse", r.json())


def test_models_list(srv):
    doc = requests.get(f"{srv.url}/models", timeout=10).json()
    assert doc["object"] == "list"
    ids = [m["id"] for m in doc["data"]]
    assert set(models.MODELS) <= set(ids) and "gpt-4o-mini" in ids
    assert "gemini-3.1-flash-image-preview" in ids
    keys = {"id", "object", "created", "owned_by", "supported_endpoint_types"}
    assert all(set(m) == keys for m in doc["data"])
    types = {m["id"]: m["supported_endpoint_types"] for m in doc["data"]}
    assert types["gpt-image-2"] == ["image-generation"]
    assert types["gemini-3-pro-image-preview"] == ["openai", "gemini"]
    assert types["gpt-4o-mini"] == ["openai"]


def test_log_has_one_line_per_request_and_no_key():
    logs: list[str] = []
    s = start_background(port=0, api_key=KEY, log=logs.append)
    try:
        requests.post(
            f"{s.url}/images/generations",
            json={"prompt": "x", "size": "1024x640"},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=10,
        )
    finally:
        s.close()
    [line] = logs
    assert " POST /v1/images/generations 200 1024x640 png n=1 " in line
    assert line.split()[-1].startswith("req_") and KEY not in line
    assert s.requests_served == 1


# --- streaming -------------------------------------------------------------------------------


def test_stream_generation_events(srv, openapi):
    r = gen(srv, prompt="a comet", stream=True, partial_images=2, size="1024x1536", n=2)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert "[DONE]" not in r.text
    events = sse(r.text)
    names = [name for name, _ in events]
    assert names == ["image_generation.partial_image"] * 2 + ["image_generation.completed"] + [
        "image_generation.partial_image"
    ] * 2 + ["image_generation.completed"]
    for name, event in events:
        assert event["type"] == name
        check(
            openapi,
            "ImageGenPartialImageEvent"
            if name.endswith("partial_image")
            else "ImageGenCompletedEvent",
            event,
        )
        assert decode(event).size == (1024, 1536)
    assert [e["partial_image_index"] for _, e in events[:2]] == [0, 1]
    # The final image is the one a non-streaming request gets.
    plain = gen(srv, prompt="a comet", size="1024x1536", n=2).json()
    assert events[2][1]["b64_json"] == plain["data"][0]["b64_json"]
    assert events[2][1]["usage"]["output_tokens"] > 0


def test_stream_edit_events(srv, openapi):
    r = requests.post(
        f"{srv.url}/images/edits",
        timeout=10,
        files={"image": ("a.png", png(), "image/png")},
        data={"prompt": "x", "stream": "true", "partial_images": "1"},
    )
    events = sse(r.text)
    assert [name for name, _ in events] == ["image_edit.partial_image", "image_edit.completed"]
    check(openapi, "ImageEditPartialImageEvent", events[0][1])
    check(openapi, "ImageEditCompletedEvent", events[1][1])


# --- concurrency -----------------------------------------------------------------------------


def test_requests_overlap_under_latency():
    s = start_background(port=0, latency=0.2)
    start_line = threading.Barrier(2)
    codes: list[int] = []

    def one() -> None:
        start_line.wait()
        codes.append(gen(s, prompt="x", size="1024x640").status_code)

    try:
        t0 = time.perf_counter()
        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    finally:
        s.close()
    assert codes == [200, 200]
    assert s.max_in_flight == 2  # both were being answered at once
    assert elapsed >= 0.2


# --- files and batches -----------------------------------------------------------------------


def upload(s: ImageServer, lines: list[dict[str, Any]]) -> dict[str, Any]:
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    r = requests.post(
        f"{s.url}/files",
        data={"purpose": "batch"},
        timeout=10,
        files={"file": ("in.jsonl", data, "application/jsonl")},
    )
    assert r.status_code == 200, r.text
    return r.json()


def line(custom_id: str, **body: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/images/generations", "body": body}


def create_batch(s: ImageServer, file_id: str) -> dict[str, Any]:
    r = requests.post(
        f"{s.url}/batches",
        timeout=10,
        json={
            "input_file_id": file_id,
            "endpoint": "/v1/images/generations",
            "completion_window": "24h",
            "metadata": {"run": "test"},
        },
    )
    assert r.status_code == 200, r.text
    return r.json()


def get_batch(s: ImageServer, batch_id: str) -> dict[str, Any]:
    return requests.get(f"{s.url}/batches/{batch_id}", timeout=10).json()


def test_files_and_batch_run(srv, openapi):
    meta = upload(
        srv,
        [
            line("a", prompt="one", quality="low"),
            line("b", prompt="two", model="dall-e-3", n=2),
            line("c", prompt="three", size="1536x1024", model="gpt-image-1-mini"),
        ],
    )
    check(openapi, "OpenAIFile", meta)
    assert meta["purpose"] == "batch" and meta["status"] == "processed"
    assert requests.get(f"{srv.url}/files/{meta['id']}", timeout=10).json() == meta
    batch = create_batch(srv, meta["id"])
    check(openapi, "Batch", batch)
    assert batch["status"] == "validating" and batch["metadata"] == {"run": "test"}

    done = wait_for(lambda: (b := get_batch(srv, batch["id"]))["status"] == "completed" and b)
    check(openapi, "Batch", done)
    assert done["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    assert done["usage"]["output_tokens"] > 0

    def content(file_id: str) -> list[dict[str, Any]]:
        r = requests.get(f"{srv.url}/files/{file_id}/content", timeout=10)
        return [json.loads(x) for x in r.text.splitlines()]

    outputs, failures = content(done["output_file_id"]), content(done["error_file_id"])
    assert [o["custom_id"] for o in outputs] == ["a", "c"]
    for out in outputs:
        assert out["response"]["status_code"] == 200 and out["error"] is None
        check(openapi, "ImagesResponse", out["response"]["body"])
    assert decode(outputs[1]["response"]["body"]["data"][0]).size == (1536, 1024)
    [failure] = failures
    assert failure["custom_id"] == "b" and failure["response"]["status_code"] == 400
    assert failure["response"]["body"]["error"]["param"] == "n"

    listing = requests.get(f"{srv.url}/batches", params={"limit": 1}, timeout=10).json()
    check(openapi, "ListBatchesResponse", listing)
    gone = requests.delete(f"{srv.url}/files/{meta['id']}", timeout=10).json()
    check(openapi, "DeleteFileResponse", gone)
    assert requests.get(f"{srv.url}/files/{meta['id']}", timeout=10).status_code == 404


def test_batch_with_malformed_line_fails(srv, openapi):
    bad = {**line("x", prompt="p"), "url": "/v1/chat/completions"}
    batch = create_batch(srv, upload(srv, [line("a", prompt="p"), bad])["id"])
    failed = wait_for(lambda: (b := get_batch(srv, batch["id"]))["status"] == "failed" and b)
    check(openapi, "Batch", failed)
    assert failed["errors"]["data"][0]["line"] == 2


def test_batch_cancel_stops_between_items(openapi):
    s = start_background(port=0, latency=30)  # each item would wait; cancel cuts it short
    try:
        batch = create_batch(s, upload(s, [line(str(i), prompt="p") for i in range(3)])["id"])
        r = requests.post(f"{s.url}/batches/{batch['id']}/cancel", timeout=10)
        assert r.status_code == 200 and r.json()["status"] in ("cancelling", "cancelled")
        done = wait_for(lambda: (b := get_batch(s, batch["id"]))["status"] == "cancelled" and b)
        check(openapi, "Batch", done)
        assert done["request_counts"]["completed"] == 0 and "cancelled_at" in done
        again = requests.post(f"{s.url}/batches/{batch['id']}/cancel", timeout=10)
        assert again.json()["status"] == "cancelled"
    finally:
        s.close()


def test_batch_needs_a_known_batch_file(srv):
    r = requests.post(
        f"{srv.url}/batches",
        timeout=10,
        json={
            "input_file_id": "file-nope",
            "endpoint": "/v1/images/generations",
            "completion_window": "24h",
        },
    )
    assert r.status_code == 404 and r.json()["error"]["param"] == "input_file_id"


# --- pieces ----------------------------------------------------------------------------------


def test_multipart_parser_keeps_binary_data():
    payload = b"\r\n--not-the-boundary\r\n\x00\xff"
    prepared = requests.Request(
        "POST",
        "http://x/",
        files=[("image[]", ("café.png", payload, "image/png"))],
        data={"prompt": "héllo"},
    ).prepare()
    body, content_type = prepared.body, prepared.headers["Content-Type"]
    assert isinstance(body, bytes)
    parts = parse_multipart(body, content_type)
    by_name = {p.name: p for p in parts}
    assert by_name["prompt"].data == "héllo".encode()
    assert by_name["image[]"].data == payload and by_name["image[]"].filename == "café.png"
    assert by_name["image[]"].content_type == "image/png"
    with pytest.raises(Refusal):
        parse_multipart(body[:-10], content_type)


def test_plan_and_render_without_http():
    plan = server.make_plan("generations", {"prompt": "a b c", "quality": "low"}, [], None)
    assert (plan.size, plan.quality, plan.fmt, plan.response_format) == (
        "1024x1024",
        "low",
        "png",
        "b64_json",
    )
    assert server.usage(plan)["output_tokens"] == 196
    other = server.make_plan("generations", {"prompt": "a", "model": "gpt-image-1"}, [], None)
    assert server.usage(other)["output_tokens"] == 4160  # auto is answered as high
    assert server.render(plan, 0).size == (1024, 1024)
    variation = server.make_plan("variations", {}, [png((64, 64))], None)
    assert (variation.model, variation.response_format) == ("dall-e-2", "url")


def test_ipv6_url_form():
    try:
        s = start_background("::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback")
    try:
        assert s.url == f"http://[::1]:{s.server_port}/v1"
        assert gen(s, prompt="x", size="1024x640").status_code == 200
    finally:
        s.close()


def test_close_releases_the_port():
    s = start_background(port=0)
    port = s.server_port
    s.close()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


# --- the command -----------------------------------------------------------------------------


def test_serve_command_port_taken(cli):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        r = cli("serve", "--port", str(port))
    assert r.code == 2
    assert r.err.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert r.out == ""


def test_serve_command_runs_until_ctrl_c(cli, monkeypatch):
    def interrupted(self: ImageServer, poll_interval: float = 0.5) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ImageServer, "serve_forever", interrupted)
    r = cli("serve", "--port", "0")
    assert r.code == 0, r.err
    assert r.err.startswith("easyimg serve: listening on http://127.0.0.1:")
    assert "(placeholder images; Ctrl-C to stop)" in r.err and r.out == ""
    quiet = cli("serve", "--port", "0", "--quiet")
    assert (quiet.code, quiet.out, quiet.err) == (0, "", "")
