"""`--stream`: SSE answers read event by event, from crafted streams and the project's server."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer

from easyimg.api.images_stream import StreamReader, read_stream
from easyimg.errors import APIError, ExitCode, NetworkError, ResponseError
from easyimg.generate import GenImage
from easyimg.output import SavedImage
from easyimg.serve.http import start_background

from .conftest import images_answer, make_image

GEN = "/v1/images/generations"
EDITS = "/v1/images/edits"
USAGE = {
    "input_tokens": 10,
    "input_tokens_details": {"text_tokens": 10, "image_tokens": 0},
    "output_tokens": 272,
    "total_tokens": 282,
}
FINAL = make_image("PNG", (64, 48), (10, 200, 30))
ROUGH = [make_image("PNG", (64, 48), (k * 60, 0, 0)) for k in range(3)]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def partial(data: bytes, index: int, kind: str = "image_generation") -> dict[str, Any]:
    return {
        "type": f"{kind}.partial_image",
        "b64_json": b64(data),
        "created_at": 1700000001,
        "size": "1024x1024",
        "quality": "low",
        "background": "opaque",
        "output_format": "png",
        "partial_image_index": index,
    }


def completed(
    data: bytes, usage: dict[str, Any] | None = None, kind: str = "image_generation"
) -> dict[str, Any]:
    return {
        "type": f"{kind}.completed",
        "b64_json": b64(data),
        "created_at": 1700000002,
        "size": "1024x1024",
        "quality": "low",
        "background": "opaque",
        "output_format": "png",
        "usage": usage or USAGE,
    }


def sse(*events: dict[str, Any] | str, named: bool = True) -> str:
    """A text/event-stream body: `event:` and `data:` lines, each event ended by a blank line."""
    out = []
    for event in events:
        if isinstance(event, str):
            out.append(f"data: {event}\n\n")
        else:
            name = f"event: {event['type']}\n" if named else ""
            out.append(f"{name}data: {json.dumps(event)}\n\n")
    return "".join(out)


def serve_stream(httpserver: HTTPServer, body: str, path: str = GEN) -> None:
    httpserver.expect_request(path, method="POST").respond_with_data(
        body, content_type="text/event-stream"
    )


def run_gen(cli, httpserver: HTTPServer, out: Path, *args: str):
    return cli(
        "gen",
        "a fox",
        "--stream",
        "-o",
        str(out),
        "--base-url",
        httpserver.url_for("/v1"),
        "--no-metadata",
        *args,
    )


def listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


# --- crafted streams ------------------------------------------------------------------------


def test_partials_completed_done_write_the_final_image_and_usage(cli, httpserver, tmp_path):
    serve_stream(
        httpserver, sse(partial(ROUGH[0], 0), partial(ROUGH[1], 1), completed(FINAL), "[DONE]")
    )
    r = run_gen(cli, httpserver, tmp_path / "out", "--partial-images", "2", "--json")
    assert r.code == 0, r.err
    ((req, _),) = httpserver.log
    assert json.loads(req.get_data()) == {
        "model": "gpt-image-2",
        "prompt": "a fox",
        "n": 1,
        "stream": True,
        "partial_images": 2,
    }
    doc = r.json
    (image,) = doc["images"]
    assert Path(image["path"]).read_bytes() == FINAL
    assert (image["width"], image["height"], image["format"]) == (64, 48, "png")
    assert doc["usage"] == USAGE
    assert doc["created"] == 1700000002
    # Partials are progress only unless --save-partials asks to keep them.
    assert listing(tmp_path / "out") == [Path(image["path"]).name]


def test_stream_without_event_names_and_with_comments_and_unknown_events(cli, httpserver, tmp_path):
    body = (
        ": keep-alive\n\n"
        + sse({"type": "image_generation.started"}, named=False)
        + sse(partial(ROUGH[0], 0), completed(FINAL), named=False)
    )
    serve_stream(httpserver, body)
    r = run_gen(cli, httpserver, tmp_path)
    assert r.code == 0, r.err
    assert Path(r.out.strip()).read_bytes() == FINAL


def test_save_partials_are_named_after_the_final_image(cli, httpserver, tmp_path):
    serve_stream(
        httpserver,
        sse(
            partial(ROUGH[0], 0),
            partial(ROUGH[1], 1),
            partial(ROUGH[2], 2),
            completed(FINAL),
            "[DONE]",
        ),
    )
    r = run_gen(
        cli,
        httpserver,
        tmp_path,
        "--partial-images",
        "3",
        "--save-partials",
        "-o",
        str(tmp_path / "fox.png"),
    )
    assert r.code == 0, r.err
    assert r.out.splitlines() == [str(tmp_path / "fox.png")]
    assert listing(tmp_path) == [
        "fox.partial-1.png",
        "fox.partial-2.png",
        "fox.partial-3.png",
        "fox.png",
    ]
    for k in range(3):
        assert (tmp_path / f"fox.partial-{k + 1}.png").read_bytes() == ROUGH[k]


def test_partial_names_follow_a_final_name_that_was_taken(cli, httpserver, tmp_path):
    (tmp_path / "fox.png").write_bytes(b"old")
    (tmp_path / "fox-2.partial-1.png").write_bytes(b"older")
    serve_stream(httpserver, sse(partial(ROUGH[0], 0), completed(FINAL)))
    r = run_gen(
        cli,
        httpserver,
        tmp_path,
        "--partial-images",
        "1",
        "--save-partials",
        "-o",
        str(tmp_path / "fox.png"),
    )
    assert r.code == 0, r.err
    assert r.out.splitlines() == [str(tmp_path / "fox-2.png")]
    # Never overwrite: the partial's own name was taken too.
    assert listing(tmp_path) == [
        "fox-2.partial-1-2.png",
        "fox-2.partial-1.png",
        "fox-2.png",
        "fox.png",
    ]
    assert (tmp_path / "fox-2.partial-1.png").read_bytes() == b"older"
    assert (tmp_path / "fox-2.partial-1-2.png").read_bytes() == ROUGH[0]


def test_two_images_in_one_stream_each_keep_their_partials(cli, httpserver, tmp_path):
    other = make_image("PNG", (64, 48), (1, 2, 3))
    serve_stream(
        httpserver,
        sse(
            partial(ROUGH[0], 0), completed(FINAL), partial(ROUGH[1], 0), completed(other), "[DONE]"
        ),
    )
    r = run_gen(
        cli,
        httpserver,
        tmp_path,
        "-n",
        "2",
        "--partial-images",
        "1",
        "--save-partials",
        "-o",
        str(tmp_path / "fox.png"),
        "--json",
    )
    assert r.code == 0, r.err
    assert [Path(i["path"]).name for i in r.json["images"]] == ["fox-1.png", "fox-2.png"]
    assert (tmp_path / "fox-1.partial-1.png").read_bytes() == ROUGH[0]
    assert (tmp_path / "fox-2.partial-1.png").read_bytes() == ROUGH[1]
    # Usage of the completed events adds up to the request's.
    assert r.json["usage"]["total_tokens"] == 2 * USAGE["total_tokens"]


def test_error_event_is_an_api_refusal(cli, httpserver, tmp_path):
    message = "Your request was rejected by the safety system."
    error = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "param": None,
            "code": "moderation_blocked",
            "message": message,
        },
    }
    serve_stream(httpserver, sse(partial(ROUGH[0], 0), error))
    r = run_gen(cli, httpserver, tmp_path / "out", "--partial-images", "1", "--save-partials")
    assert r.code == ExitCode.REFUSED
    assert r.err == (
        "error: API error: Your request was rejected by the safety system. "
        "(code: moderation_blocked)\n"
    )
    assert r.out == ""
    assert listing(tmp_path / "out") == []


def test_server_error_event_exits_5(cli, httpserver, tmp_path):
    error = {"error": {"type": "server_error", "code": None, "message": "The model overheated."}}
    body = f"event: error\ndata: {json.dumps(error)}\n\n"
    serve_stream(httpserver, body)
    r = run_gen(cli, httpserver, tmp_path)
    assert r.code == ExitCode.NETWORK
    assert "error: API error: The model overheated." in r.err


def test_flat_error_event_and_plain_text_error_event(httpserver):
    serve_stream(
        httpserver, sse({"type": "error", "code": "rate_limit_exceeded", "message": "slow down"})
    )
    with pytest.raises(APIError) as info:
        read_url(httpserver)
    assert info.value.api_message == "slow down"
    assert info.value.code == "rate_limit_exceeded"
    assert info.value.exit_code == ExitCode.NETWORK

    httpserver.clear()
    serve_stream(httpserver, "event: error\ndata: upstream exploded\n\n")
    with pytest.raises(APIError) as info:
        read_url(httpserver)
    assert info.value.api_message == "upstream exploded"
    assert info.value.exit_code == ExitCode.REFUSED


def test_json_answer_to_a_stream_request(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN).respond_with_json(images_answer(FINAL, usage=USAGE))
    r = run_gen(cli, httpserver, tmp_path, "--partial-images", "2", "--json")
    assert r.code == 0, r.err
    assert Path(r.json["images"][0]["path"]).read_bytes() == FINAL
    assert r.json["usage"] == USAGE


def test_stream_cut_off_mid_event_exits_5_and_leaves_no_file(cli, httpserver, tmp_path):
    # The completed event never gets its terminating blank line: the connection ended there.
    body = (
        sse(partial(ROUGH[0], 0), partial(ROUGH[1], 1))
        + f"event: image_generation.completed\ndata: {json.dumps(completed(FINAL))}\n"
    )
    serve_stream(httpserver, body)
    out = tmp_path / "out"
    r = run_gen(cli, httpserver, out, "--partial-images", "2", "--save-partials")
    assert r.code == ExitCode.NETWORK
    assert r.err == "error: the event stream was cut off in the middle of an event\n"
    assert r.out == ""
    assert listing(out) == []  # no final image, no partials, no temporary files


def test_stream_cut_off_inside_a_data_line(cli, httpserver, tmp_path):
    serve_stream(httpserver, sse(partial(ROUGH[0], 0)) + 'data: {"type": "image_generation.com')
    r = run_gen(cli, httpserver, tmp_path / "out", "--partial-images", "1", "--save-partials")
    assert r.code == ExitCode.NETWORK
    assert listing(tmp_path / "out") == []


def test_stream_that_ends_without_an_image(cli, httpserver, tmp_path):
    serve_stream(httpserver, sse(partial(ROUGH[0], 0), "[DONE]"))
    r = run_gen(cli, httpserver, tmp_path / "out", "--partial-images", "1", "--save-partials")
    assert r.code == ExitCode.NETWORK
    assert r.err == "error: the stream ended before an image was completed\n"
    assert listing(tmp_path / "out") == []


def test_event_that_is_not_json(cli, httpserver, tmp_path):
    serve_stream(httpserver, "event: image_generation.completed\ndata: {not json\n\n")
    r = run_gen(cli, httpserver, tmp_path)
    assert r.code == ExitCode.NETWORK
    assert "a stream event is not JSON" in r.err


def test_save_partials_needs_stream(cli, tmp_path):
    r = cli("gen", "a fox", "--save-partials", "-o", str(tmp_path), "--offline")
    assert r.code == ExitCode.USAGE
    assert r.err == "error: --save-partials needs --stream\n"


# --- the reader on its own ------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.steps: list[str] = []
        self.saved_paths: list[Path] = []

    def status(self, text: str) -> None:
        self.steps.append(text)

    def saved(self, image: GenImage) -> None:
        self.saved_paths.append(image.saved.path)

    def download(self, done: int, total: int | None) -> None:
        pass


def read_url(httpserver: HTTPServer, reader: Any = None, on_image: Any = None) -> dict[str, Any]:
    resp = requests.post(httpserver.url_for(GEN), json={}, stream=True, timeout=10)
    with resp:
        if reader is not None:
            return reader(resp, on_image)
        return read_stream(resp, on_image or (lambda item, meta: None))


def test_each_partial_is_a_progress_step_and_saved_names_them(httpserver, tmp_path):
    serve_stream(
        httpserver,
        sse(
            partial(ROUGH[0], 0),
            partial(ROUGH[1], 1),
            completed(FINAL),
            partial(ROUGH[2], 0),
            completed(FINAL),
        ),
    )
    rec = Recorder()
    reader = StreamReader(rec, partials=2, images=2, keep=tmp_path)
    items: list[dict[str, Any]] = []

    def on_image(item: dict[str, Any], meta: dict[str, Any]) -> None:
        # What Generation does: write the image, then tell the reporter in this thread.
        path = tmp_path / f"img{len(items) + 1}.png"
        path.write_bytes(b"".join(item["chunks"]))  # decoded as the event streamed in
        items.append(item)
        reader.saved(GenImage(SavedImage(path, "png", 64, 48, len(FINAL))))

    meta = read_url(httpserver, reader, on_image)
    assert rec.steps == [
        "image 1/2: partial 1/2",
        "image 1/2: partial 2/2",
        "image 2/2: partial 1/2",
    ]
    assert rec.saved_paths == [tmp_path / "img1.png", tmp_path / "img2.png"]
    assert meta == {
        "created": 1700000002,
        "usage": {
            **USAGE,
            "input_tokens": 20,
            "input_tokens_details": {"text_tokens": 20, "image_tokens": 0},
            "output_tokens": 544,
            "total_tokens": 564,
        },
    }
    assert "type" not in items[0] and "usage" not in items[0]
    assert listing(tmp_path) == [
        "img1.partial-1.png",
        "img1.partial-2.png",
        "img1.png",
        "img2.partial-1.png",
        "img2.png",
    ]
    assert reader.kept == [
        tmp_path / "img1.partial-1.png",
        tmp_path / "img1.partial-2.png",
        tmp_path / "img2.partial-1.png",
    ]


def test_partials_of_an_image_that_never_completes_are_removed(httpserver, tmp_path):
    serve_stream(httpserver, sse(partial(ROUGH[0], 0), partial(ROUGH[1], 1)))
    reader = StreamReader(Recorder(), partials=2, keep=tmp_path)
    with pytest.raises(ResponseError):
        read_url(httpserver, reader, lambda item, meta: None)
    assert listing(tmp_path) == []


def test_cut_off_stream_raises_network_error(httpserver):
    serve_stream(httpserver, sse(partial(ROUGH[0], 0)) + "data: {\n")
    with pytest.raises(NetworkError):
        read_url(httpserver)


# --- the project's own server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    srv = start_background()
    yield srv
    srv.close()


def test_stream_from_the_project_server(cli, server, tmp_path):
    r = cli(
        "gen",
        "a fox",
        "--stream",
        "--partial-images",
        "2",
        "--save-partials",
        "-n",
        "2",
        "-s",
        "1024x640",
        "-o",
        str(tmp_path / "fox.png"),
        "--base-url",
        server.url,
        "--json",
    )
    assert r.code == 0, r.err
    assert [Path(i["path"]).name for i in r.json["images"]] == ["fox-1.png", "fox-2.png"]
    assert listing(tmp_path) == [
        "fox-1.partial-1.png",
        "fox-1.partial-2.png",
        "fox-1.png",
        "fox-2.partial-1.png",
        "fox-2.partial-2.png",
        "fox-2.png",
    ]
    usage = r.json["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0


def test_edit_stream_from_the_project_server(cli, server, tmp_path):
    src = tmp_path / "in.png"
    src.write_bytes(make_image("PNG", (64, 64)))
    r = cli(
        "edit",
        str(src),
        "-p",
        "add a hat",
        "--stream",
        "--partial-images",
        "1",
        "--save-partials",
        "-s",
        "1024x640",
        "-o",
        str(tmp_path / "hat.png"),
        "--base-url",
        server.url,
    )
    assert r.code == 0, r.err
    assert listing(tmp_path) == ["hat.partial-1.png", "hat.png", "in.png"]


def test_close_removes_partials_still_waiting_and_keeps_no_more(httpserver, tmp_path):
    serve_stream(
        httpserver,
        sse(partial(ROUGH[0], 0), completed(FINAL), partial(ROUGH[1], 0), completed(FINAL)),
    )
    reader = StreamReader(Recorder(), partials=1, images=2, keep=tmp_path)
    finals: list[Path] = []

    def on_image(item: dict[str, Any], meta: dict[str, Any]) -> None:
        # Ctrl-C: the main thread closes the reader while this stream is still being read.
        # The first image's partial is on disk; after that, none is written any more.
        assert len(listing(tmp_path)) == len(finals) + (0 if finals else 1)
        reader.close()
        assert len(listing(tmp_path)) == len(finals)
        finals.append(tmp_path / f"img{len(finals) + 1}.png")
        finals[-1].write_bytes(FINAL)
        reader.saved(GenImage(SavedImage(finals[-1], "png", 64, 48, len(FINAL))))

    read_url(httpserver, reader, on_image)
    assert listing(tmp_path) == ["img1.png", "img2.png"]


def test_lines_split_on_every_ending_even_across_chunks():
    from easyimg.api.limits import Bounds
    from easyimg.api.sse import _lines

    chunks = [b"event: a\r", b"\ndata: x", b"y\r\n\r", b"\ndata: z\rdata: w\n\n", b"tail"]
    assert list(_lines(chunks, Bounds("h"))) == [
        b"event: a",
        b"data: xy",
        b"",
        b"data: z",
        b"data: w",
        b"",
        b"tail",
    ]


def test_a_quota_error_event_is_an_account_problem():
    from easyimg.api.images_stream import stream_error

    err = stream_error(
        {"type": "error", "error": {"code": "insufficient_quota", "message": "m"}}, None
    )
    assert err.exit_code == ExitCode.AUTH
    err = stream_error({"type": "error", "error": {"code": "server_error", "message": "m"}}, None)
    assert err.exit_code == ExitCode.NETWORK
