"""The routes of every dialect besides the images API: chat images, tasks, EasyRouter batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import chat, easyrouter, tasks
from .images import ImageStore, Plan
from .request import Refusal, json_object, parse_multipart
from .store import Files, RunItem

ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", r"/chat/completions", "chat"),
    ("GET", r"/tasks/(?P<id>[^/]+)", "task"),
    ("PUT", r"/api/image-batch-privacy", "privacy"),
    ("POST", r"/image-files", "image_files"),
    ("GET", r"/image-batches", "list_image_batches"),
    ("GET", r"/image-batches/(?P<id>[^/]+)", "image_batch"),
    ("POST", r"/image-batches/(?P<id>[^/]+)/cancel", "cancel_image_batch"),
)
NAMES = frozenset(name for _, _, name in ROUTES)


@dataclass(frozen=True)
class Request:
    """What these routes read from one HTTP request."""

    args: Mapping[str, str]
    query: Mapping[str, list[str]]
    body: bytes
    headers: Mapping[str, str]  # names in lower case
    base_url: str
    # No answer goes out before this time.perf_counter() value: the server's --latency.
    deadline: float = 0.0

    def header(self, name: str) -> str:
        return str(self.headers.get(name.lower()) or "")

    @property
    def token(self) -> str:
        """The bearer token, or "" without one: whose privacy acceptance this is."""
        scheme, _, token = self.header("Authorization").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""


@dataclass
class Reply:
    """An answer: a JSON value, raw bytes, or a stream of already-framed chunks."""

    body: Any = None
    status: int = 200
    content_type: str = "application/json"
    raw: bytes | None = None
    chunks: Iterator[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Dialects:
    """What the dialect routes share with the server, and the options `serve` was started with.

    `chat_style` is how chat answers carry images ("new-api": markdown in `content`,
    "openrouter": `message.images`), unless a request asks otherwise with the
    `X-Easyimg-Chat-Style` header. With `tasks`, image requests are answered with a task
    (APIMart's shape) that completes after `latency` seconds.
    """

    def __init__(
        self,
        images: ImageStore,
        files: Files,
        run: RunItem,
        *,
        latency: float = 0.0,
        chat_style: str = chat.DEFAULT_STYLE,
        tasks_mode: bool = False,
    ) -> None:
        if chat_style not in chat.STYLES:
            raise ValueError(f"chat style {chat_style!r}: use one of {', '.join(chat.STYLES)}")
        self.chat_style = chat_style
        self.tasks_mode = tasks_mode
        self.tasks = tasks.Tasks(images, latency)
        self.batches = easyrouter.ImageBatches(files, run, latency)

    def close(self) -> None:
        self.batches.stop_all()

    def submit(self, make: Callable[[], Plan], base_url: str) -> Reply | None:
        """In task mode, an image request's answer: a task to poll. None otherwise."""
        if not self.tasks_mode:
            return None
        return Reply(self.tasks.submit(make, base_url))

    def style(self, req: Request) -> str:
        asked = req.header(chat.STYLE_HEADER).strip().lower()
        if not asked:
            return self.chat_style
        if asked not in chat.STYLES:
            raise Refusal(
                400,
                f"{chat.STYLE_HEADER} {asked!r}: use one of {', '.join(chat.STYLES)}.",
                code="invalid_value",
            )
        return asked


def handle(name: str, state: Dialects, req: Request) -> Reply:
    """Answer one of ROUTES."""
    if name == "chat":
        return _chat(state, req)
    if name == "task":
        return Reply(state.tasks.get(req.args["id"]))
    if name == "privacy":
        body = json_object(req.body) if req.body.strip() else {}
        return Reply(state.batches.accept(req.token, body))
    if name == "image_files":
        parts = parse_multipart(req.body, req.header("Content-Type"))
        return Reply(state.batches.upload(parts, req.token, req.base_url))
    if name == "list_image_batches":
        return Reply(state.batches.listing())
    if name == "image_batch":
        return Reply(state.batches.get(req.args["id"]))
    if name == "cancel_image_batch":
        return Reply(state.batches.cancel(req.args["id"]))
    raise ValueError(f"no dialect route {name!r}")


def _chat(state: Dialects, req: Request) -> Reply:
    plan = chat.make_chat_plan(json_object(req.body), state.style(req))
    if plan.stream:
        return Reply(
            content_type="text/event-stream; charset=utf-8",
            chunks=chat.stream(plan, req.deadline),
            headers={"Cache-Control": "no-cache"},
        )
    doc = chat.answer(plan)
    chat.sleep_until(req.deadline)
    return Reply(doc)
