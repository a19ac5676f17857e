"""Redirects: API requests are never redirected; image downloads are, without the key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from .conftest import make_image
from .serve_api import QuickServer

KEY = "sk-redirect-abcdefghijklmnop5555"
GEN = "/v1/images/generations"


@pytest.fixture
def elsewhere() -> Iterator[HTTPServer]:
    """Another host: 127.0.0.1, where the API server is `localhost` (and another port)."""
    server = QuickServer(host="127.0.0.1")
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_post_redirected_to_another_host_is_not_followed(
    cli, httpserver, elsewhere, tmp_path, status
):
    target = elsewhere.url_for(GEN)
    httpserver.expect_request(GEN, method="POST").respond_with_response(
        Response(status=status, headers={"Location": target})
    )
    r = cli(
        "gen", "a secret plan", "-o", str(tmp_path), "--api-key", KEY,
        "--base-url", httpserver.url_for("/v1"),
    )  # fmt: skip
    assert r.code == 5
    assert r.err.startswith(
        f"error: POST {httpserver.url_for(GEN)} was redirected ({status}) to {target}: "
        "not followed, it would take the request to another host; "
    )
    assert len(httpserver.log) == 1
    assert elsewhere.log == []
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_on_the_same_host_is_not_followed_either(cli, httpserver, tmp_path):
    httpserver.expect_request(GEN, method="POST").respond_with_response(
        Response(status=307, headers={"Location": "/v2/images/generations"})
    )
    r = cli("gen", "a cat", "-o", str(tmp_path), "--base-url", httpserver.url_for("/v1"))
    assert r.code == 5
    assert f"({307}) to {httpserver.url_for('/v2/images/generations')}: API requests" in r.err
    assert "--base-url" in r.err
    assert len(httpserver.log) == 1


def test_models_redirect_is_exit_5(cli, httpserver, elsewhere):
    httpserver.expect_request("/v1/models").respond_with_response(
        Response(status=302, headers={"Location": elsewhere.url_for("/v1/models")})
    )
    r = cli("models", "--base-url", httpserver.url_for("/v1"), "--api-key", KEY)
    assert r.code == 5 and "redirected (302)" in r.err
    assert elsewhere.log == []


def test_an_image_download_follows_redirects_without_the_key(cli, httpserver, elsewhere, tmp_path):
    png = make_image()
    httpserver.expect_request(GEN, method="POST").respond_with_json(
        {"created": 1, "data": [{"url": httpserver.url_for("/files/cat.png")}]}
    )
    httpserver.expect_request("/files/cat.png").respond_with_response(
        Response(status=302, headers={"Location": elsewhere.url_for("/cdn/cat.png")})
    )
    elsewhere.expect_request("/cdn/cat.png").respond_with_data(png, content_type="image/png")
    r = cli(
        "gen", "a cat", "-o", str(tmp_path), "--no-metadata", "--api-key", KEY,
        "--base-url", httpserver.url_for("/v1"),
    )  # fmt: skip
    assert r.code == 0, r.err
    assert Path(r.out.strip()).read_bytes() == png
    # The API's own host gets the key; the host it redirects to does not.
    assert [req.headers.get("Authorization") for req, _ in httpserver.log] == [f"Bearer {KEY}"] * 2
    assert [req.headers.get("Authorization") for req, _ in elsewhere.log] == [None]
