"""Prompt files for `easyimg batch` (txt, jsonl, csv), read as a stream and checked up front."""

from __future__ import annotations

import copy
import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from ..errors import EasyImgError, UsageError
from ..generate import build_body, parse_extra
from ..inputs import InputImage, check_edit
from ..models import dialect_for, plan_counts, request_limit, rules_for, validate
from ..output import check_template
from ..references import Reference, json_edit_fields
from .digests import DigestSet, digest

# Body fields a gen flag sets; jsonl keys and csv columns use these names.
OPTION_FIELDS = (
    "size",
    "quality",
    "background",
    "moderation",
    "style",
    "output_format",
    "output_compression",
    "response_format",
    "user",
    "safety_identifier",
    "complexity",
    "frame_count",
    "frame_duration_ms",
    "input_fidelity",
)
# An item with `image` (a path, URL or file id, or a list of them) is an edit; `mask` too.
EDIT_FIELDS = ("image", "mask")
CSV_COLUMNS = ("prompt", "name", "model", "n", *OPTION_FIELDS, *EDIT_FIELDS)
# A jsonl object's keys; router-specific body fields go in its `"extra": {...}` object, so a
# misspelt option is an error instead of a field sent to the server.
JSONL_KEYS = CSV_COLUMNS
JSONL_EXTRA = "extra"
# `x.seed` in a csv header sends `seed`, its cells read like `-x seed=VALUE`.
CSV_EXTRA_PREFIX = "x."
INT_FIELDS = ("n", "output_compression", "frame_count", "frame_duration_ms")
# A batch item is one plain request: streaming answers are for a person watching one image.
NOT_IN_BATCH = ("stream", "partial_images")
KINDS = ("txt", "jsonl", "csv")
MAX_KEPT_ERRORS = 10
MAX_SHAPES = 256  # validated request shapes remembered (each line may have its own)


@dataclass
class Defaults:
    """Generation flags of the command line: every item starts from these."""

    model: str
    n: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)
    extras: list[str] = field(default_factory=list)
    validate: bool = True
    api: str | None = None  # images or chat; None: by each item's model


@dataclass(slots=True)
class Item:
    """One line of the prompt file as a request; `body["n"]` is the number of images wanted."""

    line: int
    body: dict[str, Any]
    name: str | None
    key: str
    max_n: int
    # An edit's inputs (checked files and references) and mask; empty for a generation.
    images: tuple[InputImage | Reference, ...] = ()
    mask: InputImage | Reference | None = None
    api: str = "images"  # the API the item is sent to: images, or chat

    @property
    def prompt(self) -> str:
        return str(self.body.get("prompt", ""))

    @property
    def count(self) -> int:
        return int(self.body.get("n", 1))

    @property
    def is_edit(self) -> bool:
        return bool(self.images)

    def request_body(self) -> dict[str, Any]:
        """The body to send: an edit's images and mask added (local files read now, inline)."""
        if not self.images:
            return self.body
        return {**self.body, **json_edit_fields(list(self.images), self.mask)}


@dataclass
class LineError:
    line: int
    message: str


class FileErrors(UsageError):
    """Problems in the prompt file, each with its line; nothing was sent."""

    def __init__(self, source: str, errors: list[LineError], total: int) -> None:
        first = errors[0]
        super().__init__(f"{source}:{first.line}: {first.message}")
        self.source = source
        self.errors = errors
        self.total = total

    def lines(self) -> list[str]:
        out = [f"{self.source}:{e.line}: {e.message}" for e in self.errors]
        if self.total > len(self.errors):
            out.append(
                f"{self.source}: and {self.total - len(self.errors)} more "
                f"problem{'s' if self.total - len(self.errors) > 1 else ''}"
            )
        return out


def kind_of(path: str) -> str:
    """The file format by extension: .jsonl/.ndjson, .csv, else one prompt a line."""
    low = path.lower()
    if low.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if low.endswith(".csv"):
        return "csv"
    if low.endswith(".json"):
        raise UsageError(
            f"{path}: a .json file is not a prompt file; "
            "use .jsonl (one JSON object a line), .csv or .txt"
        )
    return "txt"


