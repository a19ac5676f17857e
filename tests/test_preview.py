"""`--preview` and `--open`: half blocks through rich, inline image protocols, the viewer."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from rich.console import Console as RichConsole

from easyimg.console import Console, Environment
from easyimg.preview import HalfBlocks, fit, iterm_sequence, kitty_sequence, protocol, show_images

from .conftest import make_image

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
CELL = re.compile(r"\x1b\[([0-9;]*)m(.)\x1b\[0m|( )")


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def squeezed(text: str) -> str:
    return "".join(plain(text).split())


def rich_console(width: int = 40) -> tuple[RichConsole, io.StringIO]:
    out = io.StringIO()
    return RichConsole(file=out, force_terminal=True, width=width, color_system="truecolor"), out


def render(image: Image.Image, width: int = 40, **kw: Any) -> str:
    console, out = rich_console(width)
    console.print(HalfBlocks(image, **kw))
    return out.getvalue()


def two_by_two(pixels: list[tuple[int, ...]]) -> Image.Image:
    im = Image.new("RGBA", (2, 2))
    im.putdata(pixels)
    return im


def test_half_block_cells_have_the_exact_colours():
    # Top row red, green; bottom row blue, white: each cell is one column of two pixels.
    im = two_by_two([(*RED, 255), (*GREEN, 255), (*BLUE, 255), (255, 255, 255, 255)])
    assert render(im) == (
        "\x1b[38;2;255;0;0;48;2;0;0;255m▀\x1b[0m\x1b[38;2;0;255;0;48;2;255;255;255m▀\x1b[0m\n"
    )


def test_transparent_pixels_show_the_terminal_background():
    # Top transparent over blue: a lower half block in blue. Both transparent: a space.
    im = two_by_two([(0, 0, 0, 0), (0, 0, 0, 0), (*BLUE, 255), (0, 0, 0, 0)])
    assert render(im) == "\x1b[38;2;0;0;255m▄\x1b[0m \n"
    # Top opaque, bottom transparent: the upper half block with no background.
    im = two_by_two([(*RED, 255), (*RED, 255), (0, 0, 0, 0), (*GREEN, 10)])
    assert render(im) == "\x1b[38;2;255;0;0m▀\x1b[0m\x1b[38;2;255;0;0m▀\x1b[0m\n"


def test_odd_height_leaves_the_last_lower_half_empty():
    im = Image.new("RGB", (1, 3), RED)
    assert render(im) == ("\x1b[38;2;255;0;0;48;2;255;0;0m▀\x1b[0m\n\x1b[38;2;255;0;0m▀\x1b[0m\n")


def test_width_capped_by_the_console_and_48_cells_keeping_aspect():
    wide = Image.new("RGB", (200, 100), GREEN)
    lines = render(wide, width=40).splitlines()
    assert len(lines) == 10  # 40 cells wide, 20 pixel rows
    assert all(len(CELL.findall(line)) == 40 for line in lines)
    lines = render(wide, width=120).splitlines()
    assert len(lines) == 12 and len(CELL.findall(lines[0])) == 48
    tall = Image.new("RGB", (100, 300), GREEN)
    lines = render(tall, width=120).splitlines()
    assert len(lines) == 24 and len(CELL.findall(lines[0])) == 16  # 24 lines at most


def test_fit_never_enlarges():
    assert fit((2, 2), 48, 48) == (2, 2)
    assert fit((1024, 1536), 48, 48) == (32, 48)
    assert fit((3840, 2160), 48, 48) == (48, 27)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "blocks"),
        ({"TERM": "xterm-256color"}, "blocks"),
        ({"TERM": "xterm-kitty"}, "kitty"),
        ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "3"}, "kitty"),
        ({"TERM_PROGRAM": "iTerm.app"}, "iterm"),
        ({"TERM_PROGRAM": "WezTerm"}, "iterm"),
        ({"TERM": "tmux-256color", "TERM_PROGRAM": "tmux", "KITTY_WINDOW_ID": "3"}, "blocks"),
        ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, "blocks"),
    ],
)
def test_protocol_from_the_environment(env, expected):
    assert protocol(env) == expected


def test_kitty_sequence_sends_the_png_in_chunks():
    png = make_image("PNG", (300, 300), (1, 2, 3)) + bytes(8000)  # 3 chunks of base64
    seq = kitty_sequence(png, 48)
    chunks = re.findall(r"\x1b_G([^;]*);([^\x1b]*)\x1b\\", seq)
    assert [c[0] for c in chunks] == ["a=T,f=100,q=2,c=48,m=1", "m=1", "m=0"]
    assert all(len(c[1]) <= 4096 for c in chunks)
    assert base64.b64decode("".join(c[1] for c in chunks)) == png
    assert seq.endswith("\x1b\\\n")


def test_iterm_sequence():
    png = make_image("PNG", (4, 4))
    seq = iterm_sequence(png, 48, "cat.png")
    head, _, data = seq.partition(":")
    assert head == (
        f"\x1b]1337;File=name={base64.b64encode(b'cat.png').decode()};inline=1;"
        f"size={len(png)};width=48;preserveAspectRatio=1"
    )
    assert data.endswith("\x07\n")
    assert base64.b64decode(data[:-2]) == png


# --- show_images -----------------------------------------------------------------------------


def console_for(
    tty: bool = True, stdout_tty: bool | None = None, quiet: bool = False, **env: str
) -> tuple[Console, io.StringIO]:
    err = io.StringIO()
    environment = Environment(
        io.StringIO(), io.StringIO(), err, tty, tty if stdout_tty is None else stdout_tty, tty, env
    )
    console = Console(environment, quiet=quiet)
    # As Console.err makes it, with a fixed width and colours.
    console._err = RichConsole(
        file=err,
        force_terminal=True,
        width=60,
        highlight=False,
        soft_wrap=True,
        color_system="truecolor",
    )
    return console, err


@pytest.fixture
def pngs(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / "a.png", tmp_path / "b.jpg"]
    paths[0].write_bytes(make_image("PNG", (4, 2), RED))
    paths[1].write_bytes(make_image("JPEG", (2, 2), (250, 250, 250)))
    return paths


class Launcher:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.calls: list[tuple[list[str], dict[str, Any]]] = []
        self.fail = fail

    def __call__(self, command: list[str], **kw: Any) -> None:
        self.calls.append((command, kw))
        if self.fail:
            raise self.fail


def test_preview_draws_a_caption_and_half_blocks_on_stderr(pngs):
    console, err = console_for()
    show_images(console, pngs, preview=True, open_files=False)
    text = err.getvalue()
    assert "a.png · 4x2" in text and "b.jpg · 2x2" in text
    assert text.count("\x1b[38;2;255;0;0;48;2;255;0;0m▀") == 4
    assert console.env.stdout.getvalue() == ""


@pytest.mark.parametrize(("stdout_tty", "tty"), [(False, True), (True, False), (False, False)])
def test_nothing_happens_in_a_pipe(pngs, stdout_tty, tty):
    console, err = console_for(tty=tty, stdout_tty=stdout_tty)
    launch = Launcher()
    show_images(console, pngs, preview=True, open_files=True, launch=launch)
    assert err.getvalue() == ""
    assert launch.calls == []


def test_kitty_and_iterm_terminals_get_inline_images(pngs):
    console, err = console_for(TERM="xterm-kitty")
    show_images(console, pngs[:1], preview=True, open_files=False)
    assert "\x1b_Ga=T,f=100,q=2,c=48,m=0;" in err.getvalue()
    console, err = console_for(TERM_PROGRAM="iTerm.app")
    show_images(console, pngs[:1], preview=True, open_files=False)
    assert "\x1b]1337;File=" in err.getvalue()


def test_an_unreadable_image_is_a_warning(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n")
    console, err = console_for()
    show_images(console, [broken], preview=True, open_files=False)
    # Talk wraps at the console's 60 columns: compare the characters, not the line breaks.
    assert squeezed(err.getvalue()).startswith(squeezed(f"warning: cannot preview {broken}: "))


@pytest.mark.parametrize(("platform", "viewer"), [("linux", "xdg-open"), ("darwin", "open")])
def test_open_starts_the_viewer_without_waiting(pngs, platform, viewer):
    console, err = console_for()
    launch = Launcher()
    show_images(console, pngs, preview=False, open_files=True, launch=launch, platform=platform)
    assert [c for c, _ in launch.calls] == [[viewer, str(p)] for p in pngs]
    options = launch.calls[0][1]
    assert options["start_new_session"] is True
    assert options["stdout"] == options["stderr"] == options["stdin"] == -3  # DEVNULL
    assert err.getvalue() == ""


def test_missing_viewer_is_one_warning(pngs):
    console, err = console_for()
    launch = Launcher(FileNotFoundError(2, "No such file or directory"))
    show_images(console, pngs, preview=False, open_files=True, launch=launch, platform="linux")
    assert len(launch.calls) == 1
    assert squeezed(err.getvalue()) == squeezed(
        f"warning: cannot open {pngs[0]}: xdg-open is not installed"
    )
    assert err.getvalue().endswith("installed\n")


def test_quiet_opens_but_does_not_draw(pngs):
    console, err = console_for(quiet=True)
    launch = Launcher()
    show_images(console, pngs, preview=True, open_files=True, launch=launch, platform="linux")
    assert err.getvalue() == ""
    assert len(launch.calls) == 2


def test_gen_preview_on_a_terminal_and_not_in_a_pipe(cli, tmp_path):
    args = ("gen", "a fox", "-s", "1024x1024", "-o", str(tmp_path), "--offline", "--preview")
    r = cli(*args, tty=True, env={"COLORTERM": "truecolor", "COLUMNS": "80"})
    assert r.code == 0, r.err
    path = Path(r.out.strip())
    assert f"{path.name} · 1024x1024" in r.err
    assert r.err.count("▀") == 48 * 24
    r = cli(*args)
    assert r.code == 0, r.err
    assert "▀" not in r.err and "·" not in r.err


@pytest.mark.parametrize(
    "env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}, {"NO_COLOR": "1", "FORCE_COLOR": "1"}]
)
def test_no_colour_means_no_block_preview(cli, tmp_path, env):
    # Half blocks are nothing but colour: with colour off the user gets a note instead.
    args = ("gen", "a fox", "-s", "1024x1024", "-o", str(tmp_path), "--offline", "--preview")
    r = cli(*args, tty=True, env={"COLORTERM": "truecolor", **env})
    assert r.code == 0, r.err
    assert "no preview: colours are turned off" in r.err
    assert "▀" not in r.err and "\x1b[38;" not in r.err


def test_the_commands_environment_decides_colour_not_the_process(cli, tmp_path, monkeypatch):
    # The process says no colour; the command's own environment (what a user's shell passes
    # to `easyimg`) does not, and it is the one that counts.
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    args = ("gen", "a fox", "-s", "1024x1024", "-o", str(tmp_path), "--offline", "--preview")
    r = cli(*args, tty=True, env={"COLORTERM": "truecolor", "COLUMNS": "80"})
    assert r.code == 0, r.err
    assert r.err.count("▀") == 48 * 24
