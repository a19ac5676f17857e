"""`easyimg gallery DIR`: write the static gallery page of an output folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .common import Json, Quiet, make_console

if TYPE_CHECKING:
    from ..console import Console
    from ..gallery import GalleryResult


def gallery(
    directory: Annotated[
        str,
        typer.Argument(
            metavar="DIR",
            help="output folder: images, and its easyimg-manifest.jsonl if any",
            show_default=False,
        ),
    ],
    open_page: Annotated[
        bool, typer.Option("--open", help="open the page in the browser (on a terminal only)")
    ] = False,
    out: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--out",
            metavar="FILE",
            help="write the page here [default: DIR/index.html]",
            show_default=False,
        ),
    ] = None,
    json_out: Json = False,
    quiet: Quiet = False,
) -> None:
    """Write a static page of an output folder: thumbnails, prompts, failures, a filter.

    The page is DIR/index.html, self-contained (works from file://, no network); thumbnails
    are cached in DIR/.easyimg-thumbs/ and reused while an image is unchanged.

    easyimg gallery out/ --open
    """
    console = make_console(quiet=quiet, json_mode=json_out)
    page = Path(out) if out is not None else None
    result = write_gallery(console, Path(directory), out=page, open_page=open_page)
    if json_out:
        console.out_json(result_doc(result))
    else:
        console.out(str(result.page))


def write_gallery(
    console: Console,
    directory: Path,
    *,
    out: Path | None = None,
    open_page: bool = False,
    opener: Callable[[str], bool] | None = None,
) -> GalleryResult:
    """Build the page, say what was done on stderr, and open it when asked and allowed."""
    from ..gallery import build

    result = build(directory, out)
    console.info(summary_line(result))
    if open_page and console.may_open:
        import webbrowser

        try:
            opened = (opener or webbrowser.open)(result.page.resolve().as_uri())
        except Exception:  # webbrowser raises its own and OS errors; the page is written anyway
            opened = False
        if not opened:
            console.warn(f"no browser to open; the page is {result.page}")
    return result


def refresh(console: Console, directory: Path, *, open_page: bool = False) -> None:
    """`--gallery` at the end of a command that wrote images: a page that cannot be written is
    a warning, never a failure of the images already there."""
    from ..errors import EasyImgError

    try:
        write_gallery(console, directory, open_page=open_page)
    except EasyImgError as exc:
        console.warn(f"gallery not written: {exc.message}" + (f"; {exc.hint}" if exc.hint else ""))


def summary_line(result: GalleryResult) -> str:
    parts = [f"{result.images} image{'s' if result.images != 1 else ''}"]
    if result.failures:
        parts.append(f"{result.failures} failed")
    if result.missing:
        parts.append(f"{result.missing} missing")
    thumbs = f"thumbnails: {result.thumbs_made} made, {result.thumbs_reused} reused"
    if result.no_preview:
        thumbs += f", {result.no_preview} unreadable"
    return f"gallery {result.page}: {', '.join(parts)}; {thumbs} ({result.elapsed:.1f}s)"


def result_doc(result: GalleryResult) -> dict[str, object]:
    return {
        "page": str(result.page),
        "cards": result.cards,
        "images": result.images,
        "failures": result.failures,
        "missing": result.missing,
        "thumbnails": {
            "made": result.thumbs_made,
            "reused": result.thumbs_reused,
            "unreadable": result.no_preview,
            "removed": result.stale_removed,
        },
        "tokens": result.tokens,
        "cost": result.cost,
    }
