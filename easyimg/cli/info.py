"""`easyimg models`, `history`, `usage` and `completions`."""

import typer


def models() -> None:
    """Image models the endpoint offers."""
    raise typer.Exit(1)


def history() -> None:
    """Past generations."""
    raise typer.Exit(1)


def usage() -> None:
    """Token totals per model."""
    raise typer.Exit(1)


def completions(shell: str = typer.Argument(..., help="bash, zsh or fish")) -> None:
    """Print a shell completion script."""
    raise typer.Exit(1)
