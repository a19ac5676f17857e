"""`easyimg serve`: a local OpenAI-format image API that answers with placeholder images."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import math
import os
import re
import secrets
import socket
import socketserver
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from PIL import Image

from . import __version__, errors, models, placeholder

LogFn = Callable[[str], None]
MAX_BODY = 1 << 30  # 16 edit images of 50 MB each fit
MAX_PIXELS = 4096 * 4096  # what the server agrees to draw, whatever the model
MAX_EDGE = 8192
_MAX_KEPT_IMAGES = 256
_MAX_KEPT_BYTES = 512 * 1024 * 1024
_TOKENS_PER_MPX = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 6240, "max": 8320}
_HOST = re.compile(r"^[A-Za-z0-9.\-_:\[\]]+$")
_OTHER_MODELS = ("gpt-4o-mini", "text-embedding-3-small", "whisper-1")


class Refusal(Exception):
    """An error answer: the HTTP status and the fields of OpenAI's error object."""

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}


# --- image requests -------------------------------------------------------------------------


@dataclass
class Plan:
    """One validated image request, with everything needed to draw and answer it."""

    endpoint: str
    model: str
    family: str
    prompt: str
    n: int
    width: int
    height: int
    fmt: str
    compression: int | None
    background: str
    quality: str
    response_format: str
    stream: bool
    partials: int
    seed: str
    inputs: list[Image.Image] = field(default_factory=list)
    mask: Image.Image | None = None

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def note(self) -> str:
        return f"{self.size} {self.fmt} n={self.n}"


def _int_field(body: dict[str, Any], key: str) -> None:
    """Form fields arrive as text: turn the numeric ones into ints as the API does."""
    value = body.get(key)
    if isinstance(value, str):
        try:
            body[key] = int(value.strip())
        except ValueError:
            raise Refusal(400, f"Invalid type for '{key}': expected an integer, but got a string "
                          "that is not one.", param=key, code="invalid_type") from None


def make_plan(endpoint: str, fields: dict[str, Any], images: list[bytes],
              mask: bytes | None) -> Plan:
    """Check a request against the model rules (the client's own table) and resolve defaults."""
    body = dict(fields)
    if endpoint == "variations" and not body.get("model"):
        body["model"] = "dall-e-2"
    model = body.get("model") or models.DEFAULT_MODEL
    if not isinstance(model, str):
        raise Refusal(400, "Invalid type for 'model': expected a string.", param="model",
                      code="invalid_type")
    if endpoint != "variations" and "prompt" not in body:
        raise Refusal(400, "Missing required parameter: 'prompt'.", param="prompt",
                      code="missing_required_parameter")
    if endpoint != "generations" and not images:
        raise Refusal(400, "Missing required parameter: 'image'.", param="image",
                      code="missing_required_parameter")
    for key in ("n", "output_compression", "partial_images"):
        _int_field(body, key)
    if isinstance(body.get("stream"), str):
        body["stream"] = body["stream"].strip().lower() == "true"
    try:
        if isinstance(body.get("size"), str):
            body["size"] = models.resolve_size(model, body["size"])
        models.validate(body, endpoint=endpoint)
    except errors.ValidationError as exc:
        raise Refusal(400, exc.message, param=exc.param, code=exc.code) from None
    rules = models.rules_for(model)
    limit = rules.max_edit_images or 16
    if endpoint == "edits" and len(images) > limit:
        raise Refusal(400, f"{len(images)} images given; {model} takes at most {limit}.",
                      param="image", code="too_many_images")
    inputs = [_decode(data, rules, "image") for data in images]
    mask_img = _decode(mask, rules, "mask") if mask is not None else None
    if mask_img is not None and mask_img.size != inputs[0].size:
        raise Refusal(400, f"Invalid mask: it is {mask_img.width}x{mask_img.height} but the image"
                      f" is {inputs[0].width}x{inputs[0].height}; they must be the same size.",
                      param="mask", code="invalid_mask")
    fmt = body.get("output_format") or "png"
    if fmt not in placeholder.PIL_FORMATS:
        raise Refusal(400, f"output_format {fmt!r} is not supported; use png, jpeg or webp.",
                      param="output_format", code="invalid_output_format")
    width, height = _dimensions(body.get("size"), rules, inputs)
    gpt = rules.family == "gpt-image"
    quality = body.get("quality")
    prompt = body.get("prompt")
    return Plan(
        endpoint=endpoint, model=model, family=rules.family,
        prompt=prompt if isinstance(prompt, str) else "",
        n=body.get("n") or 1, width=width, height=height, fmt=fmt,
        compression=body.get("output_compression"),
        background="transparent" if body.get("background") == "transparent" else "opaque",
        # The API reports the quality it used; "auto" comes back as what it picked.
        quality=quality if quality in _TOKENS_PER_MPX else "high",
        response_format=body.get("response_format") or ("b64_json" if gpt or rules is
                                                        models.GENERIC else "url"),
        stream=body.get("stream") is True, partials=body.get("partial_images") or 0,
        seed=str(body["seed"]) if body.get("seed") is not None else "",
        inputs=inputs, mask=mask_img,
    )


