"""`easyimg edit` and `easyimg vary`: edits and variations of existing images."""

import typer


def edit(images: list[str] = typer.Argument(..., help="images to edit")) -> None:
    """Edit or extend images with a prompt."""
    raise typer.Exit(1)


def vary(image: str = typer.Argument(..., help="image to vary")) -> None:
    """Variations of one image (dall-e-2)."""
    raise typer.Exit(1)
