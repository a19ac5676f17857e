"""Atomic never-overwrite writes: temporary files, claimed names, saved images."""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import OutputError, ResponseError
from ..redact import redact
from .metadata import text_chunks
from .provenance import has_c2pa, has_c2pa_in, png_prefix
from .sniff import _PNG_HEAD, FORMAT_EXT, _png_size, image_dimensions, sniff_format
from .svg import SVG_HEAD, could_be_svg, is_svg, svg_size

if TYPE_CHECKING:
    from .names import OutputPlan

_T = TypeVar("_T")
_MAX_CLAIMS = 100_000
_GATHER = 64 * 1024  # pieces smaller than this are written together
_DRAIN_LIMIT = 1 << 20
# How far into a PNG to look for a C2PA chunk before its pixels begin (where signers put it).
_PNG_PREFIX_LIMIT = 16 << 20
_PNG_PREFIX_STEP = 256 << 10
_SMALL = 256 << 10  # images up to this size are joined in memory and written at once

# Fixed wording: strerror differs between platforms (and says "operation not permitted").
_REASONS = {
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "not a directory",
    errno.EISDIR: "is a directory",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENOENT: "no such file or directory",
    getattr(errno, "EDQUOT", -1): "disk quota exceeded",
}


def os_reason(e: OSError) -> str:
    """What went wrong with a file, in the words of an `error:` line."""
    return _REASONS.get(e.errno or 0) or (e.strerror or str(e)).lower()


@dataclass
class SavedImage:
    path: Path
    format: str
    width: int | None
    height: int | None
    bytes: int
    # The image carries a C2PA manifest, so it was written byte-identical (no text chunks).
    c2pa: bool = False


def _split_head(
    it: Iterator[bytes] | Iterator[bytes | memoryview], want: int
) -> tuple[bytes, Iterator[bytes | memoryview]]:
    """The first `want` bytes, and the rest as pieces (a big first piece is not copied)."""
    small: list[bytes] = []
    have = 0
    for piece in it:
        need = want - have
        if len(piece) >= need:
            view = memoryview(piece)
            return b"".join(small) + bytes(view[:need]), itertools.chain([view[need:]], it)
        small.append(bytes(piece))
        have += len(piece)
    return b"".join(small), iter(())


def _not_image(head: bytes, rest: Iterator[bytes | memoryview]) -> ResponseError:
    total = len(head)
    for piece in rest:
        total += len(piece)
        if total > _DRAIN_LIMIT:
            break
    amount = "more than 1 MiB" if total > _DRAIN_LIMIT else f"{total} bytes"
    return ResponseError(f"server sent {amount} that are not an image (starts with {head[:20]!r})")


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


# Every temporary file easyimg makes: `.easyimg-PID-HEX.part` (images), `.jsonl.part` (batch
# request and result files), `.tmp` (atomic JSON and text). The pid tells a later run whether
# its writer is still alive; names without one come from older versions.
TEMP_NAME = re.compile(r"\.easyimg-(?:(\d+)-)?[0-9a-f]{16}(?:\.jsonl)?\.(?:part|tmp)")


# The pid and 8 random hex digits are drawn once per process (again in a forked child); the
# other 8 count up. Names stay unique without two system calls for each one.
_TEMP_PREFIX: tuple[str, Iterator[int]] | None = None


def _temp_prefix() -> tuple[str, Iterator[int]]:
    global _TEMP_PREFIX
    if _TEMP_PREFIX is None:
        _TEMP_PREFIX = (f".easyimg-{os.getpid()}-{os.urandom(4).hex()}", itertools.count())
    return _TEMP_PREFIX


def _new_prefix() -> None:
    """Draw the prefix again when next asked (in a forked child, or after a clash)."""
    global _TEMP_PREFIX
    _TEMP_PREFIX = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_prefix)


def temp_path(directory: Path, suffix: str) -> Path:
    prefix, count = _temp_prefix()
    return directory / f"{prefix}{next(count) & 0xFFFFFFFF:08x}{suffix}"


def _open_temp(directory: Path, suffix: str, mode: int) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(3):
        path = temp_path(directory, suffix)
        try:
            return os.open(path, flags, mode), path
        except FileExistsError:  # another process with this pid and these digits: very rare
            _new_prefix()
        except OSError as e:
            raise OutputError(f"cannot write to {directory}: {os_reason(e)}") from None
    raise OutputError(f"cannot write to {directory}: temporary names taken")


