"""Tests for easyimg.output: names, sniffing, PNG text chunks and atomic writes."""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import struct
import threading
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from easyimg.errors import OutputError, ResponseError, UsageError
from easyimg.output import (
    DEFAULT_TEMPLATE,
    FORMAT_EXT,
    OutputPlan,
    check_template,
    files,
    image_dimensions,
    plan_output,
    png_with_text,
    render_name,
    save_image,
    sidecar_path,
    slugify,
    sniff_format,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)

NOW = datetime(2024, 5, 6, 7, 8, 9)


def make_image(fmt: str = "PNG", size: tuple[int, int] = (7, 5), color: int = 0) -> bytes:
    im = Image.new("RGB", size, (color % 256, 40, 200))
    im.putpixel((1, 1), (255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def chunks_of(data: bytes) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        found.setdefault(kind, []).append(body)
        pos += 12 + length
    return found


def plan(tmp_path: Path, **kw: object) -> OutputPlan:
    args: dict = {"template": None, "count": 1, "overwrite": False} | kw
    out = args.pop("out", tmp_path)
    return plan_output(out, **args)


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- sniffing and dimensions


@pytest.mark.parametrize(
    "fmt,expected",
    [
        ("PNG", "png"),
        ("JPEG", "jpeg"),
        ("WEBP", "webp"),
        ("GIF", "gif"),
    ],
)
def test_sniff_format(fmt: str, expected: str) -> None:
    assert sniff_format(make_image(fmt)[:12]) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"<html><body>",
        b'{"error": 1}',
        b"RIFF\0\0\0\0WAVE",
        b"GIF90a",
        b"\x89PNX",
    ],
)
def test_sniff_format_rejects_garbage(head: bytes) -> None:
    assert sniff_format(head) is None


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_image_dimensions_from_bytes_and_path(fmt: str, tmp_path: Path) -> None:
    data = make_image(fmt, size=(33, 17))
    path = tmp_path / "x.img"
    path.write_bytes(data)
    assert image_dimensions(data) == (33, 17)
    assert image_dimensions(path) == (33, 17)


def test_image_dimensions_unreadable(tmp_path: Path) -> None:
    assert image_dimensions(b"not an image at all") is None
    assert image_dimensions(tmp_path / "missing.png") is None


# -- slugs and names


@pytest.mark.parametrize(
    "text,expected",
    [
        ("A Cat, in SPACE!", "a-cat-in-space"),
        ("Crème brûlée à la façon", "creme-brulee-a-la-facon"),
        ("Straße in Øresund", "strasse-in-oresund"),
        ("don't stop", "dont-stop"),
        ("", "image"),
        ("猫の絵 !!!", "image-b4d508e2"),  # no ASCII words: a hash, not one shared name
        ("", "image"),
        ("../../etc/passwd", "etc-passwd"),
        ("  --multiple   spaces--  ", "multiple-spaces"),
    ],
)
def test_slugify(text: str, expected: str) -> None:
    assert slugify(text) == expected


def test_slugify_long_prompt_cuts_at_word_boundary() -> None:
    slug = slugify("a watercolor painting of a lighthouse on a rocky cliff at sunset " * 50)
    assert len(slug) <= 48
    assert slug == "a-watercolor-painting-of-a-lighthouse-on-a-rocky"
    assert slugify("x" * 100) == "x" * 48


def test_render_default_template() -> None:
    name = render_name(
        DEFAULT_TEMPLATE, prompt="A cat", index=3, model="gpt-image-2", ext="png", now=NOW
    )
    assert name == "20240506-070809-a-cat-3.png"


def test_render_appends_extension_and_format_specs() -> None:
    assert render_name("{slug}", prompt="cat", index=1, model="m", ext="jpg", now=NOW) == "cat.jpg"
    name = render_name(
        "{model}_{index:03d}.{ext}", prompt="", index=7, model="org/flux.1", ext="webp", now=NOW
    )
    assert name == "org-flux.1_007.webp"


