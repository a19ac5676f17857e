"""SPEC §5's promises for `easyimg batch`: nothing lost, nothing paid twice.

One run per folder (a lock), SIGTERM like Ctrl-C, partial items that resume with only what is
missing, a manifest that survives a torn line and never follows a symlink, a breaker for
account-wide failures, and a full disk. Signals go to a real `python -m easyimg` process; every
wait is on the server side (a handler holds its answer until the test lets it go).
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from easyimg.batch.lock import LOCK_NAME, FolderBusy, hold
from easyimg.batch.manifest import MANIFEST_NAME
from easyimg.batch.prompts import item_key
from easyimg.errors import OutputError

from .conftest import images_answer, make_image
from .serve_api import QuickServer

GEN = "/v1/images/generations"
NAME = "{slug}-{index}.{ext}"
WAIT = 15.0  # a safety net only: every wait below ends as soon as its event happens
USAGE = {"input_tokens": 5, "output_tokens": 100, "total_tokens": 105}


# --- helpers ----------------------------------------------------------------------------------


class Gate:
    """The server side of a test: counts arrivals and holds answers until released."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.arrived = 0
        self.bodies: list[dict[str, Any]] = []
        self.release = threading.Event()

    def arrive(self, request: Request) -> int:
        with self._cond:
            self.arrived += 1
            self.bodies.append(json.loads(request.get_data()))
            self._cond.notify_all()
            return self.arrived

    def wait_for(self, count: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.arrived >= count, WAIT)

    def hold(self) -> None:
        self.release.wait(WAIT)


class Child:
    """`python -m easyimg ...` with its output read as it comes (no pipe ever fills)."""

    def __init__(self, args: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS", "TERM")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "easyimg", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "NO_COLOR": "1"},
        )
        self._cond = threading.Condition()
        self._out: list[str] = []
        self._err: list[str] = []
        self._open = 2
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self._err), daemon=True),
        ]
        for t in self._threads:
            t.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _pump(self, stream: Any, sink: list[str]) -> None:
        for line in stream:
            with self._cond:
                sink.append(line)
                self._cond.notify_all()
        with self._cond:
            self._open -= 1
            self._cond.notify_all()

    def wait_line(self, prefix: str) -> bool:
        """Wait for a stderr line starting with `prefix`; False if the process ended first."""

        def seen() -> bool:
            return any(line.startswith(prefix) for line in self._err)

        with self._cond:
            self._cond.wait_for(lambda: seen() or self._open < 2, WAIT)
            return seen()

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def finish(self) -> tuple[int, str, str]:
        code = self.proc.wait(WAIT)
        for t in self._threads:
            t.join(WAIT)
        return code, "".join(self._out), "".join(self._err)


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    children: list[Child] = []

    def start(*args: str) -> Child:
        child = Child(list(args))
        children.append(child)
        return child

    yield start
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait()


@pytest.fixture(scope="module")
def threaded() -> Iterator[HTTPServer]:
    s = QuickServer(host="127.0.0.1", port=0, threaded=True)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def server(threaded: HTTPServer) -> Iterator[HTTPServer]:
    """A threaded loopback server: a held answer does not hold the others."""
    yield threaded
    threaded.clear()


def url(server: HTTPServer) -> str:
    return server.url_for("/v1")


def image_response(n: int = 1, image: bytes | None = None) -> Response:
    doc = images_answer(*[image or make_image() for _ in range(n)], usage=USAGE)
    return Response(json.dumps(doc), content_type="application/json")


def per_n(request: Request) -> Response:
    return image_response(json.loads(request.get_data())["n"])


def error_response(status: int, message: str, code: str | None = None) -> Response:
    err: dict[str, Any] = {"message": message, "type": "invalid_request_error"}
    if code:
        err["code"] = code
    return Response(json.dumps({"error": err}), status=status, content_type="application/json")


