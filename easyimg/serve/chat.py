"""Images from `/v1/chat/completions` for `easyimg serve`: new-api's markdown, OpenRouter's list."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import aspect, models
from . import placeholder
from .images import Plan, make_plan, render
from .request import Refusal, data_url

# Chat image models `serve` lists besides the images API's own (GET /v1/models).
MODELS = ("gemini-2.5-flash-image", "gemini-3-pro-image-preview", "gemini-3.1-flash-image-preview")
STYLES = ("new-api", "openrouter")
DEFAULT_STYLE = "new-api"
STYLE_HEADER = "X-Easyimg-Chat-Style"
MODALITIES = ("text", "image")
# Output tokens per image as Gemini 3 bills them; text at ~1.3 tokens a word, 258 an input image.
_IMAGE_TOKENS = {"0.5K": 560, "1K": 1120, "2K": 1120, "4K": 2000}
_INPUT_IMAGE_TOKENS = 258
_NOT_ASKED = (
    "easyimg serve draws an image only when the request asks for one "
    '(modalities with "image", or a model whose name says it makes images); '
    "this answer is text only."
)


@dataclass
class ChatPlan:
    """One chat request for an image, resolved: what to draw and how to answer."""

    plan: Plan
    style: str
    draw: bool
    text: bool
    stream: bool
    image_size: str

    @property
    def model(self) -> str:
        return self.plan.model


def endpoint_types(model: str) -> list[str]:
    """new-api's `supported_endpoint_types` for a model `serve` lists."""
    if model in MODELS:
        return ["openai", "gemini"]
    return ["image-generation"] if model in models.MODELS else ["openai"]


def sleep_until(deadline: float) -> None:
    left = deadline - time.perf_counter()
    if left > 0:
        time.sleep(left)


