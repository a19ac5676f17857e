"""The key never leaves in anything a server said: stderr, --json, manifest, history, sidecars."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from werkzeug import Request, Response

from easyimg import redact
from easyimg.errors import APIError, NetworkError

from .conftest import images_answer, make_image

KEY = "sk-leak-abcdefghijklmnopqrstuv9876"
MASKED = "sk-…9876"
GEN = "/v1/images/generations"


def echoed(request: Request) -> str:
    """What a careless server quotes back: every request header, the key first."""
    headers = sorted(request.headers.items(), key=lambda kv: kv[0] != "Authorization")
    return "; ".join(f"{k}: {v}" for k, v in headers)


def bad_request(request: Request) -> Response:
    doc = {
        "error": {"message": f"bad request, you sent {echoed(request)}", "code": echoed(request)}
    }
    return Response(json.dumps(doc), status=400, content_type="application/json")


def html_error(request: Request) -> Response:
    page = f"<html><body><h1>500</h1><pre>{echoed(request)}</pre></body></html>"
    return Response(page, status=500, content_type="text/html")


def error_in_200(request: Request) -> Response:
    doc = {"error": {"message": echoed(request), "type": request.headers["Authorization"]}}
    return Response(json.dumps(doc), content_type="application/json")


def revised(request: Request) -> Response:
    """A good answer whose text fields quote the headers: they reach files and history."""
    doc = images_answer(make_image(), usage={"input_tokens": 1, "output_tokens": 2})
    doc["data"][0]["revised_prompt"] = f"a cat ({echoed(request)})"
    doc["note"] = request.headers["Authorization"]
    headers = {"x-request-id": f"req-{KEY}"}
    return Response(json.dumps(doc), content_type="application/json", headers=headers)


def stream_error(request: Request) -> Response:
    """A stream that starts well, then fails quoting the request's headers."""
    error = {"type": "error", "error": {"message": echoed(request), "code": "upstream"}}
    body = f"event: error\ndata: {json.dumps(error)}\n\n"
    return Response(body, content_type="text/event-stream")


def every_byte(*places: Path) -> bytes:
    """The contents of these files, and of every file under these folders."""
    out = b""
    for place in places:
        files = [place] if place.is_file() else sorted(p for p in place.rglob("*") if p.is_file())
        for path in files:
            out += path.read_bytes()
    return out


@pytest.mark.parametrize("handler", [bad_request, html_error, error_in_200, stream_error])
@pytest.mark.parametrize("json_out", [False, True])
def test_gen_error_text_is_redacted(cli, httpserver, tmp_path, user_dir, handler, json_out):
    httpserver.expect_request(GEN).respond_with_handler(handler)
    args = ["gen", "a cat", "-o", str(tmp_path), "--base-url", httpserver.url_for("/v1")]
    args += ["--stream"] if handler is stream_error else []
    r = cli(*args, "--api-key", KEY, "--retries", "0", *(["--json"] if json_out else []))
    assert r.code in (4, 5)
    assert httpserver.log, "the server was asked"
    assert KEY not in r.out + r.err
    assert KEY[3:] not in r.out + r.err
    assert f"Bearer {MASKED}" in (r.out if json_out else r.err)
    if json_out:
        assert KEY not in json.dumps(r.json)
    assert KEY.encode() not in every_byte(tmp_path, user_dir)


def test_gen_answer_text_is_redacted_in_files_history_and_json(cli, httpserver, tmp_path, user_dir):
    httpserver.expect_request(GEN).respond_with_handler(revised)
    args = ["gen", "a cat", "-o", str(tmp_path / "out"), "--base-url", httpserver.url_for("/v1")]
    r = cli(*args, "--api-key", KEY, "--sidecar", "--json")
    assert r.code == 0, r.err
    image = r.json["images"][0]
    assert MASKED in image["revised_prompt"]
    assert KEY not in r.out + r.err
    sidecar = Path(image["path"]).with_suffix(".json")
    assert sidecar.exists()
    assert (user_dir / "history.jsonl").exists()
    assert KEY.encode() not in every_byte(tmp_path, user_dir)
    assert MASKED.encode() in (user_dir / "history.jsonl").read_bytes()


def test_batch_manifest_and_summary_are_redacted(cli, httpserver, tmp_path, user_dir):
    calls = iter([bad_request, html_error, error_in_200, revised])
    httpserver.expect_request(GEN).respond_with_handler(lambda req: next(calls)(req))
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\nthree\nfour\n")
    out = tmp_path / "out"
    args = ["batch", str(prompts), "-o", str(out), "-j", "1", "--sidecar"]
    base = ["--base-url", httpserver.url_for("/v1"), "--api-key", KEY, "--retries", "0"]
    for extra in ([], ["--json", "--no-resume"]):
        r = cli(*args, *base, *extra)
        assert r.code in (4, 5, 6), r.err
        assert KEY not in r.out + r.err
        calls = iter([bad_request, html_error, error_in_200, revised])
    manifest = (out / "easyimg-manifest.jsonl").read_text()
    assert MASKED in manifest
    assert KEY.encode() not in every_byte(tmp_path, user_dir)


