"""One generation: requests fanned out and refilled, images saved as they stream in."""

from __future__ import annotations

import base64
import binascii
import json
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from . import __version__
from .api import images
from .api.answers import add_usage, merge_svg_usage, normalize_usage
from .api.client import Client, request_id
from .api.divert import spill_to

if TYPE_CHECKING:
    from .api.dialect import Dialect
    from .budget import Meter
from .errors import (
    APIError,
    EasyImgError,
    Interrupted,
    NoImagesError,
    ResponseError,
    Terminated,
    UsageError,
)
from .history import PLACEHOLDER_HEADER
from .models import plan_counts, resolve_size
from .output import OutputPlan, SavedImage, save_image, sidecar_path, write_json_atomic

SOFTWARE = f"easyimg {__version__}"
# What an answer says it did, kept beside the images (routers drop parameters silently).
ECHOED = ("size", "quality", "output_format", "background", "svg")
_DATA_URL_SHOWN = 64


class Reporter(Protocol):
    """What a generation tells its caller while it runs (the console draws it)."""

    def status(self, text: str) -> None: ...
    def saved(self, image: GenImage) -> None: ...
    def download(self, done: int, total: int | None) -> None: ...


class _Silent:
    def status(self, text: str) -> None:
        pass

    def saved(self, image: GenImage) -> None:
        pass

    def download(self, done: int, total: int | None) -> None:
        pass


@dataclass
class GenImage:
    saved: SavedImage
    revised_prompt: str | None = None
    request_id: str | None = None
    generation_id: str | None = None
    # Text the model answered with the image (chat image models).
    text: str | None = None


@dataclass
class GenResult:
    model: str
    requested: int
    images: list[GenImage] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    created: int | None = None
    request_ids: list[str] = field(default_factory=list)
    errors: list[EasyImgError] = field(default_factory=list)
    requests_sent: int = 0
    elapsed: float = 0.0
    # The answer's own account of what it made (ECHOED fields), and the SVG author's usage.
    answer: dict[str, Any] = field(default_factory=dict)
    svg_usage: dict[str, Any] | None = None
    # A server said its images are placeholders (`easyimg serve`): they cost nothing.
    placeholder: bool = False

    @property
    def complete(self) -> bool:
        return len(self.images) >= self.requested and not self.errors


B64_SLICE = 4 << 20  # a multiple of 4 characters, so each slice decodes on its own


def decode_b64(text: str) -> Iterator[bytes]:
    """Decode in slices, so a 25 MB image never sits in memory twice (text and bytes)."""
    try:
        if len(text) % 4 or "\n" in text[:B64_SLICE]:
            # Wrapped or unpadded base64 cannot be sliced safely; decode it whole.
            yield base64.b64decode(text + "=" * (-len(text) % 4))
            return
        for start in range(0, len(text), B64_SLICE):
            yield base64.b64decode(text[start : start + B64_SLICE])
    except (binascii.Error, ValueError):
        raise ResponseError("b64_json in the answer is not valid base64") from None