# Unnamed temporary files (Linux's O_TMPFILE): an image is written to a file with no name
# and named once, by a hard link through /proc/self/fd. A named temporary file changes the
# output folder three times (create, link, unlink), each under the folder's lock, which the
# workers of a batch contend for, and the new file's inode is found under it too; an unnamed
# one changes it once. Where either is missing (another system, a file system without
# O_TMPFILE, no /proc), images go through a named temporary file as before.
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_UNNAMED = bool(_O_TMPFILE) and os.link in os.supports_dir_fd and os.path.isdir("/proc/self/fd")
_NO_TMPFILE: set[str] = set()  # folders whose file system refused O_TMPFILE
_ROOT: int | None = None  # a directory descriptor: any one makes os.link call linkat()


def _open_unnamed(directory: Path) -> int | None:
    if not _UNNAMED or os.fspath(directory) in _NO_TMPFILE:
        return None
    flags = _O_TMPFILE | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(directory, flags, 0o666)
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            _NO_TMPFILE.add(os.fspath(directory))
        return None  # a named temporary file will say what is wrong, if anything is


def _link_unnamed(fd: int, final: Path) -> None:
    """Name the unnamed file `fd`; FileExistsError when the name is taken."""
    global _ROOT
    if _ROOT is None:
        _ROOT = os.open("/", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    # linkat(AT_SYMLINK_FOLLOW) of the descriptor's /proc link: os.link makes a plain link()
    # unless given a directory descriptor, which the absolute source path leaves unused.
    os.link(f"/proc/self/fd/{fd}", final, src_dir_fd=_ROOT)


class _Temp:
    """An image being written: an unnamed file (`fd` open until it is named) or a named one
    (`path`, closed once written). `reader` is a path it can be read back from."""

    def __init__(self, directory: Path, *, overwrite: bool) -> None:
        self.directory = directory
        self.overwrite = overwrite
        # Replacing a file needs a named one (rename); so does a folder without O_TMPFILE.
        self.fd = None if overwrite else _open_unnamed(directory)
        self.path: Path | None = None
        if self.fd is None:
            self.fd, self.path = _open_temp(directory, ".part", 0o666)

    @property
    def reader(self) -> Path:
        return self.path if self.path is not None else Path(f"/proc/self/fd/{self.fd}")

    def write(self, pieces: Iterable[bytes | memoryview]) -> int:
        assert self.fd is not None
        named = self.path is not None
        size = _stream(self.fd, pieces, self.directory, close=named)
        if named:
            self.fd = None
        return size

    def replace(self, path: Path) -> None:
        """Go on with `path`, a named copy (written and closed), instead."""
        self.discard()
        self.path = path

    def claim(self, name: str) -> Path:
        if self.path is None:
            final = _claim_first(self.directory, name, self._link)
            if final is not None:
                return final
            # No hard link for it here after all: a named copy takes its place.
            copy, _ = _cut(self.reader, 0, 0, self.directory)
            self.replace(copy)
        assert self.path is not None
        return claim_name(self.path, self.directory, name, self.overwrite)

    def _link(self, final: Path) -> bool | None:
        """True once named `final`, False when that name is taken, None when the file cannot
        be linked here."""
        assert self.fd is not None
        try:
            _link_unnamed(self.fd, final)
        except FileExistsError:
            return False
        except OSError:
            return None
        fd, self.fd = self.fd, None
        try:
            os.close(fd)
        except OSError as e:  # what was written may not all be there: no name for it
            _remove(final)
            raise OutputError(
                f"cannot write an image in {self.directory}: {os_reason(e)}"
            ) from None
        return True

    def discard(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        if self.path is not None:
            _remove(self.path)
            self.path = None


def _stream(
    fd: int, pieces: Iterable[bytes | memoryview], directory: Path, *, close: bool = True
) -> int:
    # Only write errors become OutputError: the pieces may come from a download whose own
    # errors (requests' are OSError too) must reach the caller unchanged.
    size = 0
    # Small pieces (a PNG's head, its text chunks, a tiny image's pixels) are gathered into
    # one write: each write is a system call, and the GIL passed to another thread.
    small = bytearray()

    def write(data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            view = view[_checked(directory, os.write, fd, view) :]

    try:
        for piece in pieces:
            size += len(piece)
            if len(small) + len(piece) > _GATHER and small:
                write(small)
                small = bytearray()
            if len(piece) >= _GATHER:
                write(piece)
            else:
                small += piece
        if small:
            write(small)
    except BaseException:
        if close:
            os.close(fd)
        raise
    if close:
        _checked(directory, os.close, fd)  # network file systems may report a failed write here
    return size


def _checked(directory: Path, call: Callable[..., _T], *args: Any) -> _T:
    try:
        return call(*args)
    except OSError as e:
        raise OutputError(f"cannot write an image in {directory}: {os_reason(e)}") from None


class _NextSuffix:
    """Where the next claim of a name should start: the suffix after the last one this process
    took. Only a hint, so that many images sharing a name cost one link each, not one per
    earlier image: the link (or O_EXCL create) still decides, so nothing is ever overwritten."""

    def __init__(self, size: int = 4096) -> None:
        self._next: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, directory: Path, name: str) -> int:
        with self._lock:
            return self._next.get((os.fspath(directory), name), 2)

    def taken(self, directory: Path, name: str, n: int) -> None:
        key = (os.fspath(directory), name)
        with self._lock:
            if n + 1 > self._next.get(key, 2):
                self._next[key] = n + 1
            self._next.move_to_end(key)
            if len(self._next) > self._size:
                self._next.popitem(last=False)


_NEXT = _NextSuffix()


def _candidates(directory: Path, name: str) -> Iterator[int]:
    """1 (the name itself: a freed name is used again), then from the hint on."""
    yield 1
    yield from range(max(2, _NEXT.get(directory, name)), _MAX_CLAIMS + 1)


def claim_name(tmp: Path, directory: Path, name: str, overwrite: bool) -> Path:
    """Give a finished temporary file `name` in `directory`; taken names get -2, -3, ..."""
    if overwrite:
        final = directory / name
        try:
            os.replace(tmp, final)
        except OSError as e:
            raise OutputError(f"cannot write {final}: {os_reason(e)}") from None
        return final
    link = [hasattr(os, "link")]  # turned off once the file system refuses hard links
    claimed = _claim_first(directory, name, lambda final: _claim(tmp, final, link))
    assert claimed is not None  # _claim takes a name or raises
    return claimed


def _claim_first(directory: Path, name: str, claim: Callable[[Path], bool | None]) -> Path | None:
    """The first free one of `name`, `name-2`, ... that `claim` took (None: it gave up)."""
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    for n in _candidates(directory, name):
        final = directory / (name if n == 1 else f"{stem}-{n}{dot}{ext}")
        taken = claim(final)
        if taken is None:
            return None
        if taken:
            if n > 1:
                _NEXT.taken(directory, name, n)
            return final
    raise OutputError(f"cannot write {directory / name}: too many files with that name")


def _claim(tmp: Path, final: Path, link: list[bool]) -> bool:
    """Move `tmp` to `final` if that name is free (True); False when it is taken."""
    while True:
        try:
            if link[0]:
                os.link(tmp, final)  # atomic, and fails if the name is taken
                _remove(tmp)
                return True
            # An O_EXCL empty file reserves the name: concurrent writers never pick it too.
            os.close(os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            try:
                os.replace(tmp, final)
            except BaseException:
                _remove(final)
                raise
            return True
        except FileExistsError:
            return False
        except OSError as e:
            if not link[0]:
                raise OutputError(f"cannot write {final}: {os_reason(e)}") from None
            link[0] = False  # no hard links here (FAT, some network and FUSE mounts)


def _png_head(
    head: bytes, rest: Iterator[bytes | memoryview]
) -> tuple[bytearray, Iterator[bytes | memoryview], int, bool]:
    """Read on to the first IDAT: (bytes read, the rest, where IDAT starts, caBX seen)."""
    buf = bytearray(head)
    while True:
        end, c2pa = png_prefix(buf)
        if end is not None or len(buf) > _PNG_PREFIX_LIMIT:
            return buf, rest, end or len(buf), c2pa
        piece = next(rest, None)
        if piece is None:
            return buf, rest, len(buf), c2pa
        # The chunks before the pixels are small: copy a step at a time, not a whole image.
        view = memoryview(piece)
        buf += view[:_PNG_PREFIX_STEP]
        if len(view) > _PNG_PREFIX_STEP:
            rest = itertools.chain([view[_PNG_PREFIX_STEP:]], rest)


def save_image(
    chunks: Iterable[bytes],
    plan: OutputPlan,
    *,
    index: int,
    prompt: str,
    model: str,
    now: datetime,
    png_text: Mapping[str, str] | None = None,
) -> SavedImage:
    """Stream image bytes to a temporary file, then claim a final name without overwriting.

    A PNG gets `png_text` as text chunks after IHDR unless it carries a C2PA manifest: then,
    like every other format, it is written exactly as received.
    """
    # A bare bytes object would iterate as ints.
    it: Iterator[bytes] = iter((chunks,)) if isinstance(chunks, bytes | bytearray) else iter(chunks)
    head, rest = _split_head(it, _PNG_HEAD)
    if not head:
        raise ResponseError("server sent an empty image (0 bytes)")
    fmt = sniff_format(head)
    if fmt is None and could_be_svg(head):
        more: Iterator[bytes | memoryview] = itertools.chain([head], rest)
        head, rest = _split_head(more, SVG_HEAD)
        fmt = "svg" if is_svg(head) else None
    if fmt is None:
        raise _not_image(head, rest)
    dims = _png_size(head) if fmt == "png" else svg_size(head) if fmt == "svg" else None
    pieces: list[bytes | memoryview] = [head]
    scanned, inserted, c2pa = 0, 0, False
    if fmt == "png" and png_text:
        buf, rest, scanned, c2pa = _png_head(head, rest)
        view = memoryview(buf)
        extra = b"" if c2pa or dims is None else text_chunks(png_text)
        inserted = len(extra)
        pieces = [view[:_PNG_HEAD], extra, view[_PNG_HEAD:]]

    # A small image (most of a batch of thumbnails) is kept in memory as it is written, so
    # that its checks need not read the file back.
    kept = _Kept()
    temp = _Temp(plan.directory, overwrite=plan.overwrite)
    try:
        size = temp.write(kept.tee(itertools.chain(pieces, rest)))
        data = kept.data()
        if not c2pa and fmt in ("png", "jpeg", "webp"):
            start = scanned + inserted
            c2pa = (
                has_c2pa_in(data, fmt, start)
                if data is not None
                else has_c2pa(temp.reader, fmt, start)
            )
            if c2pa and inserted:
                # The manifest came after the pixels: take our chunks out again, so its hash
                # still covers exactly the bytes the server signed.
                cut, size = _cut(temp.reader, _PNG_HEAD, inserted, plan.directory)
                temp.replace(cut)
        if not dims and fmt != "svg":
            dims = image_dimensions(data if data is not None else temp.reader)
        name = plan.filename(index=index, ext=FORMAT_EXT[fmt], prompt=prompt, model=model, now=now)
        final = temp.claim(name)
    except BaseException:
        temp.discard()
        raise
    width, height = dims or (None, None)
    return SavedImage(final, fmt, width, height, size, c2pa=c2pa)


class _Kept:
    """The pieces of an image as they stream by, while they come to at most _SMALL bytes."""

    def __init__(self) -> None:
        self._pieces: list[bytes] | None = []
        self._size = 0

    def tee(self, pieces: Iterable[bytes | memoryview]) -> Iterator[bytes | memoryview]:
        for piece in pieces:
            if self._pieces is not None:
                self._size += len(piece)
                if self._size > _SMALL:
                    self._pieces = None
                else:
                    # A copy unless immutable: a decoder may hand out views of a buffer it reuses.
                    self._pieces.append(piece if isinstance(piece, bytes) else bytes(piece))
            yield piece

    def data(self) -> bytes | None:
        return None if self._pieces is None else b"".join(self._pieces)


def _cut(path: Path, start: int, length: int, directory: Path) -> tuple[Path, int]:
    """A named temporary copy of the file without `length` bytes at `start` (a rare path),
    and its size."""
    fd, tmp = _open_temp(directory, ".part", 0o666)

    def pieces() -> Iterator[bytes]:
        with open(path, "rb") as f:
            yield f.read(start)
            f.seek(start + length)
            while piece := f.read(1 << 20):
                yield piece

    try:
        size = _stream(fd, pieces(), directory)
    except BaseException:
        _remove(tmp)
        raise
    return tmp, size


def _write_atomic(path: Path, data: bytes, mode: int, *, exact_mode: bool) -> None:
    fd, tmp = _open_temp(path.parent, ".tmp", mode)
    try:
        with os.fdopen(fd, "wb") as f:
            if exact_mode and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)  # exactly `mode`, whatever the umask
            f.write(data)
        os.replace(tmp, path)
    except BaseException as e:
        _remove(tmp)
        if isinstance(e, OSError):
            raise OutputError(f"cannot write {path}: {os_reason(e)}") from None
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write `data` as indented UTF-8 JSON, replacing `path` only once it is complete.

    Redacted first: sidecars and batch state quote servers, and no key may be stored."""
    text = redact(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"
    _write_atomic(Path(path), text.encode("utf-8"), 0o666, exact_mode=False)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data`, replacing `path` only once it is complete (no name checks, no sniffing)."""
    _write_atomic(Path(path), data, 0o666, exact_mode=False)


def write_text_atomic(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Write `text` to a file created with `mode`, replacing `path` only once it is complete."""
    _write_atomic(Path(path), text.encode("utf-8"), mode, exact_mode=True)


def sidecar_path(image_path: Path) -> Path:
    return Path(image_path).with_suffix(".json")
