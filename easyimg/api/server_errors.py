"""What a server's error answer says, as an APIError: OpenAI's shape, routers' and
validators' (Prism, FastAPI), or the text of whatever came back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from ..errors import APIError
from .limits import READ_ERRORS

REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-oneapi-request-id", "cf-ray")


def request_id(headers: Mapping[str, str]) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if headers.get(name):
            return headers[name]
    return None


def error_from_payload(payload: Any, status: int | None, rid: str | None) -> APIError | None:
    """An APIError from an OpenAI-style (or router-style) error body, or None if it has none."""
    if not isinstance(payload, dict):
        return None
    err = payload.get("error")
    if isinstance(err, dict):
        message = err.get("message") or err.get("msg") or json.dumps(err)[:300]
        return APIError(
            status,
            str(message),
            code=_str(err.get("code")),
            type=_str(err.get("type")),
            param=_str(err.get("param")),
            request_id=rid,
            body=payload,
        )
    if isinstance(err, str) and err:
        return APIError(status, err, code=_str(payload.get("code")), request_id=rid, body=payload)
    if status and status >= 400:
        listed = validation_message(payload)
        # With a list of problems, a short title (Prism's "Invalid request") heads them.
        keys = ("title", "message", "detail", "msg") if listed else ("message", "detail", "msg")
        text = next((payload[k] for k in keys if isinstance(payload.get(k), str)), None)
        if text or listed:
            return APIError(
                status,
                f"{text}: {listed}" if text and listed else str(listed or text),
                code=_str(payload.get("code")),
                request_id=rid,
                body=payload,
            )
    return None


MAX_PROBLEMS = 3


def validation_message(payload: dict[str, Any]) -> str | None:
    """The first problems of a validation error body, each with where it is: a Prism-style
    `validation` list (`location`, `message`) or FastAPI's `detail` list (`loc`, `msg`)."""
    problems = payload.get("validation")
    if not isinstance(problems, list):
        problems = payload.get("detail")
    if not isinstance(problems, list):
        return None
    found = []
    for problem in problems:
        if not isinstance(problem, dict):
            continue
        text = problem.get("message") or problem.get("msg")
        where = problem.get("location", problem.get("loc"))
        if not isinstance(text, str) or not text:
            continue
        if isinstance(where, list) and where:
            place = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in where)
            found.append(f"{place.replace('.[', '[')}: {text}")
        else:
            found.append(text)
    if not found:
        return None
    more = len(found) - MAX_PROBLEMS
    tail = f" (and {more} more)" if more > 0 else ""
    return "; ".join(found[:MAX_PROBLEMS]) + tail


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def api_error(resp: requests.Response, hint: str | None = None) -> APIError:
    rid = request_id(resp.headers)
    if getattr(resp, "_content_consumed", False) or resp.raw is None:
        raw = resp.content[:1_000_000]  # requested with stream=False: already read
    else:
        try:
            raw = resp.raw.read(1_000_000, decode_content=True)
        except READ_ERRORS:
            raw = b""  # an error answer that broke off still has its status
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    found = error_from_payload(payload, resp.status_code, rid)
    if found is None:
        snippet = " ".join(text.split())[:200] or resp.reason or "no message"
        if "<html" in text[:500].lower():
            snippet = f"the server answered an HTML page ({snippet[:120]})"
        found = APIError(resp.status_code, snippet, request_id=rid)
    if hint:
        found.hint = hint
    return found
