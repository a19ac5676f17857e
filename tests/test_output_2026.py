"""SVG answers, C2PA-signed images and the answer checks of the output package."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from easyimg.output import OutputPlan, save_image
from easyimg.output.checks import answer_warnings, has_transparency
from easyimg.output.files import SavedImage
from easyimg.output.provenance import has_c2pa
from easyimg.output.svg import is_svg, svg_size

from .conftest import make_image

NOW = datetime(2026, 12, 1, 12, 0, 0)
TEXT = {"prompt": "a cat", "model": "gpt-image-2", "software": "easyimg test"}
SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- drawn -->\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 360.4"><rect/></svg>\n'
)
# A JUMBF superbox as C2PA embeds it: size, "jumb", then a description box labelled c2pa.
JUMBF = struct.pack(">I", 40) + b"jumb" + struct.pack(">I", 32) + b"jumd" + b"\0" * 16 + b"c2pa\0"


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def split_png(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def signed_png(where: str = "before", padding: int = 0) -> bytes:
    """A PNG carrying a caBX chunk, before its pixels (as signers put it) or at the end."""
    plain = make_image("PNG", (16, 8))
    head, chunks = plain[:8], split_png(plain)
    body = b"".join(chunk(k, d) for k, d in chunks if k != b"IEND")
    ihdr = chunk(*chunks[0])
    rest = body[len(ihdr) :]
    manifest = chunk(b"caBX", JUMBF + bytes(padding))
    if where == "before":
        return head + ihdr + manifest + rest + chunk(b"IEND", b"")
    return head + ihdr + rest + manifest + chunk(b"IEND", b"")


def plan(tmp_path: Path) -> OutputPlan:
    return OutputPlan(tmp_path, "{slug}-{index}.{ext}", stem=None, count=1, overwrite=False)


def save(tmp_path: Path, data: bytes, text: dict[str, str] | None = TEXT, pieces: int = 1):
    step = max(1, len(data) // pieces)
    parts = [data[i : i + step] for i in range(0, len(data), step)]
    return save_image(
        iter(parts), plan(tmp_path), index=1, prompt="a cat", model="m", now=NOW, png_text=text
    )


# --- SVG ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"\xef\xbb\xbf  \n<SVG width='1' height='1'></SVG>",
        b'<?xml version="1.0"?><svg>',
        b'\n<?xml version="1.0"?>\n<!-- a comment --><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"'
        b' "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg>',
    ],
)
def test_svg_is_sniffed(head):
    assert is_svg(head)


@pytest.mark.parametrize(
    "head",
    [
        b"<html><body><svg></svg></body></html>",
        b"<svgx>",
        b'<?xml version="1.0"?><feed/>',
        b"<?xml version='1.0'",  # cut before its end
        b'{"svg": "<svg/>"}',
        b"plain text <svg>",
    ],
)
def test_other_text_is_not_svg(head):
    assert not is_svg(head)


@pytest.mark.parametrize(
    ("head", "size"),
    [
        (b'<svg width="1024" height="640">', (1024, 640)),
        (b"<svg width='300px' height='200.4px' viewBox='0 0 30 20'>", (300, 200)),
        (b'<svg width="100%" height="100%" viewBox="0,0,800,600">', (800, 600)),
        (SVG, (640, 360)),
        (b'<svg width="10cm" height="5cm">', None),
        (b"<svg>", None),
        (b'<svg viewBox="0 0 0 10">', None),
    ],
)
def test_svg_size_from_attributes_or_viewbox(head, size):
    assert svg_size(head) == size


def test_svg_is_written_as_sent_with_its_size(tmp_path):
    saved = save(tmp_path, SVG, pieces=7)
    assert (saved.path.name, saved.format, saved.width, saved.height) == (
        "a-cat-1.svg",
        "svg",
        640,
        360,
    )
    assert saved.path.read_bytes() == SVG  # no metadata goes into the text
    assert saved.bytes == len(SVG) and not saved.c2pa
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-cat-1.svg"]


def test_markup_that_is_not_svg_is_not_an_image(tmp_path):
    from easyimg.errors import ResponseError

    with pytest.raises(ResponseError, match="not an image"):
        save(tmp_path, b"<html><body>busy</body></html>")
    assert list(tmp_path.iterdir()) == []


# --- C2PA --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("where", "padding"), [("before", 0), ("after", 0), ("before", 700_000)])
def test_png_with_a_manifest_is_written_byte_identical(tmp_path, where, padding):
    data = signed_png(where, padding)
    saved = save(tmp_path, data, pieces=3)
    assert saved.c2pa
    assert saved.path.read_bytes() == data
    assert (saved.width, saved.height) == (16, 8)
    assert [p.name for p in tmp_path.iterdir()] == [saved.path.name]  # no temporary file left


def test_png_without_a_manifest_gets_text_chunks(tmp_path):
    data = make_image("PNG", (16, 8))
    saved = save(tmp_path, data)
    assert not saved.c2pa
    kinds = [k for k, _ in split_png(saved.path.read_bytes())]
    assert kinds[:4] == [b"IHDR", b"tEXt", b"tEXt", b"tEXt"]
    assert has_c2pa(saved.path, "png") is False


def jpeg_with_app11(jumbf: bool) -> bytes:
    plain = make_image("JPEG", (16, 8))
    payload = b"JP" + b"\0\x01" + b"\0\0\0\x01" + (JUMBF if jumbf else b"not boxes at all")
    segment = b"\xff\xeb" + struct.pack(">H", len(payload) + 2) + payload
    return plain[:2] + segment + plain[2:]


def test_jpeg_with_app11_jumbf_is_signed(tmp_path):
    signed = save(tmp_path, jpeg_with_app11(True))
    other = save(tmp_path, jpeg_with_app11(False))
    plain = save(tmp_path, make_image("JPEG", (16, 8)))
    assert (signed.c2pa, other.c2pa, plain.c2pa) == (True, False, False)
    assert signed.path.read_bytes() == jpeg_with_app11(True)


def webp_with(kind: bytes, data: bytes) -> bytes:
    plain = make_image("WEBP", (16, 8))
    extra = kind + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    body = plain[12:] + extra
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def test_webp_with_a_c2pa_chunk_is_signed(tmp_path):
    assert save(tmp_path, webp_with(b"C2PA", JUMBF)).c2pa
    assert save(tmp_path, webp_with(b"XMP ", b"<x/>")).c2pa is False


def test_a_hostile_png_chunk_walk_ends(tmp_path):
    data = make_image("PNG", (4, 4))
    bogus = data[:33] + struct.pack(">I", 0xFFFFFFF0) + b"zzzz" + data[33:]
    path = tmp_path / "x.png"
    path.write_bytes(bogus)
    assert has_c2pa(path, "png") is False


# --- answer checks -----------------------------------------------------------------------------


def saved_as(tmp_path: Path, name: str, data: bytes, fmt: str) -> SavedImage:
    path = tmp_path / name
    path.write_bytes(data)
    return SavedImage(path, fmt, None, None, len(data))


def rgba(alpha: int, fmt: str = "PNG") -> bytes:
    img = Image.new("RGBA", (32, 32), (10, 20, 30, 255))
    img.putpixel((5, 5), (10, 20, 30, alpha))
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def test_transparency_is_seen_down_to_one_pixel(tmp_path):
    assert has_transparency(saved_as(tmp_path, "a.png", rgba(0), "png").path, "png")
    assert not has_transparency(saved_as(tmp_path, "b.png", rgba(255), "png").path, "png")
    assert not has_transparency(saved_as(tmp_path, "c.png", make_image(), "png").path, "png")
    assert has_transparency(saved_as(tmp_path, "d.webp", rgba(0, "WEBP"), "webp").path, "webp")


def test_answer_warnings(tmp_path):
    png = saved_as(tmp_path, "a.png", make_image(), "png")
    clear = saved_as(tmp_path, "b.png", rgba(0), "png")
    assert answer_warnings({"output_format": "webp"}, [png]) == [
        "asked for webp, got png (1 image); the server may have ignored output_format"
    ]
    assert answer_warnings({"background": "transparent"}, [png, clear]) == [
        "asked for a transparent background, got no transparent pixel (1 of 2 images); "
        "the server may have ignored background"
    ]
    assert answer_warnings({"output_format": "png", "background": "transparent"}, [clear]) == []
