"""Proxies from the given environment, resolved once per client, through a real loopback proxy."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pytest_httpserver import HTTPServer

from easyimg.api.client import Client
from easyimg.api.proxies import bypasses, ca_bundle, proxies_of


class Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.seen: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(BaseHTTPRequestHandler):
    """A plain HTTP proxy: records the absolute URL asked for, then forwards the request."""

    server: Proxy

    def _forward(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
        conn.request(self.command, target.path or "/", body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = _forward

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    server = Proxy()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_http_proxy_from_the_given_environment_is_used(httpserver: HTTPServer, proxy) -> None:
    httpserver.expect_request("/v1/models").respond_with_json({"data": []})
    client = Client(httpserver.url_for("/v1"), "sk-test", env={"HTTP_PROXY": proxy.url})
    with client.request("GET", "models") as resp:
        assert resp.json() == {"data": []}
    client.close()
    assert proxy.seen == [f"GET {httpserver.url_for('/v1/models')}"]
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer sk-test"


def test_no_proxy_bypasses_the_proxy_for_its_hosts_only(httpserver: HTTPServer, proxy) -> None:
    httpserver.expect_request("/v1/models").respond_with_json({"data": []})
    httpserver.expect_request("/img.png").respond_with_data(b"png bytes")
    env = {"http_proxy": proxy.url, "NO_PROXY": "127.0.0.1"}
    client = Client(f"http://127.0.0.1:{httpserver.port}/v1", "sk-test", env=env)
    for _ in range(2):
        with client.request("GET", "models"):
            pass
    assert proxy.seen == []
    # Another host (the same server by name) goes through the proxy, without the key.
    other = f"http://localhost:{httpserver.port}/img.png"
    assert b"".join(client.download(other)) == b"png bytes"
    assert b"".join(client.download(other)) == b"png bytes"
    client.close()
    assert proxy.seen == [f"GET {other}", f"GET {other}"]
    assert "Authorization" not in httpserver.log[-1][0].headers


def test_the_process_environment_and_netrc_are_not_read(
    httpserver: HTTPServer, proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login user password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    httpserver.expect_request("/v1/models").respond_with_json({"data": []})
    client = Client(httpserver.url_for("/v1"), None)
    with client.request("GET", "models"):
        pass
    client.close()
    assert proxy.seen == []
    assert "Authorization" not in httpserver.log[0][0].headers


def test_environment_parsing() -> None:
    env = {"HTTP_PROXY": "http://upper:1", "http_proxy": "http://lower:1", "ALL_PROXY": "s:1"}
    assert proxies_of(env) == {"http": "http://lower:1", "all": "s:1"}
    assert proxies_of({"HTTP_PROXY": "http://p:1", "REQUEST_METHOD": "GET"}) == {}
    assert proxies_of({"NO_PROXY": "x", "https_proxy": ""}) == {}
    assert bypasses("http://api.example.com/v1", ".example.com")
    assert bypasses("http://example.com:8080/v1", "example.com")
    assert not bypasses("http://badexample.com/v1", "example.com")
    assert bypasses("http://10.1.2.3/v1", "10.0.0.0/8")
    assert not bypasses("http://11.1.2.3/v1", "10.0.0.0/8, localhost")
    assert bypasses("http://any.host/", "*")
    assert ca_bundle({"CURL_CA_BUNDLE": "/c.pem"}) == "/c.pem"
    assert ca_bundle({"REQUESTS_CA_BUNDLE": "/r.pem", "CURL_CA_BUNDLE": "/c.pem"}) == "/r.pem"
    assert ca_bundle({}) is True
