"""Image strings decoded as they stream (api/divert.py): every spelling JSON allows, split at
every boundary, capped, refused when not base64, with the answer's other fields intact."""

from __future__ import annotations

import base64
import io
import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson
import pytest
from PIL import Image
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from easyimg.api import answers, b64stream, divert
from easyimg.api.divert import Diverter
from easyimg.api.limits import MB, Bounds
from easyimg.errors import ExitCode, ResponseError

GEN = "/v1/images/generations"
USAGE = {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}


def noisy_png(seed: int, size: tuple[int, int] = (24, 16)) -> bytes:
    """A small PNG that does not compress: its base64 spans many small reads."""
    raw = random.Random(seed).randbytes(size[0] * size[1] * 3)
    buf = io.BytesIO()
    Image.frombytes("RGB", size, raw).save(buf, "PNG")
    return buf.getvalue()


PNG = noisy_png(1)
B64 = base64.b64encode(PNG).decode()


def wrapped(text: str, width: int = 76) -> str:
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


# Spellings of one image string, as the raw JSON text between the quotes.
SPELLINGS = {
    "plain": B64,
    "escaped slashes": B64.replace("/", "\\/"),
    "wrapped with \\n": wrapped(B64).replace("\n", "\\n"),
    "wrapped with \\r\\n": wrapped(B64).replace("\n", "\\r\\n"),
    "spaces between quartets": " ".join(B64[i : i + 4] for i in range(0, len(B64), 4)),
    "unicode escapes": B64[:100] + "".join(f"\\u{ord(c):04x}" for c in B64[100:140]) + B64[140:],
    "no padding": B64.rstrip("="),
}


def answer_text(image: str, *, order: str = "image first", key: str = "b64_json") -> bytes:
    """An images answer around the raw image string, with its other fields in `order`."""
    item = f'"{key}" : "{image}"'
    revised = '"revised_prompt": "a \\"b64_json\\": \\"cat\\" on a mat \\/ rug"'
    fields = [item, revised] if order == "image first" else [revised, item]
    data = '"data":[ {' + ",\n ".join(fields) + "} ]"
    usage = f'"usage": {json.dumps(USAGE)}'
    parts = [data, usage] if order == "image first" else [usage, data]
    return ('{"created": 1700000001,\n' + ", ".join(parts) + "}").encode()