def _decode(data: bytes, rules: models.ModelRules, param: str) -> Image.Image:
    if rules.max_image_bytes and len(data) > rules.max_image_bytes:
        raise Refusal(400, f"The {param} is {len(data)} bytes; {rules.name} takes at most "
                      f"{rules.max_image_bytes // (1024 * 1024)} MB.", param=param,
                      code="image_too_large")
    try:
        img, fmt = placeholder.open_image(data)
    except ValueError:
        raise Refusal(400, f"Invalid {param} file: it is not a PNG, JPEG, WebP or GIF image.",
                      param=param, code="invalid_image_file") from None
    if rules.name == "dall-e-2" and (fmt != "png" or img.width != img.height):
        raise Refusal(400, f"Invalid {param}: dall-e-2 takes a square PNG.", param=param,
                      code="invalid_image_format")
    return img


def _dimensions(size: Any, rules: models.ModelRules,
                inputs: list[Image.Image]) -> tuple[int, int]:
    if size in (None, "auto"):
        if inputs and rules.family == "gpt-image":
            # Like the API: "auto" on an edit follows the shape of the input.
            ratio = inputs[0].width / inputs[0].height
            if ratio > 1.2:
                return 1536, 1024
            return (1024, 1536) if ratio < 1 / 1.2 else (1024, 1024)
        return 1024, 1024
    dims = models.parse_size(str(size))
    if dims is None:
        raise Refusal(400, f"Invalid size {size!r}.", param="size", code="invalid_size")
    w, h = dims
    if w * h > MAX_PIXELS or max(w, h) > MAX_EDGE:
        raise Refusal(400, f"size {size!r}: easyimg serve draws at most {MAX_PIXELS} pixels and "
                      f"{MAX_EDGE} a side.", param="size", code="invalid_size")
    return w, h


def render(plan: Plan, index: int) -> Image.Image:
    label = f"{plan.model} · {plan.size}"
    if plan.endpoint == "variations":
        return placeholder.vary(plan.inputs[0], plan.width, plan.height, index=index,
                                total=plan.n, label=label)
    if plan.endpoint == "edits":
        img = placeholder.edit(plan.inputs, plan.prompt, plan.width, plan.height, mask=plan.mask,
                               index=index, total=plan.n, label=label)
        return img if plan.background == "transparent" else img.convert("RGB")
    return placeholder.generate(plan.prompt, plan.width, plan.height, index=index, total=plan.n,
                                label=label, transparent=plan.background == "transparent",
                                seed=plan.seed)


def _image_tokens(width: int, height: int) -> int:
    # The vision rule: fit in 2048 square, shortest side to 768, 170 tokens per 512 tile + 85.
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def usage(plan: Plan, *, images: int | None = None, with_input: bool = True) -> dict[str, Any]:
    """Plausible token counts: ~1.3 tokens a word, input images by size, output by size/quality."""
    text = max(1, round(len(plan.prompt.split()) * 1.3)) if with_input else 0
    pictures = sum(_image_tokens(*i.size) for i in plan.inputs) if with_input else 0
    per_image = round(_TOKENS_PER_MPX[plan.quality] * plan.width * plan.height / (1 << 20))
    if plan.stream:
        per_image += 100 * plan.partials  # the API bills each partial image
    output = per_image * (plan.n if images is None else images)
    return {"input_tokens": text + pictures, "input_tokens_details":
            {"text_tokens": text, "image_tokens": pictures},
            "output_tokens": output, "total_tokens": text + pictures + output}


