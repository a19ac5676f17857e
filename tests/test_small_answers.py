"""Short answers are parsed whole: the same items, fields and errors as the streaming reader."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from easyimg.api import answers
from easyimg.api.client import Client
from easyimg.errors import EasyImgError

from .conftest import make_image

PNG = make_image()
B64 = base64.b64encode(PNG).decode()
WRAPPED = "\n".join(B64[i : i + 60] for i in range(0, len(B64), 60))

CASES: dict[str, bytes] = {
    "plain": json.dumps(
        {
            "created": 1,
            "data": [{"b64_json": B64, "revised_prompt": "a red cat"}],
            "usage": {"input_tokens": 5, "output_tokens": 9, "total_tokens": 14},
        }
    ).encode(),
    "usage first": json.dumps({"usage": {"total_tokens": 3}, "data": [{"b64_json": B64}]}).encode(),
    "two images and a non-object item": json.dumps(
        {"data": [{"b64_json": B64}, 7, {"b64_json": WRAPPED}]}
    ).encode(),
    "escaped slashes": json.dumps({"data": [{"b64_json": B64}]}).replace("/", "\\/").encode(),
    "empty b64 and a data URL": json.dumps(
        {"data": [{"b64_json": "", "url": "data:image/png;base64," + B64}]}
    ).encode(),
    "an https URL": json.dumps({"data": [{"url": "https://cdn.example/a.png"}]}).encode(),
    "data not a list": json.dumps({"created": 1, "data": {"b64_json": B64}}).encode(),
    "not base64": json.dumps({"data": [{"b64_json": "not*base64"}]}).encode(),
    "non-ASCII in base64": json.dumps({"data": [{"b64_json": "QUFB\u00e9"}]}).encode(),
    "an error in a 200": json.dumps({"error": {"message": "no", "code": "x"}}).encode(),
    "an array": b"[1, 2]",
    "a string": b'"hello"',
    "nested too deep": b'{"x": ' + b"[" * 100 + b"]" * 100 + b"}",
    "cut off in a string": b'{"data": [{"b64_json": "iVBOR',
    "cut off after a comma": b'{"created": 1,',
    "not JSON": b"{oops}",
    "HTML": b"<html><body>502</body></html>",
    "empty": b"",
}


def read(httpserver: HTTPServer, body: bytes, max_image: int | None = None) -> Any:
    """What read_images gives for `body`: each item (its image as bytes) and the fields, or
    the error it raised."""
    httpserver.clear()
    httpserver.expect_request("/v1/x").respond_with_response(
        Response(body, content_type="application/json")
    )
    client = Client(httpserver.url_for("/v1"), retries=0)
    if max_image is not None:
        client.max_image = max_image
    items: list[dict[str, Any]] = []

    def on_image(item: dict[str, Any], meta: dict[str, Any]) -> None:
        got = dict(item)
        if "chunks" in got:
            got["chunks"] = b"".join(got["chunks"])
        items.append({"item": got, "meta so far": sorted(meta)})

    resp = client.request("POST", "x", json_body={})
    try:
        meta = answers.read_images(resp, on_image)
    except EasyImgError as exc:
        return type(exc).__name__, exc.message, int(exc.exit_code), items
    finally:
        resp.close()
    return items, meta


@pytest.mark.parametrize("case", list(CASES))
def test_a_short_answer_reads_as_the_streaming_reader_reads_it(httpserver, monkeypatch, case):
    whole = read(httpserver, CASES[case])
    monkeypatch.setattr(answers, "SMALL_ANSWER", 0)
    streamed = read(httpserver, CASES[case])
    assert whole == streamed


def test_the_image_cap_holds_for_a_short_answer(httpserver, monkeypatch):
    whole = read(httpserver, CASES["plain"], max_image=len(PNG) - 1)
    monkeypatch.setattr(answers, "SMALL_ANSWER", 0)
    assert whole == read(httpserver, CASES["plain"], max_image=len(PNG) - 1)
    assert whole[0] == "ResponseError" and "larger than one image may be" in whole[1]


def test_short_answers_are_read_whole_and_long_ones_streamed(httpserver, monkeypatch):
    seen: list[int] = []
    real = answers.Diverter

    def counting(*args: Any, **kwargs: Any) -> Any:
        seen.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(answers, "Diverter", counting)
    items, _ = read(httpserver, CASES["plain"])
    assert items[0]["item"]["chunks"] == PNG and seen == []
    monkeypatch.setattr(answers, "SMALL_ANSWER", len(CASES["plain"]) - 1)
    items, _ = read(httpserver, CASES["plain"])
    assert items[0]["item"]["chunks"] == PNG and seen == [1]