def prompts_file(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "p.txt"
    path.write_text("".join(f"prompt {i}\n" for i in range(count)))
    return path


def lines_of(directory: Path) -> list[dict[str, Any]]:
    """Manifest entries in file order (every line must be a JSON object)."""
    return [json.loads(line) for line in (directory / MANIFEST_NAME).read_text().splitlines()]


def strip(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "time"}


def key_of(prompt: str) -> str:
    return item_key({"model": "gpt-image-2", "prompt": prompt, "n": 1}, None)


def ok_line(line: int, prompt: str, files: list[str]) -> dict[str, Any]:
    return {
        "line": line,
        "key": key_of(prompt),
        "status": "ok",
        "files": files,
        "usage": USAGE,
        "error": None,
        "exit_code": None,
        "prompt": prompt,
        "time": "2026-01-01T00:00:00Z",
    }


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- one run per folder -----------------------------------------------------------------------


def test_a_second_run_on_the_same_folder_exits_2_naming_the_holder(cli, server, spawn, tmp_path):
    gate = Gate()

    def handler(request: Request) -> Response:
        if gate.arrive(request) == 1:
            gate.hold()  # the first run's first item stays in flight while the others try
        return per_n(request)

    server.expect_request(GEN, method="POST").respond_with_handler(handler)
    prompts = prompts_file(tmp_path, 3)
    out = tmp_path / "out"
    args = ["batch", str(prompts), "-j", "1", "-o", str(out), "--name", NAME]
    first = spawn(*args, "--base-url", url(server))
    try:
        assert gate.wait_for(1)
        assert (out / LOCK_NAME).read_text().strip() == str(first.pid)
        second = cli(*args, "--base-url", url(server))
        remote = cli(*args, "--remote", "--base-url", url(server))
        fetch = cli("batches", "fetch", "batch_1", "-o", str(out), "--base-url", url(server))
        sent_meanwhile = gate.arrived
    finally:
        gate.release.set()
    code, _, err = first.finish()
    assert code == 0, err
    for r in (second, remote, fetch):
        assert r.code == 2, r.err
        assert r.out == ""
        assert f"is in use by another easyimg run (pid {first.pid})" in r.err
    assert sent_meanwhile == 1  # neither the second run nor the fetch sent anything
    assert len(server.log) == 3  # and no GET /batches/batch_1 either
    assert gate.arrived == 3
    assert [e["line"] for e in lines_of(out)] == [1, 2, 3]  # every item once
    assert LOCK_NAME not in listing(out)  # released at the end


def test_a_killed_runs_lock_is_taken_over_and_its_temp_files_removed(cli, server, spawn, tmp_path):
    gate = Gate()

    def handler(request: Request) -> Response:
        if gate.arrive(request) == 1:
            gate.hold()
        return per_n(request)

    server.expect_request(GEN, method="POST").respond_with_handler(handler)
    prompts = prompts_file(tmp_path, 2)
    out = tmp_path / "out"
    args = ["batch", str(prompts), "-j", "1", "-o", str(out), "--name", NAME]
    args += ["--base-url", url(server)]
    killed = spawn(*args)
    try:
        assert gate.wait_for(1)
        killed.proc.kill()  # SIGKILL: nothing of the run gets to clean up
        killed.finish()
    finally:
        gate.release.set()
    assert (out / LOCK_NAME).read_text().strip() == str(killed.pid)
    hexes = iter(os.urandom(8).hex() for _ in range(10))
    # Temporary files a killed run leaves: ours by name, from a process that is gone.
    stale = [
        f".easyimg-{killed.pid}-{next(hexes)}.part",
        f".easyimg-{killed.pid}-{next(hexes)}.jsonl.part",
        f".easyimg-{killed.pid}-{next(hexes)}.tmp",
        f".easyimg-{next(hexes)}.part",  # the name older versions used
    ]
    # Not ours, or not stale: a live process's temp file, other names, other folders.
    kept = [
        f".easyimg-{os.getpid()}-{next(hexes)}.part",
        ".easyimg-notes.part",
        "notes.part",
        "easyimg-1234.part",
    ]
    for name in stale + kept:
        (out / name).write_bytes(b"half an image")
    (out / "sub").mkdir()
    nested = out / "sub" / f".easyimg-{killed.pid}-{next(hexes)}.part"
    nested.write_bytes(b"not in the run's folder")

    r = cli(*args)
    assert r.code == 0, r.err
    assert f"took over {out} from an earlier run (pid {killed.pid}) that is gone" in r.err
    assert "removed 4 temporary files an earlier run left" in r.err
    assert gate.arrived == 1 + 2  # the killed run's item had no manifest line: done again
    assert listing(out) == sorted([*kept, "sub", MANIFEST_NAME, "prompt-0-1.png", "prompt-1-1.png"])
    assert nested.exists()
    assert [e["status"] for e in lines_of(out)] == ["ok", "ok"]


def test_the_lock_holds_against_any_other_opener_and_never_follows_a_symlink(tmp_path):
    with hold(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(FolderBusy) as busy:
            hold(tmp_path)  # a second open of the file, even in this process, is refused
        assert (busy.value.pid, busy.value.exit_code) == (os.getpid(), 2)
    assert listing(tmp_path) == []
    (tmp_path / LOCK_NAME).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutputError, match="is a symbolic link"):
        hold(tmp_path)
    assert listing(tmp_path) == [LOCK_NAME]


# --- SIGTERM ----------------------------------------------------------------------------------


def test_sigterm_finishes_in_flight_items_records_them_and_exits_143(cli, server, spawn, tmp_path):
    gate = Gate()

    def handler(request: Request) -> Response:
        gate.arrive(request)
        gate.hold()
        return per_n(request)

    server.expect_request(GEN, method="POST").respond_with_handler(handler)
    prompts = prompts_file(tmp_path, 6)
    out = tmp_path / "out"
    args = ["batch", str(prompts), "-j", "2", "-o", str(out), "--name", NAME]
    child = spawn(*args, "--base-url", url(server))
    try:
        assert gate.wait_for(2)
        child.signal(signal.SIGTERM)
        # Only once the run has stopped starting items may the two in flight finish.
        assert child.wait_line("terminated: finishing 2 items in flight")
    finally:
        gate.release.set()
    code, out_text, err = child.finish()
    assert code == 143, err
    assert gate.arrived == 2
    assert sorted((strip(e) for e in lines_of(out)), key=lambda e: e["line"]) == [
        strip(ok_line(1, "prompt 0", ["prompt-0-1.png"])),
        strip(ok_line(2, "prompt 1", ["prompt-1-1.png"])),
    ]
    assert sorted(out_text.split()) == [str(out / "prompt-0-1.png"), str(out / "prompt-1-1.png")]
    assert "6 items: 2 ok, 0 failed, 0 skipped, 4 not started" in err
    assert "terminated: 2 items finished, 0 abandoned, 4 not started" in err
    assert "run the same command again to continue" in err
    assert listing(out) == [MANIFEST_NAME, "prompt-0-1.png", "prompt-1-1.png"]

    r = cli(*args, "--base-url", url(server))
    assert r.code == 0, r.err
    assert sorted(b["prompt"] for b in gate.bodies[2:]) == [f"prompt {i}" for i in range(2, 6)]
    assert sorted(e["line"] for e in lines_of(out)) == [1, 2, 3, 4, 5, 6]


def test_a_second_sigterm_records_the_partial_item_and_a_rerun_asks_only_for_the_rest(
    cli, server, spawn, tmp_path
):
    gate = Gate()

    def handler(request: Request) -> Response:
        # A router that ignores n: one image per answer, so easyimg asks again for the rest,
        # each time only after it has written the image before.
        if gate.arrive(request) == 3:
            gate.hold()
        return image_response(1)

    server.expect_request(GEN, method="POST").respond_with_handler(handler)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"prompt": "three cats", "n": 3}) + "\n")
    out = tmp_path / "out"
    args = ["batch", str(prompts), "-o", str(out), "--name", NAME, "--base-url", url(server)]
    child = spawn(*args)
    try:
        assert gate.wait_for(3)  # two images are written, the third is on its way
        child.signal(signal.SIGTERM)
        assert child.wait_line("terminated: finishing 1 item in flight")
        child.signal(signal.SIGTERM)
        code, out_text, err = child.finish()
    finally:
        gate.release.set()
    assert code == 143, err
    assert [b["n"] for b in gate.bodies] == [3, 2, 1]
    two = ["three-cats-1.png", "three-cats-2.png"]
    [entry] = lines_of(out)
    assert (entry["status"], entry["files"], entry["exit_code"]) == ("partial", two, 143)
    assert sorted(out_text.split()) == [str(out / f) for f in two]
    assert listing(out) == [MANIFEST_NAME, *two]

    r = cli(*args)
    assert r.code == 0, r.err
    assert gate.bodies[3:] == [{"model": "gpt-image-2", "prompt": "three cats", "n": 1}]
    assert r.out.split() == [str(out / "three-cats-3.png")]
    last = lines_of(out)[-1]
    assert (last["status"], last["files"]) == ("ok", [*two, "three-cats-3.png"])
    assert cli(*args).code == 0
    assert gate.arrived == 4


