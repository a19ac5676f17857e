"""Output names, image format sniffing, atomic never-overwrite writes and PNG text chunks."""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import json
import os
import re
import string
import struct
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from .errors import OutputError, ResponseError, UsageError

_T = TypeVar("_T")

FORMAT_EXT: dict[str, str] = {"png": "png", "jpeg": "jpg", "webp": "webp", "gif": "gif"}
DEFAULT_TEMPLATE = "{date}-{time}-{slug}-{index}.{ext}"
TEMPLATE_FIELDS = ("date", "time", "slug", "index", "model", "ext")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_IHDR = b"\x00\x00\x00\x0dIHDR"
_PNG_HEAD = 33  # signature + IHDR: text chunks go right after it
_EXT_FORMAT = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp", "gif": "gif"}
_MAX_NAME_BYTES = 200
_MAX_CLAIMS = 100_000
_DRAIN_LIMIT = 1 << 20
_UNSAFE = re.compile(r'[/\\<>:"|?*]')
_DOTS = re.compile(r"\.{2,}")
_LEAD = re.compile(r"^[\s.\-]+")
_TRAIL = re.compile(r"[\s.]+$")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in range(10)
}
# NFKD leaves these letters whole; spell them the way an English slug would.
_FOLD = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "ø": "o",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "þ": "th",
        "'": None,
        "\u2019": None,
    }
)
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


def sniff_format(head: bytes) -> str | None:
    """The image format named by the first bytes' signature, or None."""
    head = bytes(head[:12])
    if head.startswith(_PNG_SIG):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def _png_size(head: bytes) -> tuple[int, int] | None:
    if len(head) < 24 or not head.startswith(_PNG_SIG) or head[8:16] != _IHDR:
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def image_dimensions(path_or_bytes: Path | bytes) -> tuple[int, int] | None:
    """(width, height) read from the header only; None when it cannot be read."""
    fp: IO[bytes] | Path
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        head = bytes(path_or_bytes[:_PNG_HEAD])
        fp = io.BytesIO(path_or_bytes)
    else:
        fp = Path(path_or_bytes)
        try:
            with open(fp, "rb") as f:
                head = f.read(_PNG_HEAD)
        except OSError:
            return None
    if sniff_format(head) == "png":
        return _png_size(head)
    from PIL import Image  # lazily: PIL costs start-up time that --help must not pay

    try:
        with Image.open(fp) as im:
            return im.size
    except Exception:
        # Pillow raises many types for odd headers; a missing size is only cosmetic here.
        return None


def slugify(text: str, max_len: int = 48) -> str:
    """Lowercase ASCII words joined by '-', at most max_len chars; 'image' when nothing is left."""
    folded = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    slug = "-".join(re.findall(r"[a-z0-9]+", folded.encode("ascii", "ignore").decode("ascii")))
    if len(slug) > max_len:
        cut = slug.rfind("-", 0, max_len + 1)
        slug = slug[:cut] if cut >= max_len // 2 else slug[:max_len]
    return slug.strip("-") or "image"


def _check_fields(template: str) -> None:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as e:
        raise UsageError(f"bad name template {template!r}: {e}") from None
    for _literal, name, spec, _conversion in parsed:
        if name is not None and name not in TEMPLATE_FIELDS:
            allowed = " ".join(f"{{{f}}}" for f in TEMPLATE_FIELDS)
            raise UsageError(
                f"unknown field {{{name}}} in name template {template!r}; use {allowed}"
            )
        if spec:
            _check_fields(spec)


def _render(template: str, values: Mapping[str, object]) -> str:
    # Field names are checked first so that {index.__class__} and the like never run.
    _check_fields(template)
    try:
        return template.format_map(values)
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise UsageError(f"bad name template {template!r}: {e}") from None


def _clean_stem(text: str, limit: int) -> str:
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    stem = _TRAIL.sub("", _LEAD.sub("", _DOTS.sub(".", _UNSAFE.sub("-", kept))))
    raw = stem.encode("utf-8")
    if len(raw) > limit:
        stem = _TRAIL.sub("", raw[:limit].decode("utf-8", "ignore"))
    if stem.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    return stem


def _stem_of(raw: str, ext: str) -> str:
    tail = "." + ext
    return raw[: -len(tail)] if raw.lower().endswith(tail) else raw


def _values(*, prompt: str, index: int, model: str, ext: str, now: datetime) -> dict[str, object]:
    date, time = now.strftime("%Y%m%d %H%M%S").split()
    return {
        "date": date,
        "time": time,
        "slug": slugify(prompt),
        "index": index,
        "model": model,
        "ext": ext,
    }


