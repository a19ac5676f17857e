"""Reading JSON image answers as a stream: one image item in memory at a time."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import requests

from ..errors import EasyImgError, ResponseError
from ..redact import redact_value
from .b64stream import Base64Stream, invalid
from .client import PARSE_BUFFER
from .divert import Diverter, data_url_payload, spill_dir_of
from .limits import READ_ERRORS, Bounds, bounds_of
from .server_errors import error_from_payload, request_id

# One value (an image item, `usage`, ...) is a handful of fields: these bound what a server
# can make us build from a value short enough to pass the size cap.
MAX_EVENTS = 1 << 16
MAX_DEPTH = 64


class _ValueBuilder:
    """Assembles one whole JSON value at a time from ijson's event stream."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._builder: Any = None
        self._depth = 0
        self._events = 0

    def feed(self, event: str, value: Any) -> tuple[bool, Any]:
        if self._builder is None:
            self._builder = self._factory()
            self._events = 0
        self._events += 1
        if self._events > MAX_EVENTS:
            raise ResponseError(f"a value in the answer has more than {MAX_EVENTS} parts")
        self._builder.event(event, value)
        if event in ("start_map", "start_array"):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise ResponseError(f"the answer nests more than {MAX_DEPTH} levels deep")
        elif event in ("end_map", "end_array"):
            self._depth -= 1
        if self._depth:
            return False, None
        built, self._builder = self._builder.value, None
        return True, built


def read_images(
    resp: requests.Response, on_image: Callable[[dict[str, Any], dict[str, Any]], None]
) -> dict[str, Any]:
    """Stream-parse an images answer, calling `on_image` per `data` item as it arrives.

    Only one image item is in memory at a time, whatever the size of the answer, and its
    image only decoded: `b64_json` strings (and base64 `data:` URLs) are decoded as they
    arrive and reach `on_image` as `chunks`. `on_image` gets the item and the top-level
    fields read so far; the return value is all of them (created, usage, ...). An `error`
    object in a 200 answer raises.
    """
    bounds = bounds_of(resp)
    small = _small_answer(resp, bounds)
    if small is not None:
        return _read_small(small, resp, bounds, on_image)
    import ijson

    resp.raw.decode_content = True
    source = Diverter(resp.raw, bounds, spill_dir_of(resp))
    meta: dict[str, Any] = {}
    key = ""
    value_of = _ValueBuilder(ijson.ObjectBuilder)
    in_data = False
    rid = request_id(resp.headers)
    try:
        # Large reads: ijson's C backend re-copies a string for every read it spans (image
        # strings are diverted; this is for any other long string).
        for prefix, event, value in ijson.parse(source, buf_size=PARSE_BUFFER, use_float=True):
            if event == "string":
                source.seen(value)
            if prefix == "":
                source.pending = 0
                if event == "map_key":
                    key = value
                elif event not in ("start_map", "end_map"):
                    raise ResponseError(f"expected a JSON object, got {event}")
                continue
            if key == "data" and prefix == "data" and event in ("start_array", "end_array"):
                in_data = event == "start_array"
                continue
            done, built = value_of.feed(event, value)
            if not done:
                continue
            source.pending = 0
            if in_data:
                if isinstance(built, dict):
                    on_image(with_image(server_item(built), source), meta)
            elif key != "data":  # a `data` that is not a list holds no images, and no field
                meta[key] = redact_value(built)
            source.release()
    except ijson.JSONError as exc:
        if bounds.expired:
            raise bounds.late() from None  # the socket was shut at the deadline
        raise _unreadable(source, resp, exc) from None
    except EasyImgError:
        raise
    except (*READ_ERRORS, ValueError) as exc:
        raise bounds.failure(exc, source.total) from None
    finally:
        source.close()
    err = error_from_payload(meta, None, rid)
    if err is not None:
        raise err
    return meta


# An answer whose Content-Length says it is this short (and not compressed) is read whole and
# parsed at once: what the streaming parser guards against cannot fit in it, and it is most
# of the cost of a small image's request.
SMALL_ANSWER = 64 << 10
_EVENT_OF = {list: "start_array", str: "string", int: "number", float: "number"}


def _small_answer(resp: requests.Response, bounds: Bounds) -> bytes | None:
    length = resp.headers.get("content-length", "")
    coding = resp.headers.get("content-encoding", "identity").strip().lower()
    if not length.isdigit() or int(length) > SMALL_ANSWER or coding not in ("", "identity"):
        return None
    try:
        body = resp.raw.read(int(length) + 1, decode_content=False)
    except READ_ERRORS as exc:
        raise bounds.failure(exc, 0) from None
    if len(body) < int(length):
        # Shut at the deadline by the watchdog, or closed early by the server.
        raise bounds.failure(EOFError(), len(body))
    return body


