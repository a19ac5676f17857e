"""`easyimg serve` speaks the 2026 image API: svg and gif answers, new fields, JSON edits."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from easyimg.serve import placeholder
from easyimg.serve.http import ImageServer, start_background

from .conftest import make_image

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def srv() -> Iterator[ImageServer]:
    s = start_background(port=0)
    yield s
    s.close()


def post(s: ImageServer, path: str, **kw: Any) -> requests.Response:
    return requests.post(f"{s.url}/images/{path}", timeout=10, **kw)


def blob(item: dict[str, Any]) -> bytes:
    return base64.b64decode(item["b64_json"])


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def sdk_reads(doc: dict[str, Any]) -> None:
    """The openai SDK's own answer type reads the document."""
    pytest.importorskip("openai").types.ImagesResponse.model_validate(doc)


def refused(r: requests.Response, param: str, text: str) -> None:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and text in error["message"], error


def test_svg_answer_is_a_real_svg_document(srv):
    r = post(
        srv,
        "generations",
        json={
            "model": "gpt-image-2.6-flare",
            "prompt": "a lighthouse <at> night & \x07fog",
            "output_format": "svg",
            "size": "1024x640",
            "svg": {"model": "gpt-5.5", "reasoning": {"effort": "low"}},
            "complexity": "low",
        },
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    sdk_reads(doc)
    assert doc["output_format"] == "svg" and doc["svg"] == {"model": "gpt-5.5"}
    assert doc["svg_usage"]["model"] == "gpt-5.5" and doc["svg_usage"]["output_tokens"] > 0
    (item,) = doc["data"]
    assert item["generation_id"].startswith("gen_")
    text = blob(item)
    assert text.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<svg ')
    root = ET.fromstring(text)
    assert root.tag == f"{SVG_NS}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == (
        "1024",
        "640",
        "0 0 1024 640",
    )
    assert "a lighthouse <at> night & fog" in "".join(root.itertext())


def test_gif_answer_is_animated_with_the_frames_asked_for(srv):
    r = post(
        srv,
        "generations",
        json={
            "model": "gpt-image-2.6-sunburst",
            "prompt": "a bouncing ball",
            "output_format": "gif",
            "size": "512x512",
            "frame_count": 5,
            "frame_duration_ms": 120,
        },
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    sdk_reads(doc)
    assert (doc["output_format"], doc["size"]) == ("gif", "512x512")
    with Image.open(io.BytesIO(blob(doc["data"][0]))) as im:
        assert (im.format, im.size, im.n_frames) == ("GIF", (512, 512), 5)
        assert im.info["duration"] == 120 and im.info["loop"] == 0


def test_gif_defaults_to_nine_frames_at_the_largest_frame(srv):
    r = post(
        srv,
        "generations",
        json={"model": "gpt-image-2.6-flare", "prompt": "waves", "output_format": "gif"},
    )
    assert r.status_code == 200, r.text
    with Image.open(io.BytesIO(blob(r.json()["data"][0]))) as im:
        assert (im.size, im.n_frames, im.info["duration"]) == ((960, 960), 9, 200)


def test_safety_identifier_is_echoed_and_user_stands_in(srv):
    body = {"model": "gpt-image-2", "prompt": "x", "size": "1024x640"}
    r = post(srv, "generations", json={**body, "safety_identifier": "h-7f3a", "user": "u"})
    assert r.json()["safety_identifier"] == "h-7f3a"
    r = post(srv, "generations", json={**body, "user": "u-1"})
    assert r.json()["safety_identifier"] == "u-1"
    assert "generation_id" not in r.json()["data"][0]  # a 2.6 field


@pytest.mark.parametrize(
    ("body", "param", "text"),
    [
        ({"size": "512x512"}, "size", "at least 655,360 pixels"),
        ({"output_format": "gif"}, "output_format", "'gif' is not supported by gpt-image-2;"),
        ({"complexity": "low"}, "complexity", "complexity is not supported by gpt-image-2"),
        (
            {"model": "gpt-image-2.6-flare", "output_format": "gif", "stream": True},
            "stream",
            "gif output cannot be combined with streaming",
        ),
        (
            {"model": "gpt-image-2.6-flare", "output_format": "gif", "frame_count": 17},
            "frame_count",
            "frame_count must be 2-16, not 17",
        ),
        (
            {"model": "gpt-image-2.6-flare", "output_format": "gif", "size": "1024x1024"},
            "size",
            "frames are at most 960x960",
        ),
        (
            {"model": "gpt-image-2.6-flare", "output_format": "svg", "n": 2},
            "n",
            "svg output makes one image a request",
        ),
    ],
)
def test_rules_of_the_new_fields(srv, body, param, text):
    refused(post(srv, "generations", json={"prompt": "x", **body}), param, text)


# --- JSON edits --------------------------------------------------------------------------------


def test_json_edit_with_data_urls_and_a_mask(srv):
    mask = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 32, 64))
    buf = io.BytesIO()
    mask.save(buf, "PNG")
    r = post(
        srv,
        "edits",
        json={
            "model": "gpt-image-2",
            "prompt": "paint the left side",
            "images": [
                {"image_url": data_url(make_image("PNG", (64, 64), (255, 0, 0)))},
                {"image_url": data_url(make_image("JPEG", (40, 40)), "image/jpeg")},
            ],
            "mask": {"image_url": data_url(buf.getvalue())},
            "size": "1024x1024",
        },
    )
    assert r.status_code == 200, r.text
    img = Image.open(io.BytesIO(blob(r.json()["data"][0]))).convert("RGB")
    assert img.getpixel((1000, 500)) == (255, 0, 0)  # kept where the mask is opaque
    assert img.getpixel((300, 500)) != (255, 0, 0)


