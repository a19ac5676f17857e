"""Entry point: `easyimg` and `python -m easyimg`."""

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        # Answered before Typer is imported: scripts call this often and it must be instant.
        from . import __version__

        sys.stdout.write(f"easyimg {__version__}\n")
        return 0
    from .cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
