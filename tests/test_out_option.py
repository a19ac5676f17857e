"""`-o` that means what it says: a file's extension is its format, `-` is stdout."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from easyimg.batch.prompts import JSONL_KEYS
from easyimg.cli import run
from easyimg.console import Environment

from .conftest import images_answer, make_image

GEN = "/v1/images/generations"
KEY = "sk-test-abcdefgh12345678"


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/v1")


def answer_in_asked_format(request: Request) -> Response:
    body = json.loads(request.get_data())
    fmt = {"jpeg": "JPEG", "webp": "WEBP"}.get(body.get("output_format"), "PNG")
    doc = images_answer(*[make_image(fmt) for _ in range(body.get("n", 1))])
    return Response(json.dumps(doc), content_type="application/json")


@pytest.fixture
def server(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request(GEN, method="POST").respond_with_handler(answer_in_asked_format)
    return httpserver


def sent(httpserver: HTTPServer) -> list[dict]:
    return [json.loads(req.get_data()) for req, _ in httpserver.log]


@pytest.mark.parametrize(
    ("name", "fmt"), [("cat.jpg", "jpeg"), ("cat.JPEG", "jpeg"), ("cat.webp", "webp")]
)
def test_the_extension_of_o_sets_output_format(cli, server, tmp_path, name, fmt):
    r = cli(
        "gen", "a cat", "-o", str(tmp_path / name), "--base-url", base(server), "--api-key", KEY
    )
    assert r.code == 0, r.err
    assert sent(server) == [
        {"model": "gpt-image-2", "prompt": "a cat", "n": 1, "output_format": fmt}
    ]
    assert r.out == f"{tmp_path / name}\n"
    assert Image.open(tmp_path / name).format == {"jpeg": "JPEG", "webp": "WEBP"}[fmt]


def test_the_extension_wins_over_the_configs_format(cli, server, tmp_path, user_dir):
    (user_dir / "config.toml").write_text('format = "webp"\n')
    r = cli("gen", "a", "-o", str(tmp_path / "a.jpg"), "--base-url", base(server), "--api-key", KEY)
    assert r.code == 0, r.err
    assert sent(server)[0]["output_format"] == "jpeg"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-o", "x.webp", "-f", "png"), "-o x.webp names a webp file but -f asks for png"),
        (("-o", "cat.gif"), "-o cat.gif: gpt-image-2 cannot make gif images; it makes png, jpeg"),
        (("-o", "cat.jpg", "-m", "dall-e-3"), "-o cat.jpg: dall-e-3 cannot make jpeg images"),
    ],
)
def test_an_extension_that_cannot_be_made_is_exit_2_before_sending(
    cli, httpserver, tmp_path, args, message
):
    r = cli("gen", "a cat", *args, "--base-url", base(httpserver), "--api-key", KEY, cwd=tmp_path)
    assert r.code == 2
    assert r.err.startswith(f"error: {message}")
    assert httpserver.log == [] and list(tmp_path.iterdir()) == []


def test_a_png_name_for_a_png_only_model_sends_no_format(cli, server, tmp_path):
    r = cli(
        "gen",
        "a",
        "-m",
        "dall-e-3",
        "-o",
        str(tmp_path / "a.png"),
        "--base-url",
        base(server),
        "--api-key",
        KEY,
    )
    assert r.code == 0, r.err
    assert "output_format" not in sent(server)[0]


def test_matching_f_and_extension_agree(cli, server, tmp_path):
    r = cli(
        "gen",
        "a",
        "-o",
        str(tmp_path / "a.jpg"),
        "-f",
        "jpeg",
        "--base-url",
        base(server),
        "--api-key",
        KEY,
    )
    assert r.code == 0, r.err
    assert sent(server)[0]["output_format"] == "jpeg"


def test_edit_takes_the_format_from_the_extension_too(cli, httpserver, tmp_path):
    httpserver.expect_request("/v1/images/edits").respond_with_json(
        images_answer(make_image("JPEG"))
    )
    photo = tmp_path / "in.png"
    photo.write_bytes(make_image())
    r = cli(
        "edit",
        str(photo),
        "-p",
        "hat",
        "-o",
        str(tmp_path / "hat.jpg"),
        "--base-url",
        base(httpserver),
        "--api-key",
        KEY,
    )
    assert r.code == 0, r.err
    form = httpserver.log[0][0].form
    assert form["output_format"] == "jpeg"
    assert (tmp_path / "hat.jpg").exists()


# --- -o - ------------------------------------------------------------------------------------


def run_binary(
    args: list[str], env: dict[str, str], *, tty: bool = False
) -> tuple[int, bytes, str]:
    """Run with a stdout that takes bytes, as a pipe does."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    err = io.StringIO()
    code = run(args, Environment(io.StringIO(), out, err, False, tty, False, env))
    out.flush()
    return code, raw.getvalue(), err.getvalue()


