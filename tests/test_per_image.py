"""Per-image work kept to what is needed: no read-back of small images, CA bundle checks and
pool keys once per host, the deadline watchdog woken only when it must be."""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from easyimg.api import deadline as deadline_mod
from easyimg.api.client import Client
from easyimg.output import files, plan_output
from easyimg.output.files import save_image
from easyimg.serve.http import start_background

from .conftest import make_image

NOW = datetime(2026, 1, 2, 3, 4, 5)


def chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def signed_after_pixels(png: bytes) -> bytes:
    """A PNG whose C2PA manifest (caBX) comes after its pixels, before IEND."""
    return png[:-12] + chunk(b"caBX", b"jumb-manifest") + png[-12:]


def save(tmp_path: Path, data: bytes, pieces: int = 1) -> files.SavedImage:
    step = max(1, len(data) // pieces)
    chunks = [data[i : i + step] for i in range(0, len(data), step)]
    p = plan_output(tmp_path, template="{index}.{ext}", count=1, overwrite=False)
    return save_image(chunks, p, index=1, prompt="a cat", model="m", now=NOW, png_text={"k": "v"})


def test_a_small_image_is_checked_from_memory_not_read_back(tmp_path, monkeypatch):
    def no_read_back(*args: object, **kwargs: object) -> bool:
        raise AssertionError("read the file back")

    monkeypatch.setattr(files, "has_c2pa", no_read_back)
    plain = make_image("PNG", (8, 8))
    saved = save(tmp_path, plain, pieces=3)
    assert not saved.c2pa and (saved.width, saved.height) == (8, 8)
    signed = signed_after_pixels(plain)
    saved = save(tmp_path, signed, pieces=4)
    # A manifest found after the pixels takes our text chunks out: the file is as signed.
    assert saved.c2pa and saved.path.read_bytes() == signed
    webp = make_image("WEBP", (6, 5))
    saved = save(tmp_path, webp, pieces=2)
    assert (saved.width, saved.height) == (6, 5) and saved.path.read_bytes() == webp


def test_a_large_image_is_still_checked_from_the_file(tmp_path, monkeypatch):
    seen: list[Path] = []
    real = files.has_c2pa

    def spy(path: Path, fmt: str, start: int = 0) -> bool:
        seen.append(path)
        return real(path, fmt, start)

    monkeypatch.setattr(files, "has_c2pa", spy)
    png = make_image("PNG", (64, 64))
    noise = chunk(b"zzZz", os.urandom(300_000))  # past the in-memory limit
    big = signed_after_pixels(png[:-12] + noise + png[-12:])
    saved = save(tmp_path, big, pieces=5)
    assert len(seen) == 1 and saved.c2pa and saved.path.read_bytes() == big


def test_a_ca_bundle_is_looked_at_once_per_host_not_per_request(httpserver, tmp_path, monkeypatch):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not used for plain http\n")
    looked: list[str] = []
    real = os.path.isdir

    def counting(path: object) -> bool:
        if str(path) == str(bundle):
            looked.append(str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os.path, "isdir", counting)
    httpserver.expect_request("/v1/models").respond_with_json({"data": []})
    client = Client(httpserver.url_for("/v1"), None, env={"REQUESTS_CA_BUNDLE": str(bundle)})
    for _ in range(4):
        with client.request("GET", "models"):
            pass
    client.close()
    assert len(httpserver.log) == 4
    assert looked == [str(bundle)]


def test_the_watchdog_sleeps_through_later_deadlines_and_wakes_for_an_earlier_one(monkeypatch):
    dog = deadline_mod._Watchdog()
    monkeypatch.setattr(deadline_mod, "_watchdog", dog)
    notified: list[float] = []
    real_notify = dog._cond.notify

    def counting_notify(n: int = 1) -> None:
        notified.append(n)
        real_notify(n)

    monkeypatch.setattr(dog._cond, "notify", counting_notify)
    fired = threading.Event()

    class Watched(deadline_mod.Deadline):
        def _fire(self) -> None:
            super()._fire()
            fired.set()

    far = [deadline_mod.Deadline(600) for _ in range(5)]
    assert len(notified) == 1  # only the first: the others are later than it
    soon = Watched(0.01)
    assert len(notified) == 2
    assert fired.wait(10) and soon.expired
    assert not any(d.expired for d in far)
    for d in far:
        d.cancel()


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_an_open_connection_under_a_deadline_polls_before_no_send_or_read(monkeypatch):
    """The watchdog bounds the answer, so a reused connection's socket blocks: no timeout is
    set per request (a system call each) and none is polled for before a send or a read."""
    modes: list[float | None] = []
    real = socket.socket.settimeout

    def counting(self: socket.socket, value: float | None) -> None:
        if threading.current_thread() is threading.main_thread():  # the client's, not the server's
            modes.append(value)
        real(self, value)

    server = start_background()  # HTTP/1.1: one connection for every request
    monkeypatch.setattr(socket.socket, "settimeout", counting)
    client = Client(server.url, None, timeout=45)
    try:
        for _ in range(5):
            with client.request("GET", "models") as resp:
                assert resp.json()["data"]
    finally:
        client.close()
        server.close()
    # Connected with the connect timeout (set as made, and again on the socket kept), then
    # blocking for good: three settings in all, where there were two per request.
    assert modes == [30.0, 30.0, None]


def test_a_connection_without_a_deadline_keeps_its_timeouts() -> None:
    conn = deadline_mod._Conn("127.0.0.1", 9, timeout=12.5)
    assert conn.timeout == 12.5
    conn.sock = socket.socket()  # connected (as far as the timeout is concerned)
    try:
        assert conn.timeout == 12.5  # no deadline: nothing shuts the socket, timeouts stay
        conn.deadline = deadline_mod.Deadline(60)
        assert conn.timeout is None
        conn.deadline.cancel()
        conn.deadline = None
        assert conn.timeout == 12.5
    finally:
        conn.sock.close()


needs_tmpfile = pytest.mark.skipif(not files._UNNAMED, reason="no O_TMPFILE and /proc here")


def _folder_changes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls that change a folder, as the files module makes them."""
    calls: list[str] = []
    for name in ("link", "unlink", "replace"):
        real = getattr(os, name)

        def spy(*args: object, _real: object = real, _name: str = name, **kw: object) -> object:
            calls.append(_name)
            return _real(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(files.os, name, spy)
    real_open = os.open

    def opening(path: object, flags: int, *args: object, **kw: object) -> int:
        calls.append("open unnamed" if flags & files._O_TMPFILE == files._O_TMPFILE else "open")
        return real_open(path, flags, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(files.os, "open", opening)
    return calls


@needs_tmpfile
@pytest.mark.parametrize("size", [(1, 1), (512, 512)], ids=["small", "read-back"])
def test_an_image_is_written_unnamed_and_named_by_one_link(tmp_path, monkeypatch, size):
    calls = _folder_changes(monkeypatch)
    data = make_image("PNG", size=size)
    saved = save(tmp_path, data)
    # No temporary name is made or removed: the folder changes once, by the link.
    assert calls == ["open unnamed", "link"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved.path.name]
    assert (saved.width, saved.height) == size
    assert saved.path.read_bytes()[:8] == data[:8] and saved.bytes == saved.path.stat().st_size
    assert os.stat(saved.path).st_nlink == 1


@needs_tmpfile
def test_a_folder_without_o_tmpfile_gets_named_temporary_files(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "_NO_TMPFILE", set())
    real_open = os.open

    def refusing(path: object, flags: int, *args: object, **kw: object) -> int:
        if flags & files._O_TMPFILE == files._O_TMPFILE:
            raise OSError(errno.EOPNOTSUPP, "Operation not supported")
        return real_open(path, flags, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(files.os, "open", refusing)
    first = save(tmp_path, make_image("PNG"))
    assert {str(tmp_path)} == files._NO_TMPFILE  # asked once, then not again for this folder
    calls = _folder_changes(monkeypatch)
    second = save(tmp_path, make_image("PNG"))
    # (the second is 1-2.png: a link to 1.png, taken, comes first)
    assert calls == ["open", "link", "link", "unlink"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.path.name, second.path.name])
