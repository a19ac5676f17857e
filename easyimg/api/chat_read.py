"""Reading images out of chat answers (ROUTERS.md §5), JSON or streamed, one image at a time."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import requests

from ..errors import APIError, EasyImgError, NetworkError, NoImagesError, ResponseError
from .chat_bytes import BIG, Events, Gate, Held, decoded, decoded_pieces, hold, read_all
from .dialect import OnImage
from .server_errors import error_from_payload, request_id

# `![alt](data:image/png;base64,` — the payload runs from here to the closing parenthesis.
_DATA_IMAGE = re.compile(r"!\[[^\]\n]{0,200}\]\(\s*data:(image/[\w.+-]+);base64,")
_LINKED_IMAGE = re.compile(r"!\[[^\]\n]{0,200}\]\((https?://[^\s)]+)\)")
_BARE_IMAGE = re.compile(r"https?://[^\s)\"'<>]+?\.(?:png|jpe?g|webp|gif)(?:\?[^\s)\"'<>]*)?", re.I)
_TEXT_SHOWN = 200
_REFUSALS = ("content_filter", "safety", "prohibited_content", "blocklist", "image_safety")


class _Scanner:
    """Finds markdown data-URL images in text that may arrive in pieces (streamed deltas).

    Each complete image's base64 goes to `emit` at once; the rest is kept as the answer's text.
    An image split over many pieces is collected piece by piece, and handed over as those
    pieces (never joined into one more copy); `on_big` is told when one grows big.
    """

    def __init__(
        self, emit: Callable[[str | deque[str]], None], on_big: Callable[[], None]
    ) -> None:
        self._emit = emit
        self._on_big = on_big
        self._tail = ""  # text that may be the start of an image's markdown
        self._payload: deque[str] | None = None
        self._size = 0
        self.text: list[str] = []
        self.found = 0

    def feed(self, piece: str) -> None:
        while piece:
            if self._payload is not None:
                end = piece.find(")")
                if end < 0:
                    self._collect(piece)
                    return
                self._collect(piece[:end])
                pieces, self._payload = self._payload, None
                self.found += 1
                self._emit(pieces)
                piece = piece[end + 1 :]
                continue
            text = self._tail + piece if self._tail else piece
            self._tail = ""
            match = _DATA_IMAGE.search(text)
            if match is None:
                cut = text.rfind("![")
                if cut >= 0 and ")" not in text[cut:] and len(text) - cut < 400:
                    self.text.append(text[:cut])
                    self._tail = text[cut:]
                elif text.endswith("!"):
                    self.text.append(text[:-1])
                    self._tail = "!"
                else:
                    self.text.append(text)
                return
            self.text.append(text[: match.start()])
            end = text.find(")", match.end())
            if end < 0:
                self._payload, self._size = deque(), 0
                self._collect(text[match.end() :])
                return
            self._image(text[match.end() : end])
            piece = text[end + 1 :]

    def _collect(self, piece: str) -> None:
        assert self._payload is not None
        self._payload.append(piece)
        self._size += len(piece)
        if self._size > BIG:
            self._on_big()

    @property
    def in_image(self) -> bool:
        return self._payload is not None

    def _image(self, payload: str) -> None:
        self.found += 1
        self._emit(payload.strip())

    def close(self) -> str:
        if self._payload is not None:
            raise ResponseError("the answer ended in the middle of an image")
        self.text.append(self._tail)
        self._tail = ""
        return "".join(self.text)


class ChatReader:
    """Collects one chat answer's images and text, in the order of ROUTERS.md §5."""

    def __init__(self, on_image: OnImage, meta: dict[str, Any]) -> None:
        self._on_image = on_image
        self.meta = meta
        self.images = 0
        self.finish: str | None = None
        self.gate = Gate()
        self._scanner = _Scanner(self._b64, self.gate.take)
        # The bytes being read, and where in them `hold` left the images it took out.
        self.raw = bytearray()
        self.held: Held = {}

    @property
    def in_image(self) -> bool:
        return self._scanner.in_image

    def _b64(self, payload: str | deque[str]) -> None:
        if isinstance(payload, deque):
            self._deliver({"chunks": decoded_pieces(payload)})
            return
        where = self.held.get(payload)
        if where is not None:
            self._deliver({"chunks": decoded(self.raw, *where)})
        else:
            self._deliver({"b64_json": payload})

    def _deliver(self, item: dict[str, Any]) -> None:
        # Saved at once, so no image waits in memory for the rest of the answer; it carries
        # the text that came before it (routers send the text first).
        self.images += 1
        text = "".join(self._scanner.text).strip()
        if text:
            item["text"] = text
        self._on_image(item, self.meta)

    def url(self, url: Any) -> None:
        if not isinstance(url, str) or not url:
            return
        if url.startswith("data:"):
            head, _, payload = url.partition(",")
            if ";base64" in head:
                self._b64(payload)
                return
        self._deliver({"url": url})

    def content(self, value: Any) -> None:
        """A message's (or delta's) `content`: a string, or a list of parts."""
        if isinstance(value, str):
            self._scanner.feed(value)
        elif isinstance(value, list):
            for part in value:
                self.part(part)

    def part(self, part: Any) -> None:
        if not isinstance(part, Mapping):
            return
        kind = part.get("type")
        if kind in ("text", "output_text") and isinstance(part.get("text"), str):
            self._scanner.feed(part["text"])
        elif kind in ("image_url", "output_image", "image"):
            ref = part.get("image_url") or part.get("url")
            self.url(ref.get("url") if isinstance(ref, Mapping) else ref)
        inline = part.get("inlineData") or part.get("inline_data")
        if isinstance(inline, Mapping) and isinstance(inline.get("data"), str):
            self._deliver({"b64_json": inline["data"]})
        elif "text" in part and kind is None and isinstance(part["text"], str):
            self._scanner.feed(part["text"])  # a native Gemini part

    def message(self, message: Any) -> None:
        """A whole message or a streamed delta."""
        if not isinstance(message, Mapping):
            return
        self.content(message.get("content"))
        parts = message.get("parts")  # native Gemini: candidates[].content.parts
        if isinstance(parts, list):
            for part in parts:
                self.part(part)
        for image in message.get("images") or ():
            if isinstance(image, Mapping):
                ref = image.get("image_url") or image.get("url")
                self.url(ref.get("url") if isinstance(ref, Mapping) else ref)

    def choice(self, choice: Any) -> None:
        if not isinstance(choice, Mapping):
            return
        self.message(choice.get("message") or choice.get("delta") or choice.get("content"))
        reason = choice.get("finish_reason") or choice.get("finishReason")
        if isinstance(reason, str) and reason:
            self.finish = reason

    def finish_answer(self) -> dict[str, Any]:
        text = self._scanner.close().strip()
        if not self.images:
            # Last in ROUTERS.md's order: an image URL written into the text.
            urls = _LINKED_IMAGE.findall(text) or _BARE_IMAGE.findall(text)
            self._scanner.text = [_LINKED_IMAGE.sub("", text)]
            for url in urls:
                self._deliver({"url": url})
        if not self.images:
            raise self._no_image(text)
        return self.meta

    def _no_image(self, text: str) -> EasyImgError:
        reason = (self.finish or "").lower()
        if any(word in reason for word in _REFUSALS):
            err = APIError(
                None,
                f"the model refused to draw (finish_reason {self.finish})"
                + (f": {text[:_TEXT_SHOWN]}" if text else ""),
                code=self.finish,
            )
            return err
        if text:
            shown = " ".join(text.split())
            more = "…" if len(shown) > _TEXT_SHOWN else ""
            return ResponseError(f"the model answered with text only: {shown[:_TEXT_SHOWN]}{more}")
        return NoImagesError("the answer holds no image and no text")