class ImageStore:
    """Images answered in `url` mode, kept in memory, oldest dropped first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0

    def put(self, blob: bytes, fmt: str) -> str:
        name = f"img_{secrets.token_hex(12)}.{fmt}"
        with self._lock:
            self._items[name] = blob
            self._bytes += len(blob)
            while len(self._items) > 1 and (len(self._items) > _MAX_KEPT_IMAGES
                                            or self._bytes > _MAX_KEPT_BYTES):
                self._bytes -= len(self._items.popitem(last=False)[1])
        return name

    def get(self, name: str) -> bytes | None:
        with self._lock:
            return self._items.get(name)


def answer(plan: Plan, store: ImageStore, base_url: str) -> dict[str, Any]:
    """The ImagesResponse for a non-streaming request."""
    def draw(i: int) -> bytes:
        return placeholder.encode(render(plan, i), plan.fmt, plan.compression)

    if plan.n == 1:
        blobs = [draw(0)]
    else:
        # Pillow lets go of the GIL while resizing and encoding, so threads share the cores.
        with ThreadPoolExecutor(max_workers=min(plan.n, os.cpu_count() or 1)) as pool:
            blobs = list(pool.map(draw, range(plan.n)))
    data: list[dict[str, Any]] = []
    for blob in blobs:
        if plan.response_format == "url":
            item: dict[str, Any] = {"url": f"{base_url}/images/files/{store.put(blob, plan.fmt)}"}
        else:
            item = {"b64_json": base64.b64encode(blob).decode("ascii")}
        if plan.model.startswith("dall-e-3"):
            item["revised_prompt"] = (f"{plan.prompt.strip()}, shown as a soft two-colour "
                                      "gradient with the words of the prompt written across it")
        data.append(item)
    out: dict[str, Any] = {"created": int(time.time())}
    if plan.family == "gpt-image":
        out["background"] = plan.background
    out["data"] = data
    if plan.family == "gpt-image":
        spent = usage(plan)
        spent["output_tokens_details"] = {"image_tokens": spent["output_tokens"], "text_tokens": 0}
        out.update(output_format=plan.fmt, quality=plan.quality, size=plan.size, usage=spent)
    return out


def events(plan: Plan) -> Iterator[tuple[str, dict[str, Any]]]:
    """The SSE events of a streamed request: partial images, then the completed one, per image."""
    kind = "image_generation" if plan.endpoint == "generations" else "image_edit"

    def event(img: Image.Image, name: str) -> dict[str, Any]:
        blob = placeholder.encode(img, plan.fmt, plan.compression)
        return {"type": name, "b64_json": base64.b64encode(blob).decode("ascii"),
                "created_at": int(time.time()), "size": plan.size, "quality": plan.quality,
                "background": plan.background, "output_format": plan.fmt}

    for i in range(plan.n):
        final = render(plan, i)
        for k, rough in enumerate(placeholder.partials(final, plan.partials)):
            yield f"{kind}.partial_image", {**event(rough, f"{kind}.partial_image"),
                                            "partial_image_index": k}
        # Input tokens are counted once, on the first image, so the events sum to one request.
        yield f"{kind}.completed", {**event(final, f"{kind}.completed"),
                                    "usage": usage(plan, images=1, with_input=i == 0)}


# --- request bodies -------------------------------------------------------------------------


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """Split a multipart/form-data body into its parts (RFC 7578)."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str) \
            or not boundary:
        raise Refusal(400, "Expected a multipart/form-data body with a boundary.",
                      code="invalid_multipart")
    # The CRLF before each delimiter belongs to the delimiter, so data keeps its last bytes.
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
    parts: list[Part] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            return parts
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n", 1)
        headers = HeaderParser().parsestr(lines[1].decode("utf-8", "replace") if len(lines) > 1
                                          else "")
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, tuple):
            name = name[2]
        if isinstance(name, str):
            parts.append(Part(name, headers.get_filename(), headers.get_content_type(), data))
    raise Refusal(400, "The multipart body ends before its closing boundary.",
                  code="invalid_multipart")


def _form(parts: list[Part]) -> tuple[dict[str, Any], list[bytes], bytes | None]:
    fields: dict[str, Any] = {}
    images: list[bytes] = []
    mask = None
    for part in parts:
        if part.name == "image" or part.name.startswith("image["):
            images.append(part.data)
        elif part.name == "mask":
            mask = part.data
        else:
            fields[part.name] = part.data.decode("utf-8", "replace")
    return fields, images, mask


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "We could not parse the JSON body of your request. The body must be "
                      "a JSON object.", code="invalid_json") from None
    if not isinstance(obj, dict):
        raise Refusal(400, "The JSON body must be an object.", code="invalid_json")
    return obj


def _data_url(url: str, param: str) -> bytes:
    head, sep, payload = url.partition(",")
    if not sep or ";base64" not in head:
        raise Refusal(400, f"{param}: a data: URL must be base64.", param=param,
                      code="invalid_image_url")
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise Refusal(400, f"{param}: the data: URL is not valid base64.", param=param,
                      code="invalid_image_url") from None


# --- files and batches ----------------------------------------------------------------------

