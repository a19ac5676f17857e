"""`easyimg models`, `history`, `usage` and `completions`, with real servers and history files."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from easyimg import history
from easyimg.errors import ConfigError, UsageError
from easyimg.serve.http import start_background
from easyimg.usage import (
    Price,
    Tokens,
    newest_first,
    parse_prices,
    parse_since,
    summarize,
    tokens_of,
)

KEY = "sk-test-abcdefghijklmnop1234"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NOW = datetime.now(UTC).replace(microsecond=0)


def usage_of(text: int, image: int, output: int) -> dict[str, Any]:
    return {
        "input_tokens": text + image,
        "input_tokens_details": {"text_tokens": text, "image_tokens": image},
        "output_tokens": output,
        "total_tokens": text + image + output,
    }


def write_history(path: Path, *specs: dict[str, Any]) -> list[dict[str, Any]]:
    """Append real history lines, as gen does, and return them."""
    entries = []
    for spec in specs:
        entry = history.record(
            spec.get("command", "gen"),
            model=spec.get("model", "gpt-image-2"),
            prompt=spec.get("prompt", "a cat"),
            parameters={"n": len(spec.get("files", ["a"]))},
            files=spec.get("files", ["/out/a.png"]),
            usage=spec.get("usage"),
            request_id=None,
            base_url="http://127.0.0.1:1/v1",
            status=spec.get("status", "ok"),
            now=spec.get("now", NOW),
        )
        history.append(path, entry)
        entries.append(entry)
    return entries


def tsv(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines()]


@pytest.fixture
def hist(user_dir: Path) -> Path:
    return user_dir / "history.jsonl"


# --- history ------------------------------------------------------------------------------------


def test_history_missing_file_is_not_an_error(cli, hist):
    r = cli("history")
    assert (r.code, r.out, r.err) == (0, "", "")
    r = cli("history", tty=True)
    assert r.code == 0 and r.out == ""
    assert "no history yet" in r.err and str(hist) in r.err
    r = cli("history", "--json")
    assert r.code == 0 and r.json == []


def test_history_tsv_newest_first_with_limit(cli, hist):
    write_history(
        hist,
        *(
            {
                "prompt": f"prompt {i}",
                "now": NOW + timedelta(minutes=i),
                "usage": usage_of(10, 0, 100 * i),
            }
            for i in range(1, 26)
        ),
    )
    r = cli("history")
    assert r.code == 0, r.err
    rows = tsv(r.out)
    assert rows[0] == [
        "id",
        "time",
        "command",
        "model",
        "images",
        "status",
        "tokens",
        "prompt",
        "files",
    ]
    assert len(rows) == 1 + 20  # the default limit
    assert [row[7] for row in rows[1:4]] == ["prompt 25", "prompt 24", "prompt 23"]
    assert rows[1][6] == str(10 + 2500)
    assert rows[1][1] == (NOW + timedelta(minutes=25)).isoformat().replace("+00:00", "Z")
    stored = [e["id"] for e in history.read(hist)]
    assert [row[0] for row in rows[1:4]] == stored[::-1][:3]
    assert len(tsv(cli("history", "-n", "3").out)) == 4
    assert len(tsv(cli("history", "-n", "0").out)) == 26
    assert r.err == ""


def test_history_json_is_the_stored_entries(cli, hist):
    entries = write_history(hist, {"prompt": "one"}, {"prompt": "two", "status": "partial"})
    with hist.open("a") as fh:
        fh.write('{"time": "2024-01-01T00:00:00Z", "half a line\n')  # a crash mid-write
    r = cli("history", "--json", "-n", "5")
    assert r.code == 0, r.err
    assert r.json == list(reversed(entries))


def test_history_cells_stay_on_one_line(cli, hist):
    write_history(
        hist,
        {"prompt": "tab\there\nand a new line", "files": ["/o/a b.png", "/o/c.png"], "usage": None},
    )
    rows = tsv(cli("history").out)
    assert rows[1][7] == "tab here and a new line"
    assert rows[1][8] == "/o/a b.png /o/c.png"
    assert rows[1][6] == ""  # no usage recorded: no token count
    assert rows[1][4] == "2"


def test_history_table_on_a_terminal(cli, hist):
    write_history(
        hist,
        {
            "prompt": "a lighthouse at dusk",
            "model": "dall-e-3",
            "files": ["/out/x-1.png", "/out/x-2.png"],
            "status": "partial",
            "usage": usage_of(5, 0, 50),
        },
    )
    r = cli("history", tty=True, env={"COLUMNS": "140"})
    assert r.code == 0, r.err
    out = ANSI.sub("", r.out)
    assert "\t" not in out
    header = out.splitlines()[0].split()
    assert header == ["id", "time", "command", "model", "images", "tokens", "prompt", "files"]
    assert "a lighthouse at dusk" in out
    assert "x-1.png (+1)" in out
    assert "2 partial" in out
    local = NOW.astimezone().strftime("%Y-%m-%d %H:%M")
    assert local in out


def test_narrow_terminal_cuts_prompt_and_files_not_the_model(cli, hist):
    long = "a very long prompt about a lighthouse on a cliff at dusk, painted in oils " * 3
    write_history(
        hist,
        {
            "prompt": long,
            "model": "gpt-image-2.5-sunburst",
            "files": ["/out/" + "x" * 80 + ".png"],
            "usage": usage_of(5, 0, 50),
        },
    )
    r = cli("history", tty=True, env={"COLUMNS": "80"})
    lines = ANSI.sub("", r.out).splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines)
    row = lines[2]
    # The command and token columns give way first, then the prompt is cut.
    assert lines[0].split() == ["id", "time", "model", "images", "prompt"]
    assert "gpt-image-2.5-sunburst" in row
    assert "…" in row


def test_history_after_a_real_generation(cli, hist, tmp_path):
    r = cli("gen", "a red fox", "--offline", "-n", "2", "-o", str(tmp_path))
    assert r.code == 0, r.err
    rows = tsv(cli("history").out)
    assert rows[1][2:5] == ["gen", "gpt-image-2", "2"]
    assert rows[1][7] == "a red fox"
    assert rows[1][8].split(" ") == [str(Path(p).resolve()) for p in r.out.split()]


# --- usage --------------------------------------------------------------------------------------

PRICES = """
[prices."gpt-image-2"]
input_text = 5.0
input_image = 8.0
output = 30.0
"""


def test_usage_by_model_tsv_with_totals(cli, hist):
    write_history(
        hist,
        {"model": "gpt-image-2", "usage": usage_of(100, 0, 1000), "files": ["a", "b"]},
        {"model": "gpt-image-2", "usage": usage_of(50, 200, 2000)},
        {"model": "dall-e-3", "usage": None},
        {"model": "flux-dev", "usage": {"prompt_tokens": 7, "completion_tokens": 3}},
    )
    r = cli("usage")
    assert r.code == 0, r.err
    # Built-in prices: gpt-image-2 by its tokens, dall-e-3 per image; flux-dev has none.
    two = (150 * 5 + 200 * 8 + 3000 * 30) / 1_000_000
    assert tsv(r.out) == [
        [
            "model",
            "runs",
            "images",
            "input text",
            "input image",
            "output",
            "total tokens",
            "cost USD",
        ],
        ["dall-e-3", "1", "1", "0", "0", "0", "0", "0.0400"],
        ["flux-dev", "1", "1", "7", "0", "3", "10", ""],
        ["gpt-image-2", "2", "3", "150", "200", "3000", "3350", f"{two:.4f}"],
        ["total", "4", "5", "157", "200", "3003", "3360", f"{two + 0.04:.4f}"],
    ]


def test_usage_cost_where_a_price_is_configured(cli, hist, user_dir):
    (user_dir / "config.toml").write_text(PRICES)
    write_history(
        hist,
        {"model": "gpt-image-2", "usage": usage_of(1000, 2000, 10000)},
        {"model": "flux-dev", "usage": usage_of(10, 0, 0)},
    )
    r = cli("usage")
    assert r.code == 0, r.err
    rows = tsv(r.out)
    assert rows[0][-1] == "cost USD"
    # 1000 * 5 + 2000 * 8 + 10000 * 30 = 321000 USD per 1M tokens
    assert rows[2] == ["gpt-image-2", "1", "1", "1000", "2000", "10000", "13000", "0.3210"]
    assert rows[1][-1] == ""  # flux-dev has no price
    assert rows[3][0] == "total" and rows[3][-1] == "0.3210"
    doc = cli("usage", "--json").json
    assert doc["currency"] == "USD" and doc["by"] == "model" and doc["since"] is None
    assert doc["total"]["cost_usd"] == pytest.approx(0.321)
    assert doc["total"]["unpriced_runs"] == 1
    assert doc["unpriced_models"] == ["flux-dev"]
    assert doc["rows"][1] == {
        "model": "gpt-image-2",
        "runs": 1,
        "images": 1,
        "input_text_tokens": 1000,
        "input_image_tokens": 2000,
        "output_tokens": 10000,
        "total_tokens": 13000,
        "cost_usd": 0.321,
        "unpriced_runs": 0,
    }
    t = cli("usage", tty=True, env={"COLUMNS": "120"})
    out = ANSI.sub("", t.out)
    assert "cost USD" in out and "0.3210*" in out
    assert 'no price known (add [prices."MODEL"] to the config file): flux-dev' in t.err


def test_usage_by_day_and_since(cli, hist):
    write_history(
        hist,
        {"now": NOW - timedelta(days=30), "usage": usage_of(1, 0, 10)},
        {"now": NOW - timedelta(days=3), "usage": usage_of(2, 0, 20)},
        {"now": NOW, "usage": usage_of(3, 0, 30)},
    )
    rows = tsv(cli("usage", "--by", "day").out)
    assert rows[0][0] == "day"
    days = [row[0] for row in rows[1:-1]]
    assert days == sorted(days) and len(days) == 3
    assert rows[-1][:2] == ["total", "3"]
    assert tsv(cli("usage", "--since", "7d").out)[-1][:7] == [
        "total",
        "2",
        "2",
        "5",
        "0",
        "50",
        "55",
    ]
    assert tsv(cli("usage", "--since", "2w").out)[-1][1] == "2"
    old = (NOW - timedelta(days=30)).astimezone().date().isoformat()
    assert tsv(cli("usage", "--since", old).out)[-1][1] == "3"
    doc = cli("usage", "--since", "today", "--json").json
    assert doc["since"] == date.today().isoformat()


def test_usage_bad_date_is_exit_2_with_one_line(cli, hist):
    r = cli("usage", "--since", "last tuesday")
    assert r.code == 2
    assert r.out == ""
    assert len(r.err.splitlines()) == 1
    assert r.err.startswith("error: --since 'last tuesday' is not a date")
    assert cli("usage", "--by", "week").code == 2


def test_usage_bad_price_table_names_the_key(cli, hist, user_dir):
    (user_dir / "config.toml").write_text('[prices."gpt-image-2"]\nouptut = 30\n')
    write_history(hist, {"usage": usage_of(1, 0, 1)})
    r = cli("usage")
    assert r.code == 3
    assert "unknown key 'ouptut'" in r.err and "input_text, input_image, output" in r.err


def test_usage_empty_history(cli, hist):
    r = cli("usage")
    assert (r.code, r.out, r.err) == (0, "", "")
    assert "no generations in the history" in cli("usage", tty=True).err
    doc = cli("usage", "--json").json
    assert doc["rows"] == [] and doc["total"]["runs"] == 0


# --- the usage core -----------------------------------------------------------------------------


def test_parse_since_forms():
    today = date(2025, 3, 10)
    assert parse_since("2025-01-31", today) == date(2025, 1, 31)
    assert parse_since("today", today) == today
    assert parse_since("Yesterday", today) == date(2025, 3, 9)
    assert parse_since("7d", today) == date(2025, 3, 3)
    assert parse_since("2w", today) == date(2025, 2, 24)
    assert parse_since("0d", today) == today
    for bad in ("", "2025-13-01", "7", "d7", "soon", "7 d"):
        with pytest.raises(UsageError):
            parse_since(bad, today)


def test_tokens_of_reads_every_shape():
    assert tokens_of(None) is None and tokens_of({}) is None
    assert tokens_of(usage_of(3, 4, 5)) == Tokens(3, 4, 5, 12)
    # No split: all input counts as text; no total: input + output.
    assert tokens_of({"input_tokens": 9, "output_tokens": 1}) == Tokens(9, 0, 1, 10)
    assert tokens_of({"prompt_tokens": 2, "completion_tokens": 8, "total_tokens": 10}) == Tokens(
        2, 0, 8, 10
    )
    assert tokens_of(
        {"input_tokens": 10, "input_tokens_details": {"image_tokens": 4}, "output_tokens": "6"}
    ) == Tokens(6, 4, 6, 16)
    assert tokens_of({"input_tokens": None, "output_tokens": True}) == Tokens(0, 0, 0, 0)


def test_parse_prices_and_input_shorthand():
    prices = parse_prices({"gpt-image-2": {"input": 2, "output": 40}, "x": {"input_image": 1.5}})
    assert prices == {"gpt-image-2": Price(2.0, 2.0, 40.0), "x": Price(0.0, 1.5, 0.0)}
    for bad in ({"m": {"output": "30"}}, {"m": {"output": -1}}, {"m": 3}, [1]):
        with pytest.raises(ConfigError):
            parse_prices(bad)


def test_summarize_prices_snapshots_by_their_base_id():
    report = summarize(
        [
            {
                "model": "gpt-image-2-2026-01-01",
                "time": "2026-01-01T12:00:00Z",
                "usage": usage_of(0, 0, 1_000_000),
                "files": ["a"],
            }
        ],
        prices={"gpt-image-2": Price(output=30.0)},
        tz=UTC,
    )
    assert report.total.cost == pytest.approx(30.0)
    assert report.unpriced_models == []


def test_newest_first_bounded():
    assert newest_first(iter(range(10)), 3) == [9, 8, 7]  # type: ignore[arg-type]
    assert newest_first(iter(range(3)), 0) == [2, 1, 0]  # type: ignore[arg-type]


# --- models -------------------------------------------------------------------------------------


@pytest.fixture
def server():
    srv = start_background()
    yield srv
    srv.close()


def test_models_against_the_project_server(cli, server):
    r = cli("models", "--base-url", server.url)
    assert r.code == 0, r.err
    rows = tsv(r.out)
    assert rows[0] == ["id", "known", "api", "sizes", "qualities", "formats", "owned_by"]
    ids = [row[0] for row in rows[1:]]
    assert "gpt-image-2" in ids and "dall-e-3" in ids
    assert "whisper-1" not in ids and "gpt-4o-mini" not in ids
    dalle3 = next(row for row in rows if row[0] == "dall-e-3")
    assert dalle3[1:6] == ["yes", "images", "1024x1024,1792x1024,1024x1792", "standard,hd", "png"]
    # serve says which endpoints reach a model, as new-api does.
    gemini = next(row for row in rows if row[0] == "gemini-3-pro-image-preview")
    assert gemini[1:3] == ["no", "chat"]
    everything = [row[0] for row in tsv(cli("models", "--all", "--base-url", server.url).out)]
    assert "whisper-1" in everything and len(everything) > len(rows)


def test_models_json_is_one_document(cli, server):
    r = cli("models", "--json", "--base-url", server.url)
    assert r.code == 0, r.err
    docs = r.json
    gpt2 = next(d for d in docs if d["id"] == "gpt-image-2")
    assert gpt2["known"] is True and gpt2["sizes"] is None
    assert "divisible by 16" in gpt2["size_rule"]
    assert gpt2["qualities"] == ["low", "medium", "high", "auto"]
    assert gpt2["formats"] == ["png", "jpeg", "webp"]
    assert gpt2["named_sizes"]["landscape"] == "1536x1024"
    assert "at least 655,360 pixels" in gpt2["size_rule"] and gpt2["retired"] is None
    flare = next(d for d in docs if d["id"] == "gpt-image-2.6-flare")
    assert flare["formats"] == ["png", "jpeg", "webp", "gif", "svg"]
    assert flare["qualities"][-2:] == ["xhigh", "max"]
    old = next(d for d in docs if d["id"] == "gpt-image-1")
    assert old["sizes"] == ["1024x1024", "1536x1024", "1024x1536", "auto"]
    assert old["retired"] == "2026-10-23"


def test_models_offline(cli):
    r = cli("models", "--offline", "--json")
    assert r.code == 0, r.err
    assert {d["id"] for d in r.json} >= {"gpt-image-1", "gpt-image-2", "dall-e-2"}


def test_models_router_with_unknown_ids(cli, httpserver: HTTPServer):
    listing = {
        "object": "list",
        "data": [
            {"id": "flux-1.1-pro", "owned_by": "bfl"},
            {"id": "doubao-seedream-4-0", "owned_by": "volcengine"},
            {"id": "qwen-image", "owned_by": "alibaba"},
            {"id": "gpt-image-1-2025-04-15", "owned_by": "openai"},
            {"id": "claude-sonnet-4", "owned_by": "anthropic"},
            {"id": "text-embedding-3-small", "owned_by": "openai"},
            {"id": "stable-diffusion-xl", "owned_by": "stability"},
            {"id": "gemini-2.5-flash-image", "owned_by": "google"},
            {"id": "seedream-4", "supported_endpoint_types": ["openai"]},
        ],
    }
    httpserver.expect_request("/v1/models", method="GET").respond_with_json(listing)
    r = cli("models", "--base-url", httpserver.url_for("/v1"), "--api-key", KEY)
    assert r.code == 0, r.err
    rows = {row[0]: row for row in tsv(r.out)[1:]}
    assert set(rows) == {
        "flux-1.1-pro",
        "doubao-seedream-4-0",
        "qwen-image",
        "gpt-image-1-2025-04-15",
        "stable-diffusion-xl",
        "gemini-2.5-flash-image",
        "seedream-4",
    }
    assert rows["flux-1.1-pro"] == ["flux-1.1-pro", "no", "images", "", "", "", "bfl"]
    assert rows["gemini-2.5-flash-image"][2] == "chat"  # by the rule table's name patterns
    assert rows["seedream-4"][2] == "chat"  # by the router's supported_endpoint_types
    docs = {
        d["id"]: d for d in cli("models", "--json", "--base-url", httpserver.url_for("/v1")).json
    }
    assert (docs["seedream-4"]["api"], docs["seedream-4"]["api_from"]) == ("chat", "router")
    assert (docs["flux-1.1-pro"]["api"], docs["flux-1.1-pro"]["api_from"]) == ("images", "table")
    assert rows["gpt-image-1-2025-04-15"][1] == "yes"  # a dated snapshot of a known model
    req, _ = httpserver.log[0]
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert len(tsv(cli("models", "--all", "--base-url", httpserver.url_for("/v1")).out)) == 10


def test_models_bare_list_and_bad_answers(cli, httpserver: HTTPServer):
    httpserver.expect_request("/a/models").respond_with_json(["flux-dev", "gpt-4o"])
    httpserver.expect_request("/b/models").respond_with_data(
        "<html>oops</html>", content_type="text/html"
    )
    httpserver.expect_request("/c/models").respond_with_json(
        {"error": {"message": "bad key", "type": "auth"}}, status=401
    )
    httpserver.expect_request("/d/models").respond_with_json({"object": "list"})
    r = cli("models", "--base-url", httpserver.url_for("/a"))
    assert (r.code, tsv(r.out)[1][0]) == (0, "flux-dev")
    r = cli("models", "--base-url", httpserver.url_for("/b"))
    assert r.code == 5 and "not JSON" in r.err
    r = cli("models", "--base-url", httpserver.url_for("/c"))
    assert r.code == 3 and "bad key" in r.err
    r = cli("models", "--base-url", httpserver.url_for("/d"))
    assert r.code == 5 and "no model list" in r.err


def test_models_terminal_table_and_note(cli, server):
    r = cli("models", "--base-url", server.url, tty=True, env={"COLUMNS": "150"})
    assert r.code == 0, r.err
    out = ANSI.sub("", r.out)
    assert out.splitlines()[0].split() == [
        "id",
        "known",
        "api",
        "sizes",
        "qualities",
        "formats",
        "owned_by",
    ]
    assert "gpt-image-2" in out and "whisper-1" not in out
    assert "image models of" in r.err and "--all" in r.err


def test_models_needs_a_key_for_a_remote_host(cli):
    r = cli("models", "--base-url", "https://api.example.com/v1")
    assert r.code == 3 and "no API key" in r.err


# --- completions --------------------------------------------------------------------------------


def test_completions_needs_a_known_shell(cli):
    r = cli("completions")
    assert r.code == 2 and "name a shell" in r.err
    r = cli("completions", "powershell")
    assert r.code == 2 and r.out == ""


def test_completions_lists_profiles_from_the_config(cli, user_dir):
    assert cli("completions", "--list-profiles").out == ""
    (user_dir / "config.toml").write_text(
        '[profiles.work]\nmodel = "dall-e-3"\n[profiles.local]\nbase_url = "http://x"\n'
    )
    r = cli("completions", "--list-profiles")
    assert (r.code, r.out) == (0, "local\nwork\n")
