"""Tables for people on a terminal, TSV in a pipe, or one JSON document: shared by listings."""

from typing import Any

import typer

from ..redact import redact
from .common import state


def json_flag(what: str) -> Any:
    return typer.Option("--json", help=f"print {what} as JSON")


def emit(
    columns: list[tuple[str, str]],
    rows: list[list[str]],
    *,
    total: list[str] | None = None,
    wrap: tuple[str, ...] = (),
    shrink: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
) -> None:
    """A table on a terminal, tab-separated values with a header row in a pipe.

    `columns` holds (name, justify). On a terminal the columns named in `wrap` wrap, those
    in `shrink` are cut with an ellipsis to fit, and the rest keep their whole width; the
    `optional` ones, in that order, are left out when the shrinking ones have too little room.
    """
    env = state.env
    if not env.stdout_isatty:
        lines = ["\t".join(name for name, _ in columns)]
        lines += ["\t".join(cell(v) for v in row) for row in [*rows, *([total] if total else [])]]
        env.stdout.write("\n".join(lines) + "\n")
        env.stdout.flush()
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ..console import rich_console

    out = rich_console(env, env.stdout, force_terminal=True, highlight=False)
    cells = [[cell(v) for v in row] for row in rows]
    # Fixed columns keep their full width; the shrinkable ones share what is left, so a long
    # prompt or file name is cut with an ellipsis instead of squeezing the model to "mod".
    # Each column costs its text plus 3 cells: padding on both sides and the divider.
    fixed = sum(
        max(len(name), *(len(r[i]) for r in cells), len(total[i]) if total else 0) + 3
        for i, (name, _) in enumerate(columns)
        if name not in shrink
    )
    shrinking = [i for i, (name, _) in enumerate(columns) if name in shrink]
    room = (out.width - fixed) // max(1, len(shrinking)) - 3
    while room < 12 and len(shrinking) > 1:
        # Too narrow for all of them: drop the last shrinkable column (files before prompt).
        drop = shrinking.pop()
        columns = [c for i, c in enumerate(columns) if i != drop]
        cells = [[v for i, v in enumerate(r) if i != drop] for r in cells]
        total = [v for i, v in enumerate(total) if i != drop] if total else total
        room = (out.width - fixed) // len(shrinking) - 3
    for name in optional:
        if room >= 12:
            break
        at = next((i for i, (n, _) in enumerate(columns) if n == name), None)
        if at is None:
            continue
        fixed -= max(len(name), *(len(r[at]) for r in cells), len(total[at]) if total else 0)
        fixed -= 3
        columns = [c for i, c in enumerate(columns) if i != at]
        cells = [[v for i, v in enumerate(r) if i != at] for r in cells]
        total = [v for i, v in enumerate(total) if i != at] if total else total
        room = (out.width - fixed) // max(1, len(shrinking)) - 3
    room = max(10, room)
    table = Table(
        box=box.SIMPLE,
        show_footer=total is not None,
        highlight=False,
        pad_edge=False,
        show_edge=False,
    )
    for i, (name, justify) in enumerate(columns):
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            footer=total[i] if total else "",
            no_wrap=name not in wrap,
            overflow="ellipsis" if name in shrink else "fold",
            max_width=room if name in shrink else None,
        )
    for row in cells:
        # Text, not markup: a model id or prompt like "[/]" is shown as it is.
        table.add_row(*(Text(v) for v in row))
    out.print(table)


def cell(value: Any) -> str:
    """One cell: tabs and line breaks become spaces (--json keeps the exact text), and a key
    in it (a server's model id, a prompt) is masked."""
    return redact(" ".join(str("" if value is None else value).split()))
