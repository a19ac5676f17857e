"""Options shared by commands, and turning flags into settings, a client and a console."""

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..console import Console, Environment

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ..api.client import Client
    from ..batch.backend import BatchBackend
    from ..config import Settings

CONN = "Connection"
GEN = "Generation"
OUT = "Output"


@dataclass
class State:
    """Process-wide flags the top-level run() needs after a command fails."""

    debug: bool = False
    json_mode: bool = False
    env: Environment = field(default_factory=Environment.from_system)


state = State()

# --- connection options (every command that talks to an API) ---------------------------------
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="API base URL [env: EASYIMG_BASE_URL; default: https://easyrouter.io/v1]",
        rich_help_panel=CONN,
        show_default=False,
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        metavar="KEY",
        help="API key [env: EASYIMG_API_KEY]",
        rich_help_panel=CONN,
        show_default=False,
    ),
]
Profile = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help="config profile to use [env: EASYIMG_PROFILE]",
        rich_help_panel=CONN,
        show_default=False,
    ),
]
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="seconds the whole answer may take, body included [default: 600]",
        rich_help_panel=CONN,
        show_default=False,
    ),
]
Retries = Annotated[
    int | None,
    typer.Option(
        "--retries",
        metavar="N",
        help="retries after the first try [default: 3]",
        rich_help_panel=CONN,
        show_default=False,
    ),
]
RetryTimeouts = Annotated[
    bool,
    typer.Option(
        "--retry-timeouts",
        help="also retry read timeouts, dropped connections, 504 and 520-524 "
        "(the image may be generated and billed twice)",
        rich_help_panel=CONN,
    ),
]
Offline = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="use an in-process placeholder server: no key, no network",
        rich_help_panel=CONN,
    ),
]