HOSTILE_TEMPLATES = [
    DEFAULT_TEMPLATE,
    "{slug}",
    "../{slug}.{ext}",
    "/etc/{model}",
    "{model}/{slug}/../x",
    "..\\..\\{model}",
    ".{slug}",
    "..",
    "...{ext}",
    "a\x00b\nc{slug}",
    "{model}",
    "{model}.{ext}",
    "CON",
    "x" * 400 + "{slug}",
    "é" * 300,
    " . -{slug}. .",
]
HOSTILE_MODELS = ["org/model", "../../..", "..", "a\\b", "/", "\x00", "x/" * 100, "ok"]


@pytest.mark.parametrize("template", HOSTILE_TEMPLATES)
def test_render_name_is_always_a_plain_file_in_the_directory(template: str, tmp_path: Path) -> None:
    for model in HOSTILE_MODELS:
        for prompt in ["../../etc/passwd", "", "a/b\\c", "\u202e evil"]:
            name = render_name(template, prompt=prompt, index=1, model=model, ext="png", now=NOW)
            assert "/" not in name and "\\" not in name and ".." not in name
            assert not name.startswith(".") and name.endswith(".png")
            assert all(ord(c) >= 32 and c != "\u202e" for c in name)
            assert 4 < len(name.encode()) <= 200
            assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_render_name_truncates_stem_by_utf8_bytes() -> None:
    name = render_name("é" * 300, prompt="", index=1, model="m", ext="webp", now=NOW)
    assert name.endswith(".webp")
    assert len(name.encode()) <= 200
    assert set(name.removesuffix(".webp")) == {"é"}


@pytest.mark.parametrize(
    "template",
    [
        "{foo}",
        "{slug}-{}",
        "{0}",
        "{index.__class__}",
        "{slug[0]}",
        "{slug",
        "{slug}}",
        "{index:{foo}}",
        "{slug:03d}",
        "{slug!x}",
    ],
)
def test_bad_templates_raise_usage_error(template: str) -> None:
    with pytest.raises(UsageError):
        check_template(template)
    with pytest.raises(UsageError):
        render_name(template, prompt="a", index=1, model="m", ext="png", now=NOW)


@pytest.mark.parametrize("template", ["", "...", ".{ext}", "/"])
def test_template_with_empty_result_raises(template: str) -> None:
    with pytest.raises(UsageError, match="empty file name"):
        check_template(template)


def test_unknown_field_message_names_field_and_allowed() -> None:
    with pytest.raises(UsageError, match=r"unknown field \{foo\}.*\{slug\}"):
        check_template("{foo}-{slug}")


# -- plan_output


def test_plan_default_is_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    p = plan_output(None, template=None, count=2, overwrite=False)
    assert p.directory == Path(".")
    assert p.stem is None and p.template == DEFAULT_TEMPLATE


def test_plan_creates_nested_directory(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "c"
    p = plan_output(str(out), template="{slug}", count=1, overwrite=True)
    assert out.is_dir()
    assert (p.directory, p.stem, p.template, p.overwrite) == (out, None, "{slug}", True)


@pytest.mark.parametrize("name", ["cat.png", "cat.JPG", "cat.jpeg", "cat.webp"])
def test_plan_file_name(name: str, tmp_path: Path) -> None:
    p = plan_output(tmp_path / "new" / name, template=None, count=1, overwrite=False)
    assert p.directory == tmp_path / "new" and p.directory.is_dir()
    assert p.stem == "cat"


def test_plan_filename_stem_mode(tmp_path: Path) -> None:
    one = plan_output(tmp_path / "cat.png", template=None, count=1, overwrite=False)
    many = plan_output(tmp_path / "cat.png", template=None, count=3, overwrite=False)
    kw = {"prompt": "x", "model": "m", "now": NOW}
    assert one.filename(index=1, ext="png", **kw) == "cat.png"
    assert one.filename(index=1, ext="webp", **kw) == "cat.webp"  # the bytes decide
    assert many.filename(index=2, ext="png", **kw) == "cat-2.png"
    jpeg = plan_output(tmp_path / "cat.jpeg", template=None, count=1, overwrite=False)
    assert jpeg.filename(index=1, ext="jpg", **kw) == "cat.jpeg"


def test_plan_existing_directory_with_image_suffix_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "shots.png").mkdir()
    p = plan_output(tmp_path / "shots.png", template=None, count=1, overwrite=False)
    assert p.directory == tmp_path / "shots.png" and p.stem is None


