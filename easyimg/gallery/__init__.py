"""`easyimg gallery`: a self-contained static page of an output folder, with cached thumbnails."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import OutputError, UsageError
from ..output import write_text_atomic
from . import collect, page, thumbs

PAGE_NAME = "index.html"


@dataclass
class GalleryResult:
    page: Path
    cards: int
    images: int
    failures: int
    missing: int
    thumbs_made: int
    thumbs_reused: int
    no_preview: int
    stale_removed: int
    tokens: int | None
    cost: float | None
    elapsed: float


@dataclass
class _Work:
    name: str
    st: os.stat_result
    thumb: str | None
    make: bool


def _check_target(target: Path) -> None:
    """Replace only a page easyimg wrote: an index.html of the user's own stays theirs."""
    try:
        with open(target, "rb") as f:
            head = f.read(4096)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    if f'<meta name="generator" content="{page.GENERATOR}">'.encode() not in head:
        raise UsageError(
            f"{target} exists and was not written by easyimg",
            hint="move it away, or write the page elsewhere with -o FILE",
        )


def _place_manifest_files(
    items: list[collect.Item],
    present: dict[str, os.stat_result],
    directory: Path,
    root: Path,
) -> None:
    """Manifest paths as clean names of files in the folder; the rest stay as given (missing)."""

    def place(names: list[str]) -> list[str]:
        clean = []
        for name in names:
            if name in present:  # a plain name the scan found, links already checked
                clean.append(name)
                continue
            found = collect.manifest_file(directory, root, name)
            clean.append(name if found is None else found[0])
            if found is not None:
                present.setdefault(*found)
        return clean

    for item in items:
        item.files, item.earlier = place(item.files), place(item.earlier)


def _plan(present: dict[str, os.stat_result], existing: set[str]) -> list[_Work]:
    work = []
    for name, st in present.items():
        if name.lower().endswith(".svg"):
            # The browser draws an SVG at any size: it is its own thumbnail.
            work.append(_Work(name, st, None, False))
            continue
        thumb = thumbs.thumb_name(name, st)
        work.append(_Work(name, st, thumb, thumb not in existing))
    return work


def build(
    directory: Path,
    out: Path | None = None,
    *,
    jobs: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: datetime | None = None,
) -> GalleryResult:
    """Write the gallery page of `directory` (to `out`, default DIR/index.html)."""
    start = clock()
    directory = Path(directory)
    if not directory.is_dir():
        what = "not a directory" if directory.exists() else "no such directory"
        raise UsageError(f"{what}: {directory}")
    target = Path(out) if out is not None else directory / PAGE_NAME
    if target.is_dir():
        raise UsageError(f"-o {target} is a directory; give a file name such as gallery.html")
    _check_target(target)
    root = directory.resolve()

    present = collect.scan_images(directory)
    items = collect.read_items(directory)
    _place_manifest_files(items, present, directory, root)
    listed = {name for item in items for name in (*item.files, *item.earlier)}
    extra = [name for name in present if name not in listed]

    folder, existing = thumbs.prepare(directory)
    work = _plan(present, existing)

    def one(w: _Work) -> tuple[collect.ImageFacts, bool]:
        facts = collect.read_facts(directory / w.name, w.st)
        made = False
        if w.make and facts.readable and w.thumb is not None:
            made = thumbs.make_thumb(directory / w.name, folder / w.thumb)
        return facts, made

    # Pillow lets go of the GIL while it decodes, resizes and encodes: threads use every core.
    workers = jobs or min(8, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(one, work))

    facts: dict[str, collect.ImageFacts] = {}
    thumb_of: dict[str, str | None] = {}
    made = reused = no_preview = 0
    for w, (f, was_made) in zip(work, results, strict=True):
        facts[w.name] = f
        if w.thumb is None:
            thumb_of[w.name] = w.name if f.readable else None
        elif was_made or (not w.make and f.readable):
            thumb_of[w.name] = f"{thumbs.THUMBS_DIR}/{w.thumb}"
            made += was_made
            reused += not was_made
        else:
            thumb_of[w.name] = None
            no_preview += 1

    cards = collect.build_cards(items, present, facts, extra)
    for card in cards:
        if card.path is not None:
            card.thumb = thumb_of.get(card.path)

    made_at = (now or datetime.now(UTC)).astimezone(UTC)
    html = page.render(
        cards,
        title=root.name or str(root),
        prefix=page.page_prefix(target, directory),
        made=made_at.isoformat(timespec="seconds")[:19] + "Z",
    )
    write_text_atomic(target, html, mode=0o644)
    used = {w.thumb for w in work if w.thumb is not None and thumb_of.get(w.name)}
    stale = thumbs.remove_stale(folder, existing, used)
    t = page.totals(cards)
    return GalleryResult(
        page=target,
        cards=len(cards),
        images=t.images,
        failures=t.failures,
        missing=t.missing,
        thumbs_made=made,
        thumbs_reused=reused,
        no_preview=no_preview,
        stale_removed=stale,
        tokens=t.tokens,
        cost=t.cost,
        elapsed=clock() - start,
    )
