"""The 2026 image API from the command line: svg, gif, new fields, checks and sharper errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from pytest_httpserver import HTTPServer

from .conftest import images_answer, make_image
from .sdk_check import check_generate
from .test_output_2026 import SVG, signed_png

GEN = "/v1/images/generations"
V26 = "gpt-image-2.6-flare"


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/v1")


def sent(httpserver: HTTPServer) -> list[dict]:
    return [json.loads(req.get_data()) for req, _ in httpserver.log]


def history(user_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (user_dir / "history.jsonl").read_text().splitlines()]


def test_svg_is_written_with_its_sidecar_and_answer(cli, httpserver, tmp_path, user_dir):
    answer = images_answer(
        SVG,
        usage={"input_tokens": 5, "output_tokens": 9, "total_tokens": 14},
        output_format="svg",
        size="1024x576",
        quality="high",
        background="opaque",
        svg={"model": "gpt-5.5"},
        svg_usage={
            "input_tokens": 3,
            "model": "gpt-5.5",
            "output_tokens": 40,
            "reasoning_tokens": 7,
            "total_tokens": 43,
        },
    )
    answer["data"][0]["generation_id"] = "gen_abc"
    httpserver.expect_request(GEN).respond_with_json(answer)
    r = cli(
        "gen",
        "a logo",
        "-m",
        V26,
        "-f",
        "svg",
        "--complexity",
        "low",
        "-o",
        str(tmp_path),
        "--json",
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    (body,) = sent(httpserver)
    assert body == {
        "model": V26,
        "prompt": "a logo",
        "n": 1,
        "output_format": "svg",
        "complexity": "low",
    }
    check_generate(body)
    doc = r.json
    (image,) = doc["images"]
    path = Path(image["path"])
    assert path.suffix == ".svg" and path.read_bytes() == SVG
    assert (image["format"], image["width"], image["height"]) == ("svg", 640, 360)
    assert image["generation_id"] == "gen_abc" and image["c2pa"] is False
    assert doc["answer"] == {
        "size": "1024x576",
        "quality": "high",
        "output_format": "svg",
        "background": "opaque",
        "svg": {"model": "gpt-5.5"},
    }
    assert doc["svg_usage"]["reasoning_tokens"] == 7
    # No text chunks in SVG: the metadata goes to a sidecar, written without --sidecar.
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["request"]["body"] == body
    assert side["response"]["svg_usage"]["total_tokens"] == 43
    assert side["response"]["data"] == [{"generation_id": "gen_abc"}]
    (entry,) = history(user_dir)
    assert entry["answer"]["svg"] == {"model": "gpt-5.5"}
    assert entry["answer"]["svg_usage"]["output_tokens"] == 40
    assert entry["answer"]["generation_ids"] == ["gen_abc"]


def test_svg_asks_one_image_a_request(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(SVG))
    r = cli(
        "gen",
        "x",
        "-m",
        V26,
        "-f",
        "svg",
        "-n",
        "3",
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    assert [b["n"] for b in sent(httpserver)] == [1, 1, 1]
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json"] * 3 + [".svg"] * 3


def test_gif_body_and_frames_offline(cli, httpserver, tmp_path):
    gif = make_image("GIF", (64, 64))
    httpserver.expect_request(GEN).respond_with_json(images_answer(gif))
    args = (
        "gen",
        "a ball",
        "-m",
        V26,
        "-f",
        "gif",
        "--frames",
        "5",
        "--frame-ms",
        "120",
        "-s",
        "square",
    )
    r = cli(*args, "-o", str(tmp_path / "a"), "--base-url", base(httpserver))
    assert r.code == 0, r.err
    (body,) = sent(httpserver)
    assert body == {
        "model": V26,
        "prompt": "a ball",
        "n": 1,
        "size": "960x960",  # square, as a gif frame
        "output_format": "gif",
        "frame_count": 5,
        "frame_duration_ms": 120,
    }
    check_generate(body)
    r = cli(*args, "-s", "320x320", "-o", str(tmp_path / "b"), "--offline", "--json")
    assert r.code == 0, r.err
    (image,) = r.json["images"]
    with Image.open(image["path"]) as im:
        assert (im.format, im.size, im.n_frames, im.info["duration"]) == ("GIF", (320, 320), 5, 120)


def test_new_fields_are_sent_only_when_set(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli(
        "gen",
        "x",
        "--safety-id",
        "h-9f1",
        "--user",
        "u-1",
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    r = cli("gen", "x", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 0, r.err
    first, second = sent(httpserver)
    assert first == {
        "model": "gpt-image-2",
        "prompt": "x",
        "n": 1,
        "user": "u-1",
        "safety_identifier": "h-9f1",
    }
    check_generate(first)
    assert second == {"model": "gpt-image-2", "prompt": "x", "n": 1}


def test_user_help_says_deprecated():
    # docs/cli.md is generated from the CLI's help (a test keeps it fresh).
    doc = (Path(__file__).parents[1] / "docs" / "cli.md").read_text()
    assert "| `--user ID` | deprecated: use --safety-id; end-user id sent as `user` |" in doc


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--frames", "4"), "error: --frames needs -f gif"),
        (("--frame-ms", "50", "-f", "png"), "error: --frame-ms needs -f gif"),
        (
            ("-m", V26, "-f", "gif", "--stream"),
            "error: gif output cannot be combined with streaming",
        ),
        (
            ("-m", V26, "-f", "gif", "--stream", "--partial-images", "2"),
            "error: gif output cannot be combined with streaming",
        ),
        (
            ("-m", V26, "-f", "gif", "--compression", "50"),
            "error: gif output cannot be combined with output_compression",
        ),
        (("-m", V26, "-f", "gif", "--frames", "17"), "error: frame_count must be 2-16, not 17"),
        (("-m", V26, "-f", "gif", "--frames", "1"), "error: frame_count must be 2-16, not 1"),
        (
            ("-m", V26, "-f", "gif", "--frame-ms", "10"),
            "error: frame_duration_ms must be 20-2000, not 10",
        ),
        (
            ("-m", V26, "-f", "gif", "-s", "1024x1024"),
            "error: size '1024x1024' for a 9-frame gif: frames are at most 960x960 "
            "(921,600 pixels) for 2-9 frames",
        ),
        (
            (
                "-m",
                V26,
                "-f",
                "gif",
                "--frames",
                "16",
                "-s",
                "square",
                "-x",
                "x=1",
                "-s",
                "800x800",
            ),
            "error: size '800x800' for a 16-frame gif: frames are at most 720x720",
        ),
        (
            ("-f", "gif"),
            "error: output_format 'gif' is not supported by gpt-image-2; allowed: png, jpeg, webp",
        ),
        (
            ("-m", "gpt-image-2.5-flare", "-f", "gif"),
            "error: output_format 'gif' is not supported by gpt-image-2.5-flare",
        ),
        (
            ("-m", V26, "-f", "svg", "--stream"),
            "error: svg output cannot be combined with streaming",
        ),
        (
            ("--complexity", "low"),
            "error: complexity is not supported by gpt-image-2 (it is a gpt-image-2.6 field)",
        ),
        (("-m", V26, "--complexity", "max"), "error: complexity 'max' is not supported by"),
        (("-s", "512x512"), "error: size '512x512' for gpt-image-2: at least 655,360 pixels"),
        (
            ("-m", "gpt-image-1.5", "-s", "1536x864"),
            "error: size '1536x864' is not supported by gpt-image-1.5",
        ),
        (("-q", "xhigh"), "error: quality 'xhigh' is not supported by gpt-image-2"),
        (("-x", "n=3"), "error: -x n=...: n is set with -n/--count, not -x"),
        (
            ("-x", "prompt=dog"),
            "error: -x prompt=...: prompt is set with the PROMPT argument, not -x",
        ),
        (
            ("-x", "frame_count=3"),
            "error: -x frame_count=...: frame_count is set with --frames, not -x",
        ),
        (
            ("-x", "safety_identifier=a"),
            "error: -x safety_identifier=...: safety_identifier is set with --safety-id, not -x",
        ),
    ],
)
def test_refusals_before_sending(cli, httpserver, tmp_path, args, message):
    r = cli("gen", "x", *args, "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 2, r.err
    assert r.err.startswith(message), r.err
    assert len(r.err.strip().splitlines()) == 1
    assert httpserver.log == [] and list(tmp_path.iterdir()) == []


def test_router_fields_still_go_through_extra(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli(
        "gen",
        "x",
        "-x",
        "seed=7",
        "-x",
        'gif={"frame_count": 3}',
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    assert sent(httpserver)[0] == {
        "model": "gpt-image-2",
        "prompt": "x",
        "n": 1,
        "seed": 7,
        "gif": {"frame_count": 3},
    }


def test_warnings_before_sending(cli, tmp_path):
    openai = ("--base-url", "https://api.openai.com/v1", "--api-key", "sk-test-0123456789abcdef")
    r = cli("gen", "x", "-m", "gpt-image-1", "--dry-run", *openai)
    assert r.code == 0, r.err
    assert r.err.splitlines() == [
        "warning: gpt-image-1 was shut down on OpenAI on 2026-10-23; "
        "use gpt-image-2.5-sunburst or gpt-image-2.5-flare"
    ]
    r = cli("gen", "x", "-m", "gpt-image-1", "--dry-run", "--base-url", "http://127.0.0.1:9/v1")
    assert r.code == 0 and r.err == ""  # routers may still serve it
    r = cli("gen", "x", "--background", "transparent", "--dry-run", *openai)
    assert r.code == 0, r.err
    assert r.err.splitlines() == [
        "warning: background=transparent on gpt-image-2 is a preview; "
        "some relays answer it with a 400"
    ]


def test_answer_checked_against_the_request(cli, httpserver, tmp_path):
    png = make_image("PNG", (32, 32))  # RGB: no transparent pixel
    httpserver.expect_request(GEN).respond_with_json(images_answer(png, png))
    r = cli(
        "gen",
        "x",
        "-n",
        "2",
        "-f",
        "webp",
        "--background",
        "transparent",
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    warnings = [line for line in r.err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: background=transparent on gpt-image-2 is a preview; "
        "some relays answer it with a 400",
        "warning: asked for webp, got png (2 of 2 images); "
        "the server may have ignored output_format",
        "warning: asked for a transparent background, got no transparent pixel (2 of 2 images); "
        "the server may have ignored background",
    ]


def test_a_transparent_answer_passes_the_check(cli, httpserver, tmp_path):
    clear = make_image("PNG", (32, 32), (0, 0, 0, 0), "RGBA")
    httpserver.expect_request(GEN).respond_with_json(images_answer(clear))
    r = cli(
        "gen",
        "x",
        "--background",
        "transparent",
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    assert "asked for" not in r.err


def test_echoed_fields_and_token_details_are_kept(cli, httpserver, tmp_path, user_dir):
    usage = {
        "input_tokens": 5,
        "input_tokens_details": {"text_tokens": 5, "image_tokens": 0},
        "output_tokens": 100,
        "output_tokens_details": {"image_tokens": 90, "text_tokens": 10},
        "total_tokens": 105,
    }
    answer = images_answer(
        make_image(),
        usage=usage,
        size="1024x1024",
        quality="medium",
        output_format="png",
        background="opaque",
    )
    answer["data"][0]["generation_id"] = "gen_1"
    httpserver.expect_request(GEN).respond_with_json(answer)
    r = cli("gen", "x", "--json", "--sidecar", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 0, r.err
    doc = r.json
    echoed = {
        "size": "1024x1024",
        "quality": "medium",
        "output_format": "png",
        "background": "opaque",
    }
    assert doc["answer"] == echoed
    assert doc["usage"]["output_tokens_details"] == {"image_tokens": 90, "text_tokens": 10}
    assert doc["images"][0]["generation_id"] == "gen_1"
    side = json.loads(Path(doc["images"][0]["path"]).with_suffix(".json").read_text())
    assert {k: side["response"][k] for k in echoed} == echoed
    assert side["response"]["usage"]["output_tokens_details"]["text_tokens"] == 10
    assert side["response"]["data"][0]["generation_id"] == "gen_1"
    (entry,) = history(user_dir)
    assert entry["answer"] == {**echoed, "generation_ids": ["gen_1"]}
    assert entry["usage"]["output_tokens_details"]["image_tokens"] == 90


def test_a_signed_png_is_written_byte_identical(cli, httpserver, tmp_path, user_dir):
    data = signed_png()
    httpserver.expect_request(GEN).respond_with_json(images_answer(data))
    r = cli(
        "gen", "a signed cat", "--json", "-o", str(tmp_path / "a"), "--base-url", base(httpserver)
    )
    assert r.code == 0, r.err
    (image,) = r.json["images"]
    path = Path(image["path"])
    assert image["c2pa"] is True and path.read_bytes() == data
    side = json.loads(path.with_suffix(".json").read_text())  # the metadata, beside it
    assert side["request"]["body"]["prompt"] == "a signed cat"
    assert history(user_dir)[0]["answer"]["c2pa"] == [path.name]
    r = cli("gen", "x", "--no-metadata", "-o", str(tmp_path / "b"), "--base-url", base(httpserver))
    assert r.code == 0, r.err
    assert [p.suffix for p in (tmp_path / "b").iterdir()] == [".png"]


# --- error detail --------------------------------------------------------------------------------

PRISM = {
    "type": "https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY",
    "title": "Invalid request",
    "status": 422,
    "detail": "Your request is not valid and no HTTP validation response was found in the spec.",
    "validation": [
        {
            "location": ["body", "size"],
            "severity": "Error",
            "code": "enum",
            "message": "must be equal to one of the allowed values",
        },
        {
            "location": ["body"],
            "severity": "Error",
            "code": "required",
            "message": "must have required property 'prompt'",
        },
        {
            "location": ["body", "n"],
            "severity": "Error",
            "code": "maximum",
            "message": "must be <= 10",
        },
        {
            "location": ["body", "quality"],
            "severity": "Error",
            "code": "enum",
            "message": "must be one of",
        },
    ],
}
FASTAPI = {
    "detail": [
        {"loc": ["body", "images", 0, "image_url"], "msg": "Field required", "type": "missing"}
    ]
}


@pytest.mark.parametrize(
    ("status", "payload", "line"),
    [
        (
            422,
            PRISM,
            "error: 422 Unprocessable Entity: Invalid request: body.size: must be equal to one of "
            "the allowed values; body: must have required property 'prompt'; body.n: must be <= 10 "
            "(and 1 more) (request id: req_7)",
        ),
        (
            400,
            FASTAPI,
            "error: 400 Bad Request: body.images[0].image_url: Field required (request id: req_7)",
        ),
        (
            400,
            {"detail": "size must be WxH"},
            "error: 400 Bad Request: size must be WxH (request id: req_7)",
        ),
    ],
)
def test_error_lines_keep_the_servers_detail(cli, httpserver, tmp_path, status, payload, line):
    httpserver.expect_request(GEN).respond_with_json(
        payload, status=status, headers={"x-request-id": "req_7"}
    )
    r = cli("gen", "x", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 4
    assert r.err.splitlines()[0] == line
