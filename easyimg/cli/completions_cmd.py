"""`easyimg completions`: print a shell's completion script."""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from .common import (
    make_console,
    state,
)

if TYPE_CHECKING:
    from ..console import Console


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


_INSTALL = {
    "bash": "easyimg completions bash > ~/.local/share/bash-completion/completions/easyimg",
    "zsh": "easyimg completions zsh > ~/.zfunc/_easyimg  (with fpath=(~/.zfunc $fpath) "
    "before compinit in ~/.zshrc)",
    "fish": "easyimg completions fish > ~/.config/fish/completions/easyimg.fish",
}


def completions(
    shell: Annotated[
        Shell | None, typer.Argument(help="bash, zsh or fish", metavar="SHELL", show_default=False)
    ] = None,
    list_profiles: Annotated[
        bool,
        typer.Option(
            "--list-profiles",
            hidden=True,
            help="print the config's profile names (used by the "
            "scripts while completing --profile)",
        ),
    ] = False,
) -> None:
    """Print the shell completion script for bash, zsh or fish.

    easyimg completions bash > ~/.local/share/bash-completion/completions/easyimg
    """
    from ..errors import UsageError

    console = make_console()
    if list_profiles:
        _list_profiles(console)
        return
    if shell is None:
        raise UsageError("name a shell: easyimg completions bash|zsh|fish")
    from ..completion import script, tree_from_app
    from . import app

    text = script(shell.value, tree_from_app(app))
    state.env.stdout.write(text)
    state.env.stdout.flush()
    if state.env.stdout_isatty and state.env.stderr_isatty:
        console.info(f"to install: {_INSTALL[shell.value]}")


def _list_profiles(console: "Console") -> None:
    from ..config import config_path, load_config

    profiles = load_config(config_path(state.env.env)).get("profiles")
    if isinstance(profiles, dict):
        for name in sorted(profiles):
            console.out(str(name))
