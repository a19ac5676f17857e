"""Flat memory for big batches: prompt files read as streams, compact resume keys, spooled paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from easyimg.batch import prompts
from easyimg.batch.digests import DigestSet, digest
from easyimg.batch.manifest import Manifest, Pending, to_do
from easyimg.batch.prompts import Defaults, PromptFile, parse
from easyimg.batch.spool import PathSpool

D = Defaults(model="gpt-image-2", options={"quality": "low"})


def test_prompt_file_is_read_twice_as_a_stream_and_matches_parse(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    lines = [json.dumps({"prompt": p}) + "\n" for p in ["a", "b", "a", "c", "a", "b"]]
    path.write_text("".join(lines))
    opened: list[int] = []

    def opener():
        opened.append(1)
        return path.open("rb")

    prompts = PromptFile(opener, "jsonl", D, str(path))
    assert len(opened) == 1 and len(prompts) == 6 and prompts.checked.widest == 1
    expected = parse(lines, "jsonl", D, "f")
    got = list(prompts)
    # Same keys as the list form, repeated prompts included; and again on a second pass.
    assert [(i.line, i.key) for i in got] == [(i.line, i.key) for i in expected]
    assert len({i.key for i in got}) == 6
    assert [i.key for i in prompts] == [i.key for i in got]
    assert len(opened) == 3


def test_digest_set_holds_many_keys_exactly() -> None:
    s = DigestSet()
    values = [(i * 0x9E3779B97F4A7C15) % (1 << 64) for i in range(150_000)]
    for v in values:
        s.add(v)
    s.add(values[0])
    assert len(s) == 150_000
    assert all(v in s for v in values[::997])
    assert 12345 not in s and "x" not in s
    assert digest("ab" * 32) == int("ab" * 8, 16)
    assert digest("not-hex-key") == digest("not-hex-key") != digest("not-hex-kez")


def test_pending_streams_the_same_plan_as_to_do(tmp_path: Path) -> None:
    two = Defaults(model="gpt-image-2", n=2)
    items = parse([f"prompt {i}\n" for i in range(5)], "txt", two, "f")
    manifest = Manifest(tmp_path)
    (tmp_path / "kept.png").write_bytes(b"x")
    manifest.append({"key": items[1].key, "status": "ok", "files": []})
    manifest.append({"key": items[3].key, "status": "partial", "files": ["kept.png"]})
    pending = Pending(manifest, items)
    tasks = list(pending)
    assert [t.item.line for t in tasks] == [1, 3, 4, 5] and pending.skipped == 1
    assert tasks[2].body["n"] == 1
    assert [t.have for t in tasks] == [[], [], ["kept.png"], []]
    plan = to_do(manifest, items)
    assert [t.item.key for t in plan.todo] == [t.item.key for t in tasks] and plan.skipped == 1


def test_path_spool_keeps_order_past_memory(tmp_path: Path) -> None:
    spool = PathSpool(kept=3)
    paths = [tmp_path / f"img-{i}.png" for i in range(10)]
    spool.extend(paths)
    assert len(spool) == 10 and bool(spool)
    assert list(spool) == paths and list(spool) == paths
    spool.close()
    assert not PathSpool()


def test_history_last_reads_from_the_end_like_a_whole_read(tmp_path: Path, monkeypatch) -> None:
    from easyimg import history
    from easyimg.usage import newest_first

    path = tmp_path / "history.jsonl"
    lines = [json.dumps({"n": i, "prompt": "x" * (i % 37)}) for i in range(200)]
    lines[150] = '{"cut off'  # a damaged line is skipped
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(history, "_BLOCK", 64)  # many blocks, lines cut across them
    for limit in (1, 5, 49, 60, 199, 500):
        assert history.last(path, limit) == newest_first(history.read(path), limit)
    assert history.last(tmp_path / "none.jsonl", 5) == []


def test_history_folder_is_made_once(tmp_path: Path, monkeypatch) -> None:
    from easyimg import history

    made: list[Path] = []
    real = Path.mkdir

    def counting(self: Path, *args, **kwargs) -> None:
        made.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", counting)
    path = tmp_path / "data" / "history.jsonl"
    for i in range(3):
        history.append(path, {"n": i})
    assert made == [tmp_path / "data"]
    assert [e["n"] for e in history.read(path)] == [0, 1, 2]


def test_a_request_shape_checked_once_still_fails_a_longer_prompt_and_other_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = prompts.validate

    def counted(body: dict[str, Any], **kw: Any) -> None:
        calls.append(body["prompt"][:5])
        real(body, **kw)

    monkeypatch.setattr(prompts, "validate", counted)
    dalle2 = Defaults(model="dall-e-2")
    # dall-e-2 takes prompts of 1000 characters; a shorter prompt of a passed shape is not
    # checked again, a longer one is.
    txt = ["short\n", "tiny\n", "x" * 1001 + "\n"]
    with pytest.raises(prompts.FileErrors) as caught:
        prompts.check(txt, "txt", dalle2, "f")
    assert [e.line for e in caught.value.errors] == [3]
    assert calls == ["short", "xxxxx"]

    calls.clear()
    jsonl = [json.dumps({"prompt": x.strip()}) + "\n" for x in txt] + [
        '{"prompt": "other size", "size": "512x512"}\n',
        '{"prompt": "bad size", "size": "7x7"}\n',
        '{"prompt": "a list", "extra": {"seed": [1]}}\n',
        '{"prompt": "a list", "extra": {"seed": [1]}}\n',  # unhashable fields: checked every time
    ]
    with pytest.raises(prompts.FileErrors) as caught:
        prompts.check(jsonl, "jsonl", dalle2, "f")
    assert [e.line for e in caught.value.errors] == [3, 5]
    assert calls == ["short", "xxxxx", "other", "bad s", "a lis", "a lis"]


_HEAP_CHECK = r"""
import ctypes, sys
FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in FIELDS.split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
if sys.argv[1] == "steady":
    from easyimg.heap import steady
    assert steady()
