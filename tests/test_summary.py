"""The incremental usage summary: cached totals, lines read after the offset, rebuilds."""

from __future__ import annotations

import json
from datetime import UTC, date, timedelta, timezone
from pathlib import Path
from typing import Any

from easyimg import summary
from easyimg.usage import report


def line(model: str = "gpt-image-2", day: int = 1, out: int = 100, **extra: Any) -> bytes:
    entry = {
        "time": f"2026-03-{day:02d}T12:00:00Z",
        "model": model,
        "files": ["a.png"],
        "usage": {"input_tokens": 10, "output_tokens": out, "total_tokens": 10 + out},
        "base_url": "http://127.0.0.1:8000/v1",
        "status": "ok",
        **extra,
    }
    return (json.dumps(entry) + "\n").encode()


def rows(totals: summary.Totals) -> dict[tuple[Any, ...], list[int]]:
    # The first five fields of a key and seven counts; the price fields are tested elsewhere.
    return {tuple(k)[:5]: v[:7] for k, v in totals.items()}


def test_totals_are_cached_and_only_appended_lines_are_read(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(line(day=1) + line(day=1, out=50) + line("dall-e-3", day=2))
    first = summary.totals(path, UTC)
    assert rows(first) == {
        ("gpt-image-2", "2026-03-01", "127.0.0.1:8000", False, "ok"): [2, 2, 20, 0, 150, 170, 2],
        ("dall-e-3", "2026-03-02", "127.0.0.1:8000", False, "ok"): [1, 1, 10, 0, 100, 110, 1],
    }
    cache = json.loads(summary.cache_path(path).read_bytes())
    assert cache["offset"] == path.stat().st_size
    # The cache is trusted up to its offset: a count changed there shows it was not re-read.
    cache["rows"][0][len(summary.Key._fields)] = 999  # its first count: runs
    summary.cache_path(path).write_text(json.dumps(cache))
    with path.open("ab") as fh:
        fh.write(line("gpt-image-2", day=3, host="eu.example", placeholder=True))
    again = rows(summary.totals(path, UTC))
    assert again[("dall-e-3", "2026-03-02", "127.0.0.1:8000", False, "ok")][0] == 999
    assert again[("gpt-image-2", "2026-03-03", "eu.example", True, "ok")] == [
        1,
        1,
        10,
        0,
        100,
        110,
        1,
    ]
    assert json.loads(summary.cache_path(path).read_bytes())["offset"] == path.stat().st_size


def test_a_file_that_shrank_or_changed_at_the_start_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(line(day=1) + line(day=2))
    summary.totals(path, UTC)
    path.write_bytes(line(day=5))  # shorter: rotated or cut
    assert list(rows(summary.totals(path, UTC))) == [
        ("gpt-image-2", "2026-03-05", "127.0.0.1:8000", False, "ok")
    ]
    path.write_bytes(line(day=6) + line(day=7))  # longer, but another start
    days = sorted(k.day for k in summary.totals(path, UTC))
    assert days == ["2026-03-06", "2026-03-07"]


def test_a_half_written_last_line_is_counted_but_not_cached(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    whole = line(day=1)
    path.write_bytes(whole + line(day=2).rstrip(b"\n"))
    assert sorted(k.day for k in summary.totals(path, UTC)) == ["2026-03-01", "2026-03-02"]
    assert json.loads(summary.cache_path(path).read_bytes())["offset"] == len(whole)
    path.write_bytes(whole + b'{"time": "2026-03-0')  # cut short by a crash: skipped
    assert [k.day for k in summary.totals(path, UTC)] == ["2026-03-01"]


def test_days_follow_the_time_zone_and_a_new_zone_rebuilds(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(line(day=1))
    assert [k.day for k in summary.totals(path, UTC)] == ["2026-03-01"]
    east = timezone(timedelta(hours=13))
    assert [k.day for k in summary.totals(path, east)] == ["2026-03-02"]


def test_a_damaged_or_unwritable_cache_still_gives_the_totals(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(line())
    summary.cache_path(path).write_text("{not json")
    assert sum(v[0] for v in summary.totals(path, UTC).values()) == 1
    elsewhere = tmp_path / "missing" / "cache.json"
    assert sum(v[0] for v in summary.totals(path, UTC, cache=elsewhere).values()) == 1
    assert not elsewhere.exists()
    assert summary.totals(tmp_path / "none.jsonl", UTC) == {}


def test_report_groups_and_since_from_the_fine_totals(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(line(day=1) + line("dall-e-3", day=2) + line(day=3, placeholder=True))
    totals = summary.totals(path, UTC)
    by_day = report(totals, by="day", since=date(2026, 3, 2), placeholders=True)
    assert [(r.key, r.runs, r.tokens.output) for r in by_day.rows] == [
        ("2026-03-02", 1, 100),
        ("2026-03-03", 1, 100),
    ]
    by_model = report(totals, by="model", placeholders=True)
    assert [(r.key, r.runs, r.images) for r in by_model.rows] == [
        ("dall-e-3", 1, 1),
        ("gpt-image-2", 2, 2),
    ]
    assert by_model.total.runs == 3
    # Without placeholders (the default), the placeholder run of day 3 is left out.
    real = report(totals, by="model")
    assert (real.total.runs, real.placeholder_runs) == (2, 1)


def test_usage_command_reads_the_cache_beside_the_history(cli, user_dir: Path) -> None:
    path = user_dir / "history.jsonl"
    path.write_bytes(line(day=1) + line("dall-e-3", day=2))
    first = cli("usage", "--json")
    assert first.code == 0, first.err
    assert summary.cache_path(path).exists()
    with path.open("ab") as fh:
        fh.write(line("dall-e-3", day=3))
    doc = cli("usage", "--json").json
    assert [(r["model"], r["runs"]) for r in doc["rows"]] == [("dall-e-3", 2), ("gpt-image-2", 1)]


def entry(day: int, out: int = 100) -> dict[str, Any]:
    return json.loads(line(day=day, out=out))


def summarised(tmp_path: Path) -> Path:
    """A one-line history whose summary has been made."""
    path = tmp_path / "history.jsonl"
    path.write_bytes(line(day=1))
    summary.totals(path)
    return path


def days(path: Path) -> list[str]:
    return sorted(k.day for k in summary.totals(path))


def test_a_batch_appender_carries_the_summary_on_without_a_reread(tmp_path: Path) -> None:
    from easyimg.history import Appender

    path = tmp_path / "history.jsonl"
    with Appender(path) as journal:
        journal.append(entry(1))
        journal.append(entry(2, out=50))
    cache = json.loads(summary.cache_path(path).read_bytes())
    assert cache["offset"] == path.stat().st_size
    # Planted in the cache: seen again only if the next appender folds its own lines into it
    # instead of anything reading the file back.
    cache["rows"][0][len(summary.Key._fields)] = 999
    summary.cache_path(path).write_text(json.dumps(cache))
    with Appender(path) as journal:
        journal.append(entry(3))
    cache = json.loads(summary.cache_path(path).read_bytes())
    assert cache["offset"] == path.stat().st_size
    by_day = {k.day: v for k, v in summary.totals(path).items()}
    assert by_day["2026-03-01"][0] == 999
    assert by_day["2026-03-03"][:7] == [1, 1, 10, 0, 100, 110, 1]
    # The same totals as a reading of the whole file, planted count apart.
    summary.cache_path(path).unlink()
    fresh = {k.day: v for k, v in summary.totals(path).items()}
    assert fresh["2026-03-03"] == by_day["2026-03-03"]
    assert fresh["2026-03-02"] == by_day["2026-03-02"]


def test_an_appender_leaves_the_summary_when_another_writer_came_in_between(
    tmp_path: Path,
) -> None:
    from easyimg.history import Appender

    path = summarised(tmp_path)
    made = summary.cache_path(path).read_bytes()
    with Appender(path) as journal:
        journal.append(entry(2))
        with path.open("ab") as other:  # a second easyimg appending at the same time
            other.write(line(day=3))
        journal.append(entry(4))
    assert summary.cache_path(path).read_bytes() == made  # not carried on
    assert days(path) == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]


def test_an_appender_makes_no_summary_for_an_older_history_without_one(tmp_path: Path) -> None:
    from easyimg.history import Appender

    path = tmp_path / "history.jsonl"
    path.write_bytes(line(day=1))
    with Appender(path) as journal:
        journal.append(entry(2))
    assert not summary.cache_path(path).exists()
    assert days(path) == ["2026-03-01", "2026-03-02"]


def test_an_appender_does_not_carry_on_a_summary_that_ends_before_its_start(
    tmp_path: Path,
) -> None:
    from easyimg.history import Appender

    path = summarised(tmp_path)
    with path.open("ab") as fh:  # a `gen` since: a line the summary has not counted yet
        fh.write(line(day=2))
    with Appender(path) as journal:
        journal.append(entry(3))
    assert days(path) == ["2026-03-01", "2026-03-02", "2026-03-03"]


def test_local_days_follow_a_change_of_time_zone(tmp_path: Path, monkeypatch) -> None:
    import time

    if not hasattr(time, "tzset"):
        return
    path = tmp_path / "history.jsonl"
    path.write_bytes(line(day=1).replace(b"T12:00:00Z", b"T23:30:00Z"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert [k.day for k in summary.totals(path, cache=tmp_path / "a.json")] == ["2026-03-01"]
        monkeypatch.setenv("TZ", "JST-9")  # POSIX form: no tz database needed
        time.tzset()
        assert [k.day for k in summary.totals(path, cache=tmp_path / "b.json")] == ["2026-03-02"]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_an_appender_counts_a_redacted_line_as_written_not_as_given(tmp_path: Path) -> None:
    """An entry is folded as it is when redaction changed nothing, and from the redacted line
    when it did: the carried summary is what a reading of the file gives."""
    from easyimg import redact
    from easyimg.history import Appender

    key = "sk-summary-secret-0123456789"
    redact.register(key)
    path = tmp_path / "history.jsonl"
    with Appender(path) as journal:
        journal.append(entry(1))
        journal.append({**entry(2), "host": f"{key}.example"})  # a host that quotes the key
        journal.append({**entry(2), "model": "dall-e-3"})
    carried = summary.totals(path)
    hosts = sorted(k.host for k in carried)
    assert key not in " ".join(hosts) and len(hosts) == 3
    summary.cache_path(path).unlink()
    assert summary.totals(path) == carried
