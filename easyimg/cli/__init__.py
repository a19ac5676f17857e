"""The Typer app: parse, call the core, render; the only place that prints or exits."""

import sys
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .. import __version__
from .coerce import plain_values
from .common import state

if TYPE_CHECKING:
    from ..console import Environment

_app = typer.Typer(
    name="easyimg",
    help="Generate images with EasyRouter, OpenAI or any OpenAI-format image API.",
    no_args_is_help=True,
    add_completion=False,
    add_help_option=False,
    # Plain help: rich help panels cost ~60 ms of imports on every `--help`.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _help(ctx: typer.Context, value: bool) -> None:
    # A bool default keeps typer from building a pydantic validator (~45 ms) for this flag.
    if value and not ctx.resilient_parsing:
        state.env.stdout.write(ctx.get_help() + "\n")
        raise typer.Exit()


def _version(value: bool) -> None:
    if value:
        state.env.stdout.write(f"easyimg {__version__}\n")
        raise typer.Exit()


@_app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="show a traceback for unexpected errors")
    ] = False,
    show_help: Annotated[
        bool,
        typer.Option(
            "-h",
            "--help",
            callback=_help,
            is_eager=True,
            expose_value=False,
            help="Show this message and exit.",
        ),
    ] = False,
) -> None:
    state.debug = state.debug or debug


# Commands that can run with their own module alone: `easyimg history` and `usage` start
# without importing (and building) every other command.
_ALONE = {"history", "usage"}
_registered: str | None = None  # "all", or the command registered alone


def _register(alone: str | None = None) -> None:
    """Register every command, or only `alone` (one of _ALONE) for a quick start."""
    global _registered
    if _registered in ("all", alone or "all"):
        return
    app = _app
    app.registered_commands.clear()
    app.registered_groups.clear()
    _registered = alone or "all"
    if alone is not None:
        from . import history_cmd

        app.add_typer(history_cmd.history_app, name="history")
        app.command("usage")(history_cmd.usage)
        return
    from . import (
        auth,
        batch,
        batches,
        completions_cmd,
        config_cmd,
        edit,
        gallery,
        gen,
        history_cmd,
        inspect,
        models_cmd,
        rerun,
        serve,
        vary,
    )

    app.command("gen")(gen.gen)
    app.command("generate", hidden=True)(gen.gen)
    app.command("edit")(edit.edit)
    app.command("vary")(vary.vary)
    app.command("batch")(batch.batch)
    app.add_typer(batches.batches_app, name="batches")
    app.command("models")(models_cmd.models)
    app.add_typer(history_cmd.history_app, name="history")
    app.command("usage")(history_cmd.usage)
    app.command("rerun")(rerun.rerun)
    app.command("info")(inspect.info)
    app.command("login")(auth.login)
    app.command("logout")(auth.logout)
    app.add_typer(auth.auth_app, name="auth", no_args_is_help=True)
    app.add_typer(config_cmd.config_app, name="config")
    app.command("serve")(serve.serve)
    app.command("completions")(completions_cmd.completions)
    app.command("gallery")(gallery.gallery)


def __getattr__(name: str) -> typer.Typer:
    # `from easyimg.cli import app` (docs, tests) gets every command.
    if name == "app":
        _register()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _alone(args: list[str]) -> str | None:
    """The command of `args` when it is one of _ALONE (the options before it take no value)."""
    first = next((a for a in args if not a.startswith("-")), None)
    return first if first in _ALONE else None


