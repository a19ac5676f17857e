"""`easyimg serve`'s chat completions: images as new-api and OpenRouter answer them."""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import pytest
from PIL import Image

from easyimg import aspect

from . import serve_api
from .conftest import make_image
from .serve_api import Api, sse_chunks

api, api_factory = serve_api.api, serve_api.api_factory  # the fixtures

MARKDOWN = re.compile(r"!\[image\]\((data:image/png;base64,[A-Za-z0-9+/=]+)\)")


def image_of(url: str) -> Image.Image:
    head, _, payload = url.partition(",")
    assert head == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(payload, validate=True)))


def data_url(blob: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(blob).decode()}"


def gemini(prompt: str = "a red fox", **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "gemini-3.1-flash-image-preview",
        "stream": False,
        "messages": [{"role": "user", "content": prompt}],
        "modalities": ["text", "image"],
    }
    body.update(more)
    return body


def test_new_api_answers_markdown_in_content_with_extra_body_config(api: Api):
    config = {"google": {"image_config": {"aspect_ratio": "16:9", "image_size": "2K"}}}
    r = api.post("/v1/chat/completions", json=gemini(extra_body=config))
    assert r.status_code == 200
    doc = r.json()
    assert doc["object"] == "chat.completion"
    assert doc["model"] == "gemini-3.1-flash-image-preview"
    message = doc["choices"][0]["message"]
    assert "images" not in message
    text, markdown = message["content"].split("\n")
    assert text == "Here is a 2720x1536 placeholder image."
    url = MARKDOWN.fullmatch(markdown).group(1)  # type: ignore[union-attr]
    assert image_of(url).size == aspect.pixels("16:9", "2K") == (2720, 1536)
    usage = doc["usage"]
    assert usage["completion_tokens"] == 1120 + 8  # six words of text
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert "cost" not in usage


def test_openrouter_style_by_header_with_top_level_image_config(api: Api):
    body = gemini(image_config={"aspect_ratio": "3:4", "image_size": "1K"})
    r = api.post("/v1/chat/completions", json=body, headers={"X-Easyimg-Chat-Style": "openrouter"})
    message = r.json()["choices"][0]["message"]
    assert message["content"] == "Here is a 880x1168 placeholder image."
    (item,) = message["images"]
    assert item["type"] == "image_url"
    assert image_of(item["image_url"]["url"]).size == (880, 1168)
    assert r.json()["usage"]["cost"] == 0


def test_server_wide_openrouter_style(api_factory):
    api = api_factory(chat_style="openrouter")
    message = api.post("/v1/chat/completions", json=gemini()).json()["choices"][0]["message"]
    assert image_of(message["images"][0]["image_url"]["url"]).size == (1024, 1024)
    # A request may still ask for the other style.
    r = api.post("/v1/chat/completions", json=gemini(), headers={"X-Easyimg-Chat-Style": "new-api"})
    assert MARKDOWN.search(r.json()["choices"][0]["message"]["content"])


def test_modalities_are_honoured(api: Api):
    only_image = api.post("/v1/chat/completions", json=gemini(modalities=["image"])).json()
    content = only_image["choices"][0]["message"]["content"]
    assert MARKDOWN.fullmatch(content)
    only_text = api.post("/v1/chat/completions", json=gemini(modalities=["text"])).json()
    content = only_text["choices"][0]["message"]["content"]
    assert "data:image" not in content and content.startswith("easyimg serve draws an image only")
    assert only_text["usage"]["completion_tokens"] < 100
    bad = api.post("/v1/chat/completions", json=gemini(modalities=["audio"]))
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "modalities"


def test_model_decides_without_modalities(api: Api):
    body = gemini()
    del body["modalities"]
    content = api.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    assert MARKDOWN.search(content)
    chatty = {**body, "model": "gpt-4o-mini"}
    content = api.post("/v1/chat/completions", json=chatty).json()["choices"][0]["message"][
        "content"
    ]
    assert "data:image" not in content