def test_sigterm_during_gen_is_exit_143_and_leaves_no_file(server, spawn, tmp_path):
    gate = Gate()

    def handler(request: Request) -> Response:
        gate.arrive(request)
        gate.hold()
        return per_n(request)

    server.expect_request(GEN, method="POST").respond_with_handler(handler)
    child = spawn("gen", "a cat", "-o", str(tmp_path), "--base-url", url(server))
    try:
        assert gate.wait_for(1)
        child.signal(signal.SIGTERM)
        code, out_text, err = child.finish()
    finally:
        gate.release.set()
    assert code == 143, err
    assert out_text == ""
    assert "error: terminated" in err
    assert listing(tmp_path) == []


# --- partial items ----------------------------------------------------------------------------


def test_an_item_with_some_images_is_partial_and_a_rerun_asks_only_for_the_rest(
    cli, httpserver, tmp_path
):
    arrivals: list[dict[str, Any]] = []
    refuse = [True]

    def handler(request: Request) -> Response:
        arrivals.append(json.loads(request.get_data()))
        if refuse[0] and len(arrivals) == 2:
            return error_response(400, "Your request was rejected.", "moderation_blocked")
        return per_n(request)

    httpserver.expect_request(GEN, method="POST").respond_with_handler(handler)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"prompt": "three cats", "model": "dall-e-3", "n": 3}) + "\n")
    out = tmp_path / "out"
    args = ["batch", str(prompts), "-o", str(out), "--name", NAME, "--base-url", url(httpserver)]
    r = cli(*args)
    assert r.code == 6, r.err  # some images written: partial success
    assert len(arrivals) == 3  # dall-e-3 takes n=1: three requests
    two = ["three-cats-1.png", "three-cats-2.png"]
    key = item_key({"model": "dall-e-3", "prompt": "three cats", "n": 3}, None)
    message = "400 Bad Request: Your request was rejected. (code: moderation_blocked)"
    assert [strip(e) for e in lines_of(out)] == [
        {
            "line": 1,
            "key": key,
            "status": "partial",
            "files": two,
            "usage": {"input_tokens": 10, "output_tokens": 200, "total_tokens": 210},
            "error": message,
            "exit_code": 4,
            "prompt": "three cats",
        }
    ]
    assert f"error: {prompts}:1: {message}" in r.err

    refuse[0] = False
    r = cli(*args, "--json")
    assert r.code == 0, r.err
    assert arrivals[3:] == [{"model": "dall-e-3", "prompt": "three cats", "n": 1}]
    assert r.json["images"] == [str(out / "three-cats-3.png")]
    assert strip(lines_of(out)[-1]) == {
        "line": 1,
        "key": key,
        "status": "ok",
        "files": [*two, "three-cats-3.png"],  # what the item holds now
        "usage": USAGE,  # what this run paid
        "error": None,
        "exit_code": None,
        "prompt": "three cats",
    }
    assert listing(out) == [MANIFEST_NAME, *two, "three-cats-3.png"]
    r = cli(*args)
    assert (r.code, len(arrivals)) == (0, 4)
    assert "nothing to do: the one item is already done" in r.err


