"""What a person at a terminal sees: tables that fit, whole words, help that reads as words."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console as RichConsole

from easyimg.cli.tables import render
from easyimg.console import Console, Environment, plural

MODELS = [("id", "left"), ("known", "left"), ("sizes", "left"), ("formats", "left")]
MODEL_ROWS = [
    ["gpt-image-2", "yes", "auto, any WxH ÷16 up to 3840x2160", "png, jpeg, webp"],
    ["dall-e-3", "yes", "1024x1024, 1792x1024, 1024x1792", "png"],
]


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich reads these from the process (TERM=dumb pins it to 80 columns): not the caller's."""
    for name in ("TERM", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)


def rich_at(width: int) -> tuple[RichConsole, io.StringIO]:
    out = io.StringIO()
    console = RichConsole(file=out, force_terminal=True, width=width, height=25, color_system=None)
    return console, out


def test_plural():
    assert plural(1, "item") == "1 item"
    assert plural(0, "item") == "0 items"
    assert plural(2, "batch", "batches") == "2 batches"


def test_a_wide_terminal_gets_columns():
    console, out = rich_at(120)
    render(console, MODELS, MODEL_ROWS, wrap=("sizes", "formats"))
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["id", "known", "sizes", "formats"]
    assert lines[2].split()[:2] == ["gpt-image-2", "yes"]
    assert "auto, any WxH ÷16 up to 3840x2160" in lines[2]
    assert max(len(line) for line in lines) <= 120


def test_a_narrow_terminal_gets_key_value_blocks_not_ellipses():
    console, out = rich_at(40)
    render(console, MODELS, MODEL_ROWS, wrap=("sizes", "formats"))
    text = out.getvalue()
    assert "…" not in text
    assert text.splitlines()[:5] == [
        "id:      gpt-image-2",
        "known:   yes",
        "sizes:   auto, any WxH ÷16 up to",
        "         3840x2160",
        "formats: png, jpeg, webp",
    ]
    assert "\n\nid:      dall-e-3\n" in text
    assert max(len(line) for line in text.splitlines()) <= 40


def test_a_one_row_summary_at_60_columns_keeps_every_count():
    # The batch summary: nine numbers that squeezed into `…` at 60 columns hid the ok count.
    names = ["items", "ok", "failed", "skipped", "not started", "images", "size", "time", "rate"]
    row = ["40", "38", "2", "0", "0", "38", "12.3 MB", "12.5s", "3.04/s"]
    console, out = rich_at(60)
    render(console, [(n, "right") for n in names], [row], title="prompts.txt")
    lines = out.getvalue().splitlines()
    assert lines[0] == "prompts.txt"
    assert [line.split(":")[0].strip() for line in lines[1:]] == names
    assert lines[2] == "ok:          38"
    console, out = rich_at(120)
    render(console, [(n, "right") for n in names], [row], title="prompts.txt")
    assert out.getvalue().splitlines()[0].startswith("prompts.txt")
    assert out.getvalue().splitlines()[1].split() == [*names[:4], "not", "started", *names[5:]]


def test_shrinkable_columns_are_cut_then_dropped_before_stacking():
    columns = [("time", "left"), ("model", "left"), ("prompt", "left"), ("files", "left")]
    rows = [["2026-01-02 10:00", "gpt-image-2", "a cat " * 20, "cat-1.png (+3)"]]
    console, out = rich_at(48)
    render(console, columns, rows, shrink=("prompt", "files"))
    head, _, row = out.getvalue().splitlines()[:3]
    assert head.split() == ["time", "model", "prompt"]
    assert row.rstrip().endswith("…") and len(row) <= 48
    console, out = rich_at(30)
    render(console, columns, rows, shrink=("prompt", "files"))
    text = out.getvalue()
    assert text.startswith("time:   2026-01-02 10:00\nmodel:  gpt-image-2\nprompt: a cat")
    # A block has room for the column a table would have dropped.
    assert text.endswith("\nfiles:  cat-1.png (+3)\n")


def test_a_total_row_is_a_block_of_its_own():
    columns = [("model", "left"), ("runs", "right"), ("total tokens", "right")]
    console, out = rich_at(30)
    render(console, columns, [["gpt-image-2", "3", "12000"]], total=["total", "3", "12000"])
    assert out.getvalue().endswith("\n\ntotal\nruns:         3\ntotal tokens: 12000\n")


def tty_console(width: int) -> tuple[Console, io.StringIO]:
    err = io.StringIO()
    env = Environment(
        io.StringIO(), io.StringIO(), err, False, False, True, {"COLUMNS": str(width)}
    )
    return Console(env), err


def test_talk_wraps_between_words_at_the_terminal_width():
    console, err = tty_console(60)
    line = (
        "3 images of 4, 12.3 MB, 3.45s, gpt-image-2 (placeholder images from the offline "
        "server), and the rest of a long sentence"
    )
    console.info(line)
    lines = err.getvalue().splitlines()
    assert len(lines) > 1 and all(len(x.rstrip()) <= 60 for x in lines)
    assert " ".join(lines).split() == line.split()


