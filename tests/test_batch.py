"""`easyimg batch` locally: prompt files, overrides, the worker pool, manifest, resume, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from easyimg.api.client import Client
from easyimg.batch.manifest import MANIFEST_NAME
from easyimg.batch.prompts import Defaults, FileErrors, item_key, parse
from easyimg.batch.run import BatchRun
from easyimg.serve.http import ImageServer, start_background

from .conftest import images_answer, make_image
from .serve_api import QuickServer

GEN = "/v1/images/generations"
NAME = "{slug}-{index}.{ext}"


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/v1")


def bodies(httpserver: HTTPServer) -> list[dict]:
    return sorted(
        (json.loads(req.get_data()) for req, _ in httpserver.log),
        key=lambda b: (b["prompt"], b["n"]),
    )


def manifest(directory: Path) -> list[dict]:
    lines = (directory / MANIFEST_NAME).read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda e: e.get("line") or 0)


def strip(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "time"}


def answer_per_n(request: Request) -> Response:
    n = json.loads(request.get_data())["n"]
    doc = images_answer(
        *[make_image(color=(i * 40, 0, 0)) for i in range(n)],
        usage={"input_tokens": 5, "output_tokens": 100 * n, "total_tokens": 5 + 100 * n},
    )
    return Response(json.dumps(doc), content_type="application/json")


@pytest.fixture
def serve_images(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request(GEN, method="POST").respond_with_handler(answer_per_n)
    return httpserver


def test_txt_defaults_reach_every_body_and_manifest_lists_files(cli, serve_images, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red cat\n\n# a comment\n  a blue dog  \n")
    out = tmp_path / "out"
    r = cli(
        "batch",
        str(prompts),
        "-o",
        str(out),
        "--name",
        NAME,
        "-m",
        "gpt-image-1.5",
        "-s",
        "landscape",
        "-q",
        "low",
        "-f",
        "webp",
        "--compression",
        "70",
        "--moderation",
        "low",
        "--user",
        "u1",
        "-x",
        "seed=7",
        "--base-url",
        base(serve_images),
        "--no-metadata",
    )
    assert r.code == 0, r.err
    common = {
        "model": "gpt-image-1.5",
        "n": 1,
        "size": "1536x1024",
        "quality": "low",
        "output_format": "webp",
        "output_compression": 70,
        "moderation": "low",
        "user": "u1",
        "seed": 7,
    }
    assert bodies(serve_images) == [
        {**common, "prompt": "a blue dog"},
        {**common, "prompt": "a red cat"},
    ]
    assert sorted(r.out.splitlines()) == [
        str(out / "a-blue-dog-1.png"),
        str(out / "a-red-cat-1.png"),
    ]
    usage = {"input_tokens": 5, "output_tokens": 100, "total_tokens": 105}
    assert [strip(e) for e in manifest(out)] == [
        {
            "line": 1,
            "key": item_key({**common, "prompt": "a red cat"}, None),
            "status": "ok",
            "files": ["a-red-cat-1.png"],
            "usage": usage,
            "error": None,
            "exit_code": None,
            "prompt": "a red cat",
        },
        {
            "line": 4,
            "key": item_key({**common, "prompt": "a blue dog"}, None),
            "status": "ok",
            "files": ["a-blue-dog-1.png"],
            "usage": usage,
            "error": None,
            "exit_code": None,
            "prompt": "a blue dog",
        },
    ]
    assert sorted(p.name for p in out.iterdir()) == [
        "a-blue-dog-1.png",
        "a-red-cat-1.png",
        MANIFEST_NAME,
    ]


def test_jsonl_overrides_and_names_reach_the_request(cli, serve_images, tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        "\n".join(
            [
                json.dumps({"prompt": "plain"}),
                json.dumps(
                    {
                        "prompt": "big",
                        "model": "dall-e-3",
                        "size": "portrait",
                        "quality": "hd",
                        "style": "vivid",
                        "n": 2,
                        "name": "big-{index}",
                    }
                ),
                "",
                json.dumps(
                    {
                        "prompt": "seeded",
                        "quality": None,
                        "extra": {"seed": 99, "tag": None, "aspect_ratio": "16:9"},
                    }
                ),
            ]
        )
        + "\n"
    )
    out = tmp_path / "out"
    r = cli(
        "batch",
        str(prompts),
        "-o",
        str(out),
        "--name",
        NAME,
        "-q",
        "high",
        "-x",
        "tag=blue",
        "--base-url",
        base(serve_images),
        "--json",
    )
    assert r.code == 0, r.err
    assert bodies(serve_images) == [
        {
            "model": "dall-e-3",
            "prompt": "big",
            "n": 1,
            "size": "1024x1792",
            "quality": "hd",
            "style": "vivid",
            "tag": "blue",
        },
        {
            "model": "dall-e-3",
            "prompt": "big",
            "n": 1,
            "size": "1024x1792",
            "quality": "hd",
            "style": "vivid",
            "tag": "blue",
        },
        {"model": "gpt-image-2", "prompt": "plain", "n": 1, "quality": "high", "tag": "blue"},
        {"model": "gpt-image-2", "prompt": "seeded", "n": 1, "seed": 99, "aspect_ratio": "16:9"},
    ]
    doc = r.json
    assert sorted(Path(p).name for p in doc["images"]) == [
        "big-1.png",
        "big-2.png",
        "plain-1.png",
        "seeded-1.png",
    ]
    assert (doc["total"], doc["ok"], doc["failed"], doc["skipped"]) == (3, 3, 0, 0)
    # dall-e-3 makes one image a request: "big" took two requests, each with its input.
    assert doc["usage"] == {"input_tokens": 20, "output_tokens": 400, "total_tokens": 420}
    assert doc["failures"] == [] and doc["manifest"] == str(out / MANIFEST_NAME)
    big = manifest(out)[1]
    assert (big["line"], sorted(big["files"])) == (2, ["big-1.png", "big-2.png"])


def test_csv_columns_cells_and_multiline_quotes(cli, serve_images, tmp_path):
    prompts = tmp_path / "p.csv"
    prompts.write_text(
        "\ufeffprompt,n,size,x.seed,name\n"
        "a cat,2,,3,cat-{index}\n"
        '"a dog\nover two lines",,1024x640,,\n'
        "\n"
        'a bird,,, "x1" ,\n'
    )
    out = tmp_path / "out"
    r = cli(
        "batch",
        str(prompts),
        "-o",
        str(out),
        "--name",
        NAME,
        "-s",
        "1024x1024",
        "--base-url",
        base(serve_images),
    )
    assert r.code == 0, r.err
    assert bodies(serve_images) == [
        {"model": "gpt-image-2", "prompt": "a bird", "n": 1, "size": "1024x1024", "seed": "x1"},
        {"model": "gpt-image-2", "prompt": "a cat", "n": 2, "size": "1024x1024", "seed": 3},
        {"model": "gpt-image-2", "prompt": "a dog\nover two lines", "n": 1, "size": "1024x640"},
    ]
    assert [(e["line"], sorted(e["files"])) for e in manifest(out)] == [
        (2, ["cat-1.png", "cat-2.png"]),
        (3, ["a-dog-over-two-lines-1.png"]),
        (6, ["a-bird-1.png"]),
    ]


def test_stdin_is_read_as_txt(cli, serve_images, tmp_path):
    r = cli(
        "batch",
        "-",
        "-o",
        str(tmp_path),
        "--name",
        NAME,
        "--base-url",
        base(serve_images),
        stdin="one\n#two\nthree\n",
    )
    assert r.code == 0, r.err
    assert [b["prompt"] for b in bodies(serve_images)] == ["one", "three"]
    assert [e["line"] for e in manifest(tmp_path)] == [1, 3]


def test_bad_lines_are_all_reported_and_nothing_is_sent(cli, httpserver, tmp_path):
    lines = [json.dumps({"prompt": f"p{i}"}) for i in range(1, 16)]
    lines[11] = '{"prompt": "x",'  # line 12
    lines[2] = json.dumps({"prompt": "  "})  # line 3
    lines[4] = json.dumps({"prompt": "x", "model": "dall-e-3", "size": "512x512"})
    lines[5] = json.dumps({"prompt": "x", "n": "two"})  # line 6
    lines[6] = json.dumps(["x"])  # line 7
    lines[7] = json.dumps({"prompt": "x", "name": "{nope}"})  # line 8
    lines[8] = json.dumps({"prompt": "x", "stream": True})  # line 9
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("\n".join(lines) + "\n")
    r = cli("batch", str(prompts), "-o", str(tmp_path / "out"), "--base-url", base(httpserver))
    assert r.code == 2
    errors = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert errors[0] == f"error: {prompts}:3: empty prompt"
    assert errors[1].startswith(f"error: {prompts}:5: size '512x512' is not supported by dall-e-3")
    assert errors[2] == f"error: {prompts}:6: n must be a whole number of at least 1, not 'two'"
    assert errors[3] == f"error: {prompts}:7: not a JSON object (got list)"
    assert errors[4].startswith(f"error: {prompts}:8: unknown field {{nope}}")
    assert errors[5] == f"error: {prompts}:9: stream is not available in a batch"
    assert errors[6].startswith(f"error: {prompts}:12: bad JSON (")
    assert len(errors) == 7
    assert httpserver.log == []
    assert not (tmp_path / "out").exists()


def test_more_than_ten_problems_end_with_a_count(cli, httpserver, tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("{\n" * 13)
    r = cli("batch", str(prompts), "--base-url", base(httpserver), "--json")
    assert r.code == 2
    errors = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 11
    assert errors[-1] == f"error: {prompts}: and 3 more problems"
    doc = r.json
    assert doc["error"]["count"] == 13 and [p["line"] for p in doc["error"]["problems"]] == [
        *range(1, 11)
    ]


def test_csv_unknown_column_and_bad_cell(cli, httpserver, tmp_path):
    prompts = tmp_path / "p.csv"
    prompts.write_text("prompt,sise\na,b\n")
    r = cli("batch", str(prompts), "--base-url", base(httpserver))
    assert r.code == 2
    assert f"error: {prompts}:1: unknown column 'sise' (known: prompt, name," in r.err
    prompts.write_text("prompt,n\na,1\nb,many\nc,1,extra\n")
    r = cli("batch", str(prompts), "--base-url", base(httpserver))
    assert r.code == 2
    assert f"error: {prompts}:3: n must be a whole number, not 'many'" in r.err
    assert f"error: {prompts}:4: 3 cells but the header has 2 columns" in r.err
    assert httpserver.log == []


def test_missing_file_empty_file_and_file_out(cli, httpserver, tmp_path):
    r = cli("batch", str(tmp_path / "nope.txt"), "--base-url", base(httpserver))
    assert (r.code, r.err.strip()) == (
        2,
        f"error: cannot read {tmp_path / 'nope.txt'}: no such file",
    )
    (tmp_path / "empty.txt").write_text("# only a comment\n")
    r = cli("batch", str(tmp_path / "empty.txt"), "--base-url", base(httpserver))
    assert (r.code, r.err.strip()) == (
        2,
        f"error: {tmp_path / 'empty.txt'}: no prompts in the file",
    )
    (tmp_path / "p.txt").write_text("a\n")
    r = cli(
        "batch",
        str(tmp_path / "p.txt"),
        "-o",
        str(tmp_path / "x.png"),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 2 and "give a directory" in r.err
    assert httpserver.log == []


def fail_bad(request: Request) -> Response:
    body = json.loads(request.get_data())
    if "bad" in body["prompt"]:
        return Response(
            json.dumps(
                {"error": {"message": "Your request was rejected.", "code": "moderation_blocked"}}
            ),
            status=400,
            content_type="application/json",
        )
    return answer_per_n(request)


def test_partial_failure_is_exit_6_with_failures_by_line(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_handler(fail_bad)
    prompts = tmp_path / "p.txt"
    prompts.write_text("good one\nbad one\ngood two\n")
    out = tmp_path / "out"
    r = cli("batch", str(prompts), "-o", str(out), "--name", NAME, "--base-url", base(httpserver))
    assert r.code == 6
    message = "400 Bad Request: Your request was rejected. (code: moderation_blocked)"
    assert f"error: {prompts}:2: {message}" in r.err
    assert sorted(Path(p).name for p in r.out.splitlines()) == ["good-one-1.png", "good-two-1.png"]
    bad = manifest(out)[1]
    assert strip(bad) == {
        "line": 2,
        "key": bad["key"],
        "status": "error",
        "files": [],
        "usage": None,
        "error": message,
        "exit_code": 4,
        "prompt": "bad one",
    }
    # A re-run tries only the failed item again.
    httpserver.clear_log()
    r = cli(
        "batch",
        str(prompts),
        "-o",
        str(out),
        "--name",
        NAME,
        "--base-url",
        base(httpserver),
        "--json",
    )
    assert r.code == 6  # the failure is retried and fails again; the rest was done before
    assert [b["prompt"] for b in bodies(httpserver)] == ["bad one"]
    assert (r.json["skipped"], r.json["failed"], r.json["failures"]) == (
        2,
        1,
        [{"line": 2, "error": message, "exit_code": 4}],
    )


def test_every_item_failing_takes_the_error_code(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json({"error": {"message": "nope"}}, status=400)
    prompts = tmp_path / "p.txt"
    prompts.write_text("a\nb\n")
    r = cli("batch", str(prompts), "-o", str(tmp_path), "--base-url", base(httpserver))
    assert r.code == 4
    assert r.out == ""


def test_auth_failure_stops_starting_items_after_five_in_a_row(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(
        {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}, status=401
    )
    prompts = tmp_path / "p.txt"
    prompts.write_text("".join(f"prompt {i}\n" for i in range(6)))
    r = cli(
        "batch",
        str(prompts),
        "-j",
        "1",
        "-o",
        str(tmp_path),
        "--base-url",
        base(httpserver),
        "--json",
    )
    assert r.code == 3
    assert len(httpserver.log) == 5
    assert (r.json["failed"], r.json["not_started"]) == (5, 1)
    assert (
        "stopped early: 5 items in a row failed with: 401 Unauthorized: Incorrect API key" in r.err
    )


def test_resume_skips_done_items_even_when_reordered(cli, serve_images, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\nthree\n")
    out = tmp_path / "out"
    args = ("-o", str(out), "--name", NAME, "--base-url", base(serve_images))
    assert cli("batch", str(prompts), *args).code == 0
    assert len(serve_images.log) == 3
    r = cli("batch", str(prompts), *args)
    assert r.code == 0 and r.out == ""
    assert "nothing to do: all 3 items are already done" in r.err
    assert len(serve_images.log) == 3
    prompts.write_text("four\nthree\none\ntwo\n")
    serve_images.clear_log()
    r = cli("batch", str(prompts), *args, "--json")
    assert r.code == 0
    assert [b["prompt"] for b in bodies(serve_images)] == ["four"]
    assert (r.json["skipped"], r.json["ok"]) == (3, 1)
    serve_images.clear_log()
    r = cli("batch", str(prompts), *args, "--no-resume")
    assert r.code == 0 and len(serve_images.log) == 4
    assert len(list(out.glob("*.png"))) == 8  # never overwritten: one-2.png and so on


def test_duplicate_prompts_are_separate_items(cli, serve_images, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("same\nsame\n")
    args = ("-o", str(tmp_path), "--name", NAME, "--base-url", base(serve_images))
    assert cli("batch", str(prompts), *args).code == 0
    assert cli("batch", str(prompts), *args).code == 0
    assert len(serve_images.log) == 2
    keys = [e["key"] for e in manifest(tmp_path)]
    assert len(set(keys)) == 2
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["same-1-2.png", "same-1.png"]


def test_keys_are_stable_across_order_and_change_with_the_request():
    d = Defaults(model="gpt-image-2")
    a = parse(["x\n", "y\n"], "txt", d, "f")
    b = parse(["y\n", "x\n"], "txt", d, "f")
    assert {i.key for i in a} == {i.key for i in b}
    c = parse(["x\n"], "txt", Defaults(model="gpt-image-2", options={"quality": "low"}), "f")
    assert c[0].key not in {i.key for i in a}
    with pytest.raises(FileErrors) as info:
        parse([b"ok\n", b"\xff\xfe bad\n"], "txt", d, "f")
    assert info.value.lines() == ["f:2: not UTF-8 text"]


def test_history_gets_one_line_per_item(cli, serve_images, tmp_path, user_dir):
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    r = cli(
        "batch",
        str(prompts),
        "-o",
        str(tmp_path / "out"),
        "--name",
        NAME,
        "--base-url",
        base(serve_images),
    )
    assert r.code == 0
    entries = [json.loads(x) for x in (user_dir / "history.jsonl").read_text().splitlines()]
    assert sorted((e["command"], e["prompt"], e["status"]) for e in entries) == [
        ("batch", "one", "ok"),
        ("batch", "two", "ok"),
    ]
    assert all(Path(e["files"][0]).is_file() for e in entries)


def test_dry_run_prints_requests_and_sends_nothing(cli, httpserver, tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a", "n": 2, "model": "dall-e-3"}\n{"prompt": "b"}\n')
    r = cli(
        "batch",
        str(prompts),
        "--dry-run",
        "--json",
        "--base-url",
        base(httpserver),
        "-o",
        str(tmp_path / "out"),
    )
    assert r.code == 0, r.err
    assert [(q["line"], q["body"]) for q in r.json["requests"]] == [
        (1, {"model": "dall-e-3", "prompt": "a", "n": 1}),
        (1, {"model": "dall-e-3", "prompt": "a", "n": 1}),
        (2, {"model": "gpt-image-2", "prompt": "b", "n": 1}),
    ]
    r = cli("batch", str(prompts), "--dry-run", "--base-url", base(httpserver))
    assert r.out.startswith(f"# {prompts}:1\nPOST {base(httpserver)}/images/generations\n")
    assert httpserver.log == []
    assert not (tmp_path / "out").exists()


def test_terminal_gets_a_progress_bar_and_a_table(cli, serve_images, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    r = cli(
        "batch",
        str(prompts),
        "-o",
        str(tmp_path),
        "--name",
        NAME,
        "--base-url",
        base(serve_images),
        tty=True,
        env={"COLUMNS": "120"},
    )
    assert r.code == 0, r.err
    assert "items" in r.err and "skipped" in r.err and "tokens: input 10" in r.err
    assert "[1/2]" not in r.err  # plain per-item lines are for pipes
    # Both streams are the terminal: paths are printed above the bar, not through it.
    assert r.out == ""
    assert str(tmp_path / "one-1.png") in r.err and str(tmp_path / "two-1.png") in r.err


# --- the shared 429 gate --------------------------------------------------------------------


@pytest.fixture
def threaded_server():
    server = QuickServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_a_429_to_one_worker_holds_back_every_worker(threaded_server, tmp_path):
    lock = threading.Lock()
    arrivals: list[tuple[float, str]] = []
    gate_closed = threading.Event()
    closed_at: list[float] = []

    def handler(request: Request) -> Response:
        prompt = json.loads(request.get_data())["prompt"]
        with lock:
            first = not arrivals
            arrivals.append((time.monotonic(), prompt))
        if first:
            return Response(
                "{}", status=429, headers={"retry-after-ms": "300"}, content_type="application/json"
            )
        # The first wave's answers wait until the gate is shut, so the next requests of
        # those workers are sure to meet it.
        gate_closed.wait(5)
        return answer_per_n(request)

    def on_retry(retry: object) -> None:
        closed_at.append(time.monotonic())
        gate_closed.set()

    threaded_server.expect_request(GEN).respond_with_handler(handler)
    client = Client(threaded_server.url_for("/v1"), retries=2, on_retry=on_retry)
    items = parse([f"prompt {i}\n" for i in range(6)], "txt", Defaults(model="gpt-image-2"), "f")
    summary = BatchRun(client, items, tmp_path, total=6, jobs=3, template=NAME).run()
    assert (summary.ok, summary.failed) == (6, 0)
    assert len(arrivals) == 7 and len(closed_at) == 1
    # The first wave (items 0-2) may already be on the wire when the gate shuts; every
    # request after it (the retry, items 3-5) waits out the 300 ms, whichever worker sends it.
    first_wave = {"prompt 0", "prompt 1", "prompt 2"}
    later = []
    for t, prompt in arrivals:
        if prompt in first_wave:
            first_wave.discard(prompt)
        else:
            later.append(t)
    assert len(later) == 4
    assert min(later) >= closed_at[0] + 0.29, (closed_at, arrivals)


# --- Ctrl-C -----------------------------------------------------------------------------------


def settle(server: ImageServer) -> None:
    """Wait until the server has finished (and logged) every request it took."""
    deadline = time.monotonic() + 5
    while server.in_flight and time.monotonic() < deadline:
        time.sleep(0.005)


def test_sigint_finishes_in_flight_items_and_a_rerun_does_the_rest(cli, tmp_path):
    posts: list[str] = []

    def log(line: str) -> None:
        if "POST /v1/images/generations 200" in line:
            posts.append(line)

    server = start_background(latency=0.15, log=log)
    prompts = tmp_path / "p.txt"
    prompts.write_text("".join(f"prompt {i}\n" for i in range(12)))
    out = tmp_path / "out"
    args = [str(prompts), "-j", "2", "-o", str(out), "--name", NAME, "-s", "1024x640"]
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "easyimg", "batch", *args, "--base-url", server.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        deadline = time.monotonic() + 15
        path = out / MANIFEST_NAME
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists() and path.read_text().count("\n") >= 1:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=15)
        settle(server)
    finally:
        server.close()
    assert proc.returncode == 130, stderr
    assert "run the same command again to continue" in stderr
    first = manifest(out)
    assert 1 <= len(first) < 12
    assert all(e["status"] == "ok" for e in first)
    written = sorted(p.name for p in out.iterdir() if p.name != MANIFEST_NAME)
    assert written == sorted(f for e in first for f in e["files"])  # no orphan, no .part
    assert sorted(stdout.split()) == sorted(str(out / f) for f in written)
    assert len(posts) == len(first)  # what was sent finished and was recorded

    again = start_background()
    try:
        r = cli("batch", *args, "--base-url", again.url)
        assert r.code == 0, r.err
        settle(again)
        assert again.requests_served == 12 - len(first)
    finally:
        again.close()
    final = manifest(out)
    assert sorted(e["prompt"] for e in final) == sorted(f"prompt {i}" for i in range(12))
    assert len({e["key"] for e in final}) == 12


def test_second_sigint_abandons_in_flight_items_and_says_so(tmp_path):
    server = start_background(latency=10)
    prompts = tmp_path / "p.txt"
    prompts.write_text("".join(f"prompt {i}\n" for i in range(5)))
    out = tmp_path / "out"
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "easyimg",
                "batch",
                str(prompts),
                "-j",
                "2",
                "-o",
                str(out),
                "--base-url",
                server.url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        deadline = time.monotonic() + 15
        while server.in_flight < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.stderr is not None
        # The estimate comes first, before anything is sent.
        assert proc.stderr.readline().startswith("estimated cost: $1.05 (5 images,")
        assert proc.stderr.readline().startswith("basis: ")
        assert proc.stderr.readline().startswith("interrupted: finishing 2 items in flight")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=15)
        assert time.monotonic() - start < 5  # not waiting out the 10 s requests
    finally:
        server.close()
    assert proc.returncode == 130, stderr
    assert stdout == ""
    assert "interrupted: 0 items finished, 2 abandoned, 3 not started" in stderr
    entries = manifest(out)
    assert [(e["status"], e["files"], e["error"], e["exit_code"]) for e in entries] == [
        ("error", [], "interrupted before it finished", 130)
    ] * 2
    assert sorted(e["line"] for e in entries) == [1, 2]
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME]


class _SignalOnFirstResult:
    """Events that deliver a real SIGINT (or SIGTERM) while reporting the first result."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.reported: list[str] = []
        self.stops: list[str] = []

    def started(self, summary: object, to_run: int) -> None:
        pass

    def finished(self, outcome: object, summary: object) -> None:
        if not self.reported:
            signal.raise_signal(self.signum)
        # Reached only when the signal waits: a KeyboardInterrupt raised at the line above
        # would lose the report of an item already written and recorded.
        self.reported.append(outcome.key)  # type: ignore[attr-defined]

    def stopping(self, in_flight: int, reason: str) -> None:
        self.stops.append(reason)


