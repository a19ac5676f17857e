"""The gallery page: cards from the manifest or metadata, escaping, paths, cached thumbnails."""

from __future__ import annotations

import json
import os
import webbrowser
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from easyimg.batch.manifest import MANIFEST_NAME
from easyimg.gallery import build
from easyimg.gallery.collect import item_cost
from easyimg.gallery.thumbs import THUMBS_DIR
from easyimg.output import png_with_text

from .conftest import Result, make_image

XSS = "<script>alert(1)</script>"


def png(
    prompt: str | None,
    model: str = "gpt-image-2",
    *,
    size: tuple[int, int] = (600, 400),
    created: int = 1767225600,
    color: tuple[int, int, int] = (30, 120, 200),
) -> bytes:
    raw = make_image("PNG", size, color)
    if prompt is None:
        return raw
    params = json.dumps({"model": model, "prompt": prompt, "size": f"{size[0]}x{size[1]}"})
    text = {"prompt": prompt, "model": model, "parameters": params, "created": str(created)}
    return png_with_text(raw, text)


def manifest(directory: Path, *entries: dict[str, Any]) -> None:
    with open(directory / MANIFEST_NAME, "a", encoding="utf-8") as f:
        for e in entries:
            f.write(json.dumps(e) + "\n")


def ok(line: int, name: str, prompt: str, tokens: int = 100, **usage: Any) -> dict[str, Any]:
    return {
        "line": line,
        "key": f"k{line}",
        "status": "ok",
        "files": [name],
        "usage": {
            "input_tokens": 10,
            "output_tokens": tokens - 10,
            "total_tokens": tokens,
            **usage,
        },
        "error": None,
        "prompt": prompt,
        "time": "2026-01-02T03:04:05Z",
    }


def failed(line: int, prompt: str, error: str) -> dict[str, Any]:
    return {
        "line": line,
        "key": f"k{line}",
        "status": "error",
        "files": [],
        "usage": None,
        "error": error,
        "exit_code": 4,
        "prompt": prompt,
        "time": "2026-01-02T03:04:05Z",
    }


def make_batch_folder(directory: Path) -> Path:
    """Three images of a batch (lines 1-3, written out of order), and line 4 failed."""
    directory.mkdir(parents=True, exist_ok=True)
    prompts = {1: "a red fox in snow", 2: XSS, 3: "blue whale, deep sea"}
    models = {1: "gpt-image-2", 2: "gpt-image-2", 3: "dall-e-3"}
    for line in (3, 1, 2):
        name = f"img-{line}.png"
        (directory / name).write_bytes(png(prompts[line], models[line], color=(40 * line, 90, 160)))
        manifest(directory, ok(line, name, prompts[line], cost=0.25 * line))
    manifest(directory, failed(4, "a forbidden thing", 'rejected: "><img src=x onerror=alert(1)>'))
    return directory