def test_o_dash_writes_the_images_bytes_to_stdout(server, user_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"EASYIMG_CONFIG": str(user_dir / "c.toml"), "EASYIMG_HISTORY": str(user_dir / "h")}
    code, data, err = run_binary(
        ["gen", "a cat", "-o", "-", "-f", "jpeg", "--base-url", base(server), "--api-key", KEY], env
    )
    assert code == 0, err
    assert data == make_image("JPEG")
    assert list(tmp_path.iterdir()) == []  # nothing left behind, here or elsewhere
    assert "saved" not in err and "1 image" in err
    assert json.loads((user_dir / "h").read_text())["files"] == ["-"]


@pytest.mark.parametrize(
    ("args", "tty", "message"),
    [
        ([], True, "-o - writes the image's bytes to stdout, which is a terminal"),
        (["-n", "2"], False, "-n 2: -o - writes one image"),
        (["--json"], False, "--json and -o - both write to stdout"),
        (["--sidecar"], False, "--sidecar needs a file name"),
    ],
)
def test_o_dash_is_refused_where_it_cannot_work(httpserver, user_dir, args, tty, message):
    env = {"EASYIMG_CONFIG": str(user_dir / "c.toml")}
    code, data, err = run_binary(
        ["gen", "a cat", "-o", "-", *args, "--base-url", base(httpserver), "--api-key", KEY],
        env,
        tty=tty,
    )
    assert code == 2
    assert data == b"" or json.loads(data)["error"]["exit_code"] == 2
    assert message in err
    assert httpserver.log == []


def test_no_ascii_words_gives_each_prompt_its_own_name(cli, tmp_path):
    for prompt in ("一只猫", "一只狗", "一只猫"):
        r = cli("gen", prompt, "--offline", "-o", str(tmp_path), "--name", "{slug}.{ext}")
        assert r.code == 0, r.err
    names = sorted(p.name for p in tmp_path.iterdir())
    cat = "image-" + __import__("hashlib").sha256("一只猫".encode()).hexdigest()[:8]
    assert len({n.split(".")[0].removesuffix("-2") for n in names}) == 2
    assert f"{cat}.png" in names and f"{cat}-2.png" in names


# --- prompt files ----------------------------------------------------------------------------


def test_jsonl_rejects_unknown_keys_like_csv(cli, httpserver, tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '{"prompt": "a"}\n{"prompt": "b"}\n{"prompt": "c", "qualty": "high"}\n'
        '{"prompt": "d", "extra": {"quality": "low"}}\n{"prompt": "e", "extra": 3}\n'
    )
    r = cli("batch", str(prompts), "--base-url", base(httpserver), "--api-key", KEY)
    assert r.code == 2
    errors = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {prompts}:3: unknown field 'qualty' (known: {', '.join(JSONL_KEYS)}; "
        '"extra": {...} sends any other body field)',
        f"error: {prompts}:4: 'quality' in \"extra\": give it at the top level of the object",
        f'error: {prompts}:5: "extra" must be an object of body fields, not 3',
    ]
    assert httpserver.log == []


def test_jsonl_extra_fields_and_no_validate_reach_the_body(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '{"prompt": "a", "extra": {"seed": 7, "aspect_ratio": "1:1"}}\n{"prompt": "b", "seed": 8}\n'
    )
    out = tmp_path / "out"
    args = ("batch", str(prompts), "-o", str(out), "--base-url", base(httpserver), "--api-key", KEY)
    assert cli(*args).code == 2
    r = cli(*args, "--no-validate", "-j", "1")
    assert r.code == 0, r.err
    bodies = sorted(
        (json.loads(q.get_data()) for q, _ in httpserver.log), key=lambda b: b["prompt"]
    )
    assert bodies == [
        {"model": "gpt-image-2", "prompt": "a", "n": 1, "seed": 7, "aspect_ratio": "1:1"},
        {"model": "gpt-image-2", "prompt": "b", "n": 1, "seed": 8},
    ]
    assert Path(out).is_dir()