def test_a_pipe_gets_talk_unwrapped():
    err = io.StringIO()
    env = Environment(io.StringIO(), io.StringIO(), err, False, False, False, {"COLUMNS": "20"})
    Console(env).info("one line that is longer than twenty columns")
    assert err.getvalue() == "one line that is longer than twenty columns\n"


# --- help and usage ----------------------------------------------------------------------------


def test_bare_easyimg_prints_help_not_an_error(cli):
    r = cli()
    assert r.code == 0
    assert r.out.startswith("Usage: easyimg [OPTIONS] COMMAND [ARGS]...")
    assert "error" not in r.err + r.out.splitlines()[0]
    r = cli("config")
    assert r.code == 0 and r.out.startswith("Usage: easyimg config [OPTIONS] COMMAND")
    assert r.err == ""


def test_a_usage_error_points_to_the_subcommands_help(cli):
    r = cli("gen", "a cat", "--bogus")
    assert r.code == 2
    assert r.err.startswith("error: No such option: --bogus")
    assert r.err.endswith("(see 'easyimg gen --help')\n")
    r = cli("config", "set", "model")
    assert r.err == "error: Missing argument 'VALUE'. (see 'easyimg config set --help')\n"


@pytest.fixture
def help_of(cli, capsys):
    """`easyimg ARGS --help`: click prints a subcommand's help on the process's stdout."""

    def run(*args: str) -> str:
        capsys.readouterr()
        result = cli(*args, "--help")
        assert result.code == 0, result.err
        return result.out + capsys.readouterr().out

    return run


def test_metavars_read_as_words(help_of):
    help_text = help_of("edit")
    assert help_text.startswith("Usage: easyimg edit [OPTIONS] IMAGE...\n")
    assert re.search(r"^  IMAGE\.\.\. +images to edit", help_text, re.M)
    assert "<list[str]>" not in help_text and "{IMAGE}" not in help_text
    assert help_of("gen").startswith("Usage: easyimg gen [OPTIONS] PROMPT\n")
    assert help_of("completions").startswith("Usage: easyimg completions [OPTIONS] [SHELL]\n")


def test_every_usage_line_is_free_of_braces_and_type_names():
    import typer

    from easyimg.cli import app, plain_help

    root = typer.main.get_command(app)
    plain_help(root)
    seen = []

    def walk(command, ctx) -> None:
        text = command.get_help(ctx)
        seen.append(ctx.command_path)
        assert text.startswith(f"Usage: {ctx.command_path} "), ctx.command_path
        assert not re.search(r"\{[A-Z_]+\}|<(str|int|list\[str\]|path)>", text), ctx.command_path
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden:
                walk(sub, sub.context_class(sub, info_name=name, parent=ctx))

    walk(root, root.context_class(root, info_name="easyimg"))
    assert "easyimg edit" in seen and "easyimg auth status" in seen and len(seen) > 20


@pytest.mark.parametrize("width", ["60", "40"])
def test_example_command_lines_are_never_rewrapped(help_of, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", width)
    text = help_of("completions")
    assert (
        "  easyimg completions bash > ~/.local/share/bash-completion/completions/easyimg\n" in text
    )


def test_gen_dash_on_a_terminal_says_it_reads_the_prompt(cli):
    r = cli("gen", "-", "--dry-run", stdin="a cat\n", tty=True)
    assert r.code == 0, r.err
    assert "reading the prompt from the terminal" in r.err and "Ctrl-D" in r.err
    assert '"prompt": "a cat"' in r.out
    r = cli("gen", "-", "--dry-run", stdin="a cat\n")
    assert r.code == 0 and r.err == ""


def test_a_command_to_copy_is_never_broken_into_lines():
    console, err = tty_console(40)
    line = "  easyimg batches fetch batch_0123456789abcdef --base-url http://127.0.0.1:8765/v1"
    console.info(line, wrap=False)
    assert err.getvalue() == line + "\n"


def test_cells_are_text_not_markup():
    console, out = rich_at(80)
    render(console, [("prompt", "left")], [["a [bold]cat[/] [/]"]], title="[red]t")
    assert "a [bold]cat[/] [/]" in out.getvalue() and "[red]t" in out.getvalue()
    console, out = rich_at(10)
    render(console, [("prompt", "left")], [["a [bold]x[/]"]])
    assert "prompt: a" in out.getvalue() and "[bold]x[/]" in out.getvalue()


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (("gen", "a cat", "-q"), "easyimg gen"),
        (("batch", "-j"), "easyimg batch"),
        (("--debug", "batches", "fetch", "--out"), "easyimg batches fetch"),
    ],
)
def test_an_option_without_its_value_points_to_its_commands_help(cli, args, where):
    # click gives these errors no context; the help is found from the words typed.
    r = cli(*args)
    assert r.code == 2
    assert r.err.endswith(f"requires an argument. (see '{where} --help')\n"), r.err