_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
_BATCH_ENDPOINTS = ("/v1/images/generations", "/v1/images/edits")


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    # Unset fields are left out: the schema types them as plain strings and integers.
    return json.loads(json.dumps({k: v for k, v in obj.items() if v is not None}))


class Files:
    """Uploaded files and batch results, in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[dict[str, Any], bytes]] = {}

    def add(self, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "id": f"file-{secrets.token_hex(12)}", "object": "file", "bytes": len(data),
            "created_at": int(time.time()), "filename": filename, "purpose": purpose,
            "status": "processed"}
        with self._lock:
            self._items[meta["id"]] = (meta, data)
        return dict(meta)

    def get(self, file_id: str, param: str = "file_id") -> tuple[dict[str, Any], bytes]:
        with self._lock:
            found = self._items.get(file_id)
        if found is None:
            raise Refusal(404, f"No such File object: {file_id}", param=param)
        return dict(found[0]), found[1]

    def delete(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            if self._items.pop(file_id, None) is None:
                raise Refusal(404, f"No such File object: {file_id}", param="file_id")
        return {"id": file_id, "object": "file", "deleted": True}

    def listing(self, purpose: str | None, order: str) -> list[dict[str, Any]]:
        with self._lock:
            metas = [dict(m) for m, _ in self._items.values()]
        metas = [m for m in metas if purpose in (None, m["purpose"])]
        return metas if order == "asc" else metas[::-1]


class Batches:
    """Batch jobs over the images endpoints, run one item after another in a thread each."""

    def __init__(self, server: ImageServer) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, Any]] = {}
        self._cancel: dict[str, threading.Event] = {}

    def create(self, body: dict[str, Any], base_url: str) -> dict[str, Any]:
        file_id = body.get("input_file_id")
        if not isinstance(file_id, str) or not file_id:
            raise Refusal(400, "Missing required parameter: 'input_file_id'.",
                          param="input_file_id", code="missing_required_parameter")
        endpoint = body.get("endpoint")
        if endpoint not in _BATCH_ENDPOINTS:
            raise Refusal(400, f"endpoint {endpoint!r}: easyimg serve runs batches for "
                          f"{' and '.join(_BATCH_ENDPOINTS)}.", param="endpoint",
                          code="invalid_value")
        if body.get("completion_window") != "24h":
            raise Refusal(400, "completion_window must be '24h'.", param="completion_window",
                          code="invalid_value")
        metadata = body.get("metadata")
        if metadata is not None and not (isinstance(metadata, dict) and len(metadata) <= 16 and all(
                isinstance(v, str) for v in metadata.values())):
            raise Refusal(400, "metadata must be an object of at most 16 string values.",
                          param="metadata", code="invalid_value")
        meta, data = self._server.files.get(file_id, "input_file_id")
        if meta["purpose"] != "batch":
            raise Refusal(400, f"File {file_id} has purpose {meta['purpose']!r}, not 'batch'.",
                          param="input_file_id", code="invalid_value")
        now = int(time.time())
        batch: dict[str, Any] = {
            "id": f"batch_{secrets.token_hex(12)}", "object": "batch", "endpoint": endpoint,
            "errors": None, "input_file_id": file_id, "completion_window": "24h",
            "status": "validating", "output_file_id": None, "error_file_id": None,
            "created_at": now, "in_progress_at": None, "expires_at": now + 86400,
            "finalizing_at": None, "completed_at": None, "failed_at": None, "expired_at": None,
            "cancelling_at": None, "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": metadata, "model": None,
            "usage": {"input_tokens": 0, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens": 0, "output_tokens_details": {"reasoning_tokens": 0},
                      "total_tokens": 0},
        }
        with self._lock:
            self._items[batch["id"]] = batch
            self._cancel[batch["id"]] = threading.Event()
            snapshot = _public(batch)
        threading.Thread(target=self._run, args=(batch["id"], data, base_url), daemon=True,
                         name=f"easyimg-{batch['id']}").start()
        return snapshot

    def get(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            if batch_id not in self._items:
                raise Refusal(404, f"No batch found with id '{batch_id}'.", param="batch_id")
            return _public(self._items[batch_id])

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [_public(b) for b in reversed(self._items.values())]

    def cancel(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._items.get(batch_id)
            if batch is None:
                raise Refusal(404, f"No batch found with id '{batch_id}'.", param="batch_id")
            if batch["status"] in ("validating", "in_progress"):
                batch.update(status="cancelling", cancelling_at=int(time.time()))
                self._cancel[batch_id].set()
            elif batch["status"] not in ("cancelling", "cancelled"):
                raise Refusal(400, f"Cannot cancel a batch with status '{batch['status']}'.",
                              param="batch_id", code="invalid_state")
            return _public(batch)

    def stop_all(self) -> None:
        with self._lock:
            for event in self._cancel.values():
                event.set()

    def _update(self, batch_id: str, **changes: Any) -> None:
        with self._lock:
            self._items[batch_id].update(changes)

    def _run(self, batch_id: str, data: bytes, base_url: str) -> None:
        with self._lock:
            endpoint = self._items[batch_id]["endpoint"]
        cancel = self._cancel[batch_id]
        items, problems = _batch_lines(data, endpoint)
        if problems:
            self._update(batch_id, status="failed", failed_at=int(time.time()),
                         errors={"object": "list", "data": problems})
            return
        with self._lock:
            batch = self._items[batch_id]
            if batch["status"] == "validating":
                batch.update(status="in_progress", in_progress_at=int(time.time()))
            batch["request_counts"]["total"] = len(items)
            batch["model"] = str(items[0]["body"].get("model") or models.DEFAULT_MODEL)
        done: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for item in items:
            if cancel.is_set() or (self._server.latency and cancel.wait(self._server.latency)):
                break
            status, body = self._server.run(endpoint, item["body"], base_url)
            (done if status == 200 else failed).append({
                "id": f"batch_req_{secrets.token_hex(12)}", "custom_id": item["custom_id"],
                "response": {"status_code": status, "request_id": f"req_{secrets.token_hex(16)}",
                             "body": body},
                "error": None})
            with self._lock:
                batch = self._items[batch_id]
                batch["request_counts"]["completed" if status == 200 else "failed"] += 1
                spent = body.get("usage") or {}
                for key in ("input_tokens", "output_tokens", "total_tokens"):
                    batch["usage"][key] += int(spent.get(key) or 0)
        with self._lock:
            batch = self._items[batch_id]
            if batch["status"] != "cancelling":
                batch.update(status="finalizing", finalizing_at=int(time.time()))
        files = self._server.files
        changes: dict[str, Any] = {}
        for key, lines, kind in (("output_file_id", done, "output"),
                                 ("error_file_id", failed, "error")):
            if lines:
                blob = "".join(json.dumps(line) + "\n" for line in lines).encode()
                changes[key] = files.add(blob, f"{batch_id}_{kind}.jsonl", "batch_output")["id"]
        now = int(time.time())
        with self._lock:
            batch = self._items[batch_id]
            if batch["status"] == "cancelling":
                batch.update(changes, status="cancelled", cancelled_at=now)
            else:
                batch.update(changes, status="completed", completed_at=now)


def _batch_lines(data: bytes, endpoint: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The requests of a batch input file, or the problems that make the whole batch fail."""
    items: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()

    def problem(line: int, code: str, message: str, param: str | None = None) -> None:
        problems.append({"code": code, "message": message, "param": param, "line": line})

    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            problem(number, "invalid_json_line", f"Line {number} is not valid JSON.")
            continue
        if not isinstance(obj, dict):
            problem(number, "invalid_request", f"Line {number} is not a JSON object.")
            continue
        custom_id = obj.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            problem(number, "missing_required_parameter", "custom_id is missing.", "custom_id")
        elif custom_id in seen:
            problem(number, "duplicate_custom_id", f"custom_id {custom_id!r} is used twice.",
                    "custom_id")
        if obj.get("method") != "POST":
            problem(number, "invalid_method", "method must be POST.", "method")
        if obj.get("url") not in (endpoint, endpoint.removeprefix("/v1")):
            problem(number, "invalid_url", f"url must be {endpoint}, the batch's endpoint.",
                    "url")
        if not isinstance(obj.get("body"), dict):
            problem(number, "invalid_request", "body must be a JSON object.", "body")
        if isinstance(custom_id, str):
            seen.add(custom_id)
        items.append(obj)
    if not items and not problems:
        problem(1, "empty_file", "The input file holds no requests.")
    return items, problems[:100]