def make_chat_plan(body: dict[str, Any], style: str) -> ChatPlan:
    """Check a chat request the way new-api and OpenRouter would, and plan its image."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Refusal(
            400, "Missing required parameter: 'model'.", param="model", code="missing_model"
        )
    prompt, images = _user_input(body.get("messages"))
    wants = _modalities(body.get("modalities"), model)
    ratio, size = _image_config(body, model)
    fields = {"model": model, "prompt": prompt}
    plan = make_plan("edits" if images else "generations", fields, images, None)
    if ratio is None and plan.inputs:
        # Like Gemini: an edit keeps the shape of its first input unless told otherwise.
        first = plan.inputs[0]
        ratio = aspect.nearest_ratio(first.width, first.height, aspect.ratios_for(model))
    plan.width, plan.height = aspect.pixels(ratio or "1:1", size or "1K")
    plan.fmt, plan.compression, plan.n = "png", None, 1
    return ChatPlan(
        plan=plan,
        style=style,
        draw="image" in wants,
        text="text" in wants,
        stream=body.get("stream") is True,
        image_size=size or "1K",
    )


def _user_input(messages: Any) -> tuple[str, list[bytes]]:
    """The prompt and input images of the last user message."""
    if not isinstance(messages, list) or not messages:
        raise Refusal(
            400,
            "Missing required parameter: 'messages' (a non-empty list).",
            param="messages",
            code="missing_required_parameter",
        )
    users = [
        (i, m) for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"
    ]
    if not users:
        raise Refusal(400, "No message has role 'user'.", param="messages", code="invalid_value")
    index, message = users[-1]
    content = message.get("content")
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise Refusal(
            400,
            f"messages[{index}].content must be a string or a list of parts.",
            param=f"messages[{index}].content",
            code="invalid_type",
        )
    texts: list[str] = []
    images: list[bytes] = []
    for k, part in enumerate(content):
        param = f"messages[{index}].content[{k}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            ref = part.get("image_url")
            url = ref.get("url") if isinstance(ref, dict) else ref
            if not isinstance(url, str) or not url.startswith("data:"):
                raise Refusal(
                    400,
                    f"{param}: easyimg serve takes images as data: URLs; it fetches nothing "
                    "from the network.",
                    param=param,
                    code="invalid_image_url",
                )
            images.append(data_url(url, param))
        else:
            raise Refusal(
                400,
                f"{param}: a part must be {{'type': 'text'}} or {{'type': 'image_url'}}.",
                param=param,
                code="invalid_value",
            )
    return "\n".join(texts), images


def _modalities(value: Any, model: str) -> tuple[str, ...]:
    if value is None:
        draws = models.dialect_for(model) == "chat" or "image" in model.lower()
        return MODALITIES if draws else ("text",)
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v in MODALITIES for v in value)
    ):
        raise Refusal(
            400,
            f"modalities must be a non-empty list of {' and '.join(MODALITIES)}, not {value!r}.",
            param="modalities",
            code="invalid_value",
        )
    return tuple(value)


def _image_config(body: dict[str, Any], model: str) -> tuple[str | None, str | None]:
    """aspect_ratio and image_size from new-api's extra_body.google or OpenRouter's top level."""
    found: list[tuple[str, dict[str, Any]]] = []
    extra = body.get("extra_body")
    if isinstance(extra, dict):
        google = extra.get("google")
        if isinstance(google, dict):
            _snake_only(google, "extra_body.google", {"imageConfig": "image_config"})
            if isinstance(google.get("image_config"), dict):
                found.append(("extra_body.google.image_config", google["image_config"]))
    if isinstance(body.get("image_config"), dict):
        found.append(("image_config", body["image_config"]))
    ratio = size = None
    for where, config in found:
        _snake_only(config, where, {"aspectRatio": "aspect_ratio", "imageSize": "image_size"})
        if config.get("aspect_ratio") is not None:
            ratio = config["aspect_ratio"]
            if ratio not in aspect.ratios_for(model):
                raise Refusal(
                    400,
                    f"{where}.aspect_ratio {ratio!r} is not supported by {model}; "
                    f"allowed: {', '.join(aspect.ratios_for(model))}.",
                    param=f"{where}.aspect_ratio",
                    code="invalid_argument",
                )
        if config.get("image_size") is not None:
            size = config["image_size"]
            if size not in aspect.sizes_for(model):
                raise Refusal(
                    400,
                    f"{where}.image_size {size!r} is not supported by {model}; allowed: "
                    f"{', '.join(aspect.sizes_for(model))} (with an uppercase K).",
                    param=f"{where}.image_size",
                    code="invalid_argument",
                )
    return ratio, size


def _snake_only(config: dict[str, Any], where: str, names: dict[str, str]) -> None:
    # new-api passes these through to Google, which rejects camelCase names inside extra_body.
    for camel, snake in names.items():
        if camel in config:
            raise Refusal(
                400,
                f'Invalid JSON payload received. Unknown name "{camel}" at "{where}": '
                f"Cannot find field (use {snake!r}).",
                param=f"{where}.{camel}",
                code="invalid_argument",
            )


# --- answers --------------------------------------------------------------------------------


def _words(text: str) -> int:
    return max(1, round(len(text.split()) * 1.3))


def _caption(cp: ChatPlan) -> str:
    return f"Here is a {cp.plan.width}x{cp.plan.height} placeholder image." if cp.draw else ""


def _text(cp: ChatPlan) -> str:
    if not cp.text:
        return ""
    return _caption(cp) if cp.draw else _NOT_ASKED


def _usage(cp: ChatPlan) -> dict[str, Any]:
    prompt = _words(cp.plan.prompt) + _INPUT_IMAGE_TOKENS * len(cp.plan.inputs)
    completion = (_IMAGE_TOKENS.get(cp.image_size, 1120) if cp.draw else 0) + (
        _words(_text(cp)) if cp.text else 0
    )
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cp.style == "openrouter":
        usage["cost"] = 0  # a placeholder costs nothing; OpenRouter reports dollars here
    return usage


def _data_url(cp: ChatPlan) -> str:
    blob = placeholder.encode(render(cp.plan, 0), "png", None)
    return "data:image/png;base64," + base64.b64encode(blob).decode("ascii")


def _envelope(cp: ChatPlan, kind: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": kind,
        "created": int(time.time()),
        "model": cp.model,
    }


def answer(cp: ChatPlan) -> dict[str, Any]:
    """The chat.completion object of a non-streaming request."""
    text = _text(cp)
    message: dict[str, Any] = {"role": "assistant"}
    if cp.style == "openrouter":
        message["content"] = text
        if cp.draw:
            message["images"] = [{"type": "image_url", "image_url": {"url": _data_url(cp)}}]
    else:
        # new-api: the parts of Gemini's answer, images as markdown, joined by newlines.
        parts = [text] if text else []
        if cp.draw:
            parts.append(f"![image]({_data_url(cp)})")
        message["content"] = "\n".join(parts)
    return {
        **_envelope(cp, "chat.completion"),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": _usage(cp),
    }


def stream(cp: ChatPlan, deadline: float) -> Iterator[bytes]:
    """The SSE events of a streaming request, `data: {chunk}` each, `data: [DONE]` last.

    The image arrives whole in one delta, as new-api and OpenRouter send it, at `deadline`.
    """
    head = _envelope(cp, "chat.completion.chunk")

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> bytes:
        doc: dict[str, Any] = dict(head)
        doc["choices"] = (
            [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        )
        if usage is not None:
            doc["usage"] = usage
        return b"data: " + json.dumps(doc).encode() + b"\n\n"

    text = _text(cp)
    openrouter = cp.style == "openrouter"
    yield chunk({"role": "assistant", "content": text if openrouter else ""})
    if text and not openrouter:
        yield chunk({"content": text + ("\n" if cp.draw else "")})
    if cp.draw:
        url = _data_url(cp)
        sleep_until(deadline)
        if openrouter:
            yield chunk(
                {
                    "role": "assistant",
                    "content": "",
                    "images": [{"type": "image_url", "image_url": {"url": url}}],
                }
            )
        else:
            yield chunk({"content": f"![image]({url})"})
    sleep_until(deadline)
    if openrouter:
        yield chunk({}, "stop", _usage(cp))
    else:
        yield chunk({}, "stop")
        yield chunk(None, usage=_usage(cp))
    yield b"data: [DONE]\n\n"