def test_debug_traceback_is_redacted(cli, httpserver, tmp_path, monkeypatch):
    import easyimg.generate

    def explode(*args, **kw):
        raise RuntimeError(f"unexpected answer: Authorization: Bearer {KEY}")

    monkeypatch.setattr(easyimg.generate, "build_body", explode)
    args = ["--debug", "gen", "a cat", "-o", str(tmp_path), "--api-key", KEY, "--dry-run"]
    r = cli(*args)
    assert r.code == 1
    assert "Traceback (most recent call last)" in r.err
    assert f"Bearer {MASKED}" in r.err and KEY not in r.err


# --- the redactor itself -----------------------------------------------------------------------


def test_registered_keys_and_bearer_tokens_are_masked_once():
    redact.register(KEY, None, "", "short")
    assert redact.registered() == (KEY,)
    text = (
        f'{{"authorization": "Bearer {KEY}", "x-api-key": "{KEY}", '
        '"other": "Bearer abc.def-123_4=="}'
    )
    once = redact.redact(text)
    assert once == (
        f'{{"authorization": "Bearer {MASKED}", "x-api-key": "{MASKED}", "other": "Bearer …_4=="}}'
    )
    assert redact.redact(once) == once


def test_prose_and_short_words_are_left_alone():
    redact.register(KEY)
    for text in ("The Bearer of good news", "Bearer token missing", "a test key: short", ""):
        assert redact.redact(text) == text


def test_a_key_given_explicitly_is_masked_without_registering():
    assert redact.redact(f"x{KEY}x", [KEY]) == f"x{MASKED}x"
    assert redact.registered() == ()


def test_redact_value_walks_objects_lists_and_keys():
    redact.register(KEY)
    doc = {"a": [KEY, 1, None, {KEY: f"Bearer {KEY}"}], "n": 2.5}
    assert redact.redact_value(doc) == {
        "a": [MASKED, 1, None, {MASKED: f"Bearer {MASKED}"}],
        "n": 2.5,
    }


def test_errors_are_redacted_where_they_are_made():
    redact.register(KEY)
    err = APIError(
        400,
        f"echo Bearer {KEY}",
        code=KEY,
        type=KEY,
        param=KEY,
        request_id=KEY,
        body={"error": {"message": KEY}},
    )
    assert KEY not in repr(vars(err)) and KEY not in str(err)
    assert NetworkError(f"redirected to https://evil/?k={KEY}").message.endswith(MASKED)


@pytest.mark.parametrize("tty", [False, True])
def test_listings_of_server_text_are_redacted_and_not_markup(cli, httpserver, tty):
    ids = [f"gpt-image-{KEY}", "gpt-image-[/]"]
    httpserver.expect_request("/v1/models").respond_with_json(
        {"object": "list", "data": [{"id": i, "object": "model", "owned_by": "x"} for i in ids]}
    )
    base = ["--base-url", httpserver.url_for("/v1"), "--api-key", KEY]
    r = cli("models", "--all", *base, tty=tty, env={"COLUMNS": "200"})
    assert r.code == 0, r.err
    assert KEY not in r.out + r.err
    assert f"gpt-image-{MASKED}" in r.out and "gpt-image-[/]" in r.out


def test_redacting_json_text_is_redacting_its_values():
    # The writers redact the JSON text they write: the same as redacting every value first.
    redact.register(KEY)
    doc = {
        "error": f'echo "Authorization: Bearer {KEY}"; x-api-key={KEY}',
        KEY: ["Bearer eyJhbGciOi.J9.x-_/+==", "café ☕ Bearer of news", 'quote " and \\ slash'],
        "n": [1, None, True, 2.5],
    }
    for indent in (None, 2):
        text = json.dumps(doc, ensure_ascii=False, indent=indent)
        assert redact.redact(text) == json.dumps(
            redact.redact_value(doc), ensure_ascii=False, indent=indent
        )
        assert KEY not in redact.redact(text)


def test_every_writer_is_a_last_line_of_defence(tmp_path):
    # Text that reached a writer unredacted (a path no reader masked) is masked there.
    import io

    from easyimg import history
    from easyimg.batch.manifest import Manifest
    from easyimg.console import Console, Environment
    from easyimg.output import png_with_text, write_json_atomic

    from .conftest import make_image

    redact.register(KEY)
    leak = {"error": f"Authorization: Bearer {KEY}", KEY: [KEY]}
    history.append(tmp_path / "history.jsonl", leak)
    Manifest(tmp_path).append(leak)
    write_json_atomic(tmp_path / "sidecar.json", leak)
    (tmp_path / "x.png").write_bytes(png_with_text(make_image(), {"revised_prompt": KEY}))
    out, err = io.StringIO(), io.StringIO()
    console = Console(Environment(io.StringIO(), out, err, False, False, False, {}))
    console.out(KEY)
    console.out_json(leak)
    console.info(KEY)
    console.warn(KEY)
    console.error(KEY, hint=KEY)
    assert KEY not in out.getvalue() + err.getvalue()
    assert MASKED in out.getvalue() and MASKED in err.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "easyimg-manifest.jsonl",
        "history.jsonl",
        "sidecar.json",
        "x.png",
    ]
    assert KEY.encode() not in every_byte(tmp_path)
    assert every_byte(tmp_path).count(MASKED.encode()) >= 3 * 3 + 1