def test_plan_trailing_slash_means_directory(tmp_path: Path) -> None:
    p = plan_output(f"{tmp_path}/shots.png/", template=None, count=1, overwrite=False)
    assert p.directory == tmp_path / "shots.png" and p.directory.is_dir()
    assert p.stem is None


def test_plan_existing_regular_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(OutputError, match=r"notes\.txt: not a directory"):
        plan_output(tmp_path / "notes.txt", template=None, count=1, overwrite=False)


def test_plan_path_under_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="not a directory") as info:
        plan_output(tmp_path / "file" / "sub" / "cat.png", template=None, count=1, overwrite=False)
    assert str(tmp_path / "file") in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_plan_read_only_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            plan_output(locked, template=None, count=1, overwrite=False)
        with pytest.raises(OutputError, match="permission denied"):
            plan_output(locked / "sub", template=None, count=1, overwrite=False)
    finally:
        locked.chmod(0o700)


def test_plan_read_only_file_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class RO:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda path: RO())
    with pytest.raises(OutputError, match=re.escape(f"{tmp_path}: read-only file system")):
        plan_output(tmp_path, template=None, count=1, overwrite=False)


def test_plan_validates_template_before_touching_disk(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="foo"):
        plan_output(tmp_path / "new", template="{foo}", count=1, overwrite=False)
    assert not (tmp_path / "new").exists()


# -- PNG text chunks


def test_png_with_text_keeps_pixels_and_idat(tmp_path: Path) -> None:
    data = make_image("PNG", size=(40, 30))
    text = {"prompt": "a café", "model": "gpt-image-2", "revised_prompt": "猫 on a mat ✓"}
    out = png_with_text(data, text)
    path = tmp_path / "t.png"
    path.write_bytes(out)
    with Image.open(path) as im:
        assert im.text == text
        assert im.tobytes() == Image.open(io.BytesIO(data)).tobytes()
    before, after = chunks_of(data), chunks_of(out)
    assert after[b"IDAT"] == before[b"IDAT"]
    assert after[b"tEXt"] and after[b"iTXt"]
    assert out[:33] == data[:33] and out[12:16] == b"IHDR"
    assert out[37:41] == b"tEXt"  # straight after IHDR


def test_png_with_text_leaves_other_data_alone() -> None:
    jpeg = make_image("JPEG")
    assert png_with_text(jpeg, {"prompt": "x"}) == jpeg
    png = make_image("PNG")
    assert png_with_text(png, {}) == png


@pytest.mark.parametrize("key", ["", "k" * 80, "ключ", "a\x00b"])
def test_png_with_text_rejects_bad_keys(key: str) -> None:
    with pytest.raises(ValueError):
        png_with_text(make_image("PNG"), {key: "v"})


# -- save_image


def save(p: OutputPlan, data: bytes | list[bytes], index: int = 1, **kw: object):
    chunks = data if isinstance(data, list) else [data]
    return save_image(chunks, p, index=index, prompt="a cat", model="gpt-image-2", now=NOW, **kw)


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("WEBP", "webp"), ("GIF", "gif")])
def test_save_non_png_is_byte_identical(fmt: str, ext: str, tmp_path: Path) -> None:
    data = make_image(fmt, size=(12, 9))
    saved = save(plan(tmp_path, out=tmp_path / "cat.png"), data, png_text={"prompt": "x"})
    assert saved.path == tmp_path / f"cat.{ext}"
    assert saved.path.read_bytes() == data
    assert (saved.format, saved.width, saved.height, saved.bytes) == (fmt.lower(), 12, 9, len(data))
    assert FORMAT_EXT[saved.format] == ext


