"""Entry point: `easyimg` and `python -m easyimg`."""

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        # Answered before Typer is imported: scripts call this often and it must be instant.
        from . import __version__

        sys.stdout.write(f"easyimg {__version__}\n")
        return 0
    _stop_on_sigterm()
    from .cli import run

    return run(args)


def _stop_on_sigterm() -> None:
    """SIGTERM (a supervisor, `kill`, a CI timeout) stops the command as Ctrl-C does, so a
    batch records its work instead of losing it; a second one abandons, like Ctrl-C."""
    import contextlib
    import signal

    from .errors import Terminated

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        signal.signal(signal.SIGTERM, terminate)


if __name__ == "__main__":
    sys.exit(main())