def test_json_edit_with_an_uploaded_file_id(srv):
    up = requests.post(
        f"{srv.url}/files",
        data={"purpose": "vision"},
        files={"file": ("a.png", make_image("PNG", (96, 64)), "image/png")},
        timeout=10,
    )
    assert up.status_code == 200, up.text
    r = post(
        srv,
        "edits",
        json={"prompt": "a hat", "images": [{"file_id": up.json()["id"]}]},
    )
    assert r.status_code == 200, r.text
    with Image.open(io.BytesIO(blob(r.json()["data"][0]))) as im:
        assert im.size == (1536, 1024)  # "auto" follows the landscape input
    missing = post(srv, "edits", json={"prompt": "x", "images": [{"file_id": "file-nope"}]})
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "images[0]"


@pytest.mark.parametrize(
    ("ref", "text"),
    [
        (
            {"image_url": "https://example.com/cat.png"},
            "takes images as data: URLs or the ids of files uploaded to it; "
            "it fetches nothing from the network",
        ),
        ({"image_url": "data:,x", "file_id": "file-1"}, "give exactly one of image_url or file_id"),
        ({}, "give exactly one of image_url or file_id"),
        ("file-1", "give exactly one of image_url or file_id"),
    ],
)
def test_json_edit_refuses_other_references(srv, ref, text):
    refused(post(srv, "edits", json={"prompt": "x", "images": [ref]}), "images[0]", text)


def test_json_edit_refuses_a_remote_mask_too(srv):
    r = post(
        srv,
        "edits",
        json={
            "prompt": "x",
            "images": [{"image_url": data_url(make_image())}],
            "mask": {"image_url": "http://127.0.0.1:1/mask.png"},
        },
    )
    refused(r, "mask", "fetches nothing from the network")


def test_gif_edits_take_no_mask_in_json_or_multipart(srv):
    image = make_image("PNG", (64, 64))
    mask = make_image("PNG", (64, 64), (0, 0, 0, 0), "RGBA")
    body = {"model": "gpt-image-2.6-flare", "prompt": "x", "output_format": "gif"}
    r = post(
        srv,
        "edits",
        json={
            **body,
            "images": [{"image_url": data_url(image)}],
            "mask": {"image_url": data_url(mask)},
        },
    )
    refused(r, "mask", "gif output cannot be combined with a mask")
    r = post(
        srv,
        "edits",
        data={**body, "size": "512x512"},
        files={"image": ("a.png", image, "image/png"), "mask": ("m.png", mask, "image/png")},
    )
    refused(r, "mask", "gif output cannot be combined with a mask")


def test_multipart_gif_edit_reads_frame_fields_as_numbers(srv):
    r = post(
        srv,
        "edits",
        data={
            "model": "gpt-image-2.6-flare",
            "prompt": "make it snow",
            "output_format": "gif",
            "size": "512x512",
            "frame_count": "3",
            "frame_duration_ms": "50",
        },
        files={"image": ("a.png", make_image("PNG", (64, 64)), "image/png")},
    )
    assert r.status_code == 200, r.text
    with Image.open(io.BytesIO(blob(r.json()["data"][0]))) as im:
        assert (im.n_frames, im.info["duration"]) == (3, 50)


def test_url_mode_serves_svg_with_its_content_type(srv):
    # Unknown ids get generic checks only, so a router-style model may ask for url answers.
    body = {"model": "router-svg", "prompt": "x", "output_format": "svg", "response_format": "url"}
    r = post(srv, "generations", json=body)
    assert r.status_code == 200, r.text
    url = r.json()["data"][0]["url"]
    assert url.endswith(".svg")
    got = requests.get(url, timeout=10)
    assert got.headers["Content-Type"] == "image/svg+xml"
    assert ET.fromstring(got.content).tag == f"{SVG_NS}svg"


def test_svg_text_survives_any_prompt():
    text = placeholder.svg("]]> </svg> \x00\x1b \ud800 <!-- x", 320, 320, label="\x01<b>")
    root = ET.fromstring(text)
    assert "]]> </svg>" in "".join(root.itertext())