def test_save_png_with_text_streams_in_one_byte_pieces(tmp_path: Path) -> None:
    data = make_image("PNG", size=(20, 10))
    text = {"prompt": "a cat", "parameters": '{"n": 1}', "note": "ünïcødé ☃"}
    saved = save(plan(tmp_path), [data[i : i + 1] for i in range(len(data))], png_text=text)
    assert saved.path.name == "20240506-070809-a-cat-1.png"
    assert saved.path.read_bytes() == png_with_text(data, text)
    assert saved.bytes == saved.path.stat().st_size
    with Image.open(saved.path) as im:
        assert im.text == text and im.size == (20, 10)
    assert (saved.width, saved.height, saved.format) == (20, 10, "png")
    assert listing(tmp_path) == [saved.path.name]


@pytest.mark.parametrize("unnamed", [True, False], ids=["unnamed-temp", "named-temp"])
def test_no_final_name_until_complete(tmp_path: Path, monkeypatch, unnamed: bool) -> None:
    from easyimg.output import files

    if unnamed and not files._UNNAMED:
        pytest.skip("no O_TMPFILE here")
    monkeypatch.setattr(files, "_UNNAMED", unnamed)
    data = make_image("PNG", size=(16, 16))
    seen: list[list[str]] = []

    def download():
        yield data[:50]
        seen.append(listing(tmp_path))
        yield data[50:]

    saved = save_image(
        download(), plan(tmp_path, out=tmp_path / "cat.png"), index=1, prompt="", model="m", now=NOW
    )
    assert len(seen) == 1
    if unnamed:
        assert seen[0] == []  # written to a file with no name at all
    else:
        assert len(seen[0]) == 1
        assert seen[0][0].startswith(".easyimg-") and seen[0][0].endswith(".part")
    assert listing(tmp_path) == ["cat.png"] and saved.path.read_bytes() == data


def test_save_accepts_bare_bytes_and_skips_empty_pieces(tmp_path: Path) -> None:
    data = make_image("WEBP")
    saved = save_image(data, plan(tmp_path), index=2, prompt="", model="m", now=NOW)
    assert saved.path.read_bytes() == data
    saved2 = save(plan(tmp_path), [b"", data[:5], b"", data[5:]], index=3)
    assert saved2.path.read_bytes() == data


def test_save_never_overwrites(tmp_path: Path) -> None:
    p = plan(tmp_path, out=tmp_path / "cat.png")
    (tmp_path / "cat.png").write_bytes(b"precious")
    names = [save(p, make_image("PNG", color=i)).path.name for i in range(3)]
    assert names == ["cat-2.png", "cat-3.png", "cat-4.png"]
    assert (tmp_path / "cat.png").read_bytes() == b"precious"


def test_save_never_overwrites_template_names(tmp_path: Path) -> None:
    p = plan(tmp_path, template="{slug}")
    first, second, third = (save(p, make_image("PNG", color=i)) for i in range(3))
    assert [first.path.name, second.path.name, third.path.name] == [
        "a-cat.png",
        "a-cat-2.png",
        "a-cat-3.png",
    ]
    assert first.path.read_bytes() != second.path.read_bytes()