def test_a_partial_item_sent_to_the_batch_api_asks_only_for_the_rest(cli, httpserver, tmp_path):
    arrivals = [0]

    def handler(request: Request) -> Response:
        arrivals[0] += 1
        if arrivals[0] == 2:  # dall-e-3 takes n=1: the second of three requests is refused
            return error_response(400, "Your request was rejected.", "moderation_blocked")
        return per_n(request)

    httpserver.expect_request(GEN, method="POST").respond_with_handler(handler)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"prompt": "three cats", "model": "dall-e-3", "n": 3}) + "\n")
    out = tmp_path / "out"
    args = ["batch", str(prompts), "-o", str(out), "--name", NAME]
    assert cli(*args, "-j", "1", "--base-url", url(httpserver)).code == 6
    two = ["three-cats-1.png", "three-cats-2.png"]
    assert lines_of(out)[-1]["files"] == two

    r = cli(*args, "--remote", "--dry-run")
    assert r.code == 0, r.err
    [request] = [json.loads(line) for line in r.out.splitlines()]
    assert request["body"] == {"model": "dall-e-3", "prompt": "three cats", "n": 1}
    dry = cli(*args, "--dry-run", "--json")
    assert [q["body"]["n"] for q in dry.json["requests"]] == [1]

    r = cli(*args, "--remote", "--wait", "--offline")
    assert r.code == 0, r.err
    assert r.out.split() == [str(out / "three-cats-3.png")]
    last = lines_of(out)[-1]
    assert (last["status"], last["files"]) == ("ok", [*two, "three-cats-3.png"])


