"""Spend end to end: estimates, --max-cost, honest usage, rerun, history filters, head/shard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from easyimg import history

from .conftest import images_answer, make_image

KEY = "sk-test-abcdefghijklmnop1234"
GEN = "/v1/images/generations"
EDITS = "/v1/images/edits"

# A router model with configured prices: 1,000 output tokens an image at $10/1M = $0.01.
PRICES = """
confirm_over = 0.5

[prices."router-img"]
input_text = 0.0
output = 10.0
image_tokens = { "*" = 1000 }
"""


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/v1")


def sent(httpserver: HTTPServer, path: str = GEN) -> list[dict[str, Any]]:
    return [json.loads(req.get_data()) for req, _ in httpserver.log if req.path == path]


def answering(output_tokens: int) -> Any:
    """Images for the `n` asked, each request reporting `output_tokens` per image."""

    def handler(request: Request) -> Response:
        n = int(json.loads(request.get_data()).get("n", 1))
        usage = {"input_tokens": 0, "output_tokens": output_tokens * n}
        usage["total_tokens"] = usage["output_tokens"]
        doc = images_answer(*[make_image(color=(i, 9, 9)) for i in range(n)], usage=usage)
        return Response(json.dumps(doc), content_type="application/json")

    return handler


@pytest.fixture
def priced(user_dir: Path) -> Path:
    (user_dir / "config.toml").write_text(PRICES)
    return user_dir / "config.toml"


# --- estimates ---------------------------------------------------------------------------------


def test_gen_dry_run_ends_with_the_estimate(cli, priced):
    r = cli("gen", "a cat", "-m", "router-img", "-n", "3", "--dry-run")
    assert r.code == 0, r.err
    assert r.out.splitlines()[-2:] == [
        "estimated cost: $0.03 (3 images, router-img, auto, auto)",
        f"basis: router-img auto auto: 1,000 output tokens at $10/1M; prices from config file "
        f"{priced}",
    ]
    doc = cli("gen", "a cat", "-m", "router-img", "-n", "3", "--dry-run", "--json").json
    assert doc["estimate"]["dollars"] == pytest.approx(0.03)
    assert doc["estimate"]["images"] == 3 and doc["estimate"]["model"] == "router-img"
    built_in = cli("gen", "a cat", "-m", "dall-e-3", "-q", "hd", "-s", "1792x1024", "--dry-run")
    assert "estimated cost: $0.12 (1 image, dall-e-3, hd, 1792x1024)" in built_in.out
    unknown = cli("gen", "a cat", "-m", "flux-dev", "--dry-run")
    assert "estimated cost: unknown (1 image, flux-dev, auto, auto)" in unknown.out
    assert 'basis: no price known for flux-dev; add [prices."flux-dev"]' in unknown.out


def test_edit_dry_run_ends_with_the_estimate(cli, tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(make_image("PNG", (64, 48)))
    r = cli(
        "edit", str(photo), "-p", "hat", "-m", "gpt-image-1", "-q", "low", "-s", "1024x1024",
        "--dry-run",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert r.out.splitlines()[-2] == (
        "estimated cost: $0.01 (1 image, gpt-image-1, low, 1024x1024)"
    )
    assert "input images not counted" in r.out.splitlines()[-1]


def test_gen_summary_shows_the_cost_beside_the_estimate(cli, httpserver, priced, tmp_path):
    httpserver.expect_request(GEN).respond_with_handler(answering(2000))
    r = cli(
        "gen", "a cat", "-m", "router-img", "-n", "2", "-o", str(tmp_path),
        "--base-url", base(httpserver), "--api-key", KEY,
    )  # fmt: skip
    assert r.code == 0, r.err
    assert "cost: $0.04 (estimated $0.02)" in r.err.splitlines()


# --- budgets -----------------------------------------------------------------------------------


def test_gen_max_cost_starts_no_request_past_the_budget(cli, httpserver, tmp_path):
    # dall-e-3 makes one image a request: -n 3 is three requests of $0.04 each.
    httpserver.expect_request(GEN).respond_with_handler(answering(0))
    r = cli(
        "gen", "a cat", "-m", "dall-e-3", "-n", "3", "-o", str(tmp_path), "--max-cost", "0.09",
        "--base-url", base(httpserver), "--api-key", KEY,
    )  # fmt: skip
    assert r.code == 6, r.err
    assert len(sent(httpserver)) == 2
    assert len(r.out.splitlines()) == 2 and len(list(tmp_path.iterdir())) == 2
    assert r.err.splitlines()[-1] == (
        "error: budget: spent $0.08 of $0.09; 1 images did not start "
        "(the next would have cost about $0.04)"
    )


def test_gen_max_cost_needs_a_price(cli, httpserver, tmp_path):
    r = cli(
        "gen", "a cat", "-m", "flux-dev", "--max-cost", "1", "-o", str(tmp_path),
        "--base-url", base(httpserver), "--api-key", KEY,
    )  # fmt: skip
    assert r.code == 2
    assert r.err.startswith("error: --max-cost needs a price: no price known for flux-dev")
    assert sent(httpserver) == []


def test_batch_max_cost_stops_at_the_right_item_and_resumes(cli, httpserver, priced, tmp_path):
    # Estimated $0.01 an item; the server reports usage worth $0.02 an item.
    httpserver.expect_request(GEN).respond_with_handler(answering(2000))
    prompts = tmp_path / "p.txt"
    prompts.write_text("".join(f"prompt {i}\n" for i in range(1, 6)))
    out = tmp_path / "out"
    args = ["batch", str(prompts), "-m", "router-img", "-j", "1", "-o", str(out)]
    conn = ["--base-url", base(httpserver), "--api-key", KEY]
    r = cli(*args, "--max-cost", "0.05", *conn)
    assert r.code == 6, r.err
    # Spent is measured from usage: 0.02 after one, 0.04 after two; the third still fits
    # (0.04 + 0.01 <= 0.05), the fourth does not (0.06 + 0.01).
    assert [b["prompt"] for b in sent(httpserver)] == ["prompt 1", "prompt 2", "prompt 3"]
    lines = r.err.splitlines()
    assert lines[0] == "estimated cost: $0.05 (5 images, router-img, auto, auto)"
    assert "budget reached; finishing 0 in flight, starting no more" in lines
    assert "cost: $0.06 (estimated $0.05)" in lines
    assert lines[-1] == (
        "error: stopped early: budget: spent $0.06 of $0.05; 2 items did not start "
        "(the next would have cost about $0.01)"
    )
    again = cli(*args, *conn, "--json")
    assert again.code == 0, again.err
    assert [b["prompt"] for b in sent(httpserver)][3:] == ["prompt 4", "prompt 5"]
    assert "3 of 5 items already done; 2 to go" in again.err
    assert again.json["cost"] == {"usd": 0.04, "estimated_usd": 0.02, "unmeasured_items": 0}


def test_batch_asks_on_a_terminal_above_confirm_over(cli, httpserver, priced, tmp_path):
    httpserver.expect_request(GEN).respond_with_handler(answering(1000))
    prompts = tmp_path / "p.jsonl"
    # 60 images at $0.01: $0.60, above confirm_over = 0.5.
    prompts.write_text("".join(json.dumps({"prompt": f"p{i}", "n": 10}) + "\n" for i in range(6)))
    args = [
        "batch", str(prompts), "-m", "router-img", "-o", str(tmp_path / "out"),
        "--base-url", base(httpserver), "--api-key", KEY,
    ]  # fmt: skip
    no = cli(*args, tty=True, stdin="n\n")
    assert no.code == 130
    assert "this run is estimated at $0.60, above confirm_over ($0.50); go on? [y/N]" in no.err
    assert "not started; nothing was sent" in no.err
    assert sent(httpserver) == []
    piped = cli(*args, "--dry-run")  # a pipe never asks (and a dry run sends nothing)
    assert "go on?" not in piped.err
    yes = cli(*args, "--yes", "-j", "1", tty=True, stdin="")
    assert yes.code == 0, yes.err
    assert "go on?" not in yes.err and len(sent(httpserver)) == 6


# --- honest usage ------------------------------------------------------------------------------


def test_usage_leaves_placeholder_images_out(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_handler(answering(1000))
    real = cli(
        "gen", "a cat", "-m", "gpt-image-1", "-o", str(tmp_path),
        "--base-url", base(httpserver), "--api-key", KEY,
    )  # fmt: skip
    assert real.code == 0, real.err
    offline = cli("gen", "a cat", "-m", "gpt-image-1", "-n", "3", "--offline", "-o", str(tmp_path))
    assert offline.code == 0, offline.err
    assert "cost: $0.00, placeholder images" in offline.err
    doc = cli("usage", "--json").json
    assert doc["total"]["runs"] == 1 and doc["total"]["images"] == 1
    assert doc["total"]["cost_usd"] == pytest.approx(1000 * 40 / 1_000_000)
    assert doc["placeholder_runs_left_out"] == 1
    everything = cli("usage", "--all", "--json").json
    assert everything["total"]["runs"] == 2 and everything["total"]["images"] == 4
    hosts = cli("usage", "--all", "--by", "host", "--json").json
    server_host = base(httpserver).split("//")[1].split("/")[0]
    assert [(r["host"], r["images"]) for r in hosts["rows"]] == [(server_host, 1), ("offline", 3)]
    note = cli("usage", tty=True).err
    assert "1 run of placeholder images left out (--all counts them)" in note


def test_a_server_that_says_placeholder_is_recorded_as_such(cli, httpserver, tmp_path, user_dir):
    def handler(request: Request) -> Response:
        doc = images_answer(make_image(), usage={"input_tokens": 1, "output_tokens": 10})
        return Response(
            json.dumps(doc),
            content_type="application/json",
            headers={"x-easyimg-placeholder": "1"},
        )

    httpserver.expect_request(GEN).respond_with_handler(handler)
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", base(httpserver), "--api-key", KEY)
    assert r.code == 0, r.err
    (entry,) = history.read(user_dir / "history.jsonl")
    assert entry["placeholder"] is True
    assert entry["host"] == base(httpserver).split("//")[1].split("/")[0]
    assert cli("usage", "--json").json["total"]["runs"] == 0


# --- history -----------------------------------------------------------------------------------


def test_history_filters_ids_and_show(cli, httpserver, tmp_path, user_dir):
    httpserver.expect_request(GEN).respond_with_handler(answering(100))
    conn = ["--base-url", base(httpserver), "--api-key", KEY, "-o", str(tmp_path)]
    assert cli("gen", "a red fox", "-m", "gpt-image-1", *conn).code == 0
    assert cli("gen", "a blue whale", "-m", "dall-e-3", *conn).code == 0
    rows = [line.split("\t") for line in cli("history").out.splitlines()]
    ids = [e["id"] for e in history.read(user_dir / "history.jsonl")]
    assert rows[0][0] == "id" and [r[0] for r in rows[1:]] == ids[::-1]
    assert [r[7] for r in rows[1:]] == ["a blue whale", "a red fox"]
    fox = [line.split("\t") for line in cli("history", "--grep", "FOX").out.splitlines()]
    assert [r[7] for r in fox[1:]] == ["a red fox"]
    assert len(cli("history", "--model", "dall-e-3", "--json").json) == 1
    assert cli("history", "--status", "partial", "--json").json == []
    assert len(cli("history", "--since", "today", "--json").json) == 2
    assert cli("history", "--status", "nope").code == 2
    shown = cli("history", "show", ids[0][:6])
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0] == f"id           {ids[0]}"
    assert "prompt       a red fox" in lines and "placeholder  no" in lines
    assert f"rerun        easyimg rerun {ids[0]}" in lines
    assert cli("history", "show", ids[0], "--json").json["prompt"] == "a red fox"
    missing = cli("history", "show", "zzzzzz")
    assert missing.code == 2 and "no history entry zzzzzz" in missing.err


# --- rerun -------------------------------------------------------------------------------------


def test_rerun_sends_the_same_body_but_for_the_override(cli, httpserver, tmp_path, user_dir):
    httpserver.expect_request(GEN).respond_with_handler(answering(10))
    conn = ["--base-url", base(httpserver), "--api-key", KEY, "-o", str(tmp_path)]
    first = cli(
        "gen", "a lighthouse", "-m", "gpt-image-1", "-s", "1536x1024", "-q", "low", "-n", "2",
        "--background", "opaque", "-x", "seed=7", *conn,
    )  # fmt: skip
    assert first.code == 0, first.err
    (entry,) = history.read(user_dir / "history.jsonl")
    again = cli("rerun", entry["id"], "-q", "high", *conn)
    assert again.code == 0, again.err
    original, rerun = sent(httpserver)
    assert rerun == {**original, "quality": "high"}
    assert list(rerun) == list(original)  # the same fields in the same order
    # From the PNG's parameters chunk, with another count.
    png = first.out.splitlines()[0]
    from_file = cli("rerun", png, "-n", "3", *conn)
    assert from_file.code == 0, from_file.err
    assert sent(httpserver)[2] == {**original, "n": 3}
    assert cli("rerun", str(tmp_path / "gone.png")).code == 2


def test_rerun_of_an_svg_from_its_sidecar_dry_run(cli, tmp_path):
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"/>')
    body = {"model": "gpt-image-2", "prompt": "a logo", "n": 1, "size": "1024x1024"}
    (tmp_path / "logo.json").write_text(json.dumps({"request": {"body": body}}))
    r = cli("rerun", str(svg), "-s", "1536x1024", "--dry-run", "--json")
    assert r.code == 0, r.err
    assert r.json["requests"][0]["body"] == {**body, "size": "1536x1024"}


def test_rerun_of_an_edit_sends_its_files_again(cli, httpserver, tmp_path, user_dir):
    def answer(request: Request) -> Response:
        doc = images_answer(make_image())
        return Response(json.dumps(doc), content_type="application/json")

    httpserver.expect_request(EDITS).respond_with_handler(answer)
    photo = tmp_path / "photo.png"
    photo.write_bytes(make_image("PNG", (64, 48)))
    conn = ["--base-url", base(httpserver), "--api-key", KEY, "-o", str(tmp_path / "out")]
    assert cli("edit", str(photo), "-p", "add a hat", "-m", "gpt-image-1", *conn).code == 0
    (entry,) = history.read(user_dir / "history.jsonl")
    assert entry["inputs"] == {"image": [str(photo.resolve())]}
    r = cli("rerun", entry["id"], "-p", "add a scarf", *conn)
    assert r.code == 0, r.err
    first, second = (req for req, _ in httpserver.log)
    assert first.form.to_dict() == {**second.form.to_dict(), "prompt": "add a hat"}
    assert second.form["prompt"] == "add a scarf"
    assert second.files["image"].read() == photo.read_bytes()


def test_rerun_of_an_offline_run_stays_offline(cli, tmp_path, user_dir):
    assert cli("gen", "a cat", "--offline", "-o", str(tmp_path)).code == 0
    (entry,) = history.read(user_dir / "history.jsonl")
    r = cli("rerun", entry["id"], "-o", str(tmp_path))
    assert r.code == 0, r.err
    assert "ran --offline; so does this" in r.err
    assert [e["host"] for e in history.read(user_dir / "history.jsonl")] == ["offline"] * 2


# --- head and shard ----------------------------------------------------------------------------


def lines_of(r: Any) -> list[int]:
    return [req["line"] for req in r.json["requests"]]


def test_head_and_shards_are_disjoint_and_cover_the_file(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_handler(answering(1))
    prompts = tmp_path / "p.txt"
    prompts.write_text("".join(f"prompt {i}\n" for i in range(1, 13)))
    out = tmp_path / "out"
    args = ["batch", str(prompts), "-o", str(out), "--dry-run", "--json"]
    assert lines_of(cli(*args, "--head", "4")) == [1, 2, 3, 4]
    shards = [lines_of(cli(*args, "--shard", f"{k}/3")) for k in (1, 2, 3)]
    assert all(shards)
    assert sorted(n for s in shards for n in s) == list(range(1, 13))  # disjoint, covering
    head_of_shard = lines_of(cli(*args, "--shard", "2/3", "--head", "2"))
    assert head_of_shard == shards[1][:2]
    for bad in ("4/3", "x"):
        r = cli(*args, "--shard", bad)
        assert r.code == 2 and "--shard" in r.err
    # Each shard run into the same folder; a plain run then finds everything done.
    conn = ["--base-url", base(httpserver), "--api-key", KEY]
    for k in (1, 2, 3):
        run = cli("batch", str(prompts), "-o", str(out), *conn, "--shard", f"{k}/3")
        assert run.code == 0, run.err
    assert sorted(b["prompt"] for b in sent(httpserver)) == sorted(
        f"prompt {i}" for i in range(1, 13)
    )
    plain = cli("batch", str(prompts), "-o", str(out), *conn)
    assert plain.code == 0 and "nothing to do: all 12 items are already done" in plain.err
    assert len(sent(httpserver)) == 12


def test_parse_shard_and_shard_of():
    from easyimg.batch.select import parse_shard, shard_of
    from easyimg.errors import UsageError

    assert parse_shard(" 2/4 ") == (2, 4)
    for bad in ("0/3", "1/0", "a/b", "3", "-1/2"):
        with pytest.raises(UsageError, match="--shard"):
            parse_shard(bad)
    import hashlib

    keys = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(64)]
    assert {shard_of(k, 4) for k in keys} == {1, 2, 3, 4}
    assert all(shard_of(k, 1) == 1 for k in keys)


def test_failures_are_in_the_history_as_errors_and_cost_nothing(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(
        {"error": {"message": "Your request was rejected", "code": "moderation_blocked"}},
        status=400,
    )
    conn = ["--base-url", base(httpserver), "--api-key", KEY, "-o", str(tmp_path)]
    assert cli("gen", "a cat", *conn).code == 4
    prompts = tmp_path / "p.txt"
    prompts.write_text("a dog\n")
    assert cli("batch", str(prompts), *conn).code == 4
    errors = cli("history", "--status", "error", "--json").json
    assert [(e["command"], e["prompt"], e["files"]) for e in errors] == [
        ("batch", "a dog", []),
        ("gen", "a cat", []),
    ]
    assert all("Your request was rejected" in e["error"] for e in errors)
    assert cli("usage", "--json").json["total"]["runs"] == 0


def test_batch_max_cost_needs_a_price_for_every_item(cli, httpserver, tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a"}\n{"prompt": "b", "model": "flux-dev"}\n')
    r = cli(
        "batch", str(prompts), "-o", str(tmp_path / "out"), "--max-cost", "5",
        "--base-url", base(httpserver), "--api-key", KEY,
    )  # fmt: skip
    assert r.code == 2
    assert "error: --max-cost needs a price for every item: at least $0.21" in r.err
    assert "1 of 2 images have no price (flux-dev)" in r.err
    assert sent(httpserver) == []


def test_rerun_of_a_json_edit_sends_its_references_again(cli, user_dir):
    url = {"image_url": "https://example.com/room.png"}
    for images in ([url], [{"image_url": "data:image/png;base64,... (9000 characters)"}]):
        history.append(
            user_dir / "history.jsonl",
            history.record(
                "edit",
                model="gpt-image-1",
                prompt="add a lamp",
                parameters={"model": "gpt-image-1", "n": 1, "images": images},
                files=["/out/a.png"],
                usage=None,
                request_id=None,
                base_url="https://easyrouter.io/v1",
            ),
        )
    sent_url, inlined = history.read(user_dir / "history.jsonl")
    r = cli("rerun", sent_url["id"], "-q", "low", "--dry-run", "--json")
    assert r.code == 0, r.err
    (req,) = r.json["requests"]
    assert req["url"].endswith("/images/edits")
    assert req["body"] == {
        "model": "gpt-image-1",
        "prompt": "add a lamp",
        "n": 1,
        "images": [url],
        "quality": "low",
    }
    r = cli("rerun", inlined["id"], "--dry-run")
    assert r.code == 2 and "sent local files inline" in r.err