class Page(HTMLParser):
    """The parts of the page the tests look at."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cards: list[dict[str, Any]] = []
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.header = ""
        self._in: list[str] = []
        self._field: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        for key in ("src", "href"):
            if a.get(key):
                self.urls.append(a[key])
        if tag == "li" and "c" in a.get("class", "").split():
            self.cards.append({"attrs": a, "p": "", "small": "", "error": "", "img": None})
        elif self.cards and self._open("li"):
            card = self.cards[-1]
            if tag == "img":
                card["img"] = a
            elif tag == "a":
                card["href"] = a["href"]
            elif tag == "p":
                self._field = "error" if a.get("class") == "e" else "p"
            elif tag == "small":
                self._field = "small"
        if tag == "p" and a.get("class") == "tot":
            self._field = "header"
        if tag not in ("img", "meta", "input"):
            self._in.append(tag)

    def _open(self, tag: str) -> bool:
        return tag in self._in

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "small"):
            self._field = None
        if tag in self._in:
            while self._in and self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._field == "header":
            self.header += data
        elif self._field and self.cards:
            self.cards[-1][self._field] += data


def read_page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def test_cards_are_the_manifest_items_in_prompt_file_order(tmp_path: Path) -> None:
    folder = make_batch_folder(tmp_path / "out")
    result = build(folder)
    assert result.page == folder / "index.html"
    page = read_page(result.page)
    assert [c["attrs"]["data-s"] for c in page.cards] == ["ok", "ok", "ok", "error"]
    assert [c["p"] for c in page.cards] == [
        "a red fox in snow",
        XSS,
        "blue whale, deep sea",
        "a forbidden thing",
    ]
    assert [c["small"].split(" \u00b7 ")[0] for c in page.cards] == [
        f"line\u00a0{n}" for n in (1, 2, 3, 4)
    ]
    assert [c["attrs"].get("data-m") for c in page.cards] == [
        "gpt-image-2",
        "gpt-image-2",
        "dall-e-3",
        None,
    ]
    assert [c.get("href") for c in page.cards] == ["img-1.png", "img-2.png", "img-3.png", None]
    # A plain name's command is spelled by the script from the link (the browser test sees it).
    assert not any("data-c" in c["attrs"] for c in page.cards)
    assert page.cards[3]["error"] == 'rejected: "><img src=x onerror=alert(1)>'
    first = page.cards[0]["small"]
    assert "600\u00d7400" in first and "100\u00a0tokens" in first and "$0.2500" in first
    assert "2026\u201101\u201101\u00a000:00\u00a0UTC" in first  # its `created` chunk
    assert page.header.startswith("3 images \u00b7 1 failed \u00b7 300 tokens \u00b7 $1.50")
    assert (result.images, result.failures, result.tokens, result.cost) == (3, 1, 300, 1.5)


def test_prompts_and_errors_are_shown_as_text(tmp_path: Path) -> None:
    folder = make_batch_folder(tmp_path / "out")
    html = build(folder).page.read_text(encoding="utf-8")
    page = Page(html)
    assert page.tags.count("script") == 1  # only the page's own
    assert page.tags.count("img") == 3 + 1  # three thumbnails and the empty lightbox image
    xss = page.cards[1]
    assert xss["p"] == XSS and xss["img"]["alt"] == XSS
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS not in html and "<img src=x" not in html


def test_paths_are_relative_and_stay_inside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (tmp_path / "secret.png").write_bytes(png("outside"))
    (folder / "a cat #1?.png").write_bytes(png("odd name"))
    (folder / "link.png").symlink_to(tmp_path / "secret.png")
    manifest(
        folder,
        ok(1, "a cat #1?.png", "odd name"),
        ok(2, "../secret.png", "climbs out"),
        ok(3, str(tmp_path / "secret.png"), "absolute"),
    )
    page = read_page(build(folder).page)
    assert [c["attrs"]["data-s"] for c in page.cards] == ["ok", "missing", "missing"]
    assert page.cards[0]["href"] == "a%20cat%20%231%3F.png"
    assert page.cards[0]["attrs"]["data-c"] == "easyimg rerun 'a cat #1?.png'"
    for u in page.urls:
        assert ":" not in u and not u.startswith("/") and ".." not in u, u
        assert (folder / u.replace("%20", " ").replace("%23", "#").replace("%3F", "?")).exists()
    assert not any("secret" in u or "link" in u for u in page.urls)


def test_a_page_written_elsewhere_links_back_into_the_folder(tmp_path: Path) -> None:
    folder = make_batch_folder(tmp_path / "runs" / "out")
    target = tmp_path / "pages" / "g.html"
    target.parent.mkdir()
    page = read_page(build(folder, target).page)
    srcs = [c["img"]["src"] for c in page.cards if c["img"]]
    assert all(s.startswith(f"../runs/out/{THUMBS_DIR}/") for s in srcs)
    assert [c.get("href") for c in page.cards][:1] == ["../runs/out/img-1.png"]
    # The command is run where the images are, whatever the page's place.
    assert page.cards[0]["attrs"]["data-c"] == "easyimg rerun img-1.png"
    assert all((target.parent / s).is_file() for s in srcs)
    assert not (folder / "index.html").exists()


def test_thumbnails_are_webp_of_the_right_size(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "wide.png").write_bytes(png("wide", size=(600, 400)))
    (folder / "tall.jpg").write_bytes(make_image("JPEG", (500, 1000)))
    (folder / "small.png").write_bytes(png("small", size=(100, 80)))
    (folder / "alpha.png").write_bytes(make_image("PNG", (512, 512), (0, 0, 0, 0), "RGBA"))
    page = read_page(build(folder).page)
    sizes = {}
    for card in page.cards:
        with Image.open(folder / card["img"]["src"]) as im:
            assert im.format == "WEBP"
            sizes[card["href"]] = (im.size, im.mode)
    assert sizes == {
        "wide.png": ((256, 171), "RGB"),
        "tall.jpg": ((128, 256), "RGB"),
        "small.png": ((100, 80), "RGB"),
        "alpha.png": ((256, 256), "RGBA"),
    }


def test_unchanged_images_keep_their_thumbnails(tmp_path: Path) -> None:
    folder = make_batch_folder(tmp_path / "out")
    first = build(folder)
    thumbs = sorted((folder / THUMBS_DIR).iterdir())
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in thumbs}
    assert (first.thumbs_made, first.thumbs_reused) == (3, 0)

    second = build(folder)
    assert (second.thumbs_made, second.thumbs_reused) == (0, 3)
    after = {
        p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in (folder / THUMBS_DIR).iterdir()
    }
    assert after == before

    # An edited image gets a new thumbnail; the old one goes.
    (folder / "img-2.png").write_bytes(png("changed", size=(300, 300)))
    third = build(folder)
    assert (third.thumbs_made, third.thumbs_reused, third.stale_removed) == (1, 2, 1)
    names = {p.name for p in (folder / THUMBS_DIR).iterdir()}
    assert len(names) == 3 and len(names & set(before)) == 2


def test_a_folder_without_manifest_uses_image_metadata(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "b.png").write_bytes(png("second by time", "gpt-image-1", created=1767225700))
    (folder / "a.png").write_bytes(png("third by time", "gpt-image-2", created=1767225800))
    (folder / "c.jpg").write_bytes(make_image("JPEG", (300, 300)))
    sidecar = {
        "request": {"method": "POST", "body": {"model": "flux", "prompt": "from the sidecar"}},
        "response": {"created": 1767225600, "usage": {"total_tokens": 42}},
        "request_id": "req_1",
        "file": "c.jpg",
    }
    (folder / "c.json").write_text(json.dumps(sidecar))
    os.utime(folder / "c.jpg", (1767225900, 1767225900))
    (folder / "plain.webp").write_bytes(make_image("WEBP", (64, 64)))
    os.utime(folder / "plain.webp", (1767226000, 1767226000))

    result = build(folder)
    page = read_page(result.page)
    assert [c["href"] for c in page.cards] == ["c.jpg", "b.png", "a.png", "plain.webp"]
    assert [c["p"] for c in page.cards] == [
        "from the sidecar",
        "second by time",
        "third by time",
        "plain.webp",  # no metadata: the file name
    ]
    assert [c["attrs"].get("data-m") for c in page.cards] == [
        "flux",
        "gpt-image-1",
        "gpt-image-2",
        None,
    ]
    assert "42\u00a0tokens" in page.cards[0]["small"]
    assert "2026\u201101\u201101\u00a000:01\u00a0UTC" in page.cards[1]["small"]
    assert page.cards[3]["img"]["alt"] == "plain.webp"
    assert (result.images, result.failures, result.tokens) == (4, 0, 42)


@pytest.mark.parametrize(
    ("status", "last_lists_all"),
    [("partial", True), ("error", False)],  # this manifest's lines, and older ones'
)
def test_items_with_several_images_and_reruns(
    tmp_path: Path, status: str, last_lists_all: bool
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    for name in ("x-1.png", "x-2.png"):
        (folder / name).write_bytes(png("three of them"))
    (folder / "x-3.png").write_bytes(png(None))
    part = failed(1, "three of them", "server returned 2 of 3 images")
    part["status"], part["files"] = status, ["x-1.png", "x-2.png"]
    part["usage"] = {"total_tokens": 20}
    rest = ok(1, "x-3.png", "three of them", tokens=10)
    if last_lists_all:
        rest["files"] = ["x-1.png", "x-2.png", "x-3.png"]
    manifest(folder, part, rest)
    page = read_page(build(folder).page)
    assert [c["href"] for c in page.cards] == ["x-1.png", "x-2.png", "x-3.png"]
    assert "30\u00a0tokens for 3\u00a0images" in page.cards[0]["small"]
    assert "tokens" not in page.cards[1]["small"]
    # No `created` chunk: the time the manifest recorded.
    assert page.cards[2]["small"].endswith("2026\u201101\u201102\u00a003:04\u00a0UTC")
    assert page.cards[2]["p"] == "three of them"


def test_a_file_a_rerun_replaced_is_not_reported_missing(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "new-1.png").write_bytes(png("two"))
    (folder / "new-2.png").write_bytes(png("two"))
    part = failed(1, "two", "server returned 1 of 2 images")
    part["status"], part["files"] = "partial", ["deleted-1.png"]
    later = ok(1, "new-1.png", "two")
    later["files"] = ["new-1.png", "new-2.png"]
    manifest(folder, part, later, ok(2, "gone.png", "lost since"))
    page = read_page(build(folder).page)
    assert [(c.get("href"), c["attrs"]["data-s"]) for c in page.cards] == [
        ("new-1.png", "ok"),
        ("new-2.png", "ok"),
        (None, "missing"),
    ]
    assert page.cards[2]["error"] == "not here: gone.png"


def test_a_damaged_image_is_a_card_without_preview(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "broken.png").write_bytes(png("fine")[:60])
    (folder / "good.png").write_bytes(png("fine"))
    result = build(folder)
    html = result.page.read_text(encoding="utf-8")
    assert '<a class="ph" href="broken.png">no preview</a>' in html
    assert (result.images, result.thumbs_made, result.no_preview) == (2, 1, 1)


def test_an_empty_folder_gets_a_page(tmp_path: Path) -> None:
    result = build(tmp_path)
    assert result.cards == 0
    assert "No images in this folder yet." in result.page.read_text(encoding="utf-8")


def test_a_page_easyimg_did_not_write_is_left_alone(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    (tmp_path / "index.html").write_text("<h1>my own page</h1>")
    r = cli("gallery", str(tmp_path))
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(
        f"error: {tmp_path / 'index.html'} exists and was not written by easyimg"
    )
    assert (tmp_path / "index.html").read_text() == "<h1>my own page</h1>"


def test_item_cost_reads_a_cost_the_usage_carries() -> None:
    assert item_cost({"total_tokens": 5, "cost": 0.02}, "gpt-image-2") == 0.02
    assert item_cost({"total_tokens": 5}, "gpt-image-2") is None
    assert item_cost({"cost": "free"}, None) is None
    assert item_cost(None, None) is None


def test_cli_prints_the_page_and_a_summary(tmp_path: Path, cli: Callable[..., Result]) -> None:
    folder = make_batch_folder(tmp_path / "out")
    r = cli("gallery", str(folder))
    assert r.code == 0
    assert r.out == f"{folder / 'index.html'}\n"
    assert r.err.startswith(
        f"gallery {folder / 'index.html'}: 3 images, 1 failed; thumbnails: 3 made, 0 reused ("
    )
    r = cli("gallery", str(folder), "--json")
    doc = json.loads(r.out)
    assert doc["thumbnails"] == {"made": 0, "reused": 3, "unreadable": 0, "removed": 0}
    assert (doc["images"], doc["failures"], doc["tokens"], doc["cost"]) == (3, 1, 300, 1.5)


def test_cli_bad_folder(tmp_path: Path, cli: Callable[..., Result]) -> None:
    r = cli("gallery", str(tmp_path / "nope"))
    assert (r.code, r.out) == (2, "")
    assert r.err == f"error: no such directory: {tmp_path / 'nope'}\n"


@pytest.mark.parametrize(
    ("tty", "env", "opened"),
    [
        (False, {}, False),
        (True, {"CI": "true"}, False),
        (True, {"CI": "0"}, True),
        (True, {}, True),
    ],
)
def test_open_only_at_a_terminal_outside_ci(
    tmp_path: Path,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    tty: bool,
    env: dict[str, str],
    opened: bool,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda u: calls.append(u) or True)
    (tmp_path / "a.png").write_bytes(png("x"))
    r = cli("gallery", str(tmp_path), "--open", tty=tty, env=env)
    assert r.code == 0
    assert calls == ([(tmp_path / "index.html").resolve().as_uri()] if opened else [])


# --- --gallery on the commands that write images ------------------------------------------------


def test_batch_gallery_shows_every_item(tmp_path: Path, cli: Callable[..., Result]) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text(f"a red fox\n# a comment\n{XSS}\nblue whale\n")
    out = tmp_path / "out"
    r = cli(
        "batch",
        str(prompts),
        "--offline",
        "-m",
        "dall-e-2",
        "-s",
        "256x256",
        "-o",
        str(out),
        "--gallery",
    )
    assert r.code == 0, r.err
    assert f"gallery {out / 'index.html'}: 3 images; thumbnails: 3 made, 0 reused" in r.err
    assert str(out / "index.html") not in r.out  # stdout stays the image paths
    page = read_page(out / "index.html")
    assert [c["p"] for c in page.cards] == ["a red fox", XSS, "blue whale"]
    assert [c["small"].split(" \u00b7 ")[0] for c in page.cards] == [
        "line\u00a01",
        "line\u00a03",
        "line\u00a04",
    ]
    assert {c["attrs"]["data-m"] for c in page.cards} == {"dall-e-2"}


def test_remote_batch_fetch_refreshes_the_gallery(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    out = tmp_path / "out"
    args = ("--offline", "-m", "dall-e-2", "-s", "256x256", "-o", str(out), "--gallery")
    r = cli("batch", str(prompts), "--remote", "--wait", *args)
    assert r.code == 0, r.err
    page = read_page(out / "index.html")
    # The manifest's "submitted" line is not an item.
    assert [(c["p"], c["attrs"]["data-s"]) for c in page.cards] == [("one", "ok"), ("two", "ok")]


def test_batch_open_implies_gallery_and_opens_it_on_a_terminal(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda u: calls.append(u) or True)
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\n")
    out = tmp_path / "out"
    r = cli(
        "batch",
        str(prompts),
        "--offline",
        "-m",
        "dall-e-2",
        "-s",
        "256x256",
        "-o",
        str(out),
        "--open",
        tty=True,
    )
    assert r.code == 0, r.err
    assert calls == [(out / "index.html").resolve().as_uri()]


def test_gen_gallery_open_opens_the_page_not_the_files(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    import easyimg.preview

    pages: list[str] = []
    files: list[Path] = []
    monkeypatch.setattr(webbrowser, "open", lambda u: pages.append(u) or True)
    monkeypatch.setattr(easyimg.preview, "open_file", lambda p, **kw: files.append(p))
    out = tmp_path / "out"
    (out).mkdir()
    (out / "old.png").write_bytes(png("made earlier"))
    r = cli("gen", "a cat", "--offline", "-o", str(out), "--gallery", "--open", tty=True)
    assert r.code == 0, r.err
    assert pages == [(out / "index.html").resolve().as_uri()] and files == []
    page = read_page(out / "index.html")
    assert sorted(c["p"] for c in page.cards) == ["a cat", "made earlier"]


def test_a_gallery_that_cannot_be_written_does_not_fail_gen(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    (tmp_path / "index.html").write_text("mine")
    r = cli("gen", "a cat", "--offline", "-o", str(tmp_path), "--gallery")
    assert r.code == 0
    assert len(r.out.splitlines()) == 1
    assert f"warning: gallery not written: {tmp_path / 'index.html'} exists and was not" in r.err
    assert (tmp_path / "index.html").read_text() == "mine"


def test_a_linked_thumbnail_folder_is_refused(tmp_path: Path, cli: Callable[..., Result]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.png").write_bytes(png("x"))
    (folder / THUMBS_DIR).symlink_to(elsewhere)
    r = cli("gallery", str(folder))
    assert r.code == 2
    assert r.err == f"error: {folder / THUMBS_DIR} is a symbolic link; remove it and run again\n"
    assert list(elsewhere.iterdir()) == [] and not (folder / "index.html").exists()
