"""`easyimg edit` and `easyimg vary`: input checks, multipart bodies, end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from urllib3.fields import RequestField
from urllib3.filepost import encode_multipart_formdata
from werkzeug import Request, Response

from easyimg.errors import UsageError
from easyimg.inputs import InputImage, MultipartBody, form_fields, open_input
from easyimg.models import MB
from easyimg.serve.http import start_background

from .conftest import images_answer, make_image

EDITS = "/v1/images/edits"
VARIATIONS = "/v1/images/variations"
DEAD = "http://127.0.0.1:9/v1"  # nothing listens here: a request would fail, not hang


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/v1")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


Part = tuple[str, str | None, str | None, bytes]


def parts(req: Request) -> list[Part]:
    """(field, file name, content type, bytes) of every part, in the order sent."""
    # Parsed again from the raw body: the logged request's own files are closed by now.
    req = Request.from_values(
        data=req.get_data(), content_type=req.headers["Content-Type"], method="POST"
    )
    out: list[Part] = [(k, None, None, v.encode()) for k, v in req.form.items(multi=True)]
    out += [(k, f.filename, f.content_type, f.read()) for k, f in req.files.items(multi=True)]
    return out


def form(req: Request) -> dict[str, str]:
    return {name: data.decode() for name, filename, _, data in parts(req) if filename is None}


def answer_n(request: Request) -> Response:
    n = int(request.form["n"])
    doc = images_answer(*[make_image(color=(i, 9, 9)) for i in range(n)])
    return Response(json.dumps(doc), content_type="application/json")


@pytest.fixture
def pics(tmp_path: Path) -> dict[str, Path]:
    return {
        "png": write(tmp_path / "photo.png", make_image("PNG", (64, 48))),
        "jpg": write(tmp_path / "second.jpg", make_image("JPEG", (64, 48), (9, 90, 200))),
        "webp": write(tmp_path / "third.webp", make_image("WEBP", (32, 32), (50, 50, 50))),
        "mask": write(tmp_path / "mask.png", make_image("PNG", (64, 48), (0, 0, 0, 0), "RGBA")),
        "square": write(tmp_path / "logo.png", make_image("PNG", (32, 32))),
    }


# --- the multipart body ---------------------------------------------------------------------


def test_one_image_is_sent_as_image_with_its_type_and_name(cli, httpserver, pics, tmp_path):
    httpserver.expect_request(EDITS, method="POST").respond_with_handler(answer_n)
    r = cli(
        "edit",
        str(pics["png"]),
        "-p",
        "add a hat",
        "-n",
        "2",
        "-q",
        "low",
        "--input-fidelity",
        "high",
        "-m",
        "gpt-image-1.5",
        "-x",
        "seed=7",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        base(httpserver),
        "--api-key",
        "sk-x",
    )
    assert r.code == 0, r.err
    ((req, _),) = httpserver.log
    assert parts(req) == [
        ("model", None, None, b"gpt-image-1.5"),
        ("prompt", None, None, b"add a hat"),
        ("n", None, None, b"2"),
        ("quality", None, None, b"low"),
        ("input_fidelity", None, None, b"high"),
        ("seed", None, None, b"7"),
        ("image", "photo.png", "image/png", pics["png"].read_bytes()),
    ]
    assert req.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(req.headers["Content-Length"]) == len(req.get_data())
    assert "Transfer-Encoding" not in req.headers
    assert req.headers["Authorization"] == "Bearer sk-x"
    assert len(r.out.splitlines()) == 2


def test_several_images_are_image_brackets_and_mask_last(cli, httpserver, pics, tmp_path):
    httpserver.expect_request(EDITS).respond_with_handler(answer_n)
    # The content type comes from the bytes, not the name: this "PNG" holds a JPEG.
    liar = write(tmp_path / "liar.png", make_image("JPEG", (8, 8)))
    r = cli(
        "edit",
        str(pics["png"]),
        str(pics["jpg"]),
        str(pics["webp"]),
        str(liar),
        "-p",
        "combine",
        "--mask",
        str(pics["mask"]),
        "--stream",
        "--partial-images",
        "0",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err  # a JSON answer to a stream request is read as well
    ((req, _),) = httpserver.log
    assert [(name, fn, ct) for name, fn, ct, _ in parts(req)] == [
        ("model", None, None),
        ("prompt", None, None),
        ("n", None, None),
        ("stream", None, None),
        ("partial_images", None, None),
        ("image[]", "photo.png", "image/png"),
        ("image[]", "second.jpg", "image/jpeg"),
        ("image[]", "third.webp", "image/webp"),
        ("image[]", "liar.png", "image/jpeg"),
        ("mask", "mask.png", "image/png"),
    ]
    assert form(req)["stream"] == "true" and form(req)["partial_images"] == "0"
    assert [p[3] for p in parts(req)][5:] == [
        p.read_bytes() for p in (pics["png"], pics["jpg"], pics["webp"], liar, pics["mask"])
    ]


def sdk_parts(httpserver: HTTPServer, call: str, **kwargs: Any) -> list[Part]:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(api_key="sk-test", base_url=base(httpserver), max_retries=0)
    getattr(client.images, call)(**kwargs)
    req, _ = httpserver.log[-1]
    return parts(req)


def test_same_parts_as_the_openai_sdk(cli, httpserver, pics, tmp_path):
    pytest.importorskip("openai")
    httpserver.expect_request(EDITS).respond_with_handler(answer_n)
    r = cli(
        "edit",
        str(pics["png"]),
        str(pics["jpg"]),
        "-p",
        "add a hat",
        "-n",
        "2",
        "-s",
        "1024x1024",
        "--mask",
        str(pics["mask"]),
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    ours = parts(httpserver.log[-1][0])
    with open(pics["png"], "rb") as a, open(pics["jpg"], "rb") as b, open(pics["mask"], "rb") as m:
        theirs = sdk_parts(
            httpserver,
            "edit",
            image=[a, b],
            mask=m,
            prompt="add a hat",
            n=2,
            size="1024x1024",
            model="gpt-image-2",
        )
    assert sorted(ours) == sorted(theirs)

    r = cli(
        "edit",
        str(pics["png"]),
        "-p",
        "add a hat",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    ours = parts(httpserver.log[-1][0])
    with open(pics["png"], "rb") as a:
        theirs = sdk_parts(
            httpserver, "edit", image=a, prompt="add a hat", n=1, model="gpt-image-2"
        )
    assert sorted(ours) == sorted(theirs)
    assert [p[0] for p in ours if p[1]] == ["image"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks dall-e-2 deprecated
def test_vary_sends_what_the_sdk_sends(cli, httpserver, pics, tmp_path):
    httpserver.expect_request(VARIATIONS).respond_with_handler(answer_n)
    r = cli(
        "vary",
        str(pics["square"]),
        "-n",
        "3",
        "-s",
        "square",
        "-o",
        str(tmp_path / "v"),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    ours = parts(httpserver.log[-1][0])
    assert ours == [
        ("model", None, None, b"dall-e-2"),
        ("n", None, None, b"3"),
        ("size", None, None, b"1024x1024"),
        ("image", "logo.png", "image/png", pics["square"].read_bytes()),
    ]
    # No prompt to name them by: the files are named after the input image.
    assert sorted(Path(p).name.rsplit("-", 1)[0][16:] for p in r.out.splitlines()) == ["logo"] * 3
    with open(pics["square"], "rb") as f:
        theirs = sdk_parts(
            httpserver, "create_variation", image=f, n=3, size="1024x1024", model="dall-e-2"
        )
    assert sorted(ours) == sorted(theirs)


def test_body_is_byte_for_byte_a_standard_multipart_encoding(pics):
    png, _ = open_input(str(pics["png"]))
    jpg, _ = open_input(str(pics["jpg"]))
    fields = form_fields(
        {
            "model": "m",
            "prompt": 'naïve "quoted"',
            "n": 2,
            "stream": True,
            "svg": {"model": "x"},
            "tags": ["a", "b"],
            "skip": None,
        }
    )
    assert fields == [
        ("model", "m"),
        ("prompt", 'naïve "quoted"'),
        ("n", "2"),
        ("stream", "true"),
        ("svg[model]", "x"),
        ("tags[]", "a"),
        ("tags[]", "b"),
    ]
    body = MultipartBody(fields, [("image[]", png), ("image[]", jpg)], boundary="b0und")
    reference = []
    for name, image in (("image[]", png), ("image[]", jpg)):
        field = RequestField(name=name, data=image.path.read_bytes(), filename=image.filename)
        field.make_multipart(content_type=image.content_type)
        reference.append(field)
    expected, content_type = encode_multipart_formdata([*fields, *reference], boundary="b0und")
    assert b"".join(body) == expected
    assert body.content_type == content_type
    assert len(body) == len(expected)
    assert b"".join(body) == expected  # a second pass (a retry) sends it all again


def test_files_stream_in_small_pieces(tmp_path):
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        f.write(make_image())
        f.truncate(3 * MB)  # sparse: cheap to make
    image, _ = open_input(str(big))
    body = MultipartBody([("prompt", "x")], [("image", image)])
    pieces = list(body)
    assert max(len(p) for p in pieces) <= 1 << 16
    assert sum(len(p) for p in pieces) == len(body)


def test_a_file_that_changes_while_sent_is_an_error(pics):
    image, _ = open_input(str(pics["png"]))
    body = MultipartBody([], [("image", image)])
    with open(pics["png"], "ab") as f:
        f.write(b"more")
    with pytest.raises(UsageError, match=r"photo\.png changed while it was being sent"):
        b"".join(body)


def test_a_retry_sends_the_whole_body_again(cli, httpserver, pics, tmp_path):
    httpserver.expect_ordered_request(EDITS).respond_with_json(
        {"error": {"message": "busy"}}, status=503, headers={"retry-after-ms": "0"}
    )
    httpserver.expect_ordered_request(EDITS).respond_with_handler(answer_n)
    r = cli(
        "edit",
        str(pics["png"]),
        "-p",
        "hat",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        base(httpserver),
        "--retries",
        "1",
    )
    assert r.code == 0, r.err
    first, second = (parts(req) for req, _ in httpserver.log)
    assert first == second
    assert first[-1][3] == pics["png"].read_bytes()


def test_many_images_fan_out_into_concurrent_multipart_requests(cli, httpserver, pics, tmp_path):
    httpserver.expect_request(EDITS).respond_with_handler(answer_n)
    r = cli(
        "edit",
        str(pics["png"]),
        str(pics["jpg"]),
        "-p",
        "hat",
        "-n",
        "12",
        "-o",
        str(tmp_path / "out"),
        "--base-url",
        base(httpserver),
    )
    assert r.code == 0, r.err
    assert sorted(int(form(req)["n"]) for req, _ in httpserver.log) == [2, 10]
    for req, _ in httpserver.log:
        assert [p[3] for p in parts(req) if p[1]] == [
            pics["png"].read_bytes(),
            pics["jpg"].read_bytes(),
        ]
    assert len(set(r.out.splitlines())) == 12


# --- prompts --------------------------------------------------------------------------------


def test_prompt_from_stdin_and_from_a_file(cli, httpserver, pics, tmp_path):
    httpserver.expect_request(EDITS).respond_with_handler(answer_n)
    args = ("-o", str(tmp_path / "out"), "--base-url", base(httpserver))
    r = cli("edit", str(pics["png"]), "-p", "-", *args, stdin="a hat\nin red\n")
    assert r.code == 0, r.err
    (tmp_path / "prompt.txt").write_text("from a file ☃\n", encoding="utf-8")
    r = cli("edit", str(pics["png"]), "--prompt-file", str(tmp_path / "prompt.txt"), *args)
    assert r.code == 0, r.err
    assert [form(req)["prompt"] for req, _ in httpserver.log] == ["a hat\nin red", "from a file ☃"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "a prompt is needed: -p TEXT, -p - (read stdin) or --prompt-file FILE"),
        (
            ("-p", "a", "--prompt-file", "p.txt"),
            "give the prompt with -p or --prompt-file, not both",
        ),
        (("--prompt-file", "nope.txt"), "prompt file nope.txt: no such file"),
        (("-p", "  "), "prompt is empty"),
        (("-p", "x", "--partial-images", "2"), "--partial-images needs --stream"),
        (("-p", "x", "--save-partials"), "--save-partials needs --stream"),
        (
            ("-p", "x", "--input-fidelity", "max"),
            "input_fidelity 'max' is not supported by gpt-image-2; allowed: high, low",
        ),
        (
            ("-p", "x", "-m", "dall-e-3"),
            "dall-e-3 cannot edit images; use a GPT image model or dall-e-2",
        ),
    ],
)
def test_edit_usage_errors(cli, pics, args, message):
    r = cli("edit", "photo.png", *args, "--base-url", DEAD, cwd=pics["png"].parent)
    assert (r.code, r.err) == (2, f"error: {message}\n")


# --- input checks ---------------------------------------------------------------------------


def sparse_png(path: Path, size: int, mode: str = "RGB") -> Path:
    with open(path, "wb") as f:
        f.write(make_image("PNG", (32, 32), (1, 2, 3, 0) if mode == "RGBA" else (1, 2, 3), mode))
        f.truncate(size)
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    write(tmp_path / "photo.png", make_image("PNG", (64, 48)))
    write(tmp_path / "photo.jpg", make_image("JPEG", (32, 32)))
    write(tmp_path / "sq.png", make_image("PNG", (32, 32)))
    write(tmp_path / "doc.png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    write(tmp_path / "notes.png", b"just some notes\n")
    write(tmp_path / "page.png", b"<!doctype html><html>")
    write(tmp_path / "empty.png", b"")
    write(tmp_path / "anim.gif", make_image("GIF", (8, 8)))
    write(tmp_path / "broken.png", make_image("PNG", (64, 48), (0, 0, 0, 0), "RGBA")[:20])
    write(tmp_path / "opaque.png", make_image("PNG", (64, 48)))
    write(tmp_path / "small.png", make_image("PNG", (32, 32), (0, 0, 0, 0), "RGBA"))
    write(tmp_path / "mask.jpg", make_image("JPEG", (64, 48)))
    write(tmp_path / "pal.png", _palette_with_transparency((64, 48)))
    sparse_png(tmp_path / "big.png", 50 * MB)
    sparse_png(tmp_path / "four.png", 4 * MB)
    sparse_png(tmp_path / "bigmask.png", 4 * MB, "RGBA")
    (tmp_path / "folder").mkdir()
    return tmp_path


def _palette_with_transparency(size: tuple[int, int]) -> bytes:
    import io

    from PIL import Image

    im = Image.new("P", size, 0)
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=0)
    return buf.getvalue()


EDIT_ERRORS = [
    (["nope.png"], [], "nope.png: no such file"),
    (["folder"], [], "folder is a directory, not an image"),
    (["doc.png"], [], "doc.png is not a PNG, JPEG or WebP image (it looks like a PDF document)"),
    (["notes.png"], [], "notes.png is not a PNG, JPEG or WebP image (it looks like text)"),
    (["page.png"], [], "page.png is not a PNG, JPEG or WebP image (it looks like HTML or XML)"),
    (["empty.png"], [], "empty.png is empty, not an image"),
    (["anim.gif"], [], "anim.gif is not a PNG, JPEG or WebP image (it looks like a GIF image)"),
    (
        ["photo.png", "doc.png"],
        [],
        "doc.png is not a PNG, JPEG or WebP image (it looks like a PDF document)",
    ),
    (["big.png"], [], "big.png is 50.0 MB; gpt-image-2 takes images under 50 MB"),
    (["photo.png"] * 17, [], "17 images given; gpt-image-2 edits at most 16 images at a time"),
    (
        ["sq.png", "sq.png"],
        ["-m", "dall-e-2"],
        "2 images given; dall-e-2 edits at most 1 image at a time",
    ),
    (["four.png"], ["-m", "dall-e-2"], "four.png is 4.0 MB; dall-e-2 takes images under 4 MB"),
    (
        ["photo.jpg"],
        ["-m", "dall-e-2"],
        "photo.jpg is a JPEG image; dall-e-2 edits only square PNG images",
    ),
    (
        ["photo.png"],
        ["-m", "dall-e-2"],
        "photo.png is 64x48; dall-e-2 edits only square PNG images",
    ),
    (["photo.png"], ["--mask", "nomask.png"], "nomask.png: no such file"),
    (
        ["photo.png"],
        ["--mask", "mask.jpg"],
        "the mask mask.jpg is a JPEG image; the mask must be a PNG with an alpha channel",
    ),
    (
        ["photo.png"],
        ["--mask", "notes.png"],
        "the mask notes.png is not a PNG image (it looks like text)",
    ),
    (
        ["photo.png"],
        ["--mask", "opaque.png"],
        "the mask opaque.png has no alpha channel; its transparent pixels mark where to edit",
    ),
    (
        ["photo.png"],
        ["--mask", "small.png"],
        "the mask small.png is 32x32 but photo.png is 64x48; the mask must be the size of the "
        "first image",
    ),
    (
        ["photo.png"],
        ["--mask", "bigmask.png"],
        "the mask bigmask.png is 4.0 MB; masks must be under 4 MB",
    ),
    (
        ["photo.png"],
        ["--mask", "broken.png"],
        "cannot read the image in broken.png (broken or truncated file)",
    ),
]


@pytest.mark.parametrize(("images", "args", "message"), EDIT_ERRORS)
def test_edit_input_errors(cli, bad, images, args, message):
    r = cli("edit", *images, "-p", "x", *args, "--base-url", DEAD, cwd=bad)
    assert (r.code, r.err, r.out) == (2, f"error: {message}\n", "")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(cli, bad):
    (bad / "photo.png").chmod(0)
    r = cli("edit", "photo.png", "-p", "x", "--base-url", DEAD, cwd=bad)
    assert (r.code, r.err) == (2, "error: cannot read photo.png: permission denied\n")


def test_palette_mask_with_transparency_counts_as_alpha(cli, httpserver, bad):
    httpserver.expect_request(EDITS).respond_with_handler(answer_n)
    r = cli(
        "edit",
        "photo.png",
        "-p",
        "x",
        "--mask",
        "pal.png",
        "-o",
        "out",
        "--base-url",
        base(httpserver),
        cwd=bad,
    )
    assert r.code == 0, r.err


def test_no_validate_sends_any_readable_file(cli, httpserver, bad):
    httpserver.expect_request(EDITS).respond_with_handler(answer_n)
    r = cli(
        "edit",
        "notes.png",
        "-p",
        "x",
        "--mask",
        "mask.jpg",
        "-m",
        "router/model",
        "--no-validate",
        "-o",
        "out",
        "--base-url",
        base(httpserver),
        cwd=bad,
    )
    assert r.code == 0, r.err
    files = [p[:3] for p in parts(httpserver.log[0][0]) if p[1]]
    assert files == [
        ("image", "notes.png", "application/octet-stream"),
        ("mask", "mask.jpg", "image/jpeg"),
    ]
    r = cli("edit", "nope.png", "-p", "x", "--no-validate", "--base-url", DEAD, cwd=bad)
    assert (r.code, r.err) == (2, "error: nope.png: no such file\n")


VARY_ERRORS = [
    ("nope.png", "nope.png: no such file"),
    ("photo.jpg", "photo.jpg is a JPEG image; variations need a square PNG image"),
    ("doc.png", "doc.png is not a PNG image (it looks like a PDF document)"),
    ("photo.png", "photo.png is 64x48; variations need a square image"),
    ("four.png", "four.png is 4.0 MB; variations need an image under 4 MB"),
    ("broken.png", "cannot read the image in broken.png (broken or truncated file)"),
]


@pytest.mark.parametrize(("image", "message"), VARY_ERRORS)
def test_vary_input_errors(cli, bad, image, message):
    r = cli("vary", image, "--base-url", DEAD, cwd=bad)
    assert (r.code, r.err, r.out) == (2, f"error: {message}\n", "")


def test_vary_model_rules(cli, bad):
    r = cli("vary", "sq.png", "-m", "gpt-image-2", "--base-url", DEAD, cwd=bad)
    assert (r.code, r.err) == (2, "error: gpt-image-2 cannot make variations; only dall-e-2 can\n")
    r = cli("vary", "sq.png", "-s", "640x640", "--base-url", DEAD, cwd=bad)
    assert r.code == 2 and "size '640x640' is not supported by dall-e-2" in r.err


def test_input_image_facts(pics):
    image, head = open_input(str(pics["webp"]))
    assert image == InputImage(pics["webp"], str(pics["webp"]), "webp", pics["webp"].stat().st_size)
    assert (image.filename, image.content_type) == ("third.webp", "image/webp")
    assert head.startswith(b"RIFF")


# --- dry run and the project's server -------------------------------------------------------


def test_dry_run_shows_the_multipart_request(cli, pics):
    r = cli(
        "edit",
        "photo.png",
        "second.jpg",
        "-p",
        "hat",
        "--mask",
        "mask.png",
        "--dry-run",
        "--api-key",
        "sk-abcdefghijklmnop1234",
        cwd=pics["png"].parent,
    )
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "POST https://easyrouter.io/v1/images/edits",
        "Content-Type: multipart/form-data; boundary=…",
        "User-Agent: easyimg/0.1.0",
        "Authorization: Bearer sk-…1234",
        "",
        "model: gpt-image-2",
        "prompt: hat",
        "n: 1",
        f"image[]: photo.png (image/png, {pics['png'].stat().st_size} B) from photo.png",
        f"image[]: second.jpg (image/jpeg, {pics['jpg'].stat().st_size} B) from second.jpg",
        f"mask: mask.png (image/png, {pics['mask'].stat().st_size} B) from mask.png",
        "",
        "estimated cost: $0.21 (1 image, gpt-image-2, high, 1024x1024)",
        r.out.splitlines()[-1],
    ]
    assert r.out.splitlines()[-1].startswith("basis: gpt-image-2 high 1024x1024: 7,024 output")
    r = cli("vary", "logo.png", "--dry-run", "--json", "-n", "12", cwd=pics["png"].parent)
    assert r.code == 0, r.err
    first, second = r.json["requests"]
    assert first["fields"] == [["model", "dall-e-2"], ["n", "10"]]
    assert second["fields"] == [["model", "dall-e-2"], ["n", "2"]]
    assert first["files"] == [
        {
            "field": "image",
            "filename": "logo.png",
            "content_type": "image/png",
            "bytes": pics["square"].stat().st_size,
            "path": "logo.png",
        }
    ]


@pytest.fixture(scope="module")
def server():
    srv = start_background()
    yield srv
    srv.close()


def test_edit_and_vary_against_the_project_server(cli, server, pics, tmp_path):
    r = cli(
        "edit",
        str(pics["png"]),
        str(pics["jpg"]),
        "-p",
        "add a hat",
        "--mask",
        str(pics["mask"]),
        "-s",
        "1024x640",
        "-o",
        str(tmp_path / "hat.png"),
        "--json",
        "--base-url",
        server.url,
    )
    assert r.code == 0, r.err
    (image,) = r.json["images"]
    assert (Path(image["path"]).name, image["width"], image["height"]) == ("hat.png", 1024, 640)
    assert r.json["usage"]["input_tokens_details"]["image_tokens"] > 0

    r = cli(
        "vary",
        str(pics["square"]),
        "-n",
        "2",
        "-s",
        "256x256",
        "-o",
        str(tmp_path / "v"),
        "--base-url",
        server.url,
    )
    assert r.code == 0, r.err
    assert len(r.out.splitlines()) == 2  # url answers, downloaded
    assert sorted(p.suffix for p in (tmp_path / "v").iterdir()) == [".png", ".png"]


def test_offline_edit(cli, pics, tmp_path):
    r = cli(
        "edit",
        str(pics["webp"]),
        "-p",
        "x",
        "-s",
        "1024x640",
        "-o",
        str(tmp_path / "o"),
        "--offline",
    )
    assert r.code == 0, r.err
    assert "placeholder images from the offline server" in r.err