def _usage(meta: dict[str, Any], usage: Any) -> None:
    if isinstance(usage, Mapping):
        usage = dict(usage)
        # OpenRouter's cost is dollars, not tokens: kept apart so token sums stay tokens.
        if "cost" in usage:
            meta["cost"] = usage.pop("cost")
        meta["usage"] = usage


def read_chat(resp: requests.Response, on_image: OnImage) -> dict[str, Any]:
    """Read a chat answer, JSON or SSE, calling `on_image` per image; returns created, usage."""
    if "text/event-stream" in resp.headers.get("content-type", "").lower():
        return read_chat_stream(resp, on_image)
    meta: dict[str, Any] = {}
    reader = ChatReader(on_image, meta)
    gate = reader.gate
    try:
        raw = read_all(resp, gate)
        text, held = hold(raw)
        doc = _json(text, resp)
        if not isinstance(doc, dict):
            raise ResponseError(f"expected a JSON object, got {type(doc).__name__}")
        err = error_from_payload(doc, None, request_id(resp.headers))
        if err is not None:
            raise err
        reader.raw, reader.held = raw, held
        for key, value in doc.items():
            if key in ("choices", "candidates"):
                for choice in value if isinstance(value, list) else ():
                    reader.choice(choice)
            elif key in ("usage", "usageMetadata"):
                _usage(meta, value)
            else:
                meta[key] = value
        return reader.finish_answer()
    finally:
        # The reader and its scanner refer to each other: let go of the bytes now, not when
        # the garbage collector gets to the pair, or the gate bounds nothing.
        reader.raw, reader.held = bytearray(), {}
        gate.release()


