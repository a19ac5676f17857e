"""`easyimg info FILE...` on files easyimg wrote, and on files it did not."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from easyimg.fileinfo import read_info, svg_size
from easyimg.output import png_with_text

from .conftest import make_image


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_info_on_a_png_that_offline_gen_wrote(cli, tmp_path):
    r = cli(
        "gen", "a red fox at dusk", "--offline", "-o", str(tmp_path), "-s", "1024x1024", "-q", "low"
    )
    assert r.code == 0, r.err
    path = r.out.strip()
    doc = cli("info", path, "--json").json
    assert len(doc) == 1
    got = doc[0]
    assert got["path"] == path and got["format"] == "png"
    assert (got["width"], got["height"]) == (1024, 1024)
    assert got["bytes"] == Path(path).stat().st_size
    assert got["prompt"] == "a red fox at dusk" and got["model"] == "gpt-image-2"
    assert got["parameters"] == {
        "model": "gpt-image-2",
        "n": 1,
        "prompt": "a red fox at dusk",
        "quality": "low",
        "size": "1024x1024",
    }
    assert got["software"].startswith("easyimg ") and isinstance(got["created"], int)
    assert got["source"] == "png" and got["sidecar"] is None and got["c2pa"] is False
    text = cli("info", path)
    assert text.code == 0 and text.err == ""
    lines = text.out.splitlines()
    assert lines[0] == path
    assert lines[1].split() == ["format", "png,", "1024x1024,", *lines[1].split()[3:]]
    assert "  prompt      a red fox at dusk" in lines
    assert "  model       gpt-image-2" in lines
    assert "  from        PNG text chunks" in lines


def test_info_on_an_svg_with_its_sidecar(cli, tmp_path):
    svg = tmp_path / "logo.svg"
    svg.write_text(
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 480">'
        "<rect/></svg>"
    )
    body = {"model": "gpt-image-2.6-flare", "prompt": "a logo", "n": 1, "output_format": "svg"}
    (tmp_path / "logo.json").write_text(
        json.dumps(
            {
                "request": {
                    "method": "POST",
                    "url": "http://x/v1/images/generations",
                    "body": body,
                },
                "response": {"created": 1764590000, "data": [{"revised_prompt": "a neat logo"}]},
                "request_id": "req_1",
                "file": "logo.svg",
            }
        )
    )
    doc = cli("info", str(svg), "--json").json[0]
    assert (doc["format"], doc["width"], doc["height"]) == ("svg", 640, 480)
    assert doc["prompt"] == "a logo" and doc["model"] == "gpt-image-2.6-flare"
    assert doc["parameters"] == body and doc["revised_prompt"] == "a neat logo"
    assert doc["created"] == 1764590000
    assert doc["source"] == "sidecar" and doc["sidecar"] == str(tmp_path / "logo.json")
    out = cli("info", str(svg)).out
    assert f"  from        sidecar {tmp_path / 'logo.json'}" in out.splitlines()


def test_info_on_jpeg_without_metadata_and_bad_files(cli, tmp_path):
    jpeg = tmp_path / "photo.jpg"
    jpeg.write_bytes(make_image("JPEG", (30, 20)))
    (tmp_path / "notes.txt").write_text("hello")
    r = cli("info", str(jpeg), str(tmp_path / "notes.txt"), str(tmp_path / "gone.png"))
    assert r.code == 2
    assert r.out.splitlines()[:3] == [
        str(jpeg),
        f"  format      jpeg, 30x20, {jpeg.stat().st_size} B",
        "  metadata    none that easyimg wrote",
    ]
    assert r.err.splitlines() == [
        f"error: {tmp_path / 'notes.txt'} is not an image (PNG, JPEG, WebP, GIF or SVG)",
        f"error: cannot read {tmp_path / 'gone.png'}: no such file",
    ]
    doc = cli("info", str(jpeg), str(tmp_path / "gone.png"), "--json")
    assert doc.code == 2
    assert doc.json[1] == {
        "path": str(tmp_path / "gone.png"),
        "error": f"cannot read {tmp_path / 'gone.png'}: no such file",
    }


def test_png_text_of_every_kind_and_a_c2pa_manifest(tmp_path):
    base = png_with_text(make_image("PNG", (8, 6)), {"prompt": "ein Bär", "model": "m"})
    # zTXt, and text after the image data, and a caBX chunk; IEND stays last.
    ztxt = chunk(b"zTXt", b"software\0\0" + zlib.compress(b"other 1.0"))
    itxt = chunk(b"iTXt", b"created\0\x01\0en\0\0" + zlib.compress(b"1700000000"))
    cabx = chunk(b"caBX", b"jumbf")
    iend = base.rindex(b"IEND") - 4
    path = tmp_path / "a.png"
    path.write_bytes(base[:iend] + ztxt + itxt + cabx + base[iend:])
    got = read_info(path)
    assert (got.width, got.height, got.format) == (8, 6, "png")
    assert got.prompt == "ein Bär" and got.model == "m"
    assert got.software == "other 1.0" and got.created == 1700000000
    assert got.c2pa is True and got.parameters is None
    assert got.request() == {"prompt": "ein Bär", "model": "m"}


def test_svg_size_forms():
    assert svg_size(b'<svg width="100" height="50px">') == (100, 50)
    assert svg_size(b"<svg viewBox='0 0 12.4 7'>") == (12, 7)
    assert svg_size(b'<svg width="50%" viewBox="0,0,30,40">') == (30, 40)
    assert svg_size(b"<svg>") == (None, None)