# --- the manifest -----------------------------------------------------------------------------


def test_a_torn_last_line_swallows_nothing_and_bad_lines_are_named(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN, method="POST").respond_with_handler(per_n)
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\nthree\nfour\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "one-1.png").write_bytes(make_image())
    torn = json.dumps(ok_line(4, "four", ["four-1.png"]))[:40]
    (out / MANIFEST_NAME).write_text(
        json.dumps(ok_line(1, "one", ["one-1.png"])) + "\n" + "not json at all\n" + torn
    )
    args = ["batch", str(prompts), "-o", str(out), "--name", NAME, "--base-url", url(httpserver)]
    r = cli(*args)
    assert r.code == 0, r.err
    assert sorted(json.loads(req.get_data())["prompt"] for req, _ in httpserver.log) == [
        "four",
        "three",
        "two",
    ]
    name = out / MANIFEST_NAME
    assert f"warning: {name} line 2 cannot be read (not JSON); ignored" in r.err
    assert f"warning: {name} line 3 was cut off (a run ended while writing it); ignored" in r.err
    text = name.read_text()
    assert text.startswith(f"{json.dumps(ok_line(1, 'one', ['one-1.png']))}\nnot json at all\n")
    rest = text.splitlines()[3:]
    assert text.splitlines()[2] == torn  # left as it was: appends start on a fresh line
    assert sorted(json.loads(line)["prompt"] for line in rest) == ["four", "three", "two"]

    r = cli(*args)
    assert r.code == 0, r.err
    assert "nothing to do: all 4 items are already done" in r.err
    assert len(httpserver.log) == 3


def test_a_whole_last_line_without_newline_still_counts(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN, method="POST").respond_with_handler(per_n)
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    out = tmp_path / "out"
    out.mkdir()
    first = json.dumps(ok_line(1, "one", ["one-1.png"]))
    (out / MANIFEST_NAME).write_text(first)  # whole, but no final newline
    args = ["batch", str(prompts), "-o", str(out), "--name", NAME, "--base-url", url(httpserver)]
    r = cli(*args)
    assert r.code == 0, r.err
    assert "warning" not in r.err
    assert [json.loads(req.get_data())["prompt"] for req, _ in httpserver.log] == ["two"]
    assert [e["prompt"] for e in lines_of(out)] == ["one", "two"]
    assert (out / MANIFEST_NAME).read_text().startswith(first + "\n")
    assert "nothing to do: all 2 items are already done" in cli(*args).err


@pytest.mark.parametrize("target_exists", [True, False])
def test_the_manifest_is_never_written_through_a_symlink(cli, httpserver, tmp_path, target_exists):
    httpserver.expect_request(GEN, method="POST").respond_with_handler(per_n)
    prompts = prompts_file(tmp_path, 2)
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere.jsonl"
    if target_exists:
        elsewhere.write_text("precious\n")
    (out / MANIFEST_NAME).symlink_to(elsewhere)
    r = cli("batch", str(prompts), "-o", str(out), "--base-url", url(httpserver))
    assert r.code == 2, r.err
    assert r.err.splitlines()[-1] == (
        f"error: {out / MANIFEST_NAME} is a symbolic link; "
        "easyimg does not write its manifest through one"
    )
    assert httpserver.log == []  # found before any request
    if target_exists:
        assert elsewhere.read_text() == "precious\n"
    else:
        assert not elsewhere.exists()
    assert listing(out) == [MANIFEST_NAME]