def item_key(body: Mapping[str, Any], name: str | None, occurrence: int = 1) -> str:
    """A stable hash of the request: resume finds an item wherever it moved in the file."""
    canon = json.dumps(
        {"body": body, "name": name}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    if occurrence > 1:
        # The same prompt written twice means two items, and both must run once.
        canon += f"#{occurrence}"
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


class _Builder:
    """Turns fields of one line into an Item, collecting errors instead of stopping."""

    def __init__(self, source: str, defaults: Defaults, repeats: set[int] | None = None) -> None:
        self.source = source
        self.defaults = defaults
        self.extras = dict(parse_extra(x) for x in defaults.extras)
        self.errors: list[LineError] = []
        self.error_count = 0
        self.count = 0
        self.widest = 1
        # Which requests occur more than once: found by the checking pass (`_seen`, 8 bytes a
        # key), then only those are counted while the file is read again to run it.
        self.repeats: set[int] = set() if repeats is None else repeats
        self._checking = repeats is None
        self._seen = DigestSet()
        self._occurrences: dict[int, int] = {}
        # Request shapes (all but the prompt) that passed validation -> the longest prompt
        # they passed with: a million lines with the same flags are checked a few times.
        self._valid: dict[tuple[Any, ...], int] = {}

    def _validate(self, body: Mapping[str, Any], endpoint: str, mask: bool) -> None:
        """`validate`, which looks at the prompt only for being empty or too long: a shape
        already passed with a prompt at least as long passes again without the checks."""
        prompt = body.get("prompt")
        try:
            shape = (endpoint, mask, *sorted((k, v) for k, v in body.items() if k != "prompt"))
            longest = self._valid.get(shape)
        except TypeError:  # a list or object among the fields: checked every time
            validate(body, endpoint=endpoint, mask=mask)
            return
        if (
            longest is not None
            and isinstance(prompt, str)
            and len(prompt) <= longest
            and prompt.strip()
        ):
            return
        validate(body, endpoint=endpoint, mask=mask)
        if isinstance(prompt, str) and (longest is not None or len(self._valid) < MAX_SHAPES):
            self._valid[shape] = max(longest or 0, len(prompt))

    def error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(LineError(line, message))

    def build(self, line: int, fields: Mapping[str, Any]) -> Item | None:
        try:
            item = self._item(line, fields)
        except EasyImgError as exc:
            self.error(line, exc.message)
            return None
        self.count += 1
        self.widest = max(self.widest, len(plan_counts(item.count, item.max_n)))
        return item

    def _occurrence(self, base: str) -> int:
        d = digest(base)
        if self._checking:
            if d in self._seen:
                if d not in self.repeats:
                    self.repeats.add(d)
                    self._occurrences[d] = 1  # the one seen before
            else:
                self._seen.add(d)
        if d not in self.repeats:
            return 1
        self._occurrences[d] = occurrence = self._occurrences.get(d, 0) + 1
        return occurrence

    def _item(self, line: int, fields: Mapping[str, Any]) -> Item:
        d = self.defaults
        fields = dict(fields)
        name = fields.pop("name", None)
        if name is not None and not isinstance(name, str):
            raise UsageError(f"name must be a string, not {name!r}")
        if name is not None:
            check_template(name)
        prompt = fields.pop("prompt", None)
        if prompt is None:
            raise UsageError("no prompt")
        if not isinstance(prompt, str):
            raise UsageError(f"prompt must be a string, not {_short(prompt)}")
        if not prompt.strip():
            raise UsageError("empty prompt")
        model = fields.pop("model", None) or d.model
        if not isinstance(model, str):
            raise UsageError(f"model must be a string, not {_short(model)}")
        n = fields.pop("n", None)
        n = d.n if n is None else n
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise UsageError(f"n must be a whole number of at least 1, not {_short(n)}")
        options = dict(d.options)
        extras = dict(self.extras)
        labels = _labels(fields.pop("image", None), "image")
        mask = fields.pop("mask", None)
        if mask is not None and not isinstance(mask, str):
            raise UsageError(f"mask must be a path, URL or file id, not {_short(mask)}")
        if mask is not None and not labels:
            raise UsageError("mask needs an image to edit")
        for key, value in fields.items():
            if key in NOT_IN_BATCH:
                raise UsageError(f"{key} is not available in a batch")
            if key in OPTION_FIELDS:
                options[key] = value
            elif value is None:
                extras.pop(key, None)  # null unsets a -x default
            else:
                extras[key] = value
        size = options.get("size")
        if size is not None and not isinstance(size, str):
            raise UsageError(f"size must be a string like 1024x1024, not {_short(size)}")
        body = build_body(prompt, model=model, n=n, options=options)
        body.update(extras)
        api = d.api or dialect_for(model)
        if api == "chat":
            from ..api.chat import prepare

            if labels:
                raise UsageError(
                    f"{model} answers through chat: a batch edits with the images API only"
                )
            # A pixel size becomes the nearest ratio here too; the item says what was sent.
            body, _ = prepare(body, validate=d.validate)
            max_n = 1
        else:
            if d.options.get("resolution") is not None:
                raise UsageError(f"--resolution is for chat image models, not {model}")
            max_n = request_limit(model, body.get("output_format"))
            endpoint = "edits" if labels else "generations"
            if d.validate:
                self._validate({**body, "n": min(n, max_n)}, endpoint, mask is not None)
        images: list[InputImage | Reference] = []
        found_mask = None
        if labels:
            images, found_mask = check_edit(
                labels, mask, rules_for(model), model, validate=d.validate
            )
        # The inputs are part of what makes an item itself: the same prompt on two images is two.
        keyed = {**body, "image": labels, "mask": mask} if labels else body
        base = item_key(keyed, name)
        occurrence = self._occurrence(base)
        key = base if occurrence == 1 else item_key(keyed, name, occurrence)
        return Item(line, body, name, key, max_n, tuple(images), found_mask, api)


def _labels(value: Any, key: str) -> list[str]:
    """`image` as given in a line: one path, URL or file id, or a list of them."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise UsageError(
            f"{key} must be a path, URL or file id, or a list of them, not {_short(value)}"
        )
    return list(items)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _decoded(lines: Iterable[bytes | str], builder: _Builder) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(lines, 1):
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                builder.error(number, "not UTF-8 text")
                text = raw.decode("utf-8", "replace")
        else:
            text = raw
        if number == 1:
            text = text.removeprefix("\ufeff")
        yield number, text.rstrip("\r\n")


Fields = Iterator[tuple[int, Mapping[str, Any]]]


def _txt(lines: Iterator[tuple[int, str]], b: _Builder) -> Fields:
    for number, text in lines:
        prompt = text.strip()
        if prompt and not prompt.startswith("#"):
            yield number, {"prompt": prompt}


def _jsonl(lines: Iterator[tuple[int, str]], b: _Builder) -> Fields:
    for number, text in lines:
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            b.error(
                number,
                f"bad JSON ({getattr(exc, 'msg', exc)}, column {getattr(exc, 'colno', '?')})",
            )
            continue
        if not isinstance(obj, dict):
            b.error(number, f"not a JSON object (got {type(obj).__name__})")
            continue
        try:
            fields = _jsonl_fields(obj, b.defaults.validate)
        except UsageError as exc:
            b.error(number, exc.message)
            continue
        yield number, fields


def _jsonl_fields(obj: dict[str, Any], strict: bool) -> dict[str, Any]:
    """The object's fields with its `extra` object merged in; with `strict` (not
    --no-validate) a key that is neither an option nor in `extra` is an error."""
    extra = obj.pop(JSONL_EXTRA, None)
    if extra is not None and not isinstance(extra, dict):
        raise UsageError(f'"{JSONL_EXTRA}" must be an object of body fields, not {_short(extra)}')
    unknown = [k for k in obj if k not in JSONL_KEYS and k not in NOT_IN_BATCH]
    if strict and unknown:
        raise UsageError(
            f"unknown field{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(k) for k in unknown)} (known: {', '.join(JSONL_KEYS)}; "
            f'"{JSONL_EXTRA}": {{...}} sends any other body field)'
        )
    owned = [k for k in extra or {} if k in JSONL_KEYS or k in NOT_IN_BATCH]
    if owned:
        raise UsageError(
            f'{", ".join(repr(k) for k in owned)} in "{JSONL_EXTRA}": give '
            f"{'them' if len(owned) > 1 else 'it'} at the top level of the object"
        )
    return {**obj, **(extra or {})}


def _csv_header(row: list[str], number: int, b: _Builder) -> list[str] | None:
    header = [cell.strip() for cell in row]
    unknown = [
        c
        for c in header
        if c not in CSV_COLUMNS
        and not (c.startswith(CSV_EXTRA_PREFIX) and len(c) > len(CSV_EXTRA_PREFIX))
    ]
    problems = []
    if unknown:
        problems.append(
            f"unknown column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(c) for c in unknown)} (known: {', '.join(CSV_COLUMNS)};"
            f" {CSV_EXTRA_PREFIX}FIELD sends any other body field)"
        )
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        problems.append(f"column {', '.join(repr(c) for c in dupes)} given twice")
    if "prompt" not in header:
        problems.append("no 'prompt' column in the header row")
    for problem in problems:
        b.error(number, problem)
    return None if problems else header


def _csv(lines: Iterator[tuple[int, str]], b: _Builder) -> Fields:
    # csv.reader counts physical lines, so a quoted cell spanning lines keeps numbers right.
    reader = csv.reader(text + "\n" for _, text in lines)
    header: list[str] | None = None
    start = 1
    for row in reader:
        number, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = _csv_header(row, number, b)
            if header is None:
                return
            continue
        if len(row) > len(header):
            b.error(number, f"{len(row)} cells but the header has {len(header)} columns")
            continue
        try:
            fields = _csv_fields(header, row)
        except UsageError as exc:
            b.error(number, exc.message)
            continue
        yield number, fields
    if header is None:
        b.error(1, "no header row (the first line names the columns, one of them 'prompt')")


def _csv_fields(header: list[str], row: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for column, cell in zip(header, row, strict=False):
        value = cell.strip()
        if not value:
            continue  # an empty cell leaves the default
        if column.startswith(CSV_EXTRA_PREFIX):
            key, parsed = parse_extra(f"{column[len(CSV_EXTRA_PREFIX) :]}={value}")
            fields[key] = parsed
        elif column in INT_FIELDS:
            try:
                fields[column] = int(value)
            except ValueError:
                raise UsageError(f"{column} must be a whole number, not {value!r}") from None
        else:
            fields[column] = value
    return fields


_PARSERS = {"txt": _txt, "jsonl": _jsonl, "csv": _csv}


def _items(lines: Iterable[bytes | str], kind: str, builder: _Builder) -> Iterator[Item]:
    if kind not in _PARSERS:
        raise UsageError(f"unknown prompt file format {kind!r}; use {', '.join(KINDS)}")
    for number, fields in _PARSERS[kind](_decoded(lines, builder), builder):
        item = builder.build(number, fields)
        if item is not None:
            yield item


def _raise_errors(builder: _Builder) -> None:
    if builder.error_count:
        builder.errors.sort(key=lambda e: e.line)
        raise FileErrors(builder.source, builder.errors, builder.error_count)
    if not builder.count:
        raise UsageError(f"{builder.source}: no prompts in the file")


def parse(lines: Iterable[bytes | str], kind: str, defaults: Defaults, source: str) -> list[Item]:
    """Every item of the file, or FileErrors naming each bad line; nothing is sent meanwhile."""
    builder = _Builder(source, defaults)
    items = list(_items(lines, kind, builder))
    _raise_errors(builder)
    return items


@dataclass
class Checked:
    """What the checking pass over a prompt file learnt, holding none of its items."""

    count: int
    widest: int  # the most requests one item sends
    repeats: set[int]  # digests of the requests written more than once


def check(lines: Iterable[bytes | str], kind: str, defaults: Defaults, source: str) -> Checked:
    """The whole-file check of `parse`, keeping no item: FileErrors naming each bad line."""
    builder = _Builder(source, defaults)
    for _ in _items(lines, kind, builder):
        pass
    _raise_errors(builder)
    return Checked(builder.count, builder.widest, builder.repeats)


class PromptFile:
    """A checked prompt file, read again (a stream, one item at a time) each time it is
    iterated: a million prompts cost no more memory than ten."""

    def __init__(
        self,
        opener: Callable[[], AbstractContextManager[Iterable[bytes | str]]],
        kind: str,
        defaults: Defaults,
        source: str,
    ) -> None:
        self._opener = opener
        self.kind = kind
        self.defaults = defaults
        self.source = source
        # `--head` and `--shard` (batch/select.py): which of the items a run takes.
        self.head: int | None = None
        self.shard: tuple[int, int] | None = None
        self._taken: int | None = None
        with opener() as lines:
            self.checked = check(lines, kind, defaults, source)

    def narrowed(self, *, head: int | None, shard: tuple[int, int] | None) -> PromptFile:
        """The same file, taking only the items of shard K of N, and of those the first N."""
        other = copy.copy(self)
        other.head, other.shard, other._taken = head, shard, None
        return other

    def __len__(self) -> int:
        if self.head is None and self.shard is None:
            return self.checked.count
        if self._taken is None:
            self._taken = sum(1 for _ in self)  # one more streamed pass, holding nothing
        return self._taken

    def __iter__(self) -> Iterator[Item]:
        from .select import select

        builder = _Builder(self.source, self.defaults, self.checked.repeats)
        with self._opener() as lines:
            # Lines that fail now (the file changed since it was checked) are left out.
            yield from select(_items(lines, self.kind, builder), head=self.head, shard=self.shard)
