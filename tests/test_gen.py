"""`easyimg gen` end to end against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from pathlib import Path

import pytest
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from .conftest import images_answer, make_image
from .serve_api import QuickServer

KEY = "sk-test-abcdefghijklmnop1234"
GEN = "/v1/images/generations"


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/v1")


def sent(httpserver: HTTPServer) -> list[dict]:
    return [json.loads(req.get_data()) for req, _ in httpserver.log]


def test_gen_writes_served_bytes_and_prints_paths(cli, httpserver, tmp_path):
    png = make_image("PNG", (64, 48))
    httpserver.expect_request(GEN, method="POST").respond_with_json(images_answer(png))
    r = cli(
        "gen",
        "a red cat",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        base(httpserver),
        "--no-metadata",
        "--api-key",
        KEY,
    )
    assert r.code == 0, r.err
    paths = r.out.splitlines()
    assert len(paths) == 1
    path = Path(paths[0])
    assert path.parent == tmp_path / "out"
    assert path.name.endswith("-a-red-cat-1.png")
    assert path.read_bytes() == png
    assert list((tmp_path / "out").iterdir()) == [path]


def test_exact_body_and_headers(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli(
        "gen",
        "a cat",
        "-m",
        "gpt-image-1.5",
        "-s",
        "1536x1024",
        "-q",
        "high",
        "--background",
        "transparent",
        "--moderation",
        "low",
        "-f",
        "webp",
        "--compression",
        "80",
        "--user",
        "u-1",
        "-x",
        "seed=42",
        "-x",
        "tag=blue",
        "-x",
        'opts={"a": [1, 2]}',
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
        "--api-key",
        KEY,
    )
    assert r.code == 0, r.err
    ((req, _),) = httpserver.log
    assert json.loads(req.get_data()) == {
        "model": "gpt-image-1.5",
        "prompt": "a cat",
        "n": 1,
        "size": "1536x1024",
        "quality": "high",
        "background": "transparent",
        "moderation": "low",
        "output_format": "webp",
        "output_compression": 80,
        "user": "u-1",
        "seed": 42,
        "tag": "blue",
        "opts": {"a": [1, 2]},
    }
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert req.headers["User-Agent"] == "easyimg/0.1.0"
    assert req.headers["Content-Type"] == "application/json"


def test_unset_fields_are_not_sent(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 0, r.err
    assert sent(httpserver) == [{"model": "gpt-image-2", "prompt": "a cat", "n": 1}]
    # A loopback server needs no key, and none is sent.
    assert "Authorization" not in httpserver.log[0][0].headers


def test_legacy_fields_for_dalle3(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli(
        "gen",
        "a cat",
        "-m",
        "dall-e-3",
        "--style",
        "natural",
        "-q",
        "hd",
        "--response-format",
        "b64_json",
        "-s",
        "landscape",
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    assert sent(httpserver) == [
        {
            "model": "dall-e-3",
            "prompt": "a cat",
            "n": 1,
            "size": "1792x1024",
            "quality": "hd",
            "style": "natural",
            "response_format": "b64_json",
        }
    ]


def test_prompt_from_stdin(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli(
        "gen", "-", "-o", str(tmp_path), "--base-url", base(httpserver), stdin="a cat\nfrom stdin\n"
    )
    assert r.code == 0, r.err
    assert sent(httpserver)[0]["prompt"] == "a cat\nfrom stdin"


def test_fan_out_dalle3_sends_one_request_per_image(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli(
        "gen",
        "a cat",
        "-m",
        "dall-e-3",
        "-n",
        "4",
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    assert [b["n"] for b in sent(httpserver)] == [1, 1, 1, 1]
    assert len(r.out.splitlines()) == 4
    assert len(list(tmp_path.glob("*.png"))) == 4


def test_fan_out_25_is_10_10_5(cli, httpserver, tmp_path):
    def handler(request: Request) -> Response:
        n = json.loads(request.get_data())["n"]
        doc = images_answer(*[make_image(color=(i, 0, 0)) for i in range(n)])
        return Response(json.dumps(doc), content_type="application/json")

    httpserver.expect_request(GEN).respond_with_handler(handler)
    r = cli(
        "gen",
        "a cat",
        "-n",
        "25",
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
        "--no-metadata",
    )
    assert r.code == 0, r.err
    assert sorted(b["n"] for b in sent(httpserver)) == [5, 10, 10]
    assert len(set(r.out.splitlines())) == 25


def test_router_ignoring_n_is_asked_again_within_budget(cli, httpserver, tmp_path):
    # The router always answers one image, whatever n says.
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli("gen", "a cat", "-n", "3", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 0, r.err
    assert [b["n"] for b in sent(httpserver)] == [3, 2, 1]
    assert len(list(tmp_path.glob("*.png"))) == 3


def test_empty_data_is_exit_5(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json({"created": 1, "data": []})
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 5
    assert "error: server returned no images" in r.err
    assert list(tmp_path.iterdir()) == []


def test_png_metadata_chunks_and_pixels_unchanged(cli, httpserver, tmp_path):
    png = make_image("PNG", (40, 30), (10, 200, 30))
    httpserver.expect_request(GEN).respond_with_json(
        {
            "created": 1700000123,
            "data": [
                {
                    "b64_json": base64.b64encode(png).decode(),
                    "revised_prompt": "a small cat, revised",
                }
            ],
        }
    )
    r = cli("gen", "a cat ☃", "-o", str(tmp_path), "--base-url", base(httpserver), "-s", "auto")
    assert r.code == 0, r.err
    with Image.open(r.out.strip()) as im:
        text = im.text  # type: ignore[attr-defined]
        assert im.tobytes() == Image.open(io.BytesIO(png)).tobytes()
    assert text["prompt"] == "a cat ☃"
    assert text["model"] == "gpt-image-2"
    assert json.loads(text["parameters"]) == {
        "model": "gpt-image-2",
        "prompt": "a cat ☃",
        "n": 1,
        "size": "auto",
    }
    assert text["revised_prompt"] == "a small cat, revised"
    assert text["created"] == "1700000123"
    assert text["software"] == "easyimg 0.1.0"


def test_extension_comes_from_bytes(cli, httpserver, tmp_path):
    jpeg = make_image("JPEG")
    httpserver.expect_request(GEN).respond_with_json(images_answer(jpeg))
    r = cli(
        "gen", "a cat", "-f", "png", "-o", str(tmp_path / "cat.png"), "--base-url", base(httpserver)
    )
    assert r.code == 0, r.err
    assert r.out.strip() == str(tmp_path / "cat.jpg")
    assert (tmp_path / "cat.jpg").read_bytes() == jpeg


def test_out_file_with_n_adds_index_and_never_overwrites(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image(), make_image()))
    (tmp_path / "cat-1.png").write_bytes(b"precious")
    r = cli(
        "gen", "a cat", "-n", "2", "-o", str(tmp_path / "cat.png"), "--base-url", base(httpserver)
    )
    assert r.code == 0, r.err
    assert (tmp_path / "cat-1.png").read_bytes() == b"precious"
    names = sorted(Path(p).name for p in r.out.splitlines())
    assert names == ["cat-1-2.png", "cat-2.png"]


def test_overwrite_replaces(cli, httpserver, tmp_path):
    png = make_image()
    httpserver.expect_request(GEN).respond_with_json(images_answer(png))
    (tmp_path / "cat.png").write_bytes(b"old")
    r = cli(
        "gen",
        "a cat",
        "-o",
        str(tmp_path / "cat.png"),
        "--overwrite",
        "--no-metadata",
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    assert (tmp_path / "cat.png").read_bytes() == png


@pytest.mark.parametrize("prompt", ["../../etc/passwd", "/abs/path", "a/b\\c", "...", ""])
def test_hostile_prompts_and_templates_stay_inside_out_dir(cli, httpserver, tmp_path, prompt):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    out = tmp_path / "out"
    r = cli(
        "gen",
        prompt or " x ",
        "-o",
        str(out),
        "--name",
        "{model}/{slug}/../{index}",
        "-m",
        "org/../model",
        "--no-validate",
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    (written,) = [Path(p) for p in r.out.splitlines()]
    assert written.resolve().parent == out.resolve()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_sidecar_has_request_and_response_without_image_data(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(
        images_answer(
            make_image(), usage={"total_tokens": 5, "input_tokens": 2, "output_tokens": 3}
        ),
        headers={"x-request-id": "req_123"},
    )
    r = cli(
        "gen",
        "a cat",
        "-o",
        str(tmp_path / "c.png"),
        "--sidecar",
        "--base-url",
        base(httpserver),
        "--api-key",
        KEY,
    )
    assert r.code == 0, r.err
    side = json.loads((tmp_path / "c.json").read_text())
    # `-o c.png` names a PNG: the extension asks for that format.
    assert side["request"]["body"] == {
        "model": "gpt-image-2",
        "prompt": "a cat",
        "n": 1,
        "output_format": "png",
    }
    assert side["response"]["usage"]["total_tokens"] == 5
    assert side["response"]["data"] == [{}]
    assert side["request_id"] == "req_123"
    assert KEY not in (tmp_path / "c.json").read_text()


def test_json_output(cli, httpserver, tmp_path):
    usage = {
        "total_tokens": 300,
        "input_tokens": 10,
        "output_tokens": 290,
        "input_tokens_details": {"text_tokens": 10, "image_tokens": 0},
    }
    httpserver.expect_request(GEN).respond_with_json(
        images_answer(make_image("PNG", (32, 16)), usage=usage), headers={"x-request-id": "req_9"}
    )
    r = cli("gen", "a cat", "--json", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 0, r.err
    doc = r.json
    assert set(doc) == {"created", "model", "images", "usage", "request_id", "answer", "svg_usage"}
    assert doc["answer"] is None and doc["svg_usage"] is None  # the answer echoed nothing
    assert doc["created"] == 1700000000
    assert doc["model"] == "gpt-image-2"
    assert doc["usage"] == usage
    assert doc["request_id"] == "req_9"
    (img,) = doc["images"]
    assert img["format"] == "png" and (img["width"], img["height"]) == (32, 16)
    assert img["bytes"] == Path(img["path"]).stat().st_size
    assert img["revised_prompt"] is None
    assert img["generation_id"] is None and img["c2pa"] is False


def test_url_answer_is_downloaded_without_key_to_other_hosts(cli, httpserver, tmp_path):
    png = make_image()
    other = QuickServer(host="127.0.0.1", port=0)
    other.start()
    try:
        other.expect_request("/img/1.png").respond_with_data(png, content_type="image/png")
        url = other.url_for("/img/1.png").replace("127.0.0.1", "localhost")
        httpserver.expect_request(GEN).respond_with_json({"created": 1, "data": [{"url": url}]})
        r = cli(
            "gen",
            "a cat",
            "-o",
            str(tmp_path),
            "--base-url",
            base(httpserver),
            "--api-key",
            KEY,
            "--no-metadata",
        )
        assert r.code == 0, r.err
        assert Path(r.out.strip()).read_bytes() == png
        ((req, _),) = other.log
        assert "Authorization" not in req.headers
        assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {KEY}"
    finally:
        other.stop()


def test_data_url_and_empty_b64_counts_as_absent(cli, httpserver, tmp_path):
    png = make_image()
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    httpserver.expect_request(GEN).respond_with_json(
        {"created": 1, "data": [{"b64_json": "", "url": data_url}]}
    )
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver), "--no-metadata")
    assert r.code == 0, r.err
    assert Path(r.out.strip()).read_bytes() == png


def test_chat_style_usage_is_read(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(
        images_answer(make_image(), usage={"prompt_tokens": 7, "completion_tokens": 100})
    )
    r = cli("gen", "a cat", "--json", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 0, r.err
    assert r.json["usage"] == {"input_tokens": 7, "output_tokens": 100, "total_tokens": 107}


def test_size_mismatch_is_written_and_warned(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image("PNG", (64, 64))))
    r = cli("gen", "a cat", "-s", "1024x1024", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 0
    assert "warning: asked for 1024x1024, got 64x64" in r.err
    assert len(list(tmp_path.glob("*.png"))) == 1


def test_history_line_written_without_key(cli, httpserver, tmp_path, user_dir):
    httpserver.expect_request(GEN).respond_with_json(
        images_answer(make_image(), usage={"total_tokens": 3}), headers={"x-request-id": "r1"}
    )
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver), "--api-key", KEY)
    assert r.code == 0, r.err
    text = (user_dir / "history.jsonl").read_text()
    (entry,) = [json.loads(line) for line in text.splitlines()]
    assert entry["command"] == "gen" and entry["prompt"] == "a cat"
    assert entry["model"] == "gpt-image-2" and entry["request_id"] == "r1"
    assert entry["files"] == [str(Path(r.out.strip()).resolve())]
    assert entry["usage"] == {"total_tokens": 3}
    assert KEY not in text


def test_history_off_in_config(cli, httpserver, tmp_path, user_dir):
    (user_dir / "config.toml").write_text("history = false\n")
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    assert cli("gen", "a", "-o", str(tmp_path), "--base-url", base(httpserver)).code == 0
    assert not (user_dir / "history.jsonl").exists()


# --- errors and exit codes -----------------------------------------------------------------


def test_api_error_line_with_message_code_and_request_id(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(
        {
            "error": {
                "message": "Your request was rejected by the safety system.",
                "type": "invalid_request_error",
                "param": None,
                "code": "moderation_blocked",
            }
        },
        status=400,
        headers={"x-request-id": "req_abc"},
    )
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver), "--api-key", KEY)
    assert r.code == 4
    assert r.err.strip() == (
        "error: 400 Bad Request: Your request was rejected by the safety "
        "system. (code: moderation_blocked, request id: req_abc)"
    )
    assert len(httpserver.log) == 1  # a 400 is never retried


@pytest.mark.parametrize(("status", "code"), [(401, 3), (403, 3), (404, 4), (422, 4)])
def test_status_exit_codes(cli, httpserver, tmp_path, status, code):
    httpserver.expect_request(GEN).respond_with_json({"error": {"message": "nope"}}, status=status)
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == code
    assert r.err.startswith(f"error: {status} ")
    assert len(httpserver.log) == 1


def test_error_inside_200_is_an_api_error(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(
        {"error": {"message": "upstream model unavailable", "code": "model_not_found"}}
    )
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 4
    assert "upstream model unavailable (code: model_not_found)" in r.err


def test_429_with_retry_after_then_success(cli, httpserver, tmp_path):
    httpserver.expect_ordered_request(GEN).respond_with_json(
        {"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "0"}
    )
    httpserver.expect_ordered_request(GEN).respond_with_json(
        {"error": {"message": "busy"}}, status=503, headers={"retry-after-ms": "1"}
    )
    httpserver.expect_ordered_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 0, r.err
    assert len(httpserver.log) == 3
    assert len(list(tmp_path.glob("*.png"))) == 1


def test_retries_exhausted_is_exit_5(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(
        {"error": {"message": "overloaded"}}, status=503, headers={"retry-after-ms": "0"}
    )
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver), "--retries", "2")
    assert r.code == 5
    assert len(httpserver.log) == 3
    assert "503 Service Unavailable: overloaded (after 3 tries)" in r.err


def test_504_is_not_retried_and_says_why(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_data("gateway timeout", status=504)
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 5
    assert len(httpserver.log) == 1
    assert "--retry-timeouts" in r.err and "--stream" in r.err


def test_x_should_retry_false_wins(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(
        {"error": {"message": "no"}}, status=500, headers={"x-should-retry": "false"}
    )
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 5 and len(httpserver.log) == 1


def test_html_answer_is_exit_5_and_writes_nothing(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_data(
        "<html><body>Bad gateway</body></html>", content_type="text/html"
    )
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 5
    assert "HTML" in r.err and r.err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_truncated_json_is_exit_5(cli, httpserver, tmp_path):
    doc = json.dumps(images_answer(make_image()))
    httpserver.expect_request(GEN).respond_with_data(
        doc[: len(doc) // 2], content_type="application/json"
    )
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 5
    assert "cut off" in r.err
    assert list(tmp_path.iterdir()) == []


def test_not_an_image_is_an_error_not_a_file(cli, httpserver, tmp_path):
    bad = base64.b64encode(b"this is not an image at all").decode()
    httpserver.expect_request(GEN).respond_with_json({"created": 1, "data": [{"b64_json": bad}]})
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 5
    assert "not an image" in r.err
    assert list(tmp_path.iterdir()) == []


def test_partial_success_is_exit_6_and_keeps_images(cli, httpserver, tmp_path):
    bad = base64.b64encode(b"garbage!" * 4).decode()
    good = base64.b64encode(make_image()).decode()
    httpserver.expect_request(GEN).respond_with_json(
        {"created": 1, "data": [{"b64_json": good}, {"b64_json": bad}]}
    )
    r = cli("gen", "a cat", "-n", "2", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 6
    assert len(r.out.splitlines()) == 1
    assert len(list(tmp_path.glob("*.png"))) == 1
    assert "error:" in r.err


def test_url_404_is_exit_5(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(
        {"created": 1, "data": [{"url": httpserver.url_for("/missing.png")}]}
    )
    httpserver.expect_request("/missing.png").respond_with_data("no", status=404)
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 5
    assert "404" in r.err
    assert list(tmp_path.iterdir()) == []


def test_connection_refused_is_retried_then_exit_5(cli, tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    r = cli(
        "gen",
        "a cat",
        "-o",
        str(tmp_path),
        "--base-url",
        f"http://127.0.0.1:{port}/v1",
        "--retries",
        "0",
    )
    assert r.code == 5
    assert r.err.startswith("error: cannot connect to 127.0.0.1")


def test_read_timeout_is_not_retried(cli, tmp_path):
    """A server that takes the request and never answers: the image may be billed."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    port = sock.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                accepted.append(conn)
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        r = cli(
            "gen",
            "a cat",
            "-o",
            str(tmp_path),
            "--base-url",
            f"http://127.0.0.1:{port}/v1",
            "--timeout",
            "0.3",
        )
    finally:
        stop.set()
        t.join()
        for c in accepted:
            c.close()
        sock.close()
    assert r.code == 5
    assert len(accepted) == 1
    assert f"no complete answer from 127.0.0.1:{port} within 0.3 s (--timeout)" in r.err
    assert "--retry-timeouts" in r.err