def check_template(template: str) -> None:
    """Raise UsageError for unknown fields, bad format syntax or a template that names nothing."""
    values = _values(prompt="", index=1, model="model", ext="png", now=datetime(2000, 1, 1))
    if not _clean_stem(_stem_of(_render(template, values), "png"), _MAX_NAME_BYTES):
        raise UsageError(f"name template {template!r} gives an empty file name")


def render_name(
    template: str, *, prompt: str, index: int, model: str, ext: str, now: datetime
) -> str:
    """A plain file name (no directory part, at most 200 bytes) from the name template."""
    ext = re.sub(r"[^A-Za-z0-9]", "", ext).lower() or "img"
    raw = _render(template, _values(prompt=prompt, index=index, model=model, ext=ext, now=now))
    stem = _clean_stem(_stem_of(raw, ext), _MAX_NAME_BYTES - len(ext) - 1)
    return f"{stem or 'image'}.{ext}"


@dataclass
class OutputPlan:
    """Where images go and how they are named; made once per command by plan_output."""

    directory: Path
    template: str
    stem: str | None
    count: int
    overwrite: bool
    # The extension -o was given as typed ("jpeg", "JPG"); kept when the bytes are that format.
    suffix: str | None = None

    def filename(self, *, index: int, ext: str, prompt: str, model: str, now: datetime) -> str:
        if self.stem is None:
            return render_name(
                self.template, prompt=prompt, index=index, model=model, ext=ext, now=now
            )
        if self.suffix and _EXT_FORMAT.get(self.suffix.lower()) == _EXT_FORMAT.get(ext.lower()):
            ext = self.suffix
        return f"{self.stem}.{ext}" if self.count == 1 else f"{self.stem}-{index}.{ext}"


def _reason(e: OSError) -> str:
    return _REASONS.get(e.errno or 0) or (e.strerror or str(e)).lower()


def _prepare_dir(directory: Path) -> None:
    for p in (directory, *directory.parents):
        if p.exists() and not p.is_dir():
            what = "it is a file" if p == directory else f"{p} is a file"
            raise OutputError(f"cannot write to {directory}: not a directory ({what})")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        reason = "not a directory" if e.errno == errno.EEXIST else _reason(e)
        raise OutputError(f"cannot create {directory}: {reason}") from None
    read_only = False
    with contextlib.suppress(AttributeError, OSError):  # no statvfs on Windows
        read_only = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    if read_only:
        raise OutputError(f"cannot write to {directory}: read-only file system")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to {directory}: permission denied")


def plan_output(
    out: str | Path | None, *, template: str | None, count: int, overwrite: bool
) -> OutputPlan:
    """Decide the directory and naming for -o/--name, checking both before any request."""
    if template is not None:
        check_template(template)
    text = os.fspath(out) if out is not None else ""
    path = Path(text or ".")
    # An existing directory, or one written with a trailing slash, stays a directory.
    names_file = (
        path.suffix.lower() in IMAGE_SUFFIXES
        and not path.is_dir()
        and not text.endswith(("/", os.sep))
    )
    directory = path.parent if names_file else path
    _prepare_dir(directory)
    return OutputPlan(
        directory,
        template if template is not None else DEFAULT_TEMPLATE,
        stem=path.stem if names_file else None,
        count=count,
        overwrite=overwrite,
        suffix=path.suffix[1:] if names_file else None,
    )


@dataclass
class SavedImage:
    path: Path
    format: str
    width: int | None
    height: int | None
    bytes: int


def _text_chunk(key: str, value: str) -> bytes:
    name = key.encode("latin-1", "replace")
    if not 1 <= len(key) <= 79 or "\0" in key or name.decode("latin-1") != key:
        raise ValueError(f"PNG text key must be 1-79 Latin-1 characters, no NUL: {key!r}")
    value = value.replace("\0", "")
    try:
        kind, body = b"tEXt", name + b"\0" + value.encode("latin-1")
    except UnicodeEncodeError:
        # iTXt: keyword, NUL, no compression (flag 0, method 0), empty language and
        # translated keyword (each NUL-terminated), then UTF-8 text.
        kind, body = b"iTXt", name + b"\0\0\0\0\0" + value.encode("utf-8", "replace")
    crc = zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png_with_text(data: bytes, text: Mapping[str, str]) -> bytes:
    """The PNG with one text chunk per key inserted after IHDR; pixels are not re-encoded."""
    if not text or len(data) < _PNG_HEAD or _png_size(data[:_PNG_HEAD]) is None:
        return data
    extra = b"".join(_text_chunk(k, v) for k, v in text.items())
    return bytes(data[:_PNG_HEAD]) + extra + bytes(data[_PNG_HEAD:])


