"""`batch --head N` and `--shard K/N`: the options, and the items they leave."""

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..batch.prompts import PromptFile

Head = Annotated[
    int | None,
    typer.Option(
        "--head",
        min=1,
        metavar="N",
        help="run only the first N items of the file (of the shard, with --shard)",
        rich_help_panel="Batch",
        show_default=False,
    ),
]
Shard = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="K/N",
        help="run only the items whose key falls in shard K of N (split a file over machines)",
        rich_help_panel="Batch",
        show_default=False,
    ),
]


def chosen(items: "PromptFile", *, head: int | None, shard: str | None) -> "PromptFile":
    """The prompt file narrowed to what --head and --shard take: still a stream."""
    from ..batch.select import parse_shard

    which = parse_shard(shard) if shard is not None else None
    return items if head is None and which is None else items.narrowed(head=head, shard=which)