@pytest.fixture
def config(user_dir: Path):
    def write(**keys: object) -> None:
        lines = [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
        (user_dir / "config.toml").write_text("\n".join(lines) + "\n")

    return write


def gen(cli, server: HTTPServer, out: Path, *more: str):
    base = server.url_for("/v1")
    return cli("gen", "a cat", "--json", "--no-metadata", "-o", str(out), "--base-url", base, *more)


@pytest.fixture(params=["stdlib", "pybase64"])
def decoder(request, monkeypatch):
    """Both decoders: the standard library's, and pybase64's where the extra is installed."""
    if request.param == "stdlib":
        monkeypatch.setattr(b64stream, "decode_quartets", b64stream._stdlib)
    else:
        fast = b64stream._pick()
        if fast is b64stream._stdlib:
            pytest.skip("pybase64 is not installed")
        monkeypatch.setattr(b64stream, "decode_quartets", fast)
    return request.param


@pytest.mark.parametrize(
    ("read", "order"),
    [(3, "image first"), (4, "image last"), (7, "image last"), (1 << 20, "image first")],
)
@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_every_spelling_is_written_exactly(
    cli, httpserver, tmp_path, monkeypatch, decoder, spelling, order, read
):
    monkeypatch.setattr(divert, "READ", read)  # reads end mid-quartet, mid-escape, mid-key
    httpserver.expect_request(GEN).respond_with_data(
        answer_text(SPELLINGS[spelling], order=order), content_type="application/json"
    )
    r = gen(cli, httpserver, tmp_path)
    assert r.code == 0, r.err
    (image,) = r.json["images"]
    assert Path(image["path"]).read_bytes() == PNG
    assert image["revised_prompt"] == 'a "b64_json": "cat" on a mat / rug'
    assert r.json["usage"] == USAGE
    assert r.json["created"] == 1700000001
    assert sorted(p.name for p in tmp_path.iterdir()) == [Path(image["path"]).name]


@pytest.mark.parametrize("read", [2, 5, 1 << 20])
def test_a_data_url_image_is_decoded_as_it_streams(cli, httpserver, tmp_path, monkeypatch, read):
    monkeypatch.setattr(divert, "READ", read)
    text = answer_text("data:image/png;base64," + SPELLINGS["escaped slashes"], key="url")
    httpserver.expect_request(GEN).respond_with_data(text, content_type="application/json")
    r = gen(cli, httpserver, tmp_path)
    assert r.code == 0, r.err
    assert Path(r.json["images"][0]["path"]).read_bytes() == PNG


def test_several_images_and_stray_image_strings(cli, httpserver, tmp_path, monkeypatch):
    monkeypatch.setattr(divert, "READ", 7)
    pngs = [noisy_png(seed) for seed in (2, 3, 4)]
    doc = {
        "b64_json": base64.b64encode(b"not in data").decode(),
        "created": 5,
        "data": [
            {"b64_json": base64.b64encode(pngs[0]).decode(), "extra": {"b64_json": "QUJD"}},
            {"revised_prompt": "second", "b64_json": base64.b64encode(pngs[1]).decode()},
            {"b64_json": base64.b64encode(pngs[2]).decode(), "url": "https://x.test/a.png"},
        ],
        "usage": USAGE,
    }
    httpserver.expect_request(GEN).respond_with_json(doc)
    r = gen(cli, httpserver, tmp_path, "-n", "3")
    assert r.code == 0, r.err
    got = [Path(i["path"]).read_bytes() for i in r.json["images"]]
    assert got == pngs
    assert [i["revised_prompt"] for i in r.json["images"]] == [None, "second", None]
    assert len(list(tmp_path.iterdir())) == 3


def test_a_url_that_is_not_data_passes_as_text():
    doc = b'{"data": [{"url": "https://img.test/a,b.png?x=\\"y\\"", "revised_prompt": "r"}]}'
    items = read_all(doc, 3)
    assert items == [{"url": 'https://img.test/a,b.png?x="y"', "revised_prompt": "r"}]


BAD = {
    "not base64": "iVBORw0K!!!!",
    "escaped quote": B64[:40] + '\\"' + B64[40:],
    "escaped backslash": B64[:40] + "\\\\" + B64[40:],
    "padding in the middle": "QQ==" + B64,
    "one character left over": "QUJD" * 10 + "Q",
    "unicode that is not base64": B64[:40] + "\\u00e9" + B64[40:],
}


@pytest.mark.parametrize("case", list(BAD))
def test_invalid_base64_is_exit_5_and_writes_nothing(cli, httpserver, tmp_path, case, decoder):
    httpserver.expect_request(GEN).respond_with_data(
        answer_text(BAD[case]), content_type="application/json"
    )
    r = gen(cli, httpserver, tmp_path)
    assert r.code == ExitCode.NETWORK
    (line,) = r.err.strip().splitlines()
    assert line == "error: an image in the answer is not valid base64"
    assert list(tmp_path.iterdir()) == []


def test_a_huge_answer_stops_at_the_cap_without_reading_on(cli, httpserver, config, tmp_path):
    config(max_image_mb=2)
    sent = [0]

    def body() -> Iterator[bytes]:
        yield b'{"created": 1, "data": [{"b64_json": "iVBORw0K'
        for _ in range(500):  # 500 MB, never built: each block is made as it is sent
            block = b"A" * MB
            sent[0] += len(block)
            yield block
        yield b'"}]}'

    def handler(request: Request) -> Response:
        return Response(body(), content_type="application/json")

    httpserver.expect_request(GEN).respond_with_handler(handler)
    r = gen(cli, httpserver, tmp_path)
    assert r.code == ExitCode.NETWORK
    (line,) = r.err.strip().splitlines()
    assert line == (
        "error: an image in the answer is larger than one image may be "
        "(2 MB decoded; config key max_image_mb)"
    )
    assert list(tmp_path.iterdir()) == []
    assert sent[0] < 64 * MB  # the client stopped reading: only socket buffers filled up


# -- the scanner alone, every split of one answer into two reads


class Pieces:
    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = iter(pieces)

    def read(self, size: int = -1) -> bytes:
        return next(self._pieces, b"")


def read_all(doc: bytes, cut: int | list[bytes], max_image: int = 100 * MB) -> list[Any]:
    """The `data` items ijson reads through a Diverter, images swapped back in."""
    pieces = cut if isinstance(cut, list) else [doc[i : i + cut] for i in range(0, len(doc), cut)]
    source = Diverter(Pieces(pieces), Bounds("test", max_image=max_image))
    items = []
    for item in ijson.items(source, "data.item"):
        for key in ("b64_json", "url"):
            chunks = source.take(item.get(key))
            if chunks is not None:
                item[key] = b"".join(chunks)
        items.append(item)
    return items


def test_every_two_read_split_of_an_awkward_answer():
    image = base64.b64encode(b"\xff\xfe\x00 an image of sorts \x01" * 3).decode()
    assert "/" in image
    raw = (image[:20] + "\\n" + image[20:]).replace("/", "\\/")
    doc = (
        '{"data": [{"x\\"b64_json": "QUJD", "b64_json"\t:\n "' + raw + '", "s": "\\\\"}, '
        '{"url": "data:image/png;base64,' + image + '"}]}'
    ).encode()
    want = b"\xff\xfe\x00 an image of sorts \x01" * 3
    for cut in range(1, len(doc)):
        items = read_all(doc, [doc[:cut], doc[cut:]])
        assert items == [{'x"b64_json': "QUJD", "b64_json": want, "s": "\\"}, {"url": want}], cut


def test_every_read_size_with_escapes_everywhere():
    data = bytes(range(256)) * 2
    image = base64.b64encode(data).decode()
    raw = "".join(f"\\u{ord(c):04x}" if i % 5 == 0 else c for i, c in enumerate(image))
    raw = raw.replace("/", "\\/")
    doc = ('{"data": [{"b64_json": "' + raw + '"}]}').encode()
    for size in itertools.chain(range(1, 40), [97, 1000]):
        assert read_all(doc, size) == [{"b64_json": data}], size


def test_the_cap_counts_every_image_held_at_once():
    one = base64.b64encode(bytes(600)).decode()
    doc = ('{"data": [{"a": {"b64_json": "' + one + '"}, "b64_json": "' + one + '"}]}').encode()
    assert read_all(doc, 1 << 20, max_image=1000)[0]["b64_json"] == bytes(600)
    many = ", ".join(f'"k{i}": {{"b64_json": "{one}"}}' for i in range(4000))
    with pytest.raises(ResponseError, match="larger than one image may be"):
        read_all(('{"data": [{' + many + "}]}").encode(), 4096, max_image=1000 * 1000)


def test_a_big_image_waits_in_a_nameless_file_in_the_output_folder(
    cli, httpserver, tmp_path, monkeypatch
):
    monkeypatch.setattr(b64stream, "SPILL", 100)
    monkeypatch.setattr(answers, "SMALL_ANSWER", 0)  # these small images stand for big ones
    opened: list[tuple[Path | None, Any]] = []
    real = b64stream.spill_file

    def spill_file(directory: Path | None) -> Any:
        file = real(directory)
        opened.append((directory, file))
        return file

    monkeypatch.setattr(divert, "spill_file", spill_file)
    pngs = [noisy_png(5), noisy_png(6)]
    httpserver.expect_request(GEN).respond_with_json(
        {"data": [{"b64_json": base64.b64encode(p).decode(), "revised_prompt": "r"} for p in pngs]}
    )
    r = gen(cli, httpserver, tmp_path / "out", "-n", "2")
    assert r.code == 0, r.err
    assert [Path(i["path"]).read_bytes() for i in r.json["images"]] == pngs
    assert [i["revised_prompt"] for i in r.json["images"]] == ["r", "r"]
    assert len(list((tmp_path / "out").iterdir())) == 2  # the spill files had no name
    assert [d for d, _ in opened] == [tmp_path / "out"] * 2
    assert all(f.closed for _, f in opened)


def test_a_spill_file_is_let_go_when_the_answer_fails(cli, httpserver, tmp_path, monkeypatch):
    monkeypatch.setattr(b64stream, "SPILL", 100)
    monkeypatch.setattr(answers, "SMALL_ANSWER", 0)
    monkeypatch.setattr(divert, "READ", 64)
    opened: list[Any] = []
    real = b64stream.spill_file
    monkeypatch.setattr(divert, "spill_file", lambda d: opened.append(real(d)) or opened[-1])
    text = answer_text(B64[:-8] + "!!!!" + B64[-4:])
    httpserver.expect_request(GEN).respond_with_data(text, content_type="application/json")
    r = gen(cli, httpserver, tmp_path)
    assert r.code == ExitCode.NETWORK
    assert list(tmp_path.iterdir()) == []
    assert len(opened) == 1 and opened[0].closed


# -- `--stream`: events read as bytes, the image decoded as its event arrives


def stream_text(newline: str, image: str) -> bytes:
    partial = (
        '{"type": "image_generation.partial_image", "partial_image_index": 0, '
        f'"b64_json": "{SPELLINGS["plain"]}"}}'
    )
    final = (
        '{"type": "image_generation.completed", "created_at": 1700000009,\n'
        f'"b64_json": "{image}", "usage": {json.dumps(USAGE)}}}'
    )
    lines = [
        ": a comment, then an id",
        "id: 1",
        "event: image_generation.partial_image",
        f"data: {partial}",
        "",
        "event: image_generation.completed",
        *(f"data:{line}" for line in final.split("\n")),  # one event, two data lines
        "",
        "data: [DONE]",
        "",
    ]
    return newline.join(lines).encode() + newline.encode()


@pytest.mark.parametrize("read", [3, 1 << 20])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_streamed_image_is_decoded_as_its_event_arrives(
    cli, httpserver, tmp_path, monkeypatch, newline, read
):
    from easyimg.api import sse_bytes

    monkeypatch.setattr(sse_bytes, "READ", read)
    httpserver.expect_request(GEN).respond_with_data(
        stream_text(newline, SPELLINGS["escaped slashes"]), content_type="text/event-stream"
    )
    r = gen(cli, httpserver, tmp_path / "out", "--stream", "--save-partials")
    assert r.code == 0, r.err
    (image,) = r.json["images"]
    final = Path(image["path"])
    assert final.read_bytes() == PNG
    assert r.json["usage"] == USAGE
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted([final.name, f"{final.stem}.partial-1.png"])
    assert (tmp_path / "out" / f"{final.stem}.partial-1.png").read_bytes() == PNG


def test_a_streamed_image_that_is_not_base64_is_exit_5(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_data(
        stream_text("\n", BAD["escaped quote"]), content_type="text/event-stream"
    )
    r = gen(cli, httpserver, tmp_path, "--stream")
    assert r.code == ExitCode.NETWORK
    assert r.err.strip() == "error: an image in the answer is not valid base64"
    assert list(tmp_path.iterdir()) == []
