"""History ids, hosts and placeholder marks; usage without placeholders; serve's header."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from easyimg import history
from easyimg.errors import UsageError
from easyimg.prices import PriceBook
from easyimg.serve.http import start_background
from easyimg.usage import summarize

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def entry(**kw: Any) -> dict[str, Any]:
    return history.record(
        kw.pop("command", "gen"),
        model=kw.pop("model", "gpt-image-2"),
        prompt=kw.pop("prompt", "a cat"),
        parameters=kw.pop("parameters", {"n": 1, "size": "1024x1024", "quality": "low"}),
        files=kw.pop("files", ["/out/a.png"]),
        usage=kw.pop("usage", None),
        request_id=None,
        base_url=kw.pop("base_url", "https://easyrouter.io/v1"),
        now=kw.pop("now", NOW),
        **kw,
    )


def usage(output: int) -> dict[str, int]:
    return {"input_tokens": 0, "output_tokens": output, "total_tokens": output}


def test_record_stores_id_host_and_placeholder_mark():
    e = entry(base_url="http://127.0.0.1:8000/v1", placeholder=True)
    assert e["host"] == "127.0.0.1:8000" and e["placeholder"] is True
    assert next(iter(e)) == "id" and len(e["id"]) == history.ID_LENGTH
    # The stored id is the one an entry without it would get: old and new lines agree.
    assert history.entry_id({k: v for k, v in e.items() if k != "id"}) == e["id"]
    assert entry(host="offline")["host"] == "offline"
    assert entry(base_url="https://[::1]:9/v1")["host"] == "[::1]:9"
    assert entry(status="error", error="boom", files=[])["error"] == "boom"


def test_old_entries_get_a_stable_derived_id(tmp_path: Path):
    path = tmp_path / "h.jsonl"
    old = {"time": "2025-01-01T00:00:00Z", "command": "gen", "model": "dall-e-3", "prompt": "x"}
    path.write_text(json.dumps(old) + "\n")
    first = history.entry_id(next(history.read(path)))
    assert first == history.entry_id(dict(reversed(list(old.items()))))  # key order is no part
    assert history.find(path, first) == old
    assert history.find(path, first[:4].upper()) == old
    assert history.entry_host(old) == "" and history.is_placeholder(old) is None


def test_find_errors(tmp_path: Path):
    path = tmp_path / "h.jsonl"
    for i in range(40):
        history.append(path, entry(prompt=f"p{i}"))
    with pytest.raises(UsageError, match="is not a history id"):
        history.find(path, "ab")
    with pytest.raises(UsageError, match="no history entry ffffffffff"):
        history.find(path, "ffffffffff")
    history.append(path, {**entry(prompt="twin 1"), "id": "abcd111111"})
    history.append(path, {**entry(prompt="twin 2"), "id": "abcd222222"})
    with pytest.raises(UsageError, match=r"matches several entries \(abcd222222, abcd111111\)"):
        history.find(path, "abcd")
    assert history.find(path, "abcd2")["prompt"] == "twin 2"
    ids = [history.entry_id(e) for e in history.read(path)]
    assert history.find(path, ids[7])["prompt"] == "p7"


def test_query_filters(tmp_path: Path):
    path = tmp_path / "h.jsonl"
    history.append(path, entry(prompt="A red Fox", now=NOW - timedelta(days=10)))
    history.append(path, entry(prompt="a cat", model="dall-e-3", status="partial"))
    history.append(
        path, entry(prompt="a dog", model="gpt-image-2-2026-04-21", files=["/o/fox.png"])
    )
    history.append(path, entry(prompt="x", status="error", files=[], error="refused"))

    def prompts(**kw: Any) -> list[str]:
        return [e["prompt"] for e in history.newest(path, 0, history.Query(tz=UTC, **kw))]

    assert prompts() == ["x", "a dog", "a cat", "A red Fox"]
    assert prompts(grep="fox") == ["a dog", "A red Fox"]  # prompt or file name, any case
    assert prompts(model="gpt-image-2") == ["x", "a dog", "A red Fox"]  # snapshots too
    assert prompts(model="dall-e-3") == ["a cat"]
    assert prompts(status="partial") == ["a cat"]
    assert prompts(status="ok") == ["a dog", "A red Fox"]
    assert prompts(status="error") == ["x"]
    assert prompts(since=date(2026, 11, 25)) == ["x", "a dog", "a cat"]
    assert [e["prompt"] for e in history.newest(path, 2)] == ["x", "a dog"]
    with pytest.raises(UsageError, match="use one of ok, partial, error"):
        history.Query(status="failed")


def test_usage_leaves_placeholders_out_and_groups_by_host():
    entries = [
        entry(usage=usage(1000), base_url="https://easyrouter.io/v1"),
        entry(usage=usage(2000), base_url="https://api.openai.com/v1"),
        entry(usage=usage(999_000), host="offline", placeholder=True),
        # Written before placeholders were marked, against a loopback server.
        {
            "time": "2026-11-30T12:00:00Z",
            "model": "gpt-image-2",
            "usage": usage(500),
            "base_url": "http://127.0.0.1:41234/v1",
            "files": ["a"],
        },
    ]
    book = PriceBook()
    report = summarize(entries, prices=book, tz=UTC)
    assert report.total.runs == 3 and report.placeholder_runs == 1
    assert report.unmarked_loopback_runs == 1
    assert report.total.cost == pytest.approx(3500 * 30 / 1_000_000)
    everything = summarize(entries, prices=book, placeholders=True, tz=UTC)
    assert everything.total.runs == 4 and everything.placeholder_runs == 0
    assert everything.total.tokens.output == 1_002_500
    hosts = summarize(entries, by="host", prices=book, placeholders=True, tz=UTC)
    assert [(r.key, r.runs) for r in hosts.rows] == [
        ("127.0.0.1:41234", 1),
        ("api.openai.com", 1),
        ("easyrouter.io", 1),
        ("offline", 1),
    ]


def test_usage_costs_per_image_models_from_their_parameters():
    entries = [
        entry(
            model="dall-e-3",
            parameters={"n": 2, "quality": "hd", "size": "1024x1792"},
            files=["a", "b"],
        ),
        entry(model="flux-dev", usage=usage(10)),
    ]
    report = summarize(entries, prices=PriceBook(), tz=UTC)
    assert report.total.cost == pytest.approx(0.24)
    assert report.unpriced_models == ["flux-dev"] and report.total.unpriced_runs == 1


def test_serve_marks_every_image_answer_as_placeholder():
    server = start_background()
    try:
        base = server.url
        body = {"model": "gpt-image-2", "prompt": "a cat", "size": "1024x1024"}
        plain = requests.post(f"{base}/images/generations", json=body, timeout=10)
        assert plain.status_code == 200
        assert plain.headers["x-easyimg-placeholder"] == "1"
        streamed = requests.post(
            f"{base}/images/generations", json={**body, "stream": True}, timeout=10
        )
        assert streamed.headers["x-easyimg-placeholder"] == "1"
        url = requests.post(
            f"{base}/images/generations",
            json={"model": "dall-e-2", "prompt": "a cat", "size": "256x256"},
            timeout=10,
        ).json()["data"][0]["url"]
        assert requests.get(url, timeout=10).headers["x-easyimg-placeholder"] == "1"
        chat = requests.post(
            f"{base}/chat/completions",
            json={
                "model": "gemini-3.1-flash-image-preview",
                "messages": [{"role": "user", "content": "a cat"}],
                "modalities": ["image", "text"],
            },
            timeout=10,
        )
        assert chat.status_code == 200 and chat.headers["x-easyimg-placeholder"] == "1"
        models = requests.get(f"{base}/models", timeout=10)
        assert "x-easyimg-placeholder" not in models.headers
    finally:
        server.close()