# --- HTTP -----------------------------------------------------------------------------------

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern), name) for method, pattern, name in (
        ("POST", r"/images/generations", "generations"),
        ("POST", r"/images/edits", "edits"),
        ("POST", r"/images/variations", "variations"),
        ("GET", r"/images/files/(?P<name>[^/]+)", "image_file"),
        ("GET", r"/models", "models"),
        ("GET", r"/models/(?P<id>.+)", "model"),
        ("POST", r"/files", "upload"),
        ("GET", r"/files", "list_files"),
        ("GET", r"/files/(?P<id>[^/]+)", "file"),
        ("DELETE", r"/files/(?P<id>[^/]+)", "delete_file"),
        ("GET", r"/files/(?P<id>[^/]+)/content", "file_content"),
        ("POST", r"/batches", "create_batch"),
        ("GET", r"/batches", "list_batches"),
        ("GET", r"/batches/(?P<id>[^/]+)", "batch"),
        ("POST", r"/batches/(?P<id>[^/]+)/cancel", "cancel_batch"),
    )
]


def _route(method: str, path: str) -> tuple[str | None, dict[str, str], list[str]]:
    """The handler name and path arguments for a request, or the methods the path allows."""
    path = path.rstrip("/")
    if path == "/v1" or path.startswith("/v1/"):
        path = path[3:]
    allowed = []
    for verb, pattern, name in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            if verb == method:
                return name, match.groupdict(), []
            allowed.append(verb)
    return None, {}, allowed


