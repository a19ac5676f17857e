"""`--api chat`: images from chat completions, in every answer shape of ROUTERS.md §5."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from . import serve_api
from .conftest import make_image

elsewhere, other_host = serve_api.elsewhere, serve_api.other_host  # the fixtures

KEY = "sk-chat-test-abcdefghijkl1234"
CHAT = "/v1/chat/completions"
GEMINI = "gemini-3.1-flash-image-preview"
PNG = make_image("PNG", (64, 48))
JPEG = make_image("JPEG", (40, 30))


def b64(blob: bytes) -> str:
    return base64.b64encode(blob).decode()


def markdown(blob: bytes, mime: str = "image/png") -> str:
    return f"![image](data:{mime};base64,{b64(blob)})"


def completion(message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": GEMINI,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1290, "total_tokens": 1295},
        **extra,
    }


def sse(*chunks: Any, done: bool = True) -> str:
    out = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return out + ("data: [DONE]\n\n" if done else "")


def delta(d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": GEMINI,
        "choices": [{"index": 0, "delta": d, "finish_reason": finish}],
    }


def sent(httpserver: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(req.get_data()) for req, _ in httpserver.log]


@pytest.fixture
def gen(cli, httpserver, tmp_path):
    def run(*args: str, env: dict[str, str] | None = None) -> Any:
        return cli(
            "gen",
            "a red fox",
            "-m",
            GEMINI,
            "-o",
            str(tmp_path / "out"),
            "--base-url",
            httpserver.url_for("/v1"),
            "--no-metadata",
            *args,
            env=env,
        )

    return run


def files(tmp_path: Path) -> list[Path]:
    out = tmp_path / "out"
    return sorted(out.iterdir()) if out.exists() else []


def test_new_api_form_and_markdown_answer(gen, httpserver, tmp_path):
    message = {"role": "assistant", "content": "Here is your fox.\n" + markdown(PNG)}
    httpserver.expect_request(CHAT, method="POST").respond_with_json(completion(message))
    r = gen("-s", "16:9", "--resolution", "2k", "--json", "--api-key", KEY)
    assert r.code == 0, r.err
    assert sent(httpserver) == [
        {
            "model": GEMINI,
            "stream": False,
            "messages": [{"role": "user", "content": "a red fox"}],
            "modalities": ["image", "text"],
            "extra_body": {
                "google": {"image_config": {"aspect_ratio": "16:9", "image_size": "2K"}}
            },
        }
    ]
    req = httpserver.log[0][0]
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    (path,) = files(tmp_path)
    assert path.read_bytes() == PNG
    doc = r.json
    assert doc["images"][0]["text"] == "Here is your fox."
    assert doc["images"][0]["path"] == str(path)
    assert doc["usage"] == {"input_tokens": 5, "output_tokens": 1290, "total_tokens": 1295}


def test_openrouter_form_by_profile_key_and_message_images(gen, httpserver, tmp_path, user_dir):
    (user_dir / "config.toml").write_text('[profiles.or]\nchat_style = "openrouter"\n')
    message = {
        "role": "assistant",
        "content": "A fox.",
        "images": [
            {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{b64(JPEG)}"}}
        ],
    }
    usage = {"prompt_tokens": 4, "completion_tokens": 1290, "total_tokens": 1294, "cost": 0.039}
    httpserver.expect_request(CHAT).respond_with_json(completion(message, usage=usage))
    r = gen("--profile", "or", "-s", "3:2", "--json")
    assert r.code == 0, r.err
    (body,) = sent(httpserver)
    assert body["image_config"] == {"aspect_ratio": "3:2"} and "extra_body" not in body
    (path,) = files(tmp_path)
    assert path.suffix == ".jpg" and path.read_bytes() == JPEG
    assert r.json["usage"] == {"input_tokens": 4, "output_tokens": 1290, "total_tokens": 1294}


def test_openrouter_host_is_known_by_name(cli):
    r = cli(
        "gen",
        "x",
        "-m",
        "google/gemini-2.5-flash-image",
        "--base-url",
        "https://openrouter.ai/api/v1",
        "--api-key",
        KEY,
        "--dry-run",
        "--json",
        "--resolution",
        "4K",
    )
    assert r.code == 0, r.err
    (req,) = r.json["requests"]
    assert req["url"] == "https://openrouter.ai/api/v1/chat/completions"
    assert req["body"]["image_config"] == {"image_size": "4K"}
    assert req["headers"]["Authorization"] == "Bearer sk-…1234"


def test_content_parts_with_image_url(gen, httpserver, tmp_path):
    message = {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "two foxes"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"}},
            {"type": "image_url", "image_url": f"data:image/jpeg;base64,{b64(JPEG)}"},
        ],
    }
    httpserver.expect_request(CHAT).respond_with_json(completion(message))
    r = gen("--json")
    assert r.code == 0, r.err
    assert [p.read_bytes() for p in files(tmp_path)] == [PNG, JPEG]
    assert [i["text"] for i in r.json["images"]] == ["two foxes", "two foxes"]


def test_native_gemini_inline_data(gen, httpserver, tmp_path):
    answer = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "sure"},
                        {"inlineData": {"mimeType": "image/png", "data": b64(PNG)}},
                        {"inline_data": {"mime_type": "image/jpeg", "data": b64(JPEG)}},
                    ]
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 3},
    }
    httpserver.expect_request(CHAT).respond_with_json(answer)
    r = gen()
    assert r.code == 0, r.err
    assert [p.read_bytes() for p in files(tmp_path)] == [PNG, JPEG]


def test_image_url_in_text_is_downloaded_without_the_key_elsewhere(
    gen, httpserver, tmp_path, elsewhere
):
    other = elsewhere
    other.expect_request("/f.png").respond_with_data(JPEG, content_type="image/jpeg")
    httpserver.expect_request("/own.png").respond_with_data(PNG, content_type="image/png")
    text = f"Done: ![a]({other.url_for('/f.png')}) and also {httpserver.url_for('/own.png')}"
    httpserver.expect_request(CHAT).respond_with_json(
        completion({"role": "assistant", "content": text})
    )
    r = gen("--api-key", KEY)
    assert r.code == 0, r.err
    (path,) = files(tmp_path)  # the markdown link comes first and is the only one taken
    assert path.read_bytes() == JPEG
    assert "Authorization" not in other.log[0][0].headers


def test_new_api_stream_with_the_image_split_over_deltas(gen, httpserver, tmp_path):
    big = make_image("PNG", (300, 200), (1, 2, 3))
    image = markdown(big)
    pieces = [image[i : i + 97] for i in range(0, len(image), 97)]
    body = sse(
        delta({"role": "assistant", "content": ""}),
        delta({"content": "Here "}),
        delta({"content": "it is!\n"}),
        *(delta({"content": p}) for p in pieces),
        delta({}, "stop"),
        {"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 9}},
    )
    httpserver.expect_request(CHAT).respond_with_data(body, content_type="text/event-stream")
    r = gen("--stream", "--json")
    assert r.code == 0, r.err
    assert sent(httpserver)[0]["stream"] is True
    (path,) = files(tmp_path)
    assert path.read_bytes() == big
    assert r.json["images"][0]["text"] == "Here it is!"
    assert r.json["usage"]["total_tokens"] == 11


def test_openrouter_stream_with_delta_images_and_crlf(gen, httpserver, tmp_path):
    url = f"data:image/png;base64,{b64(PNG)}"
    body = sse(
        delta({"role": "assistant", "content": "ok"}),
        delta(
            {
                "role": "assistant",
                "content": "",
                "images": [{"type": "image_url", "image_url": {"url": url}}],
            }
        ),
        {**delta({}, "stop"), "usage": {"prompt_tokens": 1, "completion_tokens": 2, "cost": 0.01}},
    ).replace("\n", "\r\n")
    httpserver.expect_request(CHAT).respond_with_data(body, content_type="text/event-stream")
    r = gen("--stream")
    assert r.code == 0, r.err
    assert [p.read_bytes() for p in files(tmp_path)] == [PNG]


def test_stream_cut_off_in_the_image_writes_nothing(gen, httpserver, tmp_path):
    half = markdown(PNG)[:200]
    body = sse(delta({"content": half}), done=False)
    httpserver.expect_request(CHAT).respond_with_data(body, content_type="text/event-stream")
    r = gen("--stream")
    assert r.code == 5
    assert "ended in the middle of an image" in r.err
    assert files(tmp_path) == []


def test_text_only_answer_is_exit_5_quoting_200_characters(gen, httpserver, tmp_path):
    text = "I cannot draw that, but here is a poem. " * 20
    httpserver.expect_request(CHAT).respond_with_json(
        completion({"role": "assistant", "content": text})
    )
    r = gen()
    assert r.code == 5
    (line,) = r.err.strip().splitlines()
    shown = " ".join(text.split())[:200]
    assert line == f"error: the model answered with text only: {shown}…"
    assert files(tmp_path) == []


def test_refusal_by_finish_reason_is_exit_4(gen, httpserver):
    answer = completion({"role": "assistant", "content": ""})
    answer["choices"][0]["finish_reason"] = "content_filter"
    httpserver.expect_request(CHAT).respond_with_json(answer)
    r = gen()
    assert r.code == 4 and "refused to draw (finish_reason content_filter)" in r.err


def test_error_object_in_a_200_answer(gen, httpserver):
    httpserver.expect_request(CHAT).respond_with_json(
        {"error": {"message": "model not found", "code": "model_not_found"}}
    )
    r = gen()
    assert r.code == 4 and "model not found" in r.err


def test_n_sends_one_request_per_image(gen, httpserver, tmp_path):
    httpserver.expect_request(CHAT).respond_with_json(
        completion({"role": "assistant", "content": markdown(PNG)})
    )
    r = gen("-n", "3")
    assert r.code == 0, r.err
    assert len(httpserver.log) == 3 and len(files(tmp_path)) == 3
    assert all("n" not in body for body in sent(httpserver))


def test_pixel_size_becomes_the_nearest_ratio_with_a_warning(gen, httpserver):
    httpserver.expect_request(CHAT).respond_with_json(
        completion({"role": "assistant", "content": markdown(PNG)})
    )
    r = gen("-s", "1900x1080")
    assert r.code == 0, r.err
    assert sent(httpserver)[0]["extra_body"]["google"]["image_config"] == {"aspect_ratio": "16:9"}
    assert "-s 1900x1080 is sent as 16:9" in r.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-q", "high"), "-q/--quality does not apply to chat image models"),
        (("-f", "webp"), "-f/--format does not apply"),
        (("-s", "7:5"), "aspect ratio '7:5' is not supported"),
        (("--resolution", "8K"), "resolution '8K' is not supported"),
        (("--api", "video"), "--api 'video': use images or chat"),
        (("--save-partials", "--stream"), "chat answers no partials"),
    ],
)
def test_bad_chat_options_are_usage_errors(gen, httpserver, args, message):
    r = gen(*args)
    assert r.code == 2 and message in r.err
    assert httpserver.log == []


def test_resolution_is_refused_on_the_images_api(cli):
    r = cli("gen", "x", "--resolution", "2K", "--offline")
    assert r.code == 2 and "--resolution is for chat image models" in r.err


def test_api_chat_for_any_model_and_api_images_for_a_gemini_id(gen, httpserver, tmp_path):
    httpserver.expect_request(CHAT).respond_with_json(
        completion({"role": "assistant", "content": markdown(PNG)})
    )
    r = gen("-m", "gpt-5-image", "--api", "chat")
    assert r.code == 0, r.err
    assert sent(httpserver)[0]["model"] == "gpt-5-image"

    def images(request: Request) -> Response:
        answer = {"created": 1, "data": [{"b64_json": b64(PNG)}]}
        return Response(json.dumps(answer), content_type="application/json")

    httpserver.expect_request("/v1/images/generations").respond_with_handler(images)
    r = gen("--api", "images", env={"EASYIMG_API": "chat"})
    assert r.code == 0, r.err
    assert httpserver.log[-1][0].path == "/v1/images/generations"


def test_config_api_key_picks_chat(gen, httpserver, user_dir):
    (user_dir / "config.toml").write_text('api = "chat"\n')
    httpserver.expect_request(CHAT).respond_with_json(
        completion({"role": "assistant", "content": markdown(PNG)})
    )
    r = gen("-m", "some-router-model")
    assert r.code == 0, r.err


def test_offline_chat_in_both_forms(cli, tmp_path, user_dir):
    r = cli("gen", "a fox", "-m", GEMINI, "--offline", "-s", "9:16", "-o", str(tmp_path), "--json")
    assert r.code == 0, r.err
    (image,) = r.json["images"]
    assert (image["width"], image["height"]) == (768, 1360)
    assert image["text"] == "Here is a 768x1360 placeholder image."
    (user_dir / "config.toml").write_text('chat_style = "openrouter"\n')
    r = cli("gen", "a fox", "-m", GEMINI, "--offline", "--stream", "-o", str(tmp_path), "--json")
    assert r.code == 0, r.err
    assert r.json["images"][0]["width"] == 1024


def test_edit_sends_the_inputs_as_data_url_parts(cli, httpserver, tmp_path):
    first, second = tmp_path / "a.png", tmp_path / "b.jpg"
    first.write_bytes(PNG)
    second.write_bytes(JPEG)
    httpserver.expect_request(CHAT).respond_with_json(
        completion({"role": "assistant", "content": markdown(PNG)})
    )
    r = cli(
        "edit",
        str(first),
        str(second),
        "-p",
        "make it blue",
        "-m",
        GEMINI,
        "-s",
        "1:1",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        httpserver.url_for("/v1"),
    )
    assert r.code == 0, r.err
    (body,) = sent(httpserver)
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "make it blue"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"}},
                {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{b64(JPEG)}"}},
            ],
        }
    ]
    assert body["extra_body"] == {"google": {"image_config": {"aspect_ratio": "1:1"}}}
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_edit_by_chat_refuses_a_mask_and_shows_inputs_by_size_in_dry_run(cli, tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(PNG)
    r = cli("edit", str(image), "-p", "x", "-m", GEMINI, "--mask", str(image), "--offline")
    assert r.code == 2 and "--mask is for the images API" in r.err
    r = cli("edit", str(image), "-p", "x", "-m", GEMINI, "--dry-run", "--json")
    assert r.code == 0, r.err
    part = r.json["requests"][0]["body"]["messages"][0]["content"][1]
    assert part["image_url"]["url"] == f"data:image/png;base64,<{len(PNG)} bytes of {image}>"


def test_offline_edit_by_chat_keeps_the_input_shape(cli, tmp_path):
    image = tmp_path / "wide.png"
    image.write_bytes(make_image("PNG", (300, 200)))
    r = cli(
        "edit",
        str(image),
        "-p",
        "blue",
        "-m",
        GEMINI,
        "--offline",
        "-o",
        str(tmp_path / "o"),
        "--json",
    )
    assert r.code == 0, r.err
    (out,) = r.json["images"]
    assert (out["width"], out["height"]) == (1248, 832)


def test_batch_sends_each_item_by_its_models_api(cli, tmp_path):
    from easyimg.serve.http import start_background

    source = tmp_path / "p.jsonl"
    source.write_text(
        json.dumps({"prompt": "a fox", "model": GEMINI, "size": "16:9"})
        + "\n"
        + json.dumps({"prompt": "a hen", "model": "gpt-image-2"})
        + "\n"
    )
    seen: list[str] = []
    server = start_background(log=seen.append)
    try:
        r = cli(
            "batch",
            str(source),
            "-o",
            str(tmp_path / "out"),
            "--base-url",
            server.url,
            "--json",
            "--resolution",
            "1K",
            "-m",
            GEMINI,
        )
        assert r.code == 2 and "--resolution is for chat image models, not gpt-image-2" in r.err
        r = cli(
            "batch", str(source), "-o", str(tmp_path / "out"), "--base-url", server.url, "--json"
        )
    finally:
        server.close()
    assert r.code == 0, r.err
    assert r.json["ok"] == 2
    paths = sorted(r.json["images"])
    assert {line.split()[2] for line in seen} == {"/v1/chat/completions", "/v1/images/generations"}
    from PIL import Image

    sizes = sorted(Image.open(p).size for p in paths)
    assert sizes == [(1024, 1024), (1360, 768)]


def test_batch_dry_run_shows_the_chat_request_and_remote_refuses_chat_items(cli, tmp_path):
    source = tmp_path / "p.txt"
    source.write_text("a fox\n")
    r = cli("batch", str(source), "-m", GEMINI, "-s", "3:4", "--dry-run", "--json")
    assert r.code == 0, r.err
    (req,) = r.json["requests"]
    assert req["url"] == "https://easyrouter.io/v1/chat/completions"
    assert req["body"]["extra_body"] == {"google": {"image_config": {"aspect_ratio": "3:4"}}}
    r = cli("batch", str(source), "-m", GEMINI, "--remote")
    assert r.code == 2 and ":1: a chat image model cannot go in a remote batch" in r.err