# --- validation, config and key handling ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-m", "dall-e-3", "-s", "512x512"],
            "size '512x512' is not supported by dall-e-3; allowed: 1024x1024, 1792x1024, 1024x1792",
        ),
        (["-s", "1000x1000"], "divisible by 16"),
        (["-s", "3840x960"], "aspect ratio"),
        (["-s", "4096x2304"], "at most 3840x2160"),
        (["-m", "dall-e-2", "-q", "hd"], "quality 'hd' is not supported by dall-e-2"),
        (["-m", "dall-e-3", "--background", "transparent"], "background is not supported"),
        (["--background", "transparent", "-f", "jpeg"], "needs output_format png or webp"),
        (["-f", "png", "--compression", "50"], "needs output_format jpeg or webp"),
        (["--compression", "101", "-f", "webp"], "0-100"),
        (["--response-format", "url"], "GPT image models always return b64_json"),
        (["-m", "dall-e-2", "-s", "landscape"], "size 'landscape' is not available for dall-e-2"),
        (["-x", "novalue"], "--extra 'novalue' is not KEY=VALUE"),
        (["--partial-images", "2"], "--partial-images needs --stream"),
    ],
)
def test_validation_fails_before_sending(cli, httpserver, tmp_path, args, message):
    r = cli("gen", "a cat", *args, "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 2, r.err
    assert message in r.err
    assert r.err.startswith("error: ") and r.err.count("\n") == 1
    assert httpserver.log == []


def test_prompt_length_per_model(cli, httpserver, tmp_path):
    r = cli("gen", "x" * 1001, "-m", "dall-e-2", "--base-url", base(httpserver))
    assert r.code == 2 and "allows at most 1000" in r.err
    r = cli("gen", "   ", "--base-url", base(httpserver))
    assert r.code == 2 and "prompt is empty" in r.err
    assert httpserver.log == []


def test_unknown_model_gets_generic_checks_only(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli(
        "gen",
        "a cat",
        "-m",
        "flux-1.1-pro",
        "-s",
        "1000x700",
        "-q",
        "ultra",
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    assert sent(httpserver)[0] == {
        "model": "flux-1.1-pro",
        "prompt": "a cat",
        "n": 1,
        "size": "1000x700",
        "quality": "ultra",
    }


def test_no_validate_sends_as_given(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli(
        "gen",
        "a cat",
        "-m",
        "dall-e-3",
        "-s",
        "64x64",
        "--no-validate",
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    assert sent(httpserver)[0]["size"] == "64x64"


def test_no_key_for_remote_host_is_exit_3(cli):
    r = cli("gen", "a cat", "--base-url", "https://api.example.com/v1")
    assert r.code == 3
    assert "easyimg login" in r.err and "EASYIMG_API_KEY" in r.err and "--api-key" in r.err


def test_openai_key_only_for_openai(cli):
    env = {"OPENAI_API_KEY": "sk-openai-secret-123456"}
    r = cli("gen", "a cat", "--dry-run", env=env)
    assert r.code == 0
    assert "Authorization" not in r.out  # easyrouter.io gets no OpenAI key
    r = cli("gen", "a cat", "--dry-run", "--base-url", "https://api.openai.com/v1", env=env)
    assert "Authorization: Bearer sk-…3456" in r.out
    assert "sk-openai-secret-123456" not in r.out + r.err


def test_config_precedence(cli, httpserver, tmp_path, user_dir):
    (user_dir / "config.toml").write_text(
        'model = "dall-e-2"\nsize = "512x512"\n'
        '[profiles.work]\nmodel = "dall-e-3"\nsize = "1024x1024"\nquality = "hd"\n'
    )
    r = cli("gen", "a", "--dry-run", "--json")
    assert r.json["requests"][0]["body"] == {
        "model": "dall-e-2",
        "prompt": "a",
        "n": 1,
        "size": "512x512",
    }
    r = cli("gen", "a", "--dry-run", "--json", "--profile", "work")
    assert r.json["requests"][0]["body"]["model"] == "dall-e-3"
    r = cli(
        "gen",
        "a",
        "--dry-run",
        "--json",
        env={"EASYIMG_PROFILE": "work", "EASYIMG_QUALITY": "standard"},
    )
    assert r.json["requests"][0]["body"]["quality"] == "standard"
    r = cli(
        "gen",
        "a",
        "--dry-run",
        "--json",
        "--profile",
        "work",
        "-m",
        "dall-e-2",
        "-s",
        "256x256",
        "-q",
        "standard",
    )
    assert r.json["requests"][0]["body"]["model"] == "dall-e-2"
    r = cli("gen", "a", "--dry-run", "--profile", "nope")
    assert r.code == 3 and "no profile 'nope'" in r.err


def test_dry_run_masks_key(cli):
    r = cli("gen", "a cat", "--dry-run", "--api-key", KEY)
    assert r.code == 0
    assert r.out.startswith("POST https://easyrouter.io/v1/images/generations\n")
    assert "Authorization: Bearer sk-…1234" in r.out
    assert KEY not in r.out + r.err


def test_key_never_in_output_of_failures(cli, httpserver, tmp_path, user_dir):
    httpserver.expect_request(GEN).respond_with_json(
        {"error": {"message": f"Incorrect API key provided: {KEY[:6]}****"}}, status=401
    )
    for extra in ([], ["--json"], ["--quiet"]):
        r = cli(
            "gen",
            "a cat",
            "-o",
            str(tmp_path),
            "--base-url",
            base(httpserver),
            "--api-key",
            KEY,
            *extra,
        )
        assert r.code == 3
        assert KEY not in r.out + r.err
    # Failures are recorded (`history --status error`), without the key.
    text = (user_dir / "history.jsonl").read_text()
    assert KEY not in text and KEY[:12] not in text
    assert [json.loads(line)["status"] for line in text.splitlines()] == ["error"] * 3


def test_json_error_document(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(
        {"error": {"message": "bad", "code": "x"}}, status=400, headers={"x-request-id": "q"}
    )
    r = cli("gen", "a cat", "--json", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 4
    assert r.json == {
        "error": {
            "message": "400 Bad Request: bad (code: x, request id: q)",
            "exit_code": 4,
            "status": 400,
            "code": "x",
            "request_id": "q",
        }
    }


def test_quiet_prints_only_paths_and_errors(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    r = cli("gen", "a cat", "--quiet", "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 0 and r.err == ""
    assert len(r.out.splitlines()) == 1


def test_read_only_output_dir_fails_before_request(cli, httpserver, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = cli("gen", "a cat", "-o", str(blocker / "sub"), "--base-url", base(httpserver))
    assert r.code == 2
    assert r.err.startswith("error: ")
    assert httpserver.log == []


def test_unknown_option_is_one_error_line(cli):
    r = cli("gen", "a cat", "--bogus")
    assert r.code == 2
    assert r.err.startswith("error: No such option: --bogus")
    assert r.err.count("\n") == 1


def test_version(cli):
    r = cli("--version")
    assert (r.code, r.out) == (0, "easyimg 0.1.0\n")


def test_request_bodies_match_openai_schema(cli, httpserver, tmp_path):
    """What gen sends validates against OpenAI's CreateImageRequest schema."""
    import jsonschema

    doc = json.loads(
        (Path(__file__).parent / "data" / "openai-images-batches-files.json").read_text()
    )
    schema = {"$ref": "#/components/schemas/CreateImageRequest", "components": doc["components"]}
    httpserver.expect_request(GEN).respond_with_json(images_answer(make_image()))
    for args in (
        [
            "-s",
            "1024x1536",
            "-q",
            "high",
            "-f",
            "webp",
            "--compression",
            "50",
            "--background",
            "opaque",
            "--moderation",
            "low",
            "--user",
            "u",
        ],
        ["-m", "dall-e-3", "--style", "vivid", "--response-format", "b64_json"],
        ["-m", "gpt-image-1", "-n", "3", "-s", "auto"],
    ):
        assert (
            cli("gen", "a cat", *args, "-o", str(tmp_path), "--base-url", base(httpserver)).code
            == 0
        )
    bodies = sent(httpserver)
    assert len(bodies) >= 3
    for b in bodies:
        jsonschema.Draft202012Validator(schema).validate(b)


def test_ctrl_c_exits_130_and_leaves_no_files(tmp_path):
    """SIGINT while the request is in flight: exit 130, nothing half-written."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from easyimg.serve.http import start_background

    server = start_background(latency=30)
    out = tmp_path / "out"
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "easyimg",
                "gen",
                "a cat",
                "-n",
                "3",
                "-m",
                "dall-e-3",
                "-o",
                str(out),
                "--base-url",
                server.url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "EASYIMG_HISTORY": str(tmp_path / "h.jsonl")},
        )
        deadline = time.monotonic() + 15
        while server.in_flight < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert server.in_flight == 3
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        server.close()
    assert proc.returncode == 130
    assert stdout == ""
    assert stderr.strip() == "error: interrupted"
    assert list(out.iterdir()) == []
    assert not (tmp_path / "h.jsonl").exists()
