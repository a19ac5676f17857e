"""Output names: file-name templates, slugs and the output plan made once per command."""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import OutputError, UsageError
from .files import os_reason
from .sniff import _EXT_FORMAT, IMAGE_SUFFIXES

DEFAULT_TEMPLATE = "{date}-{time}-{slug}-{index}.{ext}"
TEMPLATE_FIELDS = ("date", "time", "slug", "index", "model", "ext")
_MAX_NAME_BYTES = 200
_UNSAFE = re.compile(r'[/\\<>:"|?*]')
_DOTS = re.compile(r"\.{2,}")
_LEAD = re.compile(r"^[\s.\-]+")
_TRAIL = re.compile(r"[\s.]+$")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_DROPPED = ("Cc", "Cf", "Zl", "Zp")  # control, format and line/paragraph separators
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


def slugify(text: str, max_len: int = 48) -> str:
    """Lowercase ASCII words joined by '-', at most max_len chars.

    A prompt with no ASCII words (`一只猫`) is `image-` and 8 hex digits of its hash, so two
    such prompts do not share one name; nothing at all is `image`.
    """
    folded = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    slug = "-".join(re.findall(r"[a-z0-9]+", folded.encode("ascii", "ignore").decode("ascii")))
    if len(slug) > max_len:
        cut = slug.rfind("-", 0, max_len + 1)
        slug = slug[:cut] if cut >= max_len // 2 else slug[:max_len]
    slug = slug.strip("-")
    if slug:
        return slug
    words = " ".join(text.split())
    if not words:
        return "image"
    return "image-" + hashlib.sha256(words.encode("utf-8")).hexdigest()[:8]


@functools.lru_cache(maxsize=64)  # a batch renders one template (or a few) per image
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
    if text.isascii() and text.isprintable():
        kept = text  # no control or format characters: nothing to look up one by one
    else:
        kept = "".join(c for c in text if unicodedata.category(c) not in _DROPPED)
    stem = _TRAIL.sub("", _LEAD.sub("", _DOTS.sub(".", _UNSAFE.sub("-", kept))))
    raw = stem.encode("utf-8")
    if len(raw) > limit:
        stem = _TRAIL.sub("", raw[:limit].decode("utf-8", "ignore"))
    if stem.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    return stem


def id_name(server_id: str, limit: int = 120) -> str:
    """A file name stem from an id a server chose (a batch id, a custom id), cleaned as every
    file name is: `../../x` or `/x` becomes `x`, a name inside its folder."""
    return _clean_stem(server_id, limit) or "id"


def _stem_of(raw: str, ext: str) -> str:
    tail = "." + ext
    return raw[: -len(tail)] if raw.lower().endswith(tail) else raw


# The last second's {date} and {time}: a batch names many images within one second.
_last_second: tuple[datetime, str, str] = (datetime.min, "", "")


def _date_time(now: datetime) -> tuple[str, str]:
    global _last_second
    second = now.replace(microsecond=0)
    last = _last_second  # one tuple, read and replaced whole: safe between threads
    if last[0] == second and last[0].tzinfo is second.tzinfo:
        return last[1], last[2]
    date, time = second.strftime("%Y%m%d %H%M%S").split()
    _last_second = (second, date, time)
    return date, time


def _values(*, prompt: str, index: int, model: str, ext: str, now: datetime) -> dict[str, object]:
    date, time = _date_time(now)
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
    if not (ext.isascii() and ext.isalnum()):
        ext = _NOT_ALNUM.sub("", ext)
    ext = ext.lower() or "img"
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


def _prepare_dir(directory: Path) -> None:
    for p in (directory, *directory.parents):
        if p.exists() and not p.is_dir():
            what = "it is a file" if p == directory else f"{p} is a file"
            raise OutputError(f"cannot write to {directory}: not a directory ({what})")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        reason = "not a directory" if e.errno == errno.EEXIST else os_reason(e)
        raise OutputError(f"cannot create {directory}: {reason}") from None
    read_only = False
    with contextlib.suppress(AttributeError, OSError):  # no statvfs on Windows
        read_only = bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    if read_only:
        raise OutputError(f"cannot write to {directory}: read-only file system")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to {directory}: permission denied")


def _names_file(text: str) -> bool:
    # An existing directory, or one written with a trailing slash, stays a directory.
    path = Path(text or ".")
    return (
        path.suffix.lower() in IMAGE_SUFFIXES
        and not path.is_dir()
        and not text.endswith(("/", os.sep))
    )


def named_format(out: str | Path | None) -> str | None:
    """The image format an `-o` file name asks for by its extension (`cat.jpg`: jpeg); None
    for a directory."""
    text = os.fspath(out) if out is not None else ""
    return _EXT_FORMAT[Path(text).suffix[1:].lower()] if _names_file(text) else None


def plan_output(
    out: str | Path | None, *, template: str | None, count: int, overwrite: bool
) -> OutputPlan:
    """Decide the directory and naming for -o/--name, checking both before any request."""
    if template is not None:
        check_template(template)
    text = os.fspath(out) if out is not None else ""
    path = Path(text or ".")
    names_file = _names_file(text)
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