def _read_small(
    body: bytes,
    resp: requests.Response,
    bounds: Bounds,
    on_image: Callable[[dict[str, Any], dict[str, Any]], None],
) -> dict[str, Any]:
    """`read_images` for a short answer: the same items, fields and errors, parsed whole
    (tests/test_small_answers.py holds the two readers to that). One difference: of a key
    given twice at the top level, only the last counts here."""
    try:
        doc = json.loads(body)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:
        # Cut off: the text ends inside a string, or where more was expected.
        cut = isinstance(exc, json.JSONDecodeError) and (
            exc.msg.startswith("Unterminated string") or exc.pos >= len(body.rstrip())
        )
        raise _unreadable_text(body, len(body), resp, cut_off=cut) from None
    if not isinstance(doc, dict):
        kind = "null" if doc is None else "boolean" if isinstance(doc, bool) else None
        raise ResponseError(
            f"expected a JSON object, got {kind or _EVENT_OF.get(type(doc), 'start_array')}"
        )
    if _depth(doc) > MAX_DEPTH:
        raise _too_deep()
    meta: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "data" and isinstance(value, list):
            for built in value:
                if isinstance(built, dict):
                    on_image(_decoded(server_item(built), bounds), meta)
        elif key != "data":
            meta[key] = redact_value(value)
    err = error_from_payload(meta, None, request_id(resp.headers))
    if err is not None:
        raise err
    return meta


def _depth(doc: Any) -> int:
    """How deep containers nest in `doc` (one for the top-level object)."""
    deepest, todo = 0, [(doc, 1)]
    while todo:
        value, depth = todo.pop()
        deepest = max(deepest, depth)
        if isinstance(value, dict):
            todo.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            todo.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    return deepest


def _too_deep() -> ResponseError:
    return ResponseError(f"the answer nests more than {MAX_DEPTH} levels deep")


def _decoded(item: dict[str, Any], bounds: Bounds) -> dict[str, Any]:
    """The item with its base64 image (`b64_json`, or a base64 `data:` URL) decoded into
    `chunks`, by the decoder and with the checks the streaming reader uses."""
    for key in ("b64_json", "url"):
        value = item.get(key)
        if not isinstance(value, str):
            continue
        data = value if key == "b64_json" else data_url_payload(value)
        if not data:
            continue  # an empty one counts as absent, as it does in the streaming reader
        try:
            raw = data.encode("ascii")
        except UnicodeEncodeError:
            raise invalid() from None
        stream = Base64Stream(bounds.max_image, lambda: bounds.too_big("an image in the answer"))
        stream.feed(raw)
        del item[key]
        item["chunks"] = stream.close()
        break
    return item


# Not text anyone reads: image data, and the URL to download it from exactly as given (the
# sidecar, where it is kept, is redacted when written).
_NOT_TEXT = frozenset({"b64_json", "url"})


def server_item(item: dict[str, Any]) -> dict[str, Any]:
    """An image item with its text (revised_prompt, ...) redacted: it reaches files and history."""
    return {k: v if k in _NOT_TEXT else redact_value(v) for k, v in item.items()}


def with_image(item: dict[str, Any], source: Diverter) -> dict[str, Any]:
    """The item with its diverted image as decoded `chunks` in place of the token."""
    for key in ("b64_json", "url"):
        chunks = source.take(item.get(key))
        if chunks is not None:
            del item[key]
            item["chunks"] = chunks
            break
    return item


def _unreadable(source: Diverter, resp: requests.Response, exc: Exception) -> ResponseError:
    cut = "incomplete" in str(exc).lower() or "premature" in str(exc).lower()
    return _unreadable_text(source.head, source.total, resp, cut_off=cut)


def _unreadable_text(
    start: bytes, total: int, resp: requests.Response, *, cut_off: bool
) -> ResponseError:
    head = start[:200].decode("utf-8", "replace").strip()
    ctype = resp.headers.get("content-type", "unknown type")
    if not head:
        return ResponseError(f"the server sent an empty answer (status {resp.status_code})")
    if head.startswith("<") or "html" in ctype:
        snippet = " ".join(head.split())[:80]
        return ResponseError(f"the server answered HTML, not JSON ({ctype}): {snippet}")
    if cut_off:
        return ResponseError(f"the JSON answer was cut off after {total} bytes")
    return ResponseError(f"the answer is not valid JSON ({ctype}): {' '.join(head.split())[:80]}")


# Chat-style usage names some routers use, mapped to the images API's.
_USAGE_ALIASES = {"prompt_tokens": "input_tokens", "completion_tokens": "output_tokens"}


def normalize_usage(raw: Any) -> dict[str, Any] | None:
    """Usage in the images API's names; None when the answer had none."""
    if not isinstance(raw, Mapping):
        return None
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = _USAGE_ALIASES.get(str(key), str(key))
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = int(value)
        elif isinstance(value, Mapping):
            out[name.replace("prompt_tokens_details", "input_tokens_details")] = {
                k: int(v) for k, v in value.items() if isinstance(v, int | float)
            }
    if not out:
        return None
    if "total_tokens" not in out and ("input_tokens" in out or "output_tokens" in out):
        out["total_tokens"] = out.get("input_tokens", 0) + out.get("output_tokens", 0)
    return out


def add_usage(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    if a is None or b is None:
        return a or b
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, dict):
            inner = dict(out.get(key) or {})
            for k, v in value.items():
                inner[k] = inner.get(k, 0) + v
            out[key] = inner
        else:
            out[key] = out.get(key, 0) + value
    return out


def merge_svg_usage(a: dict[str, Any] | None, b: Any) -> dict[str, Any] | None:
    """Sum two `svg_usage` objects: counts add up, the author model is kept."""
    if not isinstance(b, Mapping):
        return a
    out = dict(a or {})
    for key, value in b.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = out.get(key, 0) + int(value)
        else:
            out.setdefault(key, value)
    return out