def _limit(query: dict[str, list[str]], default: int, maximum: int) -> int:
    raw = query.get("limit", [str(default)])[-1]
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise Refusal(400, f"limit must be a whole number from 1 to {maximum}.", param="limit",
                      code="invalid_value")
    return value


def _page(items: list[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    if after:
        ids = [item["id"] for item in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    page = items[:limit]
    out: dict[str, Any] = {"object": "list", "data": page, "has_more": len(items) > limit}
    if page:
        out.update(first_id=page[0]["id"], last_id=page[-1]["id"])
    return out


def _model_object(model_id: str, index: int) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 1_700_000_000 + index * 86_400,
            "owned_by": "openai"}


def _sleep_until(deadline: float) -> None:
    left = deadline - time.perf_counter()
    if left > 0:
        time.sleep(left)


def _mask_key(key: str) -> str:
    return f"{key[:3]}...{key[-4:]}" if len(key) > 10 else "***"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait 40 ms each.
    disable_nagle_algorithm = True
    server_version = f"easyimg-serve/{__version__}"
    sys_version = ""
    rid = ""
    status = 0
    note = ""
    started = 0.0
    headers_sent = False

    def version_string(self) -> str:
        return self.server_version

    @property
    def app(self) -> ImageServer:
        return cast(ImageServer, self.server)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: each request is reported once, through the server's `log` callback."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_OPTIONS = do_GET

    def _handle(self) -> None:
        self.started = time.perf_counter()
        self.rid = f"req_{secrets.token_hex(16)}"
        self.status, self.note, self.headers_sent = 0, "", False
        path = urlsplit(self.path).path
        self.app.enter()
        try:
            self._dispatch()
        except Refusal as refusal:
            self.note = f"{self.note} {refusal.code or ''}".strip()
            self._reply_error(refusal)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            self.note = f"{self.note} (client went away)".strip()
        except Exception as exc:  # one bad request must not stop the server
            self.note = f"{self.note} internal error: {exc!r}".strip()
            self._reply_error(Refusal(500, "The server had an error while processing your "
                                      "request.", type="server_error"))
        finally:
            self.app.leave()
            note = f"{self.note} " if self.note else ""
            self.app.log(f"{self.client_address[0]} {self.command} {path} {self.status} {note}"
                         f"{time.perf_counter() - self.started:.3f}s {self.rid}")

    def _reply_error(self, refusal: Refusal, headers: dict[str, str] | None = None) -> None:
        if self.headers_sent:
            self.close_connection = True
            return
        try:
            self._json(refusal.status, refusal.body(), headers)
        except OSError:
            self.close_connection = True

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        name, args, allowed = _route(self.command, url.path)
        body = self._read_body()
        if name is None:
            if allowed:
                self._reply_error(Refusal(405, f"Invalid method for URL ({self.command} "
                                          f"{url.path})."), {"Allow": ", ".join(allowed)})
                return
            raise Refusal(404, f"Invalid URL ({self.command} {url.path}).")
        if name != "image_file":  # image URLs work without a key, like signed links
            self._check_key()
        getattr(self, f"route_{name}")(args, parse_qs(url.query), body)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length")
        if not raw:
            return b""
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            raise Refusal(413 if length > MAX_BODY else 400,
                          f"Invalid or too large Content-Length: {raw}.")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise Refusal(400, "Malformed chunked request body.") from None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                self.close_connection = True
                raise Refusal(413, "Request body too large.")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(3)

    def _check_key(self) -> None:
        key = self.app.api_key
        if key is None:
            return
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Refusal(401, "You didn't provide an API key. Send it in the Authorization "
                          "header as 'Bearer KEY'.", code="invalid_api_key")
        if not hmac.compare_digest(token.encode(), key.encode()):
            raise Refusal(401, f"Incorrect API key provided: {_mask_key(token)}.",
                          code="invalid_api_key")

    def _send(self, status: int, payload: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self._common_headers(headers)
        self.wfile.write(payload)

    def _common_headers(self, headers: dict[str, str] | None = None) -> None:
        self.send_header("x-request-id", self.rid)
        elapsed = round((time.perf_counter() - self.started) * 1000)
        self.send_header("openai-processing-ms", str(elapsed))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.headers_sent = True

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", headers)

    def _base_url(self) -> str:
        host = self.headers.get("Host", "")
        return f"http://{host}/v1" if _HOST.match(host) else self.app.url

    # images

    def route_generations(self, args: dict[str, str], query: Any, body: bytes) -> None:
        self._images(make_plan("generations", _json_object(body), [], None))

    def route_edits(self, args: dict[str, str], query: Any, body: bytes) -> None:
        content_type = self.headers.get("Content-Type", "")
        if content_type.lower().startswith("multipart/"):
            fields, images, mask = _form(parse_multipart(body, content_type))
        else:
            fields, images, mask = self.app.json_edit(_json_object(body))
        self._images(make_plan("edits", fields, images, mask))

    def route_variations(self, args: dict[str, str], query: Any, body: bytes) -> None:
        fields, images, _ = _form(parse_multipart(body, self.headers.get("Content-Type", "")))
        self._images(make_plan("variations", fields, images[:1], None))

    def _images(self, plan: Plan) -> None:
        self.note = plan.note
        latency = self.app.latency
        if plan.stream:
            self._stream(plan, latency)
            return
        payload = json.dumps(answer(plan, self.app.images, self._base_url())).encode()
        # Drawing counts towards the latency: a request takes max(latency, drawing time).
        _sleep_until(self.started + latency)
        self._send(200, payload, "application/json")

    def _stream(self, plan: Plan, latency: float) -> None:
        self.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self._common_headers()
        count = plan.n * (plan.partials + 1)
        for i, (name, event) in enumerate(events(plan)):
            chunk = f"event: {name}\ndata: {json.dumps(event)}\n\n".encode()
            _sleep_until(self.started + latency * (i + 1) / count)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def route_image_file(self, args: dict[str, str], query: Any, body: bytes) -> None:
        blob = self.app.images.get(args["name"])
        if blob is None:
            raise Refusal(404, f"No image {args['name']!r} here (images are kept in memory, "
                          "the newest only).", code="not_found")
        fmt = args["name"].rsplit(".", 1)[-1]
        self._send(200, blob, placeholder.MIME_TYPES.get(fmt, "application/octet-stream"))

    # models

    def route_models(self, args: dict[str, str], query: Any, body: bytes) -> None:
        ids = [*models.MODELS, *_OTHER_MODELS]
        self._json(200, {"object": "list",
                         "data": [_model_object(m, i) for i, m in enumerate(ids)]})

    def route_model(self, args: dict[str, str], query: Any, body: bytes) -> None:
        ids = [*models.MODELS, *_OTHER_MODELS]
        if args["id"] not in ids:
            raise Refusal(404, f"The model '{args['id']}' does not exist.", param="model",
                          code="model_not_found")
        self._json(200, _model_object(args["id"], ids.index(args["id"])))

    # files

    def route_upload(self, args: dict[str, str], query: Any, body: bytes) -> None:
        parts = parse_multipart(body, self.headers.get("Content-Type", ""))
        upload = next((p for p in parts if p.name == "file"), None)
        purpose = next((p.data.decode("utf-8", "replace") for p in parts
                        if p.name == "purpose"), None)
        if upload is None:
            raise Refusal(400, "Missing required parameter: 'file'.", param="file",
                          code="missing_required_parameter")
        if purpose not in _PURPOSES:
            raise Refusal(400, f"purpose {purpose!r} is not one of {', '.join(_PURPOSES)}.",
                          param="purpose", code="invalid_value")
        self._json(200, self.app.files.add(upload.data, upload.filename or "file", purpose))

    def route_list_files(self, args: dict[str, str], query: dict[str, list[str]],
                         body: bytes) -> None:
        purpose = query.get("purpose", [None])[-1]
        order = query.get("order", ["desc"])[-1]
        listing = self.app.files.listing(purpose, order)
        page = _page(listing, query.get("after", [None])[-1], _limit(query, 10000, 10000))
        page.setdefault("first_id", "")
        page.setdefault("last_id", "")
        self._json(200, page)

    def route_file(self, args: dict[str, str], query: Any, body: bytes) -> None:
        self._json(200, self.app.files.get(args["id"])[0])

    def route_delete_file(self, args: dict[str, str], query: Any, body: bytes) -> None:
        self._json(200, self.app.files.delete(args["id"]))

    def route_file_content(self, args: dict[str, str], query: Any, body: bytes) -> None:
        self._send(200, self.app.files.get(args["id"])[1], "application/octet-stream")

    # batches

    def route_create_batch(self, args: dict[str, str], query: Any, body: bytes) -> None:
        self._json(200, self.app.batches.create(_json_object(body), self._base_url()))

    def route_list_batches(self, args: dict[str, str], query: dict[str, list[str]],
                           body: bytes) -> None:
        self._json(200, _page(self.app.batches.listing(), query.get("after", [None])[-1],
                              _limit(query, 20, 100)))

    def route_batch(self, args: dict[str, str], query: Any, body: bytes) -> None:
        self._json(200, self.app.batches.get(args["id"]))

    def route_cancel_batch(self, args: dict[str, str], query: Any, body: bytes) -> None:
        self._json(200, self.app.batches.cancel(args["id"]))


class ImageServer(ThreadingHTTPServer):
    """The placeholder image API; see `make_server` and `start_background`."""

    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections when a batch runs at -j 8+

    def __init__(self, address: tuple[str, int], *, latency: float = 0.0,
                 api_key: str | None = None, log: LogFn | None = None) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.latency = max(0.0, latency)
        self.api_key = api_key
        self.requests_served = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.images = ImageStore()
        self.files = Files()
        self.batches = Batches(self)
        self._log = log
        self._lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._connections: set[Any] = set()
        self._serving = False
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        return f"http://[{host}]:{port}/v1" if ":" in host else f"http://{host}:{port}/v1"

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's full name, which can stall offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = self.server_address[1]

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._serving = True
        super().serve_forever(poll_interval)

    def close(self) -> None:
        """Stop serving, drop open connections, close the socket and stop running batches."""
        if self._serving:
            self.shutdown()
        self.batches.stop_all()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.server_close()

    def __exit__(self, *args: object) -> None:
        self.close()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; the server never prints by itself.
        self.log(f"{client_address[0]} connection error")

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self.requests_served += 1

    def log(self, line: str) -> None:
        if self._log is not None:
            with self._log_lock:
                self._log(line)

    def json_edit(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[bytes], bytes | None]:
        """A JSON edit request: images given as data: URLs or ids of uploaded files."""
        refs = body.get("images")
        if not isinstance(refs, list) or not refs:
            raise Refusal(400, "Missing required parameter: 'images'.", param="images",
                          code="missing_required_parameter")
        images = [self._image_ref(ref, f"images[{i}]") for i, ref in enumerate(refs)]
        mask = self._image_ref(body["mask"], "mask") if body.get("mask") is not None else None
        fields = {k: v for k, v in body.items() if k not in ("images", "mask")}
        return fields, images, mask

    def _image_ref(self, ref: Any, param: str) -> bytes:
        if isinstance(ref, dict) and isinstance(ref.get("file_id"), str):
            return self.files.get(ref["file_id"], param)[1]
        url = ref.get("image_url") if isinstance(ref, dict) else None
        if isinstance(url, str) and url.startswith("data:"):
            return _data_url(url, param)
        raise Refusal(400, f"{param}: easyimg serve takes images as data: URLs or file ids; it "
                      "fetches nothing from the network.", param=param, code="invalid_image_url")

    def run(self, endpoint: str, body: dict[str, Any], base_url: str) -> tuple[int, dict[str, Any]]:
        """Answer one batch item: (status, ImagesResponse or error body)."""
        try:
            if body.get("stream"):
                raise Refusal(400, "stream is not available in a batch.", param="stream",
                              code="invalid_value")
            if endpoint.endswith("/edits"):
                fields, images, mask = self.json_edit(body)
                plan = make_plan("edits", fields, images, mask)
            else:
                plan = make_plan("generations", body, [], None)
            return 200, answer(plan, self.images, base_url)
        except Refusal as refusal:
            return refusal.status, refusal.body()


def make_server(host: str = "127.0.0.1", port: int = 8000, *, latency: float = 0.0,
                api_key: str | None = None, log: LogFn | None = None) -> ImageServer:
    """Bind the server (OSError when the address is taken); call serve_forever() to run it."""
    return ImageServer((host, port), latency=latency, api_key=api_key, log=log)


def start_background(host: str = "127.0.0.1", port: int = 0, **kw: Any) -> ImageServer:
    """Bind and serve from a daemon thread; `server.close()` stops it."""
    server = make_server(host, port, **kw)
    # Marked before the thread runs, so close() right away still waits for the loop to end.
    server._serving = True
    # A short poll so close() returns within 50 ms instead of the default 0.5 s.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True,
                     name=f"easyimg-serve:{server.server_port}").start()
    return server