@pytest.mark.parametrize(
    ("extra_body", "image_config", "param"),
    [
        (
            {"google": {"imageConfig": {"aspectRatio": "16:9"}}},
            None,
            "extra_body.google.imageConfig",
        ),
        (
            {"google": {"image_config": {"aspectRatio": "16:9"}}},
            None,
            "extra_body.google.image_config.aspectRatio",
        ),
        ({"google": {"image_config": {"image_size": "2k"}}}, None, None),
        (None, {"aspect_ratio": "7:3"}, "image_config.aspect_ratio"),
        (None, {"aspect_ratio": "1:8"}, None),
    ],
)
def test_bad_image_config_is_a_400(api: Api, extra_body, image_config, param):
    body = gemini(model="gemini-3-pro-image-preview")
    if extra_body:
        body["extra_body"] = extra_body
    if image_config:
        body["image_config"] = image_config
    r = api.post("/v1/chat/completions", json=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "invalid_argument"
    if param:
        assert err["param"] == param


def test_wide_ratios_and_half_k_only_on_31_flash(api: Api):
    config = {"google": {"image_config": {"aspect_ratio": "1:8", "image_size": "0.5K"}}}
    r = api.post("/v1/chat/completions", json=gemini(extra_body=config))
    url = MARKDOWN.search(r.json()["choices"][0]["message"]["content"]).group(1)  # type: ignore[union-attr]
    assert image_of(url).size == aspect.pixels("1:8", "0.5K") == (176, 1440)


def test_edit_with_image_url_parts_keeps_the_input_shape(api: Api):
    content = [
        {"type": "text", "text": "make it blue"},
        {"type": "image_url", "image_url": {"url": data_url(make_image(size=(300, 200)))}},
    ]
    body = gemini(
        messages=[{"role": "system", "content": "x"}, {"role": "user", "content": content}]
    )
    doc = api.post("/v1/chat/completions", json=body).json()
    url = MARKDOWN.search(doc["choices"][0]["message"]["content"]).group(1)  # type: ignore[union-attr]
    assert image_of(url).size == aspect.pixels("3:2", "1K")
    assert doc["usage"]["prompt_tokens"] == 258 + 4


def test_edit_refuses_urls_it_would_have_to_fetch(api: Api):
    content = [
        {"type": "text", "text": "make it blue"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    r = api.post(
        "/v1/chat/completions", json=gemini(messages=[{"role": "user", "content": content}])
    )
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "invalid_image_url" and "fetches nothing" in err["message"]
    assert err["param"] == "messages[0].content[1]"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "gemini-2.5-flash-image", "messages": []}, "messages"),
        (
            {"model": "gemini-2.5-flash-image", "messages": [{"role": "user", "content": "  "}]},
            "prompt",
        ),
    ],
)
def test_malformed_chat_requests(api: Api, body, param):
    r = api.post("/v1/chat/completions", json=body)
    assert r.status_code == 400 and r.json()["error"]["param"] == param


def test_unknown_style_header_is_a_400(api: Api):
    r = api.post("/v1/chat/completions", json=gemini(), headers={"X-Easyimg-Chat-Style": "mj"})
    assert r.status_code == 400


def test_stream_new_api_sends_markdown_in_delta_content(api: Api):
    r = api.post("/v1/chat/completions", json=gemini(stream=True))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/event-stream")
    chunks, done = sse_chunks(r.content)
    assert done
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text.startswith("Here is a 1024x1024 placeholder image.\n![image](")
    assert image_of(MARKDOWN.search(text).group(1)).size == (1024, 1024)  # type: ignore[union-attr]
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 1000


def test_stream_openrouter_sends_delta_images(api: Api):
    r = api.post(
        "/v1/chat/completions",
        json=gemini(stream=True, modalities=["image"]),
        headers={"X-Easyimg-Chat-Style": "openrouter"},
    )
    chunks, done = sse_chunks(r.content)
    assert done
    images = [
        img for c in chunks if c["choices"] for img in c["choices"][0]["delta"].get("images", [])
    ]
    assert len(images) == 1
    assert image_of(images[0]["image_url"]["url"]).size == (1024, 1024)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["cost"] == 0


def test_chat_requests_are_json(api: Api):
    r = api.post("/v1/chat/completions", data=b"not json", headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and json.loads(r.content)["error"]["code"] == "invalid_json"
