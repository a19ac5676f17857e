"""`easyimg serve`: run the placeholder image API in the foreground."""

from __future__ import annotations

import typer

from .common import state


def serve(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        metavar="ADDRESS",
        help="address to listen on (0.0.0.0 or :: for every interface)",
    ),
    port: int = typer.Option(
        8000,
        "--port",
        "-p",
        min=0,
        max=65535,
        metavar="PORT",
        help="port to listen on (0 picks a free one)",
    ),
    latency: float = typer.Option(
        0.0,
        "--latency",
        min=0.0,
        metavar="SECONDS",
        help="seconds each image request waits, to imitate a slow model",
    ),
    api_key: str | None = typer.Option(
        None, "--api-key", metavar="KEY", help="require this key (401 otherwise)", envvar=None
    ),
    chat_style: str = typer.Option(
        "new-api",
        "--chat-style",
        metavar="STYLE",
        help="how chat completions carry images: new-api (markdown in content) or "
        "openrouter (message.images); a request's X-Easyimg-Chat-Style header overrides it",
    ),
    tasks: bool = typer.Option(
        False,
        "--tasks",
        help="answer image generations with a task to poll at /v1/tasks/ID (APIMart's "
        "shape), done after --latency",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="print nothing but errors"),
) -> None:
    """Serve an OpenAI-format image API on this machine that draws placeholder images.

    Generations, edits, variations, chat completions, models, files and batches (OpenAI's
    and EasyRouter's): for offline scripts and CI.
    """
    # Imported here: the CLI's start-up time is measured and the server pulls in Pillow.
    from ..errors import ExitCode, Terminated
    from ..serve.chat import STYLES
    from ..serve.http import make_server

    if chat_style not in STYLES:
        typer.echo(
            f"error: --chat-style {chat_style!r}: use one of {', '.join(STYLES)}",
            file=state.env.stderr,
        )
        raise typer.Exit(2)

    def log(line: str) -> None:
        typer.echo(line, file=state.env.stderr)

    try:
        server = make_server(
            host,
            port,
            latency=latency,
            api_key=api_key,
            log=None if quiet else log,
            chat_style=chat_style,
            tasks=tasks,
        )
    except (OSError, OverflowError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        log(f"error: cannot listen on {host}:{port}: {reason}")
        raise typer.Exit(2) from None
    if not quiet:
        mode = "; generations answer tasks" if tasks else ""
        log(f"easyimg serve: listening on {server.url} (placeholder images{mode}; Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt as exc:
        if not quiet:
            log("easyimg serve: stopped")
        if isinstance(exc, Terminated):
            raise typer.Exit(int(ExitCode.TERMINATED)) from None
    finally:
        server.close()
