"""Small previews of written images in the terminal, and opening them in the system viewer."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image
    from rich.console import Console as RichConsole
    from rich.console import ConsoleOptions
    from rich.segment import Segment

    from .console import Console

MAX_CELLS = 48  # preview width in terminal cells
MAX_LINES = 24  # preview height in terminal lines (two pixels each)
INLINE_PIXELS = 640  # longest side of the picture sent to kitty or iTerm2
_OPAQUE = 128


def protocol(env: Mapping[str, str]) -> str:
    """ "kitty", "iterm" or "blocks": how this terminal can show a picture."""
    term = env.get("TERM", "")
    if env.get("TMUX") or term.startswith(("screen", "tmux")):
        return "blocks"  # tmux drops graphics escapes unless told to pass them through
    if term == "xterm-kitty" or env.get("KITTY_WINDOW_ID"):
        return "kitty"
    if env.get("TERM_PROGRAM") in ("iTerm.app", "WezTerm"):
        return "iterm"
    return "blocks"


def fit(size: tuple[int, int], max_w: int, max_h: int) -> tuple[int, int]:
    """The largest size within max_w x max_h with the same aspect; never larger than `size`."""
    w, h = size
    scale = min(1.0, max_w / w, max_h / h)
    return max(1, round(w * scale)), max(1, round(h * scale))


class HalfBlocks:
    """A rich renderable: each cell shows two pixels, the upper half block in the foreground
    colour over the lower pixel as background. Transparent pixels show the terminal's own
    background."""

    def __init__(
        self, image: Image.Image, *, max_cells: int = MAX_CELLS, max_lines: int = MAX_LINES
    ) -> None:
        self.image = image
        self.max_cells = max_cells
        self.max_lines = max_lines

    def __rich_console__(self, console: RichConsole, options: ConsoleOptions) -> Iterator[Segment]:
        from PIL import Image
        from rich.color import Color
        from rich.segment import Segment
        from rich.style import Style

        cells = max(1, min(options.max_width, self.max_cells))
        size = fit(self.image.size, cells, 2 * self.max_lines)
        img = self.image.convert("RGBA")
        if img.size != size:
            img = img.resize(size, Image.Resampling.BOX)
        w, h = img.size
        px: Any = img.load()

        def colour(x: int, y: int) -> Color | None:
            if y >= h:
                return None
            r, g, b, a = px[x, y]
            return Color.from_rgb(r, g, b) if a >= _OPAQUE else None

        for y in range(0, h, 2):
            for x in range(w):
                top, bottom = colour(x, y), colour(x, y + 1)
                if top is not None:
                    yield Segment("▀", Style(color=top, bgcolor=bottom))
                elif bottom is not None:
                    yield Segment("▄", Style(color=bottom))
                else:
                    yield Segment(" ")
            yield Segment.line()


def _inline_png(image: Image.Image) -> bytes:
    from PIL import Image

    img = image.copy()
    img.thumbnail((INLINE_PIXELS, INLINE_PIXELS), Image.Resampling.LANCZOS)
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def kitty_sequence(png: bytes, cells: int) -> str:
    """The kitty graphics protocol: a PNG sent in 4096-byte base64 chunks, shown `cells` wide."""
    data = base64.standard_b64encode(png).decode("ascii")
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)] or [""]
    out = []
    for i, chunk in enumerate(chunks):
        more = int(i < len(chunks) - 1)
        # q=2: no reply from the terminal, which would otherwise arrive on our stdin.
        control = f"a=T,f=100,q=2,c={cells},m={more}" if i == 0 else f"m={more}"
        out.append(f"\x1b_G{control};{chunk}\x1b\\")
    return "".join(out) + "\n"


def iterm_sequence(png: bytes, cells: int, name: str) -> str:
    """iTerm2's inline image escape (WezTerm reads it too)."""
    encoded_name = base64.b64encode(name.encode("utf-8")).decode("ascii")
    data = base64.b64encode(png).decode("ascii")
    return (
        f"\x1b]1337;File=name={encoded_name};inline=1;size={len(png)};width={cells};"
        f"preserveAspectRatio=1:{data}\x07\n"
    )


def _caption(path: Path, image: Image.Image) -> str:
    from rich.markup import escape

    return f"[dim]{escape(path.name)} · {image.width}x{image.height}[/]"


def draw(err: RichConsole, path: Path, env: Mapping[str, str]) -> None:
    """Draw one image's preview on `err` with the best protocol this terminal speaks."""
    from PIL import Image

    with Image.open(path) as opened:
        opened.load()
        image = opened
    kind = protocol(env)
    cells = max(1, min(err.width, MAX_CELLS))
    err.print(_caption(path, image), highlight=False)
    if kind == "blocks":
        err.print(HalfBlocks(image, max_cells=cells))
        return
    png = _inline_png(image)
    sequence = (
        kitty_sequence(png, cells) if kind == "kitty" else iterm_sequence(png, cells, path.name)
    )
    err.file.write(sequence)
    err.file.flush()


def open_file(
    path: Path, *, launch: Callable[..., Any] = subprocess.Popen, platform: str = sys.platform
) -> None:
    """Open `path` in the system viewer without waiting for it; OSError when there is none."""
    if platform == "win32":
        startfile = getattr(os, "startfile", None)
        if startfile is None:
            raise FileNotFoundError("os.startfile")
        startfile(str(path))
        return
    command = ["open" if platform == "darwin" else "xdg-open", str(path)]
    launch(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def show_images(
    console: Console,
    paths: Iterable[Path],
    *,
    preview: bool,
    open_files: bool,
    launch: Callable[..., Any] = subprocess.Popen,
    platform: str = sys.platform,
) -> None:
    """`--preview` and `--open`: both only for a person at a terminal, never in a pipe."""
    env = console.env
    if not (env.stdout_isatty and env.stderr_isatty):
        return
    paths = list(paths)
    if preview and not console.quiet:
        _previews(console, paths)
    if open_files:
        for path in paths:
            try:
                open_file(path, launch=launch, platform=platform)
            except OSError as e:
                viewer = "open" if platform == "darwin" else "xdg-open"
                why = (
                    f"{viewer} is not installed"
                    if isinstance(e, FileNotFoundError)
                    else (e.strerror or str(e)).lower()
                )
                console.warn(f"cannot open {path}: {why}")
                if isinstance(e, FileNotFoundError):
                    return


def _previews(console: Console, paths: list[Path]) -> None:
    err = console.err
    if protocol(console.env.env) == "blocks" and (err.no_color or err.color_system is None):
        console.info("no preview: colours are turned off")
        return
    for path in paths:
        try:
            draw(err, path, console.env.env)
        except Exception as e:  # Pillow raises many types; a preview is never worth failing
            console.warn(f"cannot preview {path}: {e}")