def test_save_overwrite_replaces(tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(b"old")
    data = make_image("PNG")
    saved = save(plan(tmp_path, out=tmp_path / "cat.png", overwrite=True), data)
    assert saved.path == tmp_path / "cat.png"
    assert saved.path.read_bytes() == data
    assert listing(tmp_path) == ["cat.png"]


@pytest.mark.parametrize(
    "body",
    [
        b"<html><head><title>502 Bad Gateway</title></head></html>",
        b'{"error": {"message": "nope"}}',
        b"\x89PN",
    ],
)
def test_save_non_image_raises_and_leaves_nothing(body: bytes, tmp_path: Path) -> None:
    (tmp_path / "keep.png").write_bytes(b"x")
    with pytest.raises(ResponseError) as info:
        save(plan(tmp_path), [body[:3], body[3:]])
    message = str(info.value)
    assert f"server sent {len(body)} bytes that are not an image" in message
    assert repr(body[:5])[:-1] in message and "\n" not in message
    assert listing(tmp_path) == ["keep.png"]


def test_save_empty_input_raises(tmp_path: Path) -> None:
    with pytest.raises(ResponseError, match="empty"):
        save(plan(tmp_path), [])
    with pytest.raises(ResponseError, match="empty"):
        save(plan(tmp_path), [b"", b""])
    assert listing(tmp_path) == []


def test_save_write_error_is_output_error_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    written: list[int] = []

    def full_disk(fd: int, data: bytes) -> int:
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(fd)
        return real_write(fd, data)

    data = make_image("PNG")
    with monkeypatch.context() as m:
        m.setattr(os, "write", full_disk)
        m.setattr(files, "_GATHER", 1)  # each piece its own write
        with pytest.raises(OutputError, match="no space left on device"):
            save(plan(tmp_path), [data[:40], data[40:]])
    assert written  # the first piece did reach the temporary file
    assert listing(tmp_path) == []


def test_save_source_error_propagates_and_cleans_up(tmp_path: Path) -> None:
    def broken():
        yield make_image("PNG")[:40]
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        save_image(broken(), plan(tmp_path), index=1, prompt="", model="m", now=NOW)
    assert listing(tmp_path) == []


def test_save_into_vanished_directory_is_output_error(tmp_path: Path) -> None:
    p = plan(tmp_path, out=tmp_path / "gone")
    (tmp_path / "gone").rmdir()
    with pytest.raises(OutputError, match="no such file or directory"):
        save(p, make_image("PNG"))


def _save_concurrently(p: OutputPlan, count: int) -> list[tuple[Path, bytes]]:
    barrier = threading.Barrier(count)
    results: list[tuple[Path, bytes]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        data = make_image("PNG", color=i)
        barrier.wait()
        try:
            saved = save(p, data)
        except BaseException as e:
            errors.append(e)
            return
        with lock:
            results.append((saved.path, data))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def test_concurrent_saves_never_clobber(tmp_path: Path) -> None:
    results = _save_concurrently(plan(tmp_path, out=tmp_path / "cat.png"), 20)
    paths = {path for path, _ in results}
    assert len(paths) == 20
    assert {p.name for p in paths} == {"cat.png"} | {f"cat-{n}.png" for n in range(2, 21)}
    for path, data in results:
        assert path.read_bytes() == data
    assert listing(tmp_path) == sorted(p.name for p in paths)


def test_concurrent_saves_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_link(src: object, dst: object, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    # An unnamed temporary file that cannot be linked is copied to a named one first.
    monkeypatch.setattr(os, "link", no_link)
    results = _save_concurrently(plan(tmp_path, template="{slug}"), 20)
    assert len({path for path, _ in results}) == 20
    for path, data in results:
        assert path.read_bytes() == data
    assert len(listing(tmp_path)) == 20


# -- atomic text files


def test_write_text_atomic_mode_and_replace(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("old")
    path.chmod(0o644)
    write_text_atomic(path, 'api_key = "sk-1"\n')
    assert path.read_text() == 'api_key = "sk-1"\n'
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert listing(tmp_path) == ["config.toml"]


def test_write_json_atomic(tmp_path: Path) -> None:
    path = tmp_path / "cat.json"
    write_json_atomic(path, {"prompt": "café ☕", "n": 1})
    assert path.read_text(encoding="utf-8") == '{\n  "prompt": "café ☕",\n  "n": 1\n}\n'
    assert listing(tmp_path) == ["cat.json"]


def test_write_bytes_atomic_replaces(tmp_path: Path) -> None:
    path = tmp_path / "partial.png"
    path.write_bytes(b"old")
    write_bytes_atomic(path, b"\x89PNG new")
    assert path.read_bytes() == b"\x89PNG new"
    assert listing(tmp_path) == ["partial.png"]


def test_write_atomic_failure_is_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="missing"):
        write_json_atomic(tmp_path / "missing" / "x.json", {})
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(OutputError, match=r"dir\.json"):
        write_json_atomic(tmp_path / "dir.json", {})
    assert listing(tmp_path) == ["dir.json"]


def test_sidecar_path() -> None:
    assert sidecar_path(Path("out/cat.png")) == Path("out/cat.json")
    assert sidecar_path(Path("out/cat-2.webp")) == Path("out/cat-2.json")


def _temp(directory: Path, data: bytes = b"x") -> Path:
    tmp = directory / f".easyimg-{os.getpid()}-{os.urandom(8).hex()}.part"
    tmp.write_bytes(data)
    return tmp


def test_claims_of_one_name_cost_one_link_each_and_never_overwrite(tmp_path, monkeypatch):
    from easyimg.output import files

    calls: list[str] = []
    real_link = os.link

    def counting_link(src, dst, *args, **kwargs):
        calls.append(os.path.basename(dst))
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(files.os, "link", counting_link)
    paths = [
        files.claim_name(_temp(tmp_path, b"%d" % i), tmp_path, "cat.png", False) for i in range(50)
    ]
    assert [p.name for p in paths] == ["cat.png"] + [f"cat-{n}.png" for n in range(2, 51)]
    assert [p.read_bytes() for p in paths] == [b"%d" % i for i in range(50)]
    # The name itself, then straight to the next free suffix: two links, not one per image.
    calls.clear()
    files.claim_name(_temp(tmp_path), tmp_path, "cat.png", False)
    assert calls == ["cat.png", "cat-51.png"]
    # A name someone else took meanwhile is skipped, not overwritten.
    (tmp_path / "cat-52.png").write_bytes(b"theirs")
    calls.clear()
    got = files.claim_name(_temp(tmp_path, b"ours"), tmp_path, "cat.png", False)
    assert got.name == "cat-53.png" and calls == ["cat.png", "cat-52.png", "cat-53.png"]
    assert (tmp_path / "cat-52.png").read_bytes() == b"theirs"
    # A freed name is used again.
    (tmp_path / "cat.png").unlink()
    assert files.claim_name(_temp(tmp_path, b"new"), tmp_path, "cat.png", False).name == "cat.png"
    assert not list(tmp_path.glob(".easyimg-*"))


def test_claims_without_hard_links_keep_numbering(tmp_path, monkeypatch):
    from easyimg.output import files

    def no_link(src, dst, *args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(files.os, "link", no_link)
    (tmp_path / "dog.png").write_bytes(b"old")
    first = files.claim_name(_temp(tmp_path, b"a"), tmp_path, "dog.png", False)
    second = files.claim_name(_temp(tmp_path, b"b"), tmp_path, "dog.png", False)
    assert (first.name, second.name) == ("dog-2.png", "dog-3.png")
    assert [p.read_bytes() for p in (tmp_path / "dog.png", first, second)] == [b"old", b"a", b"b"]


def test_date_and_time_fields_follow_each_second_and_zone():
    from datetime import timedelta, timezone

    from easyimg.output.names import render_name

    def name(now: datetime) -> str:
        return render_name("{date}-{time}", prompt="", index=1, model="m", ext="png", now=now)

    a = datetime(2026, 12, 2, 23, 59, 59, 10)
    assert name(a) == "20261202-235959.png"
    assert name(a.replace(microsecond=999999)) == "20261202-235959.png"  # the same second
    assert name(a + timedelta(seconds=1)) == "20261203-000000.png"
    utc = a.replace(tzinfo=UTC)
    # The same instant in another zone is another name: its own wall-clock time.
    assert name(utc) == "20261202-235959.png"
    assert name(utc.astimezone(timezone(timedelta(hours=1)))) == "20261203-005959.png"