# --- generation options ------------------------------------------------------------------------
Model = Annotated[
    str | None,
    typer.Option(
        "-m",
        "--model",
        metavar="MODEL",
        help="model id [default: config model, else gpt-image-2]",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
Count = Annotated[
    int,
    typer.Option("-n", "--count", metavar="N", help="number of images", min=1, rich_help_panel=GEN),
]
Size = Annotated[
    str | None,
    typer.Option(
        "-s",
        "--size",
        metavar="SIZE",
        help="WxH, auto, square, landscape or portrait",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
Quality = Annotated[
    str | None,
    typer.Option(
        "-q",
        "--quality",
        metavar="QUALITY",
        help="low, medium, high, auto (GPT image); xhigh, max (2.5 and newer); "
        "standard, hd (dall-e-3)",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
Background = Annotated[
    str | None,
    typer.Option(
        "--background",
        metavar="MODE",
        help="auto, transparent or opaque",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
Moderation = Annotated[
    str | None,
    typer.Option(
        "--moderation", metavar="LEVEL", help="auto or low", rich_help_panel=GEN, show_default=False
    ),
]
Style = Annotated[
    str | None,
    typer.Option(
        "--style",
        metavar="STYLE",
        help="vivid or natural (dall-e-3)",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
Format = Annotated[
    str | None,
    typer.Option(
        "-f",
        "--format",
        metavar="FORMAT",
        help="png, jpeg or webp; gif or svg on gpt-image-2.6 (output_format)",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
Compression = Annotated[
    int | None,
    typer.Option(
        "--compression",
        metavar="0-100",
        help="jpeg/webp quality, 0-100",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
ResponseFormat = Annotated[
    str | None,
    typer.Option(
        "--response-format",
        metavar="FORMAT",
        help="url or b64_json (legacy models and some routers)",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
User = Annotated[
    str | None,
    typer.Option(
        "--user",
        metavar="ID",
        help="deprecated: use --safety-id; end-user id sent as `user`",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
SafetyId = Annotated[
    str | None,
    typer.Option(
        "--safety-id",
        metavar="ID",
        help="a stable (hashed) end-user id for abuse monitoring, sent as safety_identifier",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
Complexity = Annotated[
    str | None,
    typer.Option(
        "--complexity",
        metavar="LEVEL",
        help="low, medium or high: planning spent on the image (gpt-image-2.6)",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
Frames = Annotated[
    int | None,
    typer.Option(
        "--frames",
        metavar="N",
        help="frames of an animated gif, 2-16 [default: 9] (with -f gif)",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
FrameMs = Annotated[
    int | None,
    typer.Option(
        "--frame-ms",
        metavar="MS",
        help="milliseconds a gif frame shows, 20-2000 [default: 200] (with -f gif)",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
Extra = Annotated[
    list[str] | None,
    typer.Option(
        "-x",
        "--extra",
        metavar="KEY=VALUE",
        help="extra body field KEY=VALUE (VALUE as JSON if it parses); repeatable",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
NoValidate = Annotated[
    bool, typer.Option("--no-validate", help="skip client-side model rules", rich_help_panel=GEN)
]
ApiChoice = Annotated[
    str | None,
    typer.Option(
        "--api",
        metavar="API",
        help="images (/images/*) or chat (/chat/completions) [default: config api, else "
        "by model: gemini-*-image*, nano-banana* use chat]",
        rich_help_panel=GEN,
        show_default=False,
    ),
]
BatchApi = Annotated[
    str | None,
    typer.Option(
        "--batch-api",
        metavar="API",
        help="openai (/files + /batches) or easyrouter (/image-files + /image-batches) "
        "[default: config batch_api, else easyrouter at easyrouter.io, openai elsewhere]",
        rich_help_panel=CONN,
        show_default=False,
    ),
]
Resolution = Annotated[
    str | None,
    typer.Option(
        "--resolution",
        metavar="SIZE",
        help="1K, 2K or 4K (chat image models: image_size; -s gives the aspect ratio)",
        rich_help_panel=GEN,
        show_default=False,
    ),
]

# --- output options ----------------------------------------------------------------------------
Out = Annotated[
    str | None,
    typer.Option(
        "-o",
        "--out",
        metavar="PATH",
        help="output directory; or a file name, whose extension sets the format "
        "(.png .jpg .webp); or - for stdout",
        rich_help_panel=OUT,
        show_default=False,
    ),
]
Name = Annotated[
    str | None,
    typer.Option(
        "--name",
        metavar="TEMPLATE",
        help="file name template: {date} {time} {slug} {index} {model} {ext}",
        rich_help_panel=OUT,
        show_default=False,
    ),
]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="replace existing files", rich_help_panel=OUT)
]
NoMetadata = Annotated[
    bool, typer.Option("--no-metadata", help="no PNG text chunks", rich_help_panel=OUT)
]
Sidecar = Annotated[
    bool,
    typer.Option(
        "--sidecar", help="also write NAME.json with the request and response", rich_help_panel=OUT
    ),
]
Json = Annotated[
    bool, typer.Option("--json", help="print one JSON object instead of paths", rich_help_panel=OUT)
]
Quiet = Annotated[bool, typer.Option("--quiet", help="print errors only", rich_help_panel=OUT)]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="print the request and exit", rich_help_panel=OUT)
]
Open = Annotated[
    bool, typer.Option("--open", help="open the files in the system viewer", rich_help_panel=OUT)
]
Gallery = Annotated[
    bool,
    typer.Option(
        "--gallery",
        help="write or refresh the output folder's gallery page (index.html) at the end",
        rich_help_panel=OUT,
    ),
]
OpenGallery = Annotated[
    bool,
    typer.Option(
        "--open",
        help="open the gallery page in the browser at the end (implies --gallery)",
        rich_help_panel=OUT,
    ),
]
Preview = Annotated[
    bool,
    typer.Option("--preview", help="draw a small preview in the terminal", rich_help_panel=OUT),
]


@dataclass
class Connection:
    settings: "Settings"
    client: "Client"
    offline: bool
    stack: ExitStack

    def close(self) -> None:
        self.stack.close()


def settings_for(
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    profile: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    **more: Any,
) -> "Settings":
    from ..config import resolve

    flags = {
        "base_url": base_url,
        "api_key": api_key,
        "profile": profile,
        "timeout": timeout,
        "retries": retries,
        **more,
    }
    from ..redact import register

    settings = resolve(flags, state.env.env)
    # From here on every text shown or stored masks this key, whatever quotes it. (A key that
    # cannot be used is never sent, and reading it would stop commands that do not need it.)
    if not settings.problem("api_key"):
        register(settings.api_key)
    return settings


def connect(
    settings: "Settings",
    *,
    offline: bool = False,
    retry_timeouts: bool = False,
    console: Console | None = None,
    pool_size: int = 10,
    need_key: bool = True,
) -> Connection:
    """A client for the resolved settings; with `offline`, against an in-process server."""

    from ..api.client import Client
    from ..keys import require_key

    stack = ExitStack()
    if console is not None:
        for note in settings.notes:
            console.warn(note)
    if offline:
        from ..api.chat import form_for
        from ..config import DEFAULT_BASE_URL
        from ..serve.http import start_background

        # The placeholder server answers chat in the form the real host would (the default
        # host's when the configured base URL is unusable: offline never sends to it).
        real = DEFAULT_BASE_URL if settings.problem("base_url") else settings.base_url
        server = start_background(chat_style=form_for(real, settings.chat_style))
        stack.callback(server.close)
        settings.base_url = server.url
        settings.api_key = None
    elif need_key:
        require_key(settings)

    def on_retry(retry: Any) -> None:
        if console is not None:
            item = f"{retry.label}: " if retry.label else ""
            console.info(
                f"{item}waiting {round(retry.delay, 1):g}s ({retry.reason}; try "
                f"{retry.attempt + 1} of {settings.retries + 1})"
            )

    client = Client(
        settings.base_url,
        settings.api_key,
        timeout=settings.timeout,
        retries=settings.retries,
        retry_timeouts=retry_timeouts,
        pool_size=pool_size,
        on_retry=on_retry,
        max_image=int(settings.max_image_mb * (1 << 20)),
        max_retry_wait=settings.max_retry_wait,
        env=state.env.env,
    )
    stack.callback(client.close)
    return Connection(settings, client, offline, stack)


def make_console(*, quiet: bool = False, json_mode: bool = False) -> Console:
    state.json_mode = json_mode
    return Console(state.env, quiet=quiet, json_mode=json_mode)


def read_prompt(prompt: str) -> str:
    """`-` reads the prompt from stdin."""
    if prompt == "-":
        return read_stdin("the prompt")
    return prompt


def read_stdin(what: str) -> str:
    """All of stdin; on a terminal, first say what is being read and how to end it."""
    env = state.env
    if env.stdin_isatty:
        # Without this a person who typed `-` faces a silent cursor and thinks it hangs.
        Console(env).info(f"reading {what} from the terminal (Ctrl-D on a new line to end it)")
    try:
        return env.stdin.read().strip()
    except KeyboardInterrupt:
        if env.stdin_isatty:
            env.stderr.write("\n")
        raise


def history_files(paths: list[Path]) -> list[str]:
    return [str(p) for p in paths]


def batch_backend(settings: "Settings") -> "BatchBackend":
    """The remote Batch API backend the settings ask for: `batch_api`, else by host."""
    from ..batch import find
    from ..config import host_of

    name = settings.batch_api
    if not name:
        host = host_of(settings.base_url)
        name = (
            "easyrouter" if host == "easyrouter.io" or host.endswith(".easyrouter.io") else "openai"
        )
    return find(name)


# Body fields a flag sets: `-x` may not set them behind the flag's back.
FLAG_FIELDS = {
    "model": "-m/--model",
    "prompt": "the PROMPT argument",
    "n": "-n/--count",
    "size": "-s/--size",
    "quality": "-q/--quality",
    "background": "--background",
    "moderation": "--moderation",
    "style": "--style",
    "output_format": "-f/--format",
    "output_compression": "--compression",
    "response_format": "--response-format",
    "stream": "--stream",
    "partial_images": "--partial-images",
    "user": "--user",
    "safety_identifier": "--safety-id",
    "complexity": "--complexity",
    "frame_count": "--frames",
    "frame_duration_ms": "--frame-ms",
}
EDIT_FLAG_FIELDS = {
    **FLAG_FIELDS,
    "prompt": "-p/--prompt",
    "image": "the IMAGE arguments",
    "images": "the IMAGE arguments",
    "mask": "--mask",
    "input_fidelity": "--input-fidelity",
}


def newer_fields(
    fmt: str | None,
    *,
    frames: int | None = None,
    frame_ms: int | None = None,
    complexity: str | None = None,
    safety_id: str | None = None,
) -> dict[str, Any]:
    """The 2026 fields as body fields (None: not sent); frame flags need -f gif."""
    from ..errors import UsageError

    for flag, value in (("--frames", frames), ("--frame-ms", frame_ms)):
        if value is not None and fmt != "gif":
            raise UsageError(f"{flag} needs -f gif")
    return {
        "frame_count": frames,
        "frame_duration_ms": frame_ms,
        "complexity": complexity,
        "safety_identifier": safety_id,
    }


def warn_advisories(
    console: Console, settings: "Settings", bodies: "Iterable[dict[str, Any]]"
) -> None:
    """One warning line per thing worth knowing before sending (retired models, previews)."""
    see = advisor(console, settings)
    for body in bodies:
        see(body)


def advisor(console: Console, settings: "Settings") -> "Callable[[dict[str, Any]], None]":
    """What `warn_advisories` does for each body, to call as bodies go by (a batch's pass
    over its prompt file); each line is warned once."""
    from datetime import date
    from urllib.parse import urlsplit

    from ..models import advisories

    # A bad base URL in the config is reported by the command that sends, not here (--offline
    # never reads it).
    host = None if settings.problem("base_url") else urlsplit(settings.base_url).hostname
    today = date.today()
    seen: set[str] = set()

    def see(body: dict[str, Any]) -> None:
        for line in advisories(body, host=host, today=today):
            if line not in seen:
                seen.add(line)
                console.warn(line)

    return see


def output_format(settings: "Settings", model: str, *, check: bool = True) -> str | None:
    """The output_format to ask for: `-f`, else the extension of an `-o` file name (`cat.jpg`
    asks for jpeg), else the config's `format`.

    An extension that `-f` contradicts, or that a known model cannot make, is a usage error
    found before anything is sent (`check=False`, for --no-validate, skips the model's rule).
    """
    from ..errors import UsageError
    from ..models import lookup
    from ..output import named_format

    fmt = settings.format
    named = named_format(settings.out_dir)
    if named is None:
        return fmt
    out = settings.out_dir
    if settings.sources.get("format") == "flag":
        if named_format(f"x.{fmt}") != named:
            raise UsageError(
                f"-o {out} names a {named} file but -f asks for {fmt}",
                hint="drop -f, or name the file after the format",
            )
        return fmt
    rules = lookup(model)
    if check and rules is not None:
        made = rules.formats or ("png",)
        if named not in made:
            raise UsageError(
                f"-o {out}: {model} cannot make {named} images; it makes {', '.join(made)}"
            )
        if not rules.formats:
            return None  # a model without output_format always answers PNG: nothing to ask
    return named


# `--offline --dry-run`: the in-process server takes a free loopback port when it starts.
OFFLINE_URL = "http://127.0.0.1:<port>/v1"


def dry_run_target(settings: "Settings", offline: bool) -> "Settings":
    """What a dry run shows: with --offline the loopback server and no key, as the run uses."""
    if offline:
        settings.base_url = OFFLINE_URL
        settings.api_key = None
    return settings
