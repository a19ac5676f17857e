"""Chat answers as bytes: held image payloads, their decoding, and SSE events from a socket."""

from __future__ import annotations

import base64
import io
import json
from collections import deque

import pytest

from easyimg.api import chat_bytes
from easyimg.errors import ResponseError

BLOB = bytes(range(256)) * 400  # 100 KB: above HELD_MIN once encoded
B64 = base64.b64encode(BLOB).decode()


class Raw(io.BytesIO):
    """What `resp.raw` offers the reader: read(n), and a decode_content switch."""

    decode_content = False


class Resp:
    url = "http://127.0.0.1/v1/chat/completions"

    def __init__(self, body: bytes) -> None:
        self.raw = Raw(body)


def test_hold_swaps_a_whole_payload_for_a_token_and_decodes_it_from_the_bytes():
    doc = {"choices": [{"message": {"content": f"hi\n![image](data:image/png;base64,{B64})"}}]}
    raw = bytearray(json.dumps(doc).encode())
    text, held = chat_bytes.hold(raw)
    (token,) = held
    parsed = json.loads(text)
    assert (
        parsed["choices"][0]["message"]["content"] == f"hi\n![image](data:image/png;base64,{token})"
    )
    assert b"".join(chat_bytes.decoded(raw, *held[token])) == BLOB
    assert len(text) < 200


def test_hold_takes_data_urls_as_json_values_too():
    raw = bytearray(json.dumps({"url": f"data:image/jpeg;base64,{B64}", "b": 1}).encode())
    text, held = chat_bytes.hold(raw)
    assert json.loads(text) == {"url": f"data:image/jpeg;base64,{next(iter(held))}", "b": 1}


@pytest.mark.parametrize(
    "content",
    [
        f"![image](data:image/png;base64,{B64[:1000]})",  # small: parsed as usual
        f"![image](data:image/png;base64,{B64}",  # continues in a later event
    ],
)
def test_hold_leaves_what_it_cannot_take_whole(content):
    raw = bytearray(json.dumps({"content": content}).encode())
    text, held = chat_bytes.hold(raw)
    assert held == {} and text is raw


def test_hold_leaves_escaped_payloads():
    escaped = json.dumps({"content": f"![i](data:image/png;base64,{B64})"}).replace("/", "\\/")
    raw = bytearray(escaped.encode())
    assert chat_bytes.hold(raw)[1] == {}


def test_unpadded_and_bad_base64():
    unpadded = bytearray(B64.rstrip("=").encode())
    assert b"".join(chat_bytes.decoded(unpadded, 0, len(unpadded))) == BLOB
    bad = bytearray(b"AAAA!AAA")
    with pytest.raises(ResponseError, match="not valid base64"):
        list(chat_bytes.decoded(bad, 0, len(bad)))


def test_pieces_decode_across_their_boundaries():
    pieces = deque(B64[i : i + 7] for i in range(0, len(B64), 7))
    assert b"".join(chat_bytes.decoded_pieces(pieces)) == BLOB
    assert not pieces  # handed over as they are decoded


def events(body: bytes) -> list[bytes]:
    gate = chat_bytes.Gate()
    reader = chat_bytes.Events(Resp(body), gate)  # type: ignore[arg-type]
    out: list[bytes] = []
    while (data := reader.next()) is not None:
        out.append(bytes(data))
        gate.release()
    assert not gate.held
    return out


def test_events_lines_crlf_comments_and_multi_line_data():
    body = (
        b': keep-alive\r\ndata: {"a":\r\ndata:1}\r\n\r\n'
        b"event: x\nid: 3\ndata: two\n\ndata: [DONE]\n\n"
    )
    assert events(body) == [b'{"a":\n1}', b"two", b"[DONE]"]


def test_a_big_event_and_a_last_one_without_its_blank_line():
    big = b"x" * (chat_bytes.BIG + 5000)
    assert events(b"data: " + big + b"\n\ndata: tail") == [big, b"tail"]


def test_the_gate_lets_two_big_readers_at_once():
    first, second, third = chat_bytes.Gate(), chat_bytes.Gate(), chat_bytes.Gate()
    first.take()
    second.take()
    assert not chat_bytes._GATE.acquire(blocking=False)
    first.release()
    third.take()
    assert third.held
    for gate in (second, third):
        gate.release()
    assert all(chat_bytes._GATE.acquire(blocking=False) for _ in range(2))
    for _ in range(2):
        chat_bytes._GATE.release()


def test_answers_larger_than_one_image_may_be_are_refused():
    from easyimg.api.limits import Bounds, attach

    resp = Resp(b"x" * (10 << 20))
    attach(resp, Bounds("h", max_image=1000))  # type: ignore[arg-type]
    gate = chat_bytes.Gate()
    with pytest.raises(ResponseError, match="the answer is larger than one image may be"):
        chat_bytes.read_all(resp, gate)  # type: ignore[arg-type]
    gate.release()