def _json(text: bytes | bytearray, resp: requests.Response) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        head = bytes(text[:200]).decode("utf-8", "replace").strip()
        ctype = resp.headers.get("content-type", "unknown type")
        if not head:
            raise ResponseError(
                f"the server sent an empty answer (status {resp.status_code})"
            ) from None
        if head.startswith("<") or "html" in ctype:
            snippet = " ".join(head.split())[:80]
            raise ResponseError(
                f"the server answered HTML, not JSON ({ctype}): {snippet}"
            ) from None
        if (
            "Expecting" in str(exc)
            and exc.__class__.__name__ == "JSONDecodeError"
            and (getattr(exc, "pos", 0) >= len(text) - 1)
        ):
            raise ResponseError(f"the JSON answer was cut off after {len(text)} bytes") from None
        raise ResponseError(
            f"the answer is not valid JSON ({ctype}): {' '.join(head.split())[:80]}"
        ) from None


def read_chat_stream(resp: requests.Response, on_image: OnImage) -> dict[str, Any]:
    """Read a streamed chat answer: images from delta.images, delta.content or native parts."""
    rid = request_id(resp.headers)
    meta: dict[str, Any] = {}
    reader = ChatReader(on_image, meta)
    done = False
    gate = reader.gate
    events = Events(resp, gate)
    try:
        while (data := events.next()) is not None:
            if data.strip() == b"[DONE]":
                done = True
                break
            text, held = hold(data)
            try:
                chunk = json.loads(text)
            except ValueError:
                raise ResponseError(f"a stream event is not JSON: {bytes(data[:80])!r}") from None
            del text
            reader.raw, reader.held = data, held
            del data
            if isinstance(chunk, dict):
                _chunk(reader, chunk, rid)
            reader.raw, reader.held = bytearray(), {}
            if not reader.in_image:
                gate.release()  # this event's image is saved: the next big one may be read
    finally:
        gate.release()
    if not done and reader.finish is None and (reader.in_image or not reader.images):
        what = "in the middle of an image" if reader.in_image else "before the answer was complete"
        raise NetworkError(f"the event stream ended {what}")
    return reader.finish_answer()


def _chunk(reader: ChatReader, chunk: dict[str, Any], rid: str | None) -> None:
    err = error_from_payload(chunk, None, rid)
    if err is not None:
        raise err
    for key in ("id", "created", "model"):
        if key in chunk:
            reader.meta.setdefault(key, chunk[key])
    _usage(reader.meta, chunk.get("usage") or chunk.get("usageMetadata"))
    for choice in chunk.get("choices") or chunk.get("candidates") or ():
        reader.choice(choice)
