"""A batch holds its history file and manifest open for the run: one open each, whole lines in
order, closed however the run ends, and nothing lost when the process is killed."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from easyimg import history, redact
from easyimg.batch.manifest import MANIFEST_NAME, Manifest
from easyimg.cli import batch_progress
from easyimg.errors import ConfigError

from .serve_api import QuickServer
from .test_batch_promises import GEN, NAME, Child, Gate, per_n, prompts_file, url

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")


@pytest.fixture(scope="module")
def threaded() -> Iterator[HTTPServer]:
    s = QuickServer(host="127.0.0.1", port=0, threaded=True)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def server(threaded: HTTPServer) -> Iterator[HTTPServer]:
    yield threaded
    threaded.clear()


@pytest.fixture
def child() -> Iterator[list[Child]]:
    children: list[Child] = []
    yield children
    for c in children:
        if c.proc.poll() is None:
            c.proc.kill()
            c.proc.wait()


def open_on(path: Path) -> int:
    """How many of this process's descriptors are open on `path`."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                count += 1
        except OSError:
            continue  # the listing's own descriptor, already closed
    return count


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths os.open is called with, by file name."""
    seen: list[str] = []
    real = os.open

    def counting(path: Any, *args: Any, **kwargs: Any) -> int:
        seen.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting)
    yield seen


def test_appender_opens_once_and_keeps_every_line_whole_and_in_order(tmp_path, opens):
    path = tmp_path / "data" / "history.jsonl"
    key = "sk-held-open-secret-0123456789"
    redact.register(key)
    journal = history.Appender(path)

    def writer(thread: int) -> None:
        for seq in range(150):
            journal.append(
                {"thread": thread, "seq": seq, "error": f"bad key {key}", "pad": "x" * seq}
            )

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    history.append(path, {"thread": "other", "seq": 0})  # another writer, open per line
    for t in threads:
        t.join()
    assert open_on(path) == 1
    journal.close()
    journal.close()  # twice is fine
    assert open_on(path) == 0
    assert opens.count("history.jsonl") == 2  # the journal once, the other writer once

    raw = path.read_bytes()
    assert key.encode() not in raw and raw.endswith(b"\n")
    entries = [json.loads(line) for line in raw.splitlines()]
    assert len(entries) == 4 * 150 + 1
    for thread in range(4):
        assert [e["seq"] for e in entries if e["thread"] == thread] == list(range(150))
    assert os.stat(path).st_mode & 0o777 == 0o600
    with pytest.raises(ConfigError, match="closed"):
        journal.append({"late": True})


def test_appender_that_wrote_nothing_makes_no_file(tmp_path):
    path = tmp_path / "history.jsonl"
    with history.Appender(path):
        pass
    assert not path.exists()


def test_held_manifest_mends_a_torn_end_once_and_reopens_after_close(tmp_path, opens):
    manifest = Manifest(tmp_path)
    manifest.path.write_bytes(b'{"line":1,"key":"a"}\n{"line":2,"ke')  # a crash mid-line
    with manifest:
        manifest.append({"line": 3})
        manifest.append({"line": 4})
        assert open_on(manifest.path) == 1
    assert open_on(manifest.path) == 0
    manifest.append({"line": 5})  # not held: opened and closed for the line
    assert open_on(manifest.path) == 0
    assert opens.count(MANIFEST_NAME) == 2
    assert manifest.path.read_bytes().splitlines() == [
        b'{"line":1,"key":"a"}',
        b'{"line":2,"ke',
        b'{"line":3}',
        b'{"line":4}',
        b'{"line":5}',
    ]


def test_held_manifest_lines_from_many_threads_are_whole(tmp_path):
    manifest = Manifest(tmp_path)
    key = "sk-manifest-secret-0123456789"
    redact.register(key)

    def writer(thread: int) -> None:
        for seq in range(150):
            manifest.append({"line": thread, "seq": seq, "error": f"key {key}", "pad": "x" * seq})

    with manifest:
        threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    raw = manifest.path.read_bytes()
    assert key.encode() not in raw
    entries = [json.loads(line) for line in raw.splitlines()]
    assert len(entries) == 4 * 150
    for thread in range(4):
        assert [e["seq"] for e in entries if e["line"] == thread] == list(range(150))


class _HeldWrite:
    """os.write made to wait, on its first call to `fd`, until the test lets it go."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.name = name
        self.writing = threading.Event()
        self.go = threading.Event()
        self.real = os.write
        monkeypatch.setattr(os, "write", self)

    def __call__(self, fd: int, data: Any) -> int:
        if not self.writing.is_set() and os.readlink(f"/proc/self/fd/{fd}").endswith(self.name):
            self.writing.set()
            assert self.go.wait(10)
        return self.real(fd, data)