# --- the breaker ------------------------------------------------------------------------------


# The last field is the exit code when this part fixes it; a quota error's own code (exit 3,
# never retried) is the client's to set, and the batch exits with whatever code that is.
BREAKERS = [
    pytest.param(401, "Incorrect API key provided.", "invalid_api_key", 3, id="401"),
    pytest.param(403, "Your account is not allowed.", None, 3, id="403"),
    pytest.param(429, "You exceeded your current quota.", "insufficient_quota", None, id="quota"),
    pytest.param(
        429, "Billing hard limit reached.", "billing_hard_limit_reached", None, id="billing"
    ),
    pytest.param(404, "The model `gpt-image-9` does not exist.", "model_not_found", 4, id="model"),
]


@pytest.mark.parametrize(("status", "message", "code", "exit_code"), BREAKERS)
def test_five_account_wide_failures_in_a_row_stop_the_batch(
    cli, httpserver, tmp_path, status, message, code, exit_code
):
    httpserver.expect_request(GEN, method="POST").respond_with_response(
        error_response(status, message, code)
    )
    prompts = prompts_file(tmp_path, 9)
    out = tmp_path / "out"
    r = cli(
        "batch",
        str(prompts),
        "-j",
        "1",
        "-o",
        str(out),
        "--retries",
        "0",
        "--base-url",
        url(httpserver),
        "--json",
    )
    entries = lines_of(out)
    assert r.code == entries[0]["exit_code"], r.err  # the error's own exit code
    if exit_code is not None:
        assert r.code == exit_code
    assert len(httpserver.log) == 5  # not one request per line of the file
    assert (r.json["failed"], r.json["not_started"]) == (5, 4)
    assert [e["line"] for e in entries] == [1, 2, 3, 4, 5]
    assert f"stopped early: 5 items in a row failed with: {status} " in r.err
    assert r.json["stopped_early"] == f"5 items in a row failed with: {entries[0]['error']}"