size = 2 << 20  # an interned-string table of a long batch
first = bytearray(size)
del first  # freed from mmap: glibc's sliding threshold moves up past it
second = bytearray(size)
print("mmap" if libc.mallinfo2().hblkhd >= size else "heap")
"""


def test_steady_heap_keeps_big_blocks_out_of_the_heap() -> None:
    import ctypes
    import subprocess
    import sys

    libc = ctypes.CDLL(None)
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallinfo2"):
        pytest.skip("glibc 2.33 or newer only")

    def where(mode: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", _HEAP_CHECK, mode], capture_output=True, text=True, check=True
        )
        return out.stdout.strip()

    assert where("default") == "heap"  # what made a long batch's heap grow
    assert where("steady") == "mmap"


def _planned_run(tmp_path: Path, httpserver: Any, *, change_manifest: bool) -> tuple[Any, list]:
    from easyimg.api.client import Client
    from easyimg.batch.run import BatchRun

    from .test_batch import GEN, answer_per_n

    httpserver.expect_request(GEN, method="POST").respond_with_handler(answer_per_n)
    path = tmp_path / "p.txt"
    path.write_text("".join(f"prompt {i}\n" for i in range(5)))
    opened: list[int] = []

    def opener():
        opened.append(1)
        return path.open("rb")

    items = PromptFile(opener, "txt", D, str(path))
    out = tmp_path / "out"
    out.mkdir()
    keys = [i.key for i in items]
    Manifest(out).append({"key": keys[0], "status": "ok", "files": []})
    # The estimate's pass, before the folder is locked.
    planned = Pending(Manifest(out), items)
    assert sum(1 for _ in planned) == 4 and planned.count == 4
    if change_manifest:  # another run finished an item meanwhile
        Manifest(out).append({"key": keys[2], "status": "ok", "files": []})
    opened.clear()
    client = Client(httpserver.url_for("/v1"), retries=0)
    summary = BatchRun(
        client, items, out, total=len(items), jobs=2, template="{index}.{ext}", planned=planned
    ).run()
    sent = sorted(json.loads(req.get_data())["prompt"] for req, _ in httpserver.log)
    return summary, [len(opened), sent]


def test_a_run_starts_from_the_estimates_pass_when_the_manifest_is_unchanged(
    tmp_path: Path, httpserver: Any
) -> None:
    summary, (opened, sent) = _planned_run(tmp_path, httpserver, change_manifest=False)
    assert opened == 1  # only the run's own pass: no second count, no second manifest read
    assert sent == ["prompt 1", "prompt 2", "prompt 3", "prompt 4"]
    assert (summary.ok, summary.skipped, summary.total) == (4, 1, 5)


def test_a_manifest_changed_since_the_estimate_is_read_again(
    tmp_path: Path, httpserver: Any
) -> None:
    summary, (opened, sent) = _planned_run(tmp_path, httpserver, change_manifest=True)
    assert opened == 2  # counted again under the lock, then run
    assert sent == ["prompt 1", "prompt 3", "prompt 4"]  # exactly once: item 3 was done
    assert (summary.ok, summary.skipped) == (3, 2)


_ARENA_CHECK = r"""
import ctypes, os, sys, threading
if sys.argv[1] == "steady":
    from easyimg.heap import steady
    assert steady()
ready = threading.Barrier(8)  # all eight alive at once, as a batch's workers are
kept = []
def work():
    ready.wait()
    kept.append(bytearray(64 << 10))  # from malloc: the thread's arena
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
os.dup2(1, 2)  # malloc_stats writes to stderr
ctypes.CDLL(None).malloc_stats()
"""


def test_steady_heap_keeps_worker_threads_to_two_arenas() -> None:
    import ctypes
    import subprocess
    import sys

    if not hasattr(ctypes.CDLL(None), "gnu_get_libc_version"):
        pytest.skip("glibc only")

    def arenas(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", _ARENA_CHECK, mode], capture_output=True, text=True, check=True
        )
        return out.stdout.count("Arena ")

    assert arenas("default") > 2  # one per thread, as threads appear
    assert arenas("steady") <= 2
