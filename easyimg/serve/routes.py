"""`easyimg serve`'s answers: images, models, files and batches, one function per route."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import models
from ..history import PLACEHOLDER_HEADER
from . import batches as serve_batches
from . import chat as serve_chat
from . import dialects as serve_dialects
from . import placeholder
from .images import Plan, answer, events, make_plan
from .request import Refusal, data_url, image_form, json_object, parse_multipart

if TYPE_CHECKING:
    from .handler import Handler
    from .http import ImageServer

Query = dict[str, list[str]]
Route = Callable[["Handler", dict[str, str], Query, bytes], None]

ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", r"/images/generations", "generations"),
    ("POST", r"/images/edits", "edits"),
    ("POST", r"/images/variations", "variations"),
    ("GET", r"/images/files/(?P<name>[^/]+)", "image_file"),
    ("GET", r"/models", "models"),
    ("GET", r"/models/(?P<id>.+)", "model"),
)
_OTHER_MODELS = ("gpt-4o-mini", "text-embedding-3-small", "whisper-1")
# On every answer that carries images, so clients know not to count them as spend.
PLACEHOLDER = {PLACEHOLDER_HEADER: "1"}


def _sleep_until(deadline: float) -> None:
    left = deadline - time.perf_counter()
    if left > 0:
        time.sleep(left)


# --- images -----------------------------------------------------------------------------------


def generations(h: Handler, args: dict[str, str], query: Query, body: bytes) -> None:
    fields = json_object(body)
    if not fields.get("stream"):
        task = h.app.dialects.submit(
            lambda: make_plan("generations", fields, [], None), h.base_url()
        )
        if task is not None:
            reply(h, task)
            return
    _images(h, make_plan("generations", fields, [], None))


def edits(h: Handler, args: dict[str, str], query: Query, body: bytes) -> None:
    content_type = h.headers.get("Content-Type", "")
    if content_type.lower().startswith("multipart/"):
        fields, images, mask = image_form(parse_multipart(body, content_type))
    else:
        fields, images, mask = json_edit(h.app, json_object(body))
    _images(h, make_plan("edits", fields, images, mask))


def variations(h: Handler, args: dict[str, str], query: Query, body: bytes) -> None:
    fields, images, _ = image_form(parse_multipart(body, h.headers.get("Content-Type", "")))
    _images(h, make_plan("variations", fields, images[:1], None))


def _images(h: Handler, plan: Plan) -> None:
    h.note = plan.note
    latency = h.app.latency
    if plan.stream:
        _stream(h, plan, latency)
        return
    payload = json.dumps(answer(plan, h.app.images, h.base_url())).encode()
    # Drawing counts towards the latency: a request takes max(latency, drawing time).
    _sleep_until(h.started + latency)
    h.send(200, payload, "application/json", PLACEHOLDER)


def _stream(h: Handler, plan: Plan, latency: float) -> None:
    h.status = 200
    h.send_response(200)
    h.send_header("Content-Type", "text/event-stream; charset=utf-8")
    h.send_header("Cache-Control", "no-cache")
    h.send_header("Transfer-Encoding", "chunked")
    h.common_headers(PLACEHOLDER)
    count = plan.n * (plan.partials + 1)
    for i, (name, event) in enumerate(events(plan)):
        chunk = f"event: {name}\ndata: {json.dumps(event)}\n\n".encode()
        _sleep_until(h.started + latency * (i + 1) / count)
        h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    h.wfile.write(b"0\r\n\r\n")


def image_file(h: Handler, args: dict[str, str], query: Query, body: bytes) -> None:
    blob = h.app.images.get(args["name"])
    if blob is None:
        raise Refusal(
            404,
            f"No image {args['name']!r} here (images are kept in memory, the newest only).",
            code="not_found",
        )
    fmt = args["name"].rsplit(".", 1)[-1]
    h.send(200, blob, placeholder.MIME_TYPES.get(fmt, "application/octet-stream"), PLACEHOLDER)


def json_edit(
    app: ImageServer, body: dict[str, Any]
) -> tuple[dict[str, Any], list[bytes], bytes | None]:
    """A JSON edit request: images given as data: URLs or ids of uploaded files."""
    refs = body.get("images")
    if not isinstance(refs, list) or not refs:
        raise Refusal(
            400,
            "Missing required parameter: 'images'.",
            param="images",
            code="missing_required_parameter",
        )
    images = [_image_ref(app, ref, f"images[{i}]") for i, ref in enumerate(refs)]
    mask = _image_ref(app, body["mask"], "mask") if body.get("mask") is not None else None
    fields = {k: v for k, v in body.items() if k not in ("images", "mask")}
    return fields, images, mask


def _image_ref(app: ImageServer, ref: Any, param: str) -> bytes:
    if not isinstance(ref, dict) or ("file_id" in ref) == ("image_url" in ref):
        raise Refusal(
            400,
            f"{param}: give exactly one of image_url or file_id.",
            param=param,
            code="invalid_image_reference",
        )
    if isinstance(ref.get("file_id"), str):
        return app.files.get(ref["file_id"], param)[1]
    url = ref.get("image_url")
    if isinstance(url, str) and url.startswith("data:"):
        return data_url(url, param)
    raise Refusal(
        400,
        f"{param}: easyimg serve takes images as data: URLs or the ids of files uploaded "
        "to it; it fetches nothing from the network.",
        param=param,
        code="invalid_image_url",
    )


def run_item(
    app: ImageServer, endpoint: str, body: dict[str, Any], base_url: str
) -> tuple[int, dict[str, Any]]:
    """Answer one batch item: (status, ImagesResponse or error body)."""
    try:
        if body.get("stream"):
            raise Refusal(
                400, "stream is not available in a batch.", param="stream", code="invalid_value"
            )
        if endpoint.endswith("/edits"):
            fields, images, mask = json_edit(app, body)
            plan = make_plan("edits", fields, images, mask)
        else:
            plan = make_plan("generations", body, [], None)
        return 200, answer(plan, app.images, base_url)
    except Refusal as refusal:
        return refusal.status, refusal.body()


# --- models -----------------------------------------------------------------------------------


def _model_object(model_id: str, index: int) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": 1_700_000_000 + index * 86_400,
        "owned_by": "google" if model_id in serve_chat.MODELS else "openai",
        # As new-api lists them: which endpoints reach the model.
        "supported_endpoint_types": serve_chat.endpoint_types(model_id),
    }


def models_list(h: Handler, args: dict[str, str], query: Query, body: bytes) -> None:
    ids = [*models.MODELS, *serve_chat.MODELS, *_OTHER_MODELS]
    h.send_json(200, {"object": "list", "data": [_model_object(m, i) for i, m in enumerate(ids)]})


def model(h: Handler, args: dict[str, str], query: Query, body: bytes) -> None:
    ids = [*models.MODELS, *serve_chat.MODELS, *_OTHER_MODELS]
    if args["id"] not in ids:
        raise Refusal(
            404,
            f"The model '{args['id']}' does not exist.",
            param="model",
            code="model_not_found",
        )
    h.send_json(200, _model_object(args["id"], ids.index(args["id"])))


# --- files and batches ------------------------------------------------------------------------


def batch_api(h: Handler, name: str, args: dict[str, str], query: Query, body: bytes) -> None:
    request = serve_batches.Request(
        args, query, body, h.headers.get("Content-Type", ""), h.base_url()
    )
    out = serve_batches.handle(name, h.app.files, h.app.batches, request)
    if isinstance(out, bytes):
        # File contents: a batch's output file holds its placeholder images.
        h.send(200, out, "application/octet-stream", PLACEHOLDER)
    else:
        h.send_json(200, out)


# --- chat images, tasks, EasyRouter's batches -------------------------------------------------


def dialect(h: Handler, name: str, args: dict[str, str], query: Query, body: bytes) -> None:
    request = serve_dialects.Request(
        args,
        query,
        body,
        {k.lower(): v for k, v in h.headers.items()},
        h.base_url(),
        h.started + h.app.latency,
    )
    reply(h, serve_dialects.handle(name, h.app.dialects, request))


def reply(h: Handler, answer: serve_dialects.Reply) -> None:
    # Chat images, tasks and their files: every one of them a placeholder.
    headers = {**answer.headers, **PLACEHOLDER} if answer.status == 200 else answer.headers
    if answer.chunks is None:
        payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
        h.send(answer.status, payload, answer.content_type, headers)
        return
    h.status = answer.status
    h.send_response(answer.status)
    h.send_header("Content-Type", answer.content_type)
    h.send_header("Transfer-Encoding", "chunked")
    h.common_headers(headers)
    for chunk in answer.chunks:
        h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    h.wfile.write(b"0\r\n\r\n")


HANDLERS: dict[str, Route] = {
    "generations": generations,
    "edits": edits,
    "variations": variations,
    "image_file": image_file,
    "models": models_list,
    "model": model,
}