@pytest.mark.parametrize("which", ["history", "manifest"])
def test_closing_waits_for_a_line_being_written(tmp_path, monkeypatch, which):
    """Lines are written outside the lock: close() must not close the descriptor (whose
    number could then be reused) under a write still in flight."""
    if which == "history":
        path = tmp_path / "history.jsonl"
        held: history.Appender | Manifest = history.Appender(path)
    else:
        held = Manifest(tmp_path).hold()
        path = held.path
        held.append({"line": 0})  # opened and looked at: later lines go outside the lock
    write = _HeldWrite(monkeypatch, path.name)
    waiting = threading.Event()
    real_wait = history.Writers.wait_idle

    def noting(self: history.Writers) -> None:
        waiting.set()
        real_wait(self)

    monkeypatch.setattr(history.Writers, "wait_idle", noting)
    writer = threading.Thread(target=held.append, args=({"line": 1, "status": "ok"},))
    writer.start()
    assert write.writing.wait(10)
    closer = threading.Thread(target=held.close)
    closer.start()
    assert waiting.wait(10)
    assert open_on(path) == 1  # still open under the write
    write.go.set()
    writer.join(10)
    closer.join(10)
    assert not writer.is_alive() and not closer.is_alive()
    assert open_on(path) == 0
    assert json.loads(path.read_bytes().splitlines()[-1]) == {"line": 1, "status": "ok"}


def test_a_batch_opens_its_history_and_manifest_once_and_closes_both(
    cli, server, tmp_path, user_dir, opens
):
    server.expect_request(GEN, method="POST").respond_with_handler(per_n)
    out = tmp_path / "out"
    prompts = prompts_file(tmp_path, 6)
    r = cli(
        "batch", str(prompts), "-j", "3", "-o", str(out), "--name", NAME, "--base-url", url(server)
    )
    assert r.code == 0, r.err
    hist = user_dir / "history.jsonl"
    assert opens.count("history.jsonl") == 1 and opens.count(MANIFEST_NAME) == 1
    assert open_on(hist) == 0 and open_on(out / MANIFEST_NAME) == 0
    lines = [json.loads(line) for line in hist.read_text().splitlines()]
    assert sorted(e["prompt"] for e in lines) == [f"prompt {i}" for i in range(6)]
    assert all(
        e["files"] == [str(out.resolve() / f"{e['prompt'].replace(' ', '-')}-1.png")] for e in lines
    )
    manifest = [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]
    assert sorted(e["line"] for e in manifest) == [1, 2, 3, 4, 5, 6]


def test_an_interrupted_batch_closes_its_files_with_whole_lines(
    cli, server, tmp_path, user_dir, monkeypatch
):
    server.expect_request(GEN, method="POST").respond_with_handler(per_n)
    real = batch_progress.View.finished
    calls: list[int] = []

    def ctrl_c_after_the_first(self: Any, outcome: Any, summary: Any) -> None:
        real(self, outcome, summary)
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(batch_progress.View, "finished", ctrl_c_after_the_first)
    out = tmp_path / "out"
    prompts = prompts_file(tmp_path, 8)
    r = cli(
        "batch", str(prompts), "-j", "1", "-o", str(out), "--name", NAME, "--base-url", url(server)
    )
    assert r.code == 130, r.err
    hist = user_dir / "history.jsonl"
    assert open_on(hist) == 0 and open_on(out / MANIFEST_NAME) == 0
    manifest = [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]
    entries = [json.loads(line) for line in hist.read_text().splitlines()]
    assert 1 <= len(manifest) < 8
    assert sorted(e["prompt"] for e in entries) == sorted(e["prompt"] for e in manifest)


def test_a_failing_batch_closes_its_files(cli, server, tmp_path, user_dir):
    def refuse(request: Request) -> Response:
        body = {"error": {"message": "no", "type": "invalid_request_error"}}
        return Response(json.dumps(body), status=400, content_type="application/json")

    server.expect_request(GEN, method="POST").respond_with_handler(refuse)
    out = tmp_path / "out"
    prompts = prompts_file(tmp_path, 3)
    r = cli("batch", str(prompts), "-o", str(out), "--name", NAME, "--base-url", url(server))
    assert r.code != 0
    hist = user_dir / "history.jsonl"
    assert open_on(hist) == 0 and open_on(out / MANIFEST_NAME) == 0
    assert [json.loads(line)["status"] for line in hist.read_text().splitlines()] == ["error"] * 3


def test_a_killed_batch_leaves_a_whole_line_for_every_finished_item(
    server, child, tmp_path, user_dir
):
    gate = Gate()

    def handler(request: Request) -> Response:
        if gate.arrive(request) >= 3:
            gate.hold()  # the third item never finishes
        return per_n(request)

    server.expect_request(GEN, method="POST").respond_with_handler(handler)
    out = tmp_path / "out"
    prompts = prompts_file(tmp_path, 5)
    args = ["batch", str(prompts), "-j", "1", "-o", str(out), "--name", NAME]
    run = Child([*args, "--base-url", url(server)])
    child.append(run)
    try:
        # One worker: the third request is sent only after the second item was recorded.
        assert gate.wait_for(3)
        os.kill(run.pid, signal.SIGKILL)
        run.finish()
    finally:
        gate.release.set()
    hist = user_dir / "history.jsonl"
    for path in (hist, out / MANIFEST_NAME):
        raw = path.read_bytes()
        assert raw.endswith(b"\n")
        assert [json.loads(line)["prompt"] for line in raw.splitlines()] == ["prompt 0", "prompt 1"]