def run(args: list[str], env: Optional["Environment"] = None) -> int:
    """Run the CLI; every failure becomes one `error:` line and its exit code.

    Tests pass their own `env` (streams, tty flags, variables) instead of patching `sys`.
    """
    from ..console import Environment
    from ..errors import EasyImgError, ExitCode, Terminated

    state.env = env or Environment.from_system()
    state.debug = state.env.env.get("EASYIMG_DEBUG") == "1"
    state.json_mode = False

    _register(_alone(args))
    command = typer.main.get_command(_app)
    plain_help(command)
    plain_values(command)
    try:
        rv = command.main(args=args, prog_name="easyimg", standalone_mode=False)
    except EasyImgError as exc:
        return _fail(exc.message, exc.hint, int(exc.exit_code), exc)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        return _fail("aborted", None, int(ExitCode.INTERRUPTED))
    except Terminated:
        return _fail("terminated", None, int(ExitCode.TERMINATED))
    except KeyboardInterrupt:
        return _fail("interrupted", None, int(ExitCode.INTERRUPTED))
    except typer.TyperException as exc:
        # `easyimg` or `easyimg config` alone: the help is the answer, not an error.
        if type(exc).__name__ == "NoArgsIsHelpError" and getattr(exc, "ctx", None) is not None:
            state.env.stdout.write(exc.ctx.get_help() + "\n")  # type: ignore[attr-defined]
            return 0
        return _usage_error(exc, command, args)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep the interpreter's final
        # flush of stdout from raising again.
        _silence_stdout()
        return 1
    except Exception as exc:
        if state.debug:
            return _traceback(exc)
        return _fail(
            f"unexpected internal error: {exc!r}",
            "run with --debug for a traceback",
            int(ExitCode.ERROR),
        )
    return rv if isinstance(rv, int) else 0


def _fail(message: str, hint: str | None, code: int, exc: Exception | None = None) -> int:
    from ..console import Console

    console = Console(state.env)
    if state.json_mode:
        doc: dict[str, object] = {"error": {"message": message, "exit_code": code}}
        for attr in ("status", "code", "request_id", "param"):
            value = getattr(exc, attr, None)
            if value is not None:
                doc["error"][attr] = value  # type: ignore[index]
        console.out_json(doc)
    console.error(message, hint)
    return code


def _traceback(exc: Exception) -> int:
    """--debug: the whole traceback on stderr, redacted like every other text we show (frames
    quote the values of the failing lines, which may hold a server's answer)."""
    import traceback

    from ..redact import redact

    state.env.stderr.write(redact("".join(traceback.format_exception(exc))))
    state.env.stderr.flush()
    return 1


def _usage_error(exc: "typer.TyperException", root: Any, args: list[str]) -> int:
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else _command_path(root, args)
    return _fail(f"{message} (see '{path} --help')", None, int(getattr(exc, "exit_code", 2)))


def _command_path(root: Any, args: list[str]) -> str:
    """`easyimg gen` from the words of `args` that name (sub)commands: click leaves out the
    context of some errors (`-j` with no value), and the help to point to is still known."""
    words, group = ["easyimg"], root
    for arg in args:
        sub = getattr(group, "commands", {}).get(arg)
        if sub is None:
            if not arg.startswith("-"):
                break
            continue  # an option of the group itself (`easyimg --debug gen …`)
        words.append(arg)
        group = sub
    return " ".join(words)


def plain_help(command: Any) -> None:
    """Help that reads as words: `PROMPT` and `IMAGE...` (not `{PROMPT}`, `<list[str]>`), and
    example command lines kept whole instead of re-wrapped inside a path."""
    import inspect

    from typer.core import TyperArgument

    class PlainArgument(TyperArgument):
        def _words(self) -> str:
            return self.display_name_raw.upper() + ("..." if self.nargs != 1 else "")

        def display_type_rich(self, ctx: Any) -> str | None:
            return None

        def _rich_display_name(self) -> str:
            return self._words()

        def _usage_display_name(self) -> str:
            return self._words() if self.required else f"[{self._words()}]"

    for param in getattr(command, "params", ()):
        if isinstance(param, TyperArgument):
            param.__class__ = PlainArgument
    if getattr(command, "help", None):
        paragraphs = inspect.cleandoc(command.help).split("\n\n")
        command.help = "\n\n".join(
            f"\b\n{text}" if _is_example(text) else text for text in paragraphs
        )
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)


def _is_example(paragraph: str) -> bool:
    """Command lines and TOML lines, as docs/cli.md sets them in code blocks."""
    import re

    lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
    return bool(lines) and all(
        line.startswith(("easyimg ", "$ ")) or re.match(r"^[\w.\"-]+ = ", line) for line in lines
    )


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
