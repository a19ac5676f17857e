"""Shell completion: a description of the CLI (spec) rendered by one module per shell."""

from __future__ import annotations

import importlib

from ..errors import UsageError
from .spec import SHELLS, Command, CompletionSpec, Param, collect, describe, tree_from_app

FILES = {"bash": "easyimg.bash", "zsh": "_easyimg", "fish": "easyimg.fish"}

__all__ = [
    "FILES",
    "SHELLS",
    "Command",
    "CompletionSpec",
    "Param",
    "collect",
    "describe",
    "script",
    "tree_from_app",
]


def script(shell: str, tree: list[Command]) -> str:
    """The completion script for `shell`."""
    if shell not in SHELLS:
        choices = ", ".join(SHELLS)
        raise UsageError(f"no completion for shell {shell!r}; choose one of: {choices}")
    spec: CompletionSpec = describe(tree)
    text: str = importlib.import_module(f"{__name__}.{shell}").render(spec)
    return text