def _split_head(it: Iterator[bytes], want: int) -> tuple[bytes, Iterator[bytes | memoryview]]:
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


def _open_temp(directory: Path, suffix: str, mode: int) -> tuple[int, Path]:
    path = directory / f".easyimg-{os.urandom(8).hex()}{suffix}"
    try:
        return os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode
        ), path
    except OSError as e:
        raise OutputError(f"cannot write to {directory}: {_reason(e)}") from None


def _stream(fd: int, pieces: Iterable[bytes | memoryview], directory: Path) -> int:
    # Only write errors become OutputError: the pieces may come from a download whose own
    # errors (requests' are OSError too) must reach the caller unchanged.
    size = 0
    try:
        for piece in pieces:
            view = memoryview(piece)
            size += len(view)
            while view:
                view = view[_checked(directory, os.write, fd, view) :]
    except BaseException:
        os.close(fd)
        raise
    _checked(directory, os.close, fd)  # network file systems may report a failed write here
    return size


def _checked(directory: Path, call: Callable[..., _T], *args: Any) -> _T:
    try:
        return call(*args)
    except OSError as e:
        raise OutputError(f"cannot write an image in {directory}: {_reason(e)}") from None


def claim_name(tmp: Path, directory: Path, name: str, overwrite: bool) -> Path:
    """Give a finished temporary file `name` in `directory`; taken names get -2, -3, ..."""
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    use_link = hasattr(os, "link")
    n = 1
    while n <= _MAX_CLAIMS:
        final = directory / (name if n == 1 else f"{stem}-{n}{dot}{ext}")
        try:
            if overwrite:
                os.replace(tmp, final)
            elif use_link:
                os.link(tmp, final)  # atomic, and fails if the name is taken
                _remove(tmp)
            else:
                # An O_EXCL empty file reserves the name: concurrent writers never pick it too.
                os.close(os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                try:
                    os.replace(tmp, final)
                except BaseException:
                    _remove(final)
                    raise
            return final
        except FileExistsError:
            n += 1
        except OSError as e:
            if overwrite or not use_link:
                raise OutputError(f"cannot write {final}: {_reason(e)}") from None
            use_link = False  # no hard links here (FAT, some network and FUSE mounts)
    raise OutputError(f"cannot write {directory / name}: too many files with that name")


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
    """Stream image bytes to a temporary file, then claim a final name without overwriting."""
    # A bare bytes object would iterate as ints.
    it: Iterator[bytes] = iter((chunks,)) if isinstance(chunks, bytes | bytearray) else iter(chunks)
    head, rest = _split_head(it, _PNG_HEAD)
    if not head:
        raise ResponseError("server sent an empty image (0 bytes)")
    fmt = sniff_format(head)
    if fmt is None:
        raise _not_image(head, rest)
    dims = _png_size(head) if fmt == "png" else None
    first = png_with_text(head, png_text) if fmt == "png" and png_text else head

    fd, tmp = _open_temp(plan.directory, ".part", 0o666)
    try:
        size = _stream(fd, itertools.chain([first], rest), plan.directory)
        dims = dims or image_dimensions(tmp)
        name = plan.filename(index=index, ext=FORMAT_EXT[fmt], prompt=prompt, model=model, now=now)
        final = claim_name(tmp, plan.directory, name, plan.overwrite)
    except BaseException:
        _remove(tmp)
        raise
    width, height = dims or (None, None)
    return SavedImage(path=final, format=fmt, width=width, height=height, bytes=size)


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
            raise OutputError(f"cannot write {path}: {_reason(e)}") from None
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write `data` as indented UTF-8 JSON, replacing `path` only once it is complete."""
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    _write_atomic(Path(path), text.encode("utf-8"), 0o666, exact_mode=False)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data`, replacing `path` only once it is complete (no name checks, no sniffing)."""
    _write_atomic(Path(path), data, 0o666, exact_mode=False)


def write_text_atomic(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Write `text` to a file created with `mode`, replacing `path` only once it is complete."""
    _write_atomic(Path(path), text.encode("utf-8"), mode, exact_mode=True)


def sidecar_path(image_path: Path) -> Path:
    return Path(image_path).with_suffix(".json")
