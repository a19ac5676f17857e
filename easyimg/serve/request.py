"""Error answers and request-body parsing shared by the `easyimg serve` endpoints."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from typing import Any


class Refusal(Exception):
    """An error answer: the HTTP status and the fields of OpenAI's error object."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


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
    if (
        header.get_content_type() != "multipart/form-data"
        or not isinstance(boundary, str)
        or not boundary
    ):
        raise Refusal(
            400, "Expected a multipart/form-data body with a boundary.", code="invalid_multipart"
        )
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
        headers = HeaderParser().parsestr(
            lines[1].decode("utf-8", "replace") if len(lines) > 1 else ""
        )
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, tuple):
            name = name[2]
        if isinstance(name, str):
            parts.append(Part(name, headers.get_filename(), headers.get_content_type(), data))
    raise Refusal(
        400, "The multipart body ends before its closing boundary.", code="invalid_multipart"
    )


def image_form(parts: list[Part]) -> tuple[dict[str, Any], list[bytes], bytes | None]:
    """An image request's form: (text fields, images, mask)."""
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


# Deeper than any real request; a body nested 100,000 deep would otherwise exhaust the stack
# of whatever walks it after json.loads (or json.loads itself).
MAX_DEPTH = 64


class TooDeep(ValueError):
    """A JSON document nested more than MAX_DEPTH deep."""


def loads(text: bytes | str) -> Any:
    """json.loads that refuses (ValueError) a document nested more than MAX_DEPTH deep."""
    try:
        obj = json.loads(text)
    except RecursionError:
        raise TooDeep() from None
    todo: list[tuple[Any, int]] = [(obj, 1)] if isinstance(obj, dict | list) else []
    while todo:
        value, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise TooDeep()
        children = value.values() if isinstance(value, dict) else value
        todo.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return obj


def json_object(body: bytes) -> dict[str, Any]:
    try:
        obj = loads(body)
    except TooDeep:
        raise Refusal(
            400, f"The JSON body is nested more than {MAX_DEPTH} levels deep.", code="invalid_json"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise Refusal(
            400,
            "We could not parse the JSON body of your request. The body must be a JSON object.",
            code="invalid_json",
        ) from None
    if not isinstance(obj, dict):
        raise Refusal(400, "The JSON body must be an object.", code="invalid_json")
    return obj


def data_url(url: str, param: str) -> bytes:
    head, sep, payload = url.partition(",")
    if not sep or ";base64" not in head:
        raise Refusal(
            400, f"{param}: a data: URL must be base64.", param=param, code="invalid_image_url"
        )
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise Refusal(
            400,
            f"{param}: the data: URL is not valid base64.",
            param=param,
            code="invalid_image_url",
        ) from None