@pytest.mark.parametrize(
    ("signum", "reason"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")]
)
def test_a_signal_while_a_result_is_reported_waits_until_it_is_reported(
    httpserver: HTTPServer, tmp_path: Path, signum: int, reason: str
) -> None:
    httpserver.expect_request(GEN).respond_with_handler(answer_per_n)
    client = Client(httpserver.url_for("/v1"), retries=0)
    items = parse([f"prompt {i}\n" for i in range(6)], "txt", Defaults(model="gpt-image-2"), "f")
    events = _SignalOnFirstResult(signum)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    summary = BatchRun(client, items, tmp_path, total=6, jobs=1, template=NAME, events=events).run()
    assert summary.interrupted and summary.terminated == (signum == signal.SIGTERM)
    assert events.stops == [reason]
    written = manifest(tmp_path)
    # Every item the manifest holds was reported, and the run stopped after the first.
    assert [e["key"] for e in written] == events.reported
    assert 1 <= len(written) < 6
    assert {s: signal.getsignal(s) for s in handlers} == handlers  # put back as they were


def test_the_summary_counts_the_bytes_written_without_looking_at_the_files(
    cli, serve_images, tmp_path, monkeypatch
):
    from easyimg.console import human_bytes

    prompts = tmp_path / "p.txt"
    prompts.write_text("a red cat\na blue dog\na green owl\n")
    out = tmp_path / "out"
    looked: list[str] = []
    real = Path.stat

    def stat(self: Path, **kw: object) -> os.stat_result:
        if self.suffix == ".png":
            looked.append(self.name)
        return real(self, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "stat", stat)
    r = cli("batch", str(prompts), "-o", str(out), "--name", NAME, "--base-url", base(serve_images))
    assert r.code == 0, r.err
    assert looked == []
    written = sum(p.stat().st_size for p in out.glob("*.png"))
    assert f"3 images, {human_bytes(written)}," in r.err
