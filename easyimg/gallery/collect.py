"""What a gallery shows: cards from the batch manifest, image metadata, sidecars or file names."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from ..batch.manifest import MANIFEST_NAME
from ..errors import OutputError
from ..history import read_jsonl
from ..usage import tokens_of

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".svg"})
_N = TypeVar("_N", int, float)


@dataclass
class ImageFacts:
    """What one image file says about itself: header, PNG text chunks, sidecar."""

    width: int | None = None
    height: int | None = None
    format: str | None = None
    bytes: int | None = None
    prompt: str | None = None
    model: str | None = None
    created: str | None = None
    usage: dict[str, Any] | None = None
    # Several images of one request share its usage; count it once per response.
    response_id: str | None = None
    readable: bool = True


@dataclass
class Card:
    """One tile of the page: an image, or a failed batch item."""

    status: str  # ok, error or missing
    prompt: str | None = None
    line: int | None = None
    path: str | None = None  # relative to the gallery folder, "/"-separated
    model: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    bytes: int | None = None
    created: str | None = None
    tokens: int | None = None
    cost: float | None = None
    item_images: int = 1  # the tokens and cost belong to this many images
    error: str | None = None
    thumb: str | None = None  # relative to the gallery folder; None: no preview


@dataclass
class Item:
    """The manifest lines of one request key, merged: a re-run writes more lines."""

    key: str
    line: int | None
    prompt: str | None = None
    files: list[str] = field(default_factory=list)  # as the last line lists them
    earlier: list[str] = field(default_factory=list)  # listed before, shown if still there
    ok: bool = False
    error: str | None = None
    time: str | None = None
    model: str | None = None
    tokens: int | None = None
    cost: float | None = None


def item_cost(usage: Mapping[str, Any] | None, model: str | None) -> float | None:
    """An item's cost in USD where known: a `cost` its usage carries; None otherwise.

    The one place to wire a price table in (by `model` and the token counts).
    """
    if not isinstance(usage, Mapping):
        return None
    cost = usage.get("cost")
    if isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0:
        return float(cost)
    return None


def item_tokens(usage: Any) -> int | None:
    tokens = tokens_of(usage)
    return tokens.total if tokens is not None else None


def _add(a: _N | None, b: _N | None) -> _N | None:
    return b if a is None else a if b is None else a + b


def read_items(directory: Path) -> list[Item]:
    """Manifest items in prompt-file order (line numbers), one per request key."""
    items: dict[str, Item] = {}
    for n, entry in enumerate(read_jsonl(directory / MANIFEST_NAME, OutputError)):
        status = entry.get("status")
        if status not in ("ok", "partial", "error"):
            continue  # `batch --remote` notes its submissions here too
        raw_line = entry.get("line")
        line = raw_line if isinstance(raw_line, int) and not isinstance(raw_line, bool) else None
        key = entry.get("key")
        key = key if isinstance(key, str) else f"#{n}"
        item = items.setdefault(key, Item(key, line))
        prompt = entry.get("prompt")
        if isinstance(prompt, str):
            item.prompt = prompt
        if isinstance(entry.get("model"), str):
            item.model = entry["model"]
        if isinstance(entry.get("time"), str):
            item.time = entry["time"]
        # A line lists every file its item holds; older manifests listed only the new ones.
        item.earlier += [n for n in item.files if n not in item.earlier]
        files = entry.get("files")
        item.files = [n for n in files if isinstance(n, str)] if isinstance(files, list) else []
        usage = entry.get("usage")
        item.tokens = _add(item.tokens, item_tokens(usage))
        item.cost = _add(item.cost, item_cost(usage, item.model))
        if status == "ok":
            item.ok = True
        else:
            error = entry.get("error")
            item.error = error if isinstance(error, str) and error else "failed"
    # Lines are positions in the prompt file; items without one (odd manifests) go last.
    return sorted(items.values(), key=lambda i: (i.line is None, i.line or 0))


def scan_images(directory: Path) -> dict[str, os.stat_result]:
    """Image files directly in `directory` (name → stat), symlinks leading out of it left out."""
    root = directory.resolve()
    found: dict[str, os.stat_result] = {}
    try:
        entries = list(os.scandir(directory))
    except OSError as exc:
        raise OutputError(f"cannot read {directory}: {exc.strerror or exc}") from None
    for entry in entries:
        if os.path.splitext(entry.name)[1].lower() not in IMAGE_SUFFIXES:
            continue
        try:
            if entry.is_symlink() and not inside(Path(entry.path), root):
                continue
            if entry.is_file():
                found[entry.name] = entry.stat()
        except OSError:
            continue
    return found


def inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def manifest_file(directory: Path, root: Path, name: str) -> tuple[str, os.stat_result] | None:
    """A manifest path as a clean relative name with its stat; None if missing or outside."""
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        return None
    path = directory / rel
    if not inside(path, root):
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (rel.as_posix(), st) if path.is_file() else None


def read_facts(path: Path, st: os.stat_result) -> ImageFacts:
    """The header and metadata of one image; never raises for a damaged file."""
    facts = ImageFacts(bytes=st.st_size)
    side = _sidecar(path)
    if path.suffix.lower() == ".svg":
        facts.format = "svg"
    else:
        _read_header(path, facts)
    if side is not None:
        _from_sidecar(side, facts)
    return facts


def _read_header(path: Path, facts: ImageFacts) -> None:
    from PIL import Image

    try:
        # open() reads the header and the chunks before the pixels, where easyimg puts its text.
        with Image.open(path) as im:
            facts.width, facts.height = im.size
            facts.format = (im.format or "").lower() or None
            info = dict(im.info)
    except Exception:
        # Pillow raises many types for damaged files; such a card just has no preview.
        facts.readable = False
        return
    prompt, model = info.get("prompt"), info.get("model")
    facts.prompt = prompt if isinstance(prompt, str) else None
    facts.model = model if isinstance(model, str) and model else None
    if facts.model is None:
        params = _json(info.get("parameters"))
        if isinstance(params, dict) and isinstance(params.get("model"), str):
            facts.model = params["model"]
    facts.created = _when(info.get("created"))


def _sidecar(path: Path) -> dict[str, Any] | None:
    side = path.with_suffix(".json")
    try:
        if side.stat().st_size > 1 << 20:
            return None
        doc = json.loads(side.read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("request"), dict) else None


def _from_sidecar(doc: Mapping[str, Any], facts: ImageFacts) -> None:
    body = doc["request"].get("body")
    response = doc.get("response")
    if isinstance(body, dict):
        if facts.prompt is None and isinstance(body.get("prompt"), str):
            facts.prompt = body["prompt"]
        if facts.model is None and isinstance(body.get("model"), str):
            facts.model = body["model"]
    if isinstance(response, dict):
        if isinstance(response.get("usage"), dict):
            facts.usage = response["usage"]
        facts.created = facts.created or _when(response.get("created"))
    rid = doc.get("request_id")
    created = response.get("created") if isinstance(response, dict) else None
    facts.response_id = rid if isinstance(rid, str) and rid else f"{created}:{facts.usage}"


def _json(raw: Any) -> Any:
    try:
        return json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _when(raw: Any) -> str | None:
    """A `created` value (unix seconds, as a number or text) as ISO UTC."""
    try:
        seconds = float(raw)
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")[:19] + "Z"
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def mtime_iso(st: os.stat_result) -> str:
    return datetime.fromtimestamp(st.st_mtime, UTC).isoformat(timespec="seconds")[:19] + "Z"


def image_card(name: str, facts: ImageFacts, st: os.stat_result) -> Card:
    return Card(
        "ok",
        prompt=facts.prompt,
        path=name,
        model=facts.model,
        width=facts.width,
        height=facts.height,
        format=facts.format,
        bytes=facts.bytes,
        created=facts.created or mtime_iso(st),
    )


def build_cards(
    items: Iterable[Item],
    present: Mapping[str, os.stat_result],
    facts: Mapping[str, ImageFacts],
    extra: Iterable[str],
) -> list[Card]:
    """Manifest items first (their images, or one card for a failure), then the other images."""
    cards: list[Card] = []
    used: set[str] = set()
    for item in items:
        listed = item.earlier + [n for n in item.files if n not in item.earlier]
        names = [n for n in listed if n in present and n not in used]
        missing = [n for n in item.files if n not in present]
        used.update(names)
        item_cards = []
        for name in names:
            card = image_card(name, facts[name], present[name])
            card.prompt = item.prompt if item.prompt is not None else card.prompt
            card.line = item.line
            card.model = card.model or item.model
            card.created = facts[name].created or item.time or card.created
            item_cards.append(card)
        for name in missing:
            item_cards.append(
                Card("missing", item.prompt, item.line, model=item.model, error=f"not here: {name}")
            )
        if not item.ok:
            item_cards.append(
                Card("error", item.prompt, item.line, model=item.model, error=item.error)
            )
        if item_cards:
            first = item_cards[0]
            first.tokens, first.cost = item.tokens, item.cost
            first.item_images = max(1, len(names))
        cards.extend(item_cards)
    seen: set[str] = set()
    rest = []
    for name in extra:
        card = image_card(name, facts[name], present[name])
        f = facts[name]
        if f.usage is not None and f.response_id not in seen:
            seen.add(f.response_id or name)
            card.tokens = item_tokens(f.usage)
            card.cost = item_cost(f.usage, f.model)
        rest.append(card)
    # Without a manifest the best order is the time each image was made, then its name.
    rest.sort(key=lambda c: (c.created or "", c.path or ""))
    cards.extend(rest)
    return cards