def test_a_server_that_cannot_be_reached_stops_the_batch(cli, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: every connect is refused
        port = sock.getsockname()[1]
        prompts = prompts_file(tmp_path, 8)
        out = tmp_path / "out"
        r = cli(
            "batch",
            str(prompts),
            "-j",
            "1",
            "-o",
            str(out),
            "--retries",
            "0",
            "--base-url",
            f"http://127.0.0.1:{port}/v1",
            "--json",
        )
    assert r.code == 5, r.err
    assert (r.json["failed"], r.json["not_started"]) == (5, 3)
    assert "stopped early: 5 items in a row failed with: cannot connect to 127.0.0.1" in r.err


@pytest.fixture
def no_invalid_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names under .invalid never resolve (RFC 6761): fail them here, without asking DNS."""
    real = socket.getaddrinfo

    def getaddrinfo(host: object, *args: Any, **kw: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".").endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_host_that_does_not_resolve_stops_the_batch(cli, no_invalid_hosts, tmp_path):
    prompts = prompts_file(tmp_path, 7)
    out = tmp_path / "out"
    r = cli(
        "batch",
        str(prompts),
        "-j",
        "1",
        "-o",
        str(out),
        "--retries",
        "0",
        "--api-key",
        "sk-test-123456",
        "--base-url",
        "https://easyimg-test.invalid/v1",
        "--json",
    )
    assert r.code == 5, r.err
    assert (r.json["failed"], r.json["not_started"]) == (5, 2)
    assert "stopped early: 5 items in a row failed with: cannot " in r.err
    assert "easyimg-test.invalid" in r.err


def test_account_wide_failures_that_are_not_in_a_row_do_not_stop_the_batch(
    cli, httpserver, tmp_path
):
    count = [0]

    def handler(request: Request) -> Response:
        count[0] += 1
        if count[0] % 5 == 0:  # a success after every four failures resets the count
            return per_n(request)
        return error_response(401, "Incorrect API key provided.", "invalid_api_key")

    httpserver.expect_request(GEN, method="POST").respond_with_handler(handler)
    prompts = prompts_file(tmp_path, 12)
    r = cli(
        "batch",
        str(prompts),
        "-j",
        "1",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        url(httpserver),
        "--json",
    )
    assert len(httpserver.log) == 12
    assert (r.code, r.json["ok"], r.json["failed"], r.json["not_started"]) == (6, 2, 10, 0)
    assert "stopped early" not in r.err


def test_failures_of_single_items_never_stop_the_batch(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN, method="POST").respond_with_response(
        error_response(400, "Your request was rejected.", "moderation_blocked")
    )
    prompts = prompts_file(tmp_path, 8)
    r = cli(
        "batch",
        str(prompts),
        "-j",
        "1",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        url(httpserver),
        "--json",
    )
    assert len(httpserver.log) == 8
    assert (r.code, r.json["failed"], r.json["not_started"]) == (4, 8, 0)


# --- a full disk ------------------------------------------------------------------------------


def noise_png(size: tuple[int, int]) -> bytes:
    """An image that does not compress: its file takes about 3 bytes a pixel."""
    pixels = random.Random(size[0]).randbytes(size[0] * size[1] * 3)
    img = Image.frombytes("RGB", size, pixels)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a disk that really fills (needs root; skipped where it cannot mount)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_disk_that_fills_mid_batch_is_exit_6_and_keeps_what_was_written(
    cli, httpserver, tmp_path, small_disk
):
    big = noise_png((256, 256))  # ~197 KB: the fifth or sixth fills the 1 MiB disk
    httpserver.expect_request(GEN, method="POST").respond_with_response(image_response(1, big))
    prompts = prompts_file(tmp_path, 12)
    out = small_disk / "out"
    r = cli(
        "batch",
        str(prompts),
        "-j",
        "1",
        "-o",
        str(out),
        "--name",
        NAME,
        "--no-metadata",
        "--base-url",
        url(httpserver),
        "--json",
    )
    assert r.code == 6, r.err
    ok = r.json["ok"]
    assert 1 <= ok < 12 and r.json["not_started"] >= 1
    assert r.json["stopped_early"].endswith(": no space left on device")
    assert f"error: stopped early: {r.json['stopped_early']}" in r.err
    written = [e for e in lines_of(out) if e["status"] == "ok"]
    assert len(written) == ok
    images = sorted(name for name in listing(out) if name != MANIFEST_NAME)
    assert images == sorted(f for e in written for f in e["files"])  # no .part, no orphan
    assert all((out / f).read_bytes() == big for f in images)


RLIMITED = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, it does not kill
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
sys.argv = ["easyimg", *sys.argv[2:]]
runpy.run_module("easyimg", run_name="__main__")
"""


def test_a_write_that_fails_mid_batch_is_exit_6(httpserver, tmp_path):
    """Where no tmpfs can be mounted: a file size limit fails the write the same way."""
    small, big = make_image(), noise_png((256, 256))

    def handler(request: Request) -> Response:
        prompt = json.loads(request.get_data())["prompt"]
        return image_response(1, big if prompt.startswith("big") else small)

    httpserver.expect_request(GEN, method="POST").respond_with_handler(handler)
    prompts = tmp_path / "p.txt"
    prompts.write_text("small a\nsmall b\nbig c\nsmall d\nsmall e\n")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS", "TERM")}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            RLIMITED,
            str(64 * 1024),
            "batch",
            str(prompts),
            "-j",
            "1",
            "-o",
            str(out),
            "--name",
            NAME,
            "--base-url",
            url(httpserver),
        ],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
        timeout=WAIT,
        check=False,
    )
    assert done.returncode == 6, done.stderr
    assert "stopped early: cannot write an image in" in done.stderr
    assert [(e["line"], e["status"]) for e in lines_of(out)] == [
        (1, "ok"),
        (2, "ok"),
        (3, "error"),
    ]
    assert listing(out) == [MANIFEST_NAME, "small-a-1.png", "small-b-1.png"]
