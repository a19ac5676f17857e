"""Edits as JSON (URL and file-id inputs, local files inlined) from `edit` and `batch`."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from PIL import Image
from pytest_httpserver import HTTPServer

from .conftest import images_answer, make_image
from .sdk_check import check_edit

EDITS = "/v1/images/edits"
OPENAPI = Path(__file__).parent / "data" / "openai-images-batches-files.json"
URL = "https://example.com/cat.png"


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/v1")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def pics(tmp_path: Path) -> dict[str, Path]:
    return {
        "png": write(tmp_path / "photo.png", make_image("PNG", (64, 48))),
        "mask": write(tmp_path / "mask.png", make_image("PNG", (64, 48), (0, 0, 0, 0), "RGBA")),
    }


def data_url(path: Path, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def check_json_edit(body: dict[str, Any]) -> None:
    """`images` and `mask` by OpenAI's OpenAPI schema (the SDK sends edits as multipart only),
    the other fields by the SDK's edit params."""
    doc = json.loads(OPENAPI.read_text())
    for key, schema in (
        ("images", {"type": "array", "items": {"$ref": "#/components/schemas/ImageRefParam"}}),
        ("mask", {"$ref": "#/components/schemas/ImageRefParam"}),
    ):
        if key in body:
            jsonschema.Draft202012Validator({**schema, "components": doc["components"]}).validate(
                body[key]
            )
    check_edit(body, json_fields=("images", "mask"))


def test_url_and_file_id_inputs_send_a_json_edit(cli, httpserver, pics, tmp_path):
    httpserver.expect_request(EDITS, method="POST").respond_with_json(images_answer(make_image()))
    r = cli(
        "edit",
        URL,
        "file-abc123",
        str(pics["png"]),
        "-p",
        "add a hat",
        "--mask",
        str(pics["mask"]),
        "-q",
        "high",
        "--safety-id",
        "h-1",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    ((request, _),) = httpserver.log
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.get_data())
    assert body == {
        "model": "gpt-image-2",
        "prompt": "add a hat",
        "n": 1,
        "quality": "high",
        "safety_identifier": "h-1",
        "images": [
            {"image_url": URL},
            {"file_id": "file-abc123"},
            {"image_url": data_url(pics["png"])},
        ],
        "mask": {"image_url": data_url(pics["mask"])},
    }
    check_json_edit(body)
    # The written image's metadata says an image went inline without holding it again.
    (png,) = (tmp_path / "out").glob("*.png")
    params = json.loads(Image.open(png).text["parameters"])
    assert params["images"][2] == {
        "image_url": f"data:image/png;base64,... ({len(data_url(pics['png']))} characters)"
    }


