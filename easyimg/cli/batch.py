"""`easyimg batch` and `easyimg batches`: many generations from a prompt file."""

import typer

batches_app = typer.Typer(help="The provider's Batch API: list, show, fetch, cancel.",
                          no_args_is_help=True)


def batch(file: str = typer.Argument(..., help="prompt file (.txt, .jsonl, .csv) or -")) -> None:
    """Generate images for every prompt in FILE."""
    raise typer.Exit(1)
