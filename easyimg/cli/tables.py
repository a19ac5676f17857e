"""Tables for people (columns when wide, `key: value` blocks when narrow), TSV in a pipe."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

from ..redact import redact
from .common import state

if TYPE_CHECKING:
    from rich.console import Console as RichConsole

# A column cut with an ellipsis keeps at least this many cells (a word or two of a prompt);
# with less room than that the rows are stacked instead.
MIN_ROOM = 8
GAP = 3  # padding on both sides of a column and the divider between
ROOMY = 12  # below this, optional columns give their room to the shrinking ones


def json_flag(what: str) -> Any:
    return typer.Option("--json", help=f"print {what} as JSON")


def cell(value: Any) -> str:
    """One cell: tabs and line breaks become spaces (--json keeps the exact text), and a key
    in it (a server's model id, a prompt) is masked."""
    return redact(" ".join(str("" if value is None else value).split()))


def emit(
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    *,
    total: Sequence[Any] | None = None,
    wrap: tuple[str, ...] = (),
    shrink: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
) -> None:
    """A table on a terminal (see `render`), tab-separated values with a header row in a pipe.

    `columns` holds (name, justify).
    """
    env = state.env
    if not env.stdout_isatty:
        lines = ["\t".join(name for name, _ in columns)]
        lines += ["\t".join(cell(v) for v in row) for row in [*rows, *([total] if total else [])]]
        env.stdout.write("\n".join(lines) + "\n")
        env.stdout.flush()
        return
    from ..console import rich_console

    out = rich_console(env, env.stdout, force_terminal=True, highlight=False)
    render(out, columns, rows, total=total, wrap=wrap, shrink=shrink, optional=optional)


def _width(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def _needed(
    columns: Sequence[tuple[str, str]],
    cells: list[list[str]],
    wrap: tuple[str, ...],
    shrink: tuple[str, ...],
) -> tuple[int, int]:
    """Cells the table needs without squeezing anything: (fixed columns, one shrinkable one)."""
    fixed = 0
    for i, (name, _) in enumerate(columns):
        if name in shrink:
            continue
        texts = [name, *(row[i] for row in cells)]
        if name in wrap:
            fixed += max(_width(word) for text in texts for word in text.split() or [""])
        else:
            fixed += max(_width(text) for text in texts)
        fixed += GAP
    return fixed, MIN_ROOM + GAP


def render(
    out: "RichConsole",
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    *,
    total: Sequence[Any] | None = None,
    title: str | None = None,
    wrap: tuple[str, ...] = (),
    shrink: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
) -> None:
    """Columns that fit `out`'s width, or one `key: value` block per row when they cannot.

    Columns named in `wrap` wrap between words, those in `shrink` are cut with an ellipsis and
    dropped from the last when there is no room for them, the rest keep their whole width. When
    even the fixed columns do not fit, squeezing would hide numbers behind `…`: stack instead.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    columns = list(columns)
    cells = [[cell(v) for v in row] for row in rows]
    footer = [cell(v) for v in total] if total is not None else None
    every = [*cells, *([footer] if footer else [])]
    fixed, per_shrink = _needed(columns, every, wrap, shrink)
    shrinking = [i for i, (name, _) in enumerate(columns) if name in shrink]

    def needed() -> int:
        return fixed + per_shrink * len(shrinking) - GAP

    whole = ([name for name, _ in columns], cells, footer)

    def without(at: int) -> None:
        nonlocal columns, cells, footer, shrinking
        columns = [c for i, c in enumerate(columns) if i != at]
        cells = [[v for i, v in enumerate(r) if i != at] for r in cells]
        footer = [v for i, v in enumerate(footer) if i != at] if footer else footer
        shrinking = [i if i < at else i - 1 for i in shrinking if i != at]

    while needed() > out.width and len(shrinking) > 1:
        without(shrinking[-1])
    for name in optional:
        # The shrinking column (a prompt) would be cut to a word or two: give it the room
        # of a column that can be spared (`command`, `tokens`) before stacking.
        if (out.width - fixed) // max(1, len(shrinking)) - GAP >= ROOMY:
            break
        at = next((i for i, (n, _) in enumerate(columns) if n == name), None)
        if at is None:
            continue
        without(at)
        fixed, per_shrink = _needed(columns, [*cells, *([footer] if footer else [])], wrap, shrink)
    if needed() > out.width:
        # Every column, whole: a block has room for the long ones that a table would drop.
        _stacked(out, *whole, title)
        return
    room = (out.width - fixed) // max(1, len(shrinking)) - GAP
    table = Table(
        box=box.SIMPLE,
        show_footer=footer is not None,
        highlight=False,
        pad_edge=False,
        show_edge=False,
        title=Text(title) if title else None,
        title_justify="left",
    )
    for i, (name, justify) in enumerate(columns):
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            footer=Text(footer[i]) if footer else "",
            no_wrap=name not in wrap,
            overflow="ellipsis" if name in shrink else "fold",
            max_width=max(MIN_ROOM, room) if name in shrink else None,
        )
    for row in cells:
        # Text, not markup: a model id or prompt like "[/]" is shown as it is.
        table.add_row(*(Text(v) for v in row))
    out.print(table)


def _stacked(
    out: "RichConsole",
    names: list[str],
    records: list[list[str]],
    footer: list[str] | None,
    title: str | None,
) -> None:
    """`name: value` lines, values aligned and wrapped under themselves, a blank line between
    records; the total row is headed by its own first cell (`total`)."""
    from rich.text import Text

    indent = max(_width(name) for name in names) + 2
    room = max(10, out.width - indent)
    lines = [title] if title else []
    blocks = [list(zip(names, record, strict=True)) for record in records]
    if footer:
        blocks.append([("", footer[0]), *zip(names[1:], footer[1:], strict=True)])
    for n, block in enumerate(blocks):
        if n:
            lines.append("")
        for name, value in block:
            if not name:
                lines.append(value)
                continue
            wrapped = Text(value).wrap(out, room) if value else [Text("")]
            label = f"{name}:"
            for part in wrapped:
                lines.append(f"{label:<{indent}}{part.plain.rstrip()}".rstrip())
                label = ""
    out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
