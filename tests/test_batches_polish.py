"""Remote batches as a person meets them: where fetch writes, Ctrl-C while waiting, one status
line, exit 6 for a batch that ended early; batch retries that name their item."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from easyimg.api.client import Client
from easyimg.batch import remote
from easyimg.serve.http import start_background

from .conftest import images_answer, make_image

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def server():
    s = start_background()
    yield s
    s.close()


def submit(cli, server, tmp_path: Path, out: Path) -> str:
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red fox\na blue bird\n")
    r = cli(
        "batch",
        str(prompts),
        "--remote",
        "-m",
        "dall-e-2",
        "-s",
        "256x256",
        "-o",
        str(out),
        "--base-url",
        server.url,
    )
    assert r.code == 0, r.err
    return r.out.strip()


def test_fetch_without_o_writes_where_the_batch_was_submitted_for(cli, server, tmp_path):
    out = tmp_path / "out"
    batch_id = submit(cli, server, tmp_path, out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = cli("batches", "fetch", batch_id, "--wait", "--base-url", server.url, cwd=elsewhere)
    assert r.code == 0, r.err
    assert sorted(Path(p).parent for p in r.out.split()) == [out.resolve()] * 2
    assert list(elsewhere.iterdir()) == []
    assert f"writing into {out.resolve()}, where the batch was submitted for" in r.err


def test_ctrl_c_while_waiting_says_the_batch_keeps_running(cli, server, tmp_path, monkeypatch):
    out = tmp_path / "out"
    batch_id = submit(cli, server, tmp_path, out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(remote, "wait", interrupted)
    r = cli("batches", "fetch", batch_id, "--wait", "--profile", "w", "--base-url", server.url)
    assert r.code == 3  # no profile 'w': the connection is settled before any waiting
    r = cli("batches", "fetch", batch_id, "--wait", "--base-url", server.url)
    assert r.code == 130
    assert r.err.splitlines()[-3:] == [
        f"error: interrupted; batch {batch_id} keeps running on the server",
        "collect its results with:",
        f"  easyimg batches fetch {batch_id} --base-url {server.url}",
    ]
    r = cli("batches", "fetch", batch_id, "--wait", "--base-url", server.url, "--json")
    assert r.code == 130
    assert (
        r.json["error"]["message"] == f"interrupted; batch {batch_id} keeps running on the server"
    )
    r = cli(
        "batches", "fetch", batch_id, "--wait", "-o", str(tmp_path / "x"), "--base-url", server.url
    )
    assert r.code == 130
    assert f"  easyimg batches fetch {batch_id} -o {tmp_path / 'x'} --base-url " in r.err


def test_wait_on_a_terminal_redraws_one_status_line(cli, server, tmp_path, monkeypatch):
    out = tmp_path / "out"
    batch_id = submit(cli, server, tmp_path, out)
    real = remote.wait

    def slow_statuses(client, bid, *, on_status=None, backend=None, **kw):
        for status, done in (("validating", 0), ("in_progress", 1), ("finalizing", 2)):
            on_status(
                {"id": bid, "status": status, "request_counts": {"completed": done, "total": 2}}
            )
        return real(client, bid, on_status=on_status, backend=backend, sleep=lambda s: None)

    monkeypatch.setattr(remote, "wait", slow_statuses)
    r = cli("batches", "fetch", batch_id, "--wait", "--base-url", server.url, tty=True)
    assert r.code == 0, r.err
    lines = [line.strip() for line in ANSI.sub("", r.err).splitlines()]
    status_lines = [line for line in lines if line.startswith(f"{batch_id}:")]
    assert status_lines == [f"{batch_id}: completed (2 of 2 done)"]
    # In a pipe every change is its own line.
    monkeypatch.setattr(remote, "wait", slow_statuses)
    r = cli("batches", "fetch", batch_id, "--wait", "--base-url", server.url)
    assert [line for line in r.err.splitlines() if line.startswith(f"{batch_id}:")] == [
        f"{batch_id}: validating (0 of 2 done)",
        f"{batch_id}: in_progress (1 of 2 done)",
        f"{batch_id}: finalizing (2 of 2 done)",
        f"{batch_id}: completed (2 of 2 done)",
    ]


def test_a_cancelled_batch_with_items_missing_is_exit_6(cli, tmp_path):
    slow = start_background(latency=30)
    try:
        out = tmp_path / "out"
        batch_id = submit(cli, slow, tmp_path, out)
        assert cli("batches", "cancel", batch_id, "--base-url", slow.url).code == 0
        remote.wait(
            Client(slow.url),
            batch_id,
            sleep=lambda s: None,
        )
        r = cli("batches", "fetch", batch_id, "--base-url", slow.url)
        assert r.code == 6
        assert f"warning: batch {batch_id} was cancelled: 2 items have no result" in r.err
    finally:
        slow.close()


# --- local batches -----------------------------------------------------------------------------

GEN = "/v1/images/generations"


def test_a_retry_line_names_its_item(cli, httpserver: HTTPServer, tmp_path):
    tries: dict[str, int] = {}

    def flaky(request: Request) -> Response:
        prompt = json.loads(request.get_data())["prompt"]
        tries[prompt] = tries.get(prompt, 0) + 1
        if prompt == "two" and tries[prompt] == 1:
            return Response("busy", status=503, headers={"retry-after-ms": "1"})
        return Response(json.dumps(images_answer(make_image())), content_type="application/json")

    httpserver.expect_request(GEN).respond_with_handler(flaky)
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\n# a comment\ntwo\n")
    r = cli(
        "batch",
        str(prompts),
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        httpserver.url_for("/v1"),
        "--api-key",
        "k",
    )
    assert r.code == 0, r.err
    (retry,) = [line for line in r.err.splitlines() if "waiting" in line]
    assert re.fullmatch(r"line 3: waiting 0s \(503 [^;]+; try 2 of 4\)", retry)


def test_the_batch_summary_at_60_columns_keeps_every_count(cli, tmp_path, monkeypatch):
    for name in ("TERM", "COLUMNS", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    prompts = tmp_path / "p.txt"
    prompts.write_text("a\nb\nc\n")
    r = cli(
        "batch",
        str(prompts),
        "--offline",
        "-o",
        str(tmp_path / "out"),
        tty=True,
        env={"COLUMNS": "60"},
    )
    assert r.code == 0, r.err
    text = ANSI.sub("", r.err)
    assert "…" not in text
    assert re.search(r"^items: +3$", text, re.M) and re.search(r"^ok: +3$", text, re.M)
    summary = text[text.index("p.txt (placeholder images)") : text.index("tokens:")]
    assert all(len(line) <= 60 for line in summary.splitlines())


def test_offline_dry_run_shows_the_loopback_url_and_no_stored_key(cli, user_dir, tmp_path):
    (user_dir / "config.toml").write_text('api_key = "sk-stored-abcdefgh1234"\nbase_url = "nope"\n')
    r = cli("gen", "a cat", "--offline", "--dry-run")
    assert r.code == 0, r.err
    assert r.out.startswith("POST http://127.0.0.1:<port>/v1/images/generations\n")
    assert "Authorization" not in r.out
    prompts = tmp_path / "p.txt"
    prompts.write_text("a\n")
    r = cli("batch", str(prompts), "--offline", "--dry-run", "--json")
    assert r.code == 0, r.err
    (request,) = r.json["requests"]
    assert request["url"] == "http://127.0.0.1:<port>/v1/images/generations"
    assert "Authorization" not in request["headers"]