def recordable(value: Any) -> Any:
    """`value` with data: URLs cut short: metadata, sidecars and history say an image was
    sent inline without holding its megabytes again."""
    if isinstance(value, str) and value.startswith("data:") and len(value) > _DATA_URL_SHOWN:
        head = value.split(",", 1)[0]
        return f"{head},... ({len(value)} characters)"
    if isinstance(value, Mapping):
        return {k: recordable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [recordable(v) for v in value]
    return value


def png_text(body: Mapping[str, Any], revised: str | None, created: Any) -> dict[str, str]:
    text = {
        "prompt": str(body.get("prompt", "")),
        "model": str(body.get("model", "")),
        "parameters": json.dumps(recordable(dict(body)), ensure_ascii=False, sort_keys=True),
    }
    if revised:
        text["revised_prompt"] = revised
    text["created"] = str(created or int(time.time()))
    text["software"] = SOFTWARE
    return text


@dataclass
class Ask:
    """What to ask for: the request body, how many images, and the dialect that sends it."""

    body: dict[str, Any]
    count: int
    max_n: int
    dialect: Dialect | None = None  # None: the images API's JSON generations
    # What file names are made from when not the prompt (variations: the input's name).
    label: str | None = None
    command: str = "gen"


@dataclass
class Writing:
    """Where and how the images are written."""

    out: str | None = None
    name: str | None = None
    overwrite: bool = False
    metadata: bool = True
    sidecar: bool = False
    save_partials: bool = False


class Generation:
    """Runs one user request for `requested` images: fan-out, refill, save, gather."""

    def __init__(
        self,
        client: Client,
        body: Mapping[str, Any],
        plan: OutputPlan,
        *,
        max_n: int,
        dialect: Dialect | None = None,
        metadata: bool = True,
        sidecar: bool = False,
        reporter: Reporter | None = None,
        now: datetime | None = None,
        label: str | None = None,
        first_index: int = 0,
        meter: Meter | None = None,
    ) -> None:
        self.client = client
        # With a budget: a request starts only when its estimate fits (`--max-cost`).
        self.meter = meter
        self.body = dict(body)
        self.plan = plan
        self.max_n = max(1, max_n)
        self.dialect: Dialect = dialect or images.Dialect()
        self.metadata = metadata
        self.sidecar = sidecar
        self.reporter = reporter or _Silent()
        self.now = now or datetime.now()
        # What file names are made from: the prompt, or (for variations) the input's name.
        self.label = label if label is not None else str(self.body.get("prompt", ""))
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        # A resumed batch item goes on numbering after the images it already has.
        self._next_index = first_index
        self._saving = 0
        self._idle = threading.Condition(self._lock)
        self.result = GenResult(
            model=str(self.body.get("model", "")), requested=int(self.body.get("n", 1))
        )

    def run(self) -> GenResult:
        start = time.monotonic()
        wanted = self.result.requested
        try:
            # Routers that ignore `n` return fewer images: ask again for the rest, but never
            # send more requests in all than images asked for.
            while len(self.result.images) < wanted and self.result.requests_sent < wanted:
                missing = wanted - len(self.result.images)
                counts = plan_counts(missing, self.max_n)
                counts = counts[: wanted - self.result.requests_sent]
                before = len(self.result.images)
                self._wave(counts)
                if self.result.errors or len(self.result.images) == before:
                    break
        except KeyboardInterrupt as exc:
            self.stop()
            terminated = isinstance(exc, Terminated)
            raise Interrupted(
                "terminated" if terminated else "interrupted", terminated=terminated
            ) from None
        finally:
            self.result.elapsed = time.monotonic() - start
        if not self.result.images and self.result.errors:
            raise self.result.errors[0]
        if not self.result.images:
            raise NoImagesError()
        return self.result

    def stop(self) -> None:
        """Refuse further images and let writes in progress finish: no temporary file stays."""
        with self._idle:
            self.cancelled.set()
            self._idle.wait_for(lambda: self._saving == 0, timeout=10)

    def saved_images(self) -> list[GenImage]:
        """The images written so far (safe to call while the generation runs)."""
        with self._lock:
            return list(self.result.images)

    def _wave(self, counts: list[int]) -> None:
        self.result.requests_sent += len(counts)
        if len(counts) == 1:
            self._one(counts[0])
            return
        done: queue.Queue[None] = queue.Queue()
        for count in counts:
            threading.Thread(target=self._one, args=(count, done), daemon=True).start()
        for _ in counts:
            # A timeout keeps the main thread responsive to Ctrl-C.
            while True:
                try:
                    done.get(timeout=0.2)
                    break
                except queue.Empty:
                    continue

    def _one(self, count: int, done: queue.Queue[None] | None = None) -> None:
        hold = None
        usage: dict[str, Any] | None = None
        written: list[tuple[GenImage, dict[str, Any]]] = []
        billed = True
        try:
            if self.meter is not None:
                hold = self.meter.start(count)
                if hold is None:
                    from .budget import BudgetReached

                    raise BudgetReached(f"not started: {count} images would pass the budget")
            self.reporter.status(f"waiting for {self.body.get('model')}")
            resp = self.dialect.send(self.client, self.body, count)
            spill_to(resp, self.plan.directory)
            rid = request_id(resp.headers)
            if resp.headers.get(PLACEHOLDER_HEADER) == "1":
                self.result.placeholder = True
            try:
                meta = self.dialect.read(
                    resp, lambda item, meta: written.append(self._save(item, meta, rid))
                )
            finally:
                resp.close()
            usage = normalize_usage(meta.get("usage"))
            with self._lock:
                if rid:
                    self.result.request_ids.append(rid)
                self.result.usage = add_usage(self.result.usage, usage)
                self.result.svg_usage = merge_svg_usage(
                    self.result.svg_usage, meta.get("svg_usage")
                )
                for key in ECHOED:
                    if meta.get(key) is not None:
                        self.result.answer.setdefault(key, meta[key])
                if isinstance(meta.get("created"), int):
                    self.result.created = meta["created"]
            for image, item in written:
                # SVG text and C2PA-signed images cannot hold our metadata: it goes beside them.
                beside = image.saved.format == "svg" or image.saved.c2pa
                if self.sidecar or (self.metadata and beside):
                    self._write_sidecar(image, item, meta, count)
        except EasyImgError as exc:
            # An API error answer means the image was not made, so not billed.
            billed = not isinstance(exc, APIError)
            with self._lock:
                self.result.errors.append(exc)
        except Exception as exc:
            with self._lock:
                self.result.errors.append(EasyImgError(f"unexpected: {exc!r}"))
        finally:
            if hold is not None and self.meter is not None:
                self.meter.finish(hold, usage, images=len(written), billed=billed)
            if done is not None:
                done.put(None)

    def _save(
        self, item: dict[str, Any], meta: Mapping[str, Any], rid: str | None
    ) -> tuple[GenImage, dict[str, Any]]:
        revised = item.get("revised_prompt") or None
        with self._lock:
            # Checked under the lock stop() takes, so a save either starts before stop()
            # waits for it or not at all.
            if self.cancelled.is_set():
                raise Interrupted("interrupted")
            self._next_index += 1
            index = self._next_index
            self._saving += 1
        try:
            text = png_text(self.body, revised, meta.get("created")) if self.metadata else None
            saved = save_image(
                self._image_bytes(item),
                self.plan,
                index=index,
                prompt=self.label,
                model=self.result.model,
                now=self.now,
                png_text=text,
            )
        finally:
            with self._idle:
                self._saving -= 1
                self._idle.notify_all()
        gid = item.get("generation_id")
        text_answer = item.get("text")
        image = GenImage(
            saved,
            revised,
            rid,
            gid if isinstance(gid, str) else None,
            text_answer if isinstance(text_answer, str) else None,
        )
        with self._lock:
            self.result.images.append(image)
        self.reporter.saved(image)
        rest = {k: v for k, v in item.items() if k not in ("b64_json", "chunks")}
        return image, rest

    def _image_bytes(self, item: Mapping[str, Any]) -> Iterator[bytes]:
        chunks = item.get("chunks")
        if chunks is not None:
            # A dialect that decodes the image as it reads it (chat answers) hands it over so.
            yield from chunks
            return
        b64 = item.get("b64_json")
        if isinstance(b64, str) and b64:
            if len(b64) // 4 * 3 > self.client.max_image:
                from .api.limits import too_big

                raise too_big(self.client.max_image, "an image in the answer")
            yield from decode_b64(b64)
            return
        url = item.get("url")
        if isinstance(url, str) and url:
            for chunk in self.client.download(url, on_progress=self.reporter.download):
                if self.cancelled.is_set():
                    raise Interrupted("interrupted")
                yield chunk
            return
        raise ResponseError("an image in the answer has neither b64_json nor url")

    def _write_sidecar(
        self, image: GenImage, item: dict[str, Any], meta: Mapping[str, Any], count: int
    ) -> None:
        response = {k: v for k, v in meta.items() if k != "data"}
        response["data"] = [item]
        write_json_atomic(
            sidecar_path(image.saved.path),
            {
                "request": {
                    "method": "POST",
                    "url": self.client.url(self.dialect.endpoint),
                    "body": recordable({**self.body, "n": count}),
                },
                "response": response,
                "request_id": image.request_id,
                "file": image.saved.path.name,
            },
        )


def parse_extra(item: str) -> tuple[str, Any]:
    """`-x KEY=VALUE`: VALUE as JSON when it parses, else the string itself."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(f"--extra {item!r} is not KEY=VALUE")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def check_extras(extras: list[str] | None, owned: Mapping[str, str] | None) -> None:
    """UsageError for a `-x KEY=...` whose KEY a flag sets (`owned`: field -> flag)."""
    for item in extras or []:
        key = parse_extra(item)[0]
        if owned and key in owned:
            raise UsageError(f"-x {key}=...: {key} is set with {owned[key]}, not -x")


def build_body(
    prompt: str | None,
    *,
    model: str,
    n: int,
    options: Mapping[str, Any],
    extras: list[str] | None = None,
    owned: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The request body: model, prompt and n always; other fields only when set.

    `owned` maps body fields to the flag that sets them: `-x` may not set those.
    """
    check_extras(extras, owned)
    body: dict[str, Any] = {"model": model}
    if prompt is not None:
        body["prompt"] = prompt
    body["n"] = n
    for key, value in options.items():
        if value is None or value is False:
            continue
        if key == "size":
            value = resolve_size(
                model, value, options.get("output_format"), options.get("frame_count")
            )
        body[key] = value
    for item in extras or []:
        key, value = parse_extra(item)
        body[key] = value
    return body