def test_a_remote_mask_makes_it_json_too(cli, httpserver, pics, tmp_path):
    httpserver.expect_request(EDITS, method="POST").respond_with_json(images_answer(make_image()))
    r = cli(
        "edit",
        str(pics["png"]),
        "-p",
        "x",
        "--mask",
        "file-m1",
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    body = json.loads(httpserver.log[0][0].get_data())
    assert body["images"] == [{"image_url": data_url(pics["png"])}] and body["mask"] == {
        "file_id": "file-m1"
    }
    check_json_edit(body)


def test_local_files_alone_stay_multipart(cli, httpserver, pics, tmp_path):
    httpserver.expect_request(EDITS, method="POST").respond_with_json(images_answer(make_image()))
    r = cli(
        "edit", str(pics["png"]), "-p", "x", "-o", str(tmp_path), "--base-url", base(httpserver)
    )
    assert r.code == 0, r.err
    assert httpserver.log[0][0].headers["Content-Type"].startswith("multipart/form-data; boundary=")


def test_a_local_file_named_like_an_id_is_a_file(cli, httpserver, pics, tmp_path):
    write(tmp_path / "file-abc", make_image())
    httpserver.expect_request(EDITS, method="POST").respond_with_json(images_answer(make_image()))
    r = cli(
        "edit",
        "file-abc",
        "-p",
        "x",
        "-o",
        str(tmp_path / "o"),
        "--base-url",
        base(httpserver),
        cwd=tmp_path,
    )
    assert r.code == 0, r.err
    assert httpserver.log[0][0].headers["Content-Type"].startswith("multipart/")


def test_too_big_to_inline_is_refused_before_encoding(cli, httpserver, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(make_image())
    os.truncate(big, 16 * 1024 * 1024)  # sparse: a PNG header, then 16 MB
    r = cli(
        "edit", URL, str(big), "-p", "x", "-o", str(tmp_path / "o"), "--base-url", base(httpserver)
    )
    assert r.code == 2
    assert r.err == (
        f"error: {big} is 16.0 MB; inlined in a JSON edit it may be at most 15.0 MB "
        "(give a URL or a file-... id for bigger images)\n"
    )
    assert httpserver.log == []


def test_dall_e_2_takes_no_json_edit(cli, httpserver, tmp_path):
    r = cli("edit", URL, "-p", "x", "-m", "dall-e-2", "--base-url", base(httpserver))
    assert r.code == 2
    assert r.err == (
        "error: URLs and file ids are sent as a JSON edit, which dall-e-2 does not take; "
        "give it local files\n"
    )


def test_gif_edit_refuses_a_mask(cli, httpserver, pics):
    r = cli(
        "edit",
        str(pics["png"]),
        "-p",
        "x",
        "--mask",
        str(pics["mask"]),
        "-m",
        "gpt-image-2.6-flare",
        "-f",
        "gif",
        "--base-url",
        base(httpserver),
    )
    assert r.code == 2 and r.err == "error: gif output cannot be combined with a mask\n"
    r = cli(
        "edit",
        str(pics["png"]),
        "-p",
        "x",
        "--input-fidelity",
        "low",
        "--base-url",
        base(httpserver),
    )
    assert r.code == 2
    assert r.err.startswith(
        "error: input_fidelity is not supported by gpt-image-2 (it always keeps"
    )
    r = cli(
        "edit", str(pics["png"]), "-p", "x", "-x", "mask=file-1", "--base-url", base(httpserver)
    )
    assert r.code == 2 and r.err == "error: -x mask=...: mask is set with --mask, not -x\n"
    assert httpserver.log == []


def test_dry_run_shows_the_json_edit_cut_short(cli, pics):
    r = cli(
        "edit",
        URL,
        str(pics["png"]),
        "-p",
        "x",
        "--dry-run",
        "--json",
        "--base-url",
        "http://127.0.0.1:9/v1",
    )
    assert r.code == 0, r.err
    (request,) = r.json["requests"]
    assert request["url"] == "http://127.0.0.1:9/v1/images/edits"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"]["images"] == [
        {"image_url": URL},
        {"image_url": f"data:image/png;base64,... ({len(data_url(pics['png']))} characters)"},
    ]


def test_offline_server_says_it_fetches_nothing(cli, pics, tmp_path):
    r = cli("edit", URL, "-p", "x", "-o", str(tmp_path / "o"), "--offline")
    assert r.code == 4
    assert r.err.startswith(
        "error: 400 Bad Request: images[0]: easyimg serve takes images as data: URLs or the ids "
        "of files uploaded to it; it fetches nothing from the network. (code: invalid_image_url"
    )
    r = cli("edit", "file-abc", str(pics["png"]), "-p", "x", "-o", str(tmp_path / "o"), "--offline")
    assert r.code == 4 and "No such File object: file-abc" in r.err


# --- batch edit lines ----------------------------------------------------------------------------


def edit_lines(tmp_path: Path, pics: dict[str, Path]) -> Path:
    lines = [
        {"prompt": "a hat", "image": str(pics["png"]), "mask": str(pics["mask"])},
        {"prompt": "a scarf", "image": [URL, "file-abc"], "n": 2},
    ]
    path = tmp_path / "edits.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_remote_batch_edit_lines(cli, pics, tmp_path):
    r = cli("batch", str(edit_lines(tmp_path, pics)), "--remote", "--dry-run", "-q", "low")
    assert r.code == 0, r.err
    first, second = (json.loads(x) for x in r.out.splitlines())
    assert first["url"] == second["url"] == "/v1/images/edits"
    assert first["body"] == {
        "model": "gpt-image-2",
        "prompt": "a hat",
        "n": 1,
        "quality": "low",
        "images": [{"image_url": data_url(pics["png"])}],
        "mask": {"image_url": data_url(pics["mask"])},
    }
    assert second["body"]["images"] == [{"image_url": URL}, {"file_id": "file-abc"}]
    assert second["body"]["n"] == 2
    for line in (first, second):
        check_json_edit(line["body"])


def test_remote_batch_of_edits_runs_offline(cli, pics, tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text(
        json.dumps({"prompt": "a hat", "image": str(pics["png"]), "name": "hat.{ext}"}) + "\n"
    )
    r = cli("batch", str(path), "--remote", "--wait", "--offline", "-o", str(tmp_path / "out"))
    assert r.code == 0, r.err
    assert [Path(p).name for p in r.out.splitlines()] == ["hat.png"]
    with Image.open(tmp_path / "out" / "hat.png") as im:
        assert im.size == (1536, 1024)  # "auto" follows the landscape input


def test_local_batch_runs_edit_lines_too(cli, pics, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        json.dumps({"prompt": "a hat", "image": str(pics["png"]), "name": "edit.{ext}"})
        + "\n"
        + json.dumps({"prompt": "a cat", "name": "gen.{ext}"})
        + "\n"
    )
    r = cli("batch", str(path), "--offline", "-o", str(tmp_path / "out"))
    assert r.code == 0, r.err
    assert sorted(Path(p).name for p in r.out.splitlines()) == ["edit.png", "gen.png"]
    r = cli("batch", str(path), "--remote", "--dry-run")
    assert r.code == 2
    assert r.err == (
        "error: the file mixes edits (lines with image) and generations; a Batch API batch takes "
        "one endpoint, so give them in two files\n"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            {"prompt": "x", "image": 5},
            "image must be a path, URL or file id, or a list of them, not 5",
        ),
        (
            {"prompt": "x", "image": []},
            "image must be a path, URL or file id, or a list of them, not []",
        ),
        ({"prompt": "x", "mask": "m.png"}, "mask needs an image to edit"),
        ({"prompt": "x", "image": "nope.png"}, "nope.png: no such file"),
        (
            {
                "prompt": "x",
                "image": URL,
                "model": "gpt-image-2.6-flare",
                "output_format": "gif",
                "mask": URL,
            },
            "gif output cannot be combined with a mask",
        ),
    ],
)
def test_bad_edit_lines_are_named(cli, tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(line) + "\n")
    r = cli("batch", str(path), "--remote", "--dry-run", cwd=tmp_path)
    assert r.code == 2
    assert r.err.splitlines()[0] == f"error: {path}:1: {message}"


def test_batch_flags_for_gif_and_extra_ownership(cli, tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("a wave\n")
    r = cli(
        "batch",
        str(path),
        "-m",
        "gpt-image-2.6-flare",
        "-f",
        "gif",
        "--frames",
        "3",
        "-s",
        "320x320",
        "--offline",
        "-o",
        str(tmp_path / "out"),
    )
    assert r.code == 0, r.err
    (gif,) = r.out.splitlines()
    with Image.open(gif) as im:
        assert im.n_frames == 3
    r = cli("batch", str(path), "-x", "model=dall-e-3", "--dry-run")
    assert r.code == 2 and r.err == "error: -x model=...: model is set with -m/--model, not -x\n"
