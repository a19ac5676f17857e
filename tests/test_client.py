"""The retry policy's parts: Retry-After parsing, backoff, the shared gate, error mapping."""

from __future__ import annotations

import email.utils

import pytest
from pytest_httpserver import HTTPServer

from easyimg.api.client import Client, RateGate, backoff, retry_after
from easyimg.errors import APIError, ExitCode, NetworkError, exit_code_for_status


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_retry_after_forms():
    assert retry_after({"retry-after-ms": "250"}) == 0.25
    assert retry_after({"retry-after": "3"}) == 3.0
    date = email.utils.formatdate(1_000_010, usegmt=True)
    assert retry_after({"retry-after": date}, now=lambda: 1_000_000) == 10.0
    assert retry_after({"retry-after": "garbage"}) is None
    assert retry_after({}) is None
    # ms wins over seconds, as in the openai SDK
    assert retry_after({"retry-after-ms": "10", "retry-after": "5"}) == 0.01


def test_backoff_grows_and_is_capped():
    assert backoff(1, rand=lambda: 0) == 0.5
    assert backoff(3, rand=lambda: 0) == 2.0
    assert backoff(20, rand=lambda: 0) == 60.0
    assert 45.0 <= backoff(20, rand=lambda: 1) <= 60.0


def test_gate_holds_everyone_until_reopened():
    clock = FakeClock()
    gate = RateGate(clock=clock.time, sleep=clock.sleep)
    assert gate.wait() == 0
    gate.hold(2.5)
    gate.hold(1.0)  # a shorter hold never shortens a longer one
    assert gate.wait() == pytest.approx(2.5)
    assert gate.wait() == 0


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, ExitCode.REFUSED),
        (401, ExitCode.AUTH),
        (403, ExitCode.AUTH),
        (404, ExitCode.REFUSED),
        (408, ExitCode.NETWORK),
        (429, ExitCode.NETWORK),
        (500, ExitCode.NETWORK),
        (504, ExitCode.NETWORK),
    ],
)
def test_status_to_exit_code(status, code):
    assert exit_code_for_status(status) == code


def test_429_closes_the_shared_gate_and_honours_retry_after(httpserver: HTTPServer):
    clock = FakeClock()
    gate = RateGate(clock=clock.time, sleep=clock.sleep)
    httpserver.expect_ordered_request("/v1/x").respond_with_json(
        {"error": {"message": "slow"}}, status=429, headers={"retry-after": "7"}
    )
    httpserver.expect_ordered_request("/v1/x").respond_with_json({"ok": True})
    client = Client(httpserver.url_for("/v1"), gate=gate, sleep=clock.sleep)
    resp = client.request("POST", "x", json_body={})
    assert resp.status_code == 200
    assert clock.slept == [pytest.approx(7.0)]
    # Another worker sharing the gate now would not wait: the hold has passed.
    assert gate.wait() == 0


def test_server_delay_over_the_wait_cap_ends_at_once(httpserver: HTTPServer):
    clock = FakeClock()
    httpserver.expect_ordered_request("/v1/x").respond_with_data(
        "busy", status=503, headers={"retry-after": "3600"}
    )
    client = Client(
        httpserver.url_for("/v1"),
        sleep=clock.sleep,
        gate=RateGate(clock=clock.time, sleep=clock.sleep),
        max_retry_wait=30,
    )
    with pytest.raises(APIError) as info:
        client.request("POST", "x", json_body={})
    assert clock.slept == [] and len(httpserver.log) == 1
    assert info.value.exit_code == ExitCode.NETWORK
    assert info.value.message == (
        "503 Service Unavailable: busy; the server asks to wait 3600 s before trying again, "
        "longer than easyimg waits (30 s; config key max_retry_wait)"
    )


def test_409_and_408_are_retried_other_4xx_not(httpserver: HTTPServer):
    clock = FakeClock()
    for status in (409, 408):
        httpserver.expect_ordered_request("/v1/x").respond_with_data("", status=status)
    httpserver.expect_ordered_request("/v1/x").respond_with_json({})
    client = Client(
        httpserver.url_for("/v1"),
        sleep=clock.sleep,
        gate=RateGate(clock=clock.time, sleep=clock.sleep),
    )
    client.request("POST", "x", json_body={})
    assert len(httpserver.log) == 3
    httpserver.clear()
    httpserver.expect_request("/v1/y").respond_with_json({"error": {"message": "m"}}, status=413)
    with pytest.raises(APIError) as info:
        client.request("POST", "y", json_body={})
    assert info.value.exit_code == ExitCode.REFUSED and len(httpserver.log) == 1


def test_retry_timeouts_retries_504(httpserver: HTTPServer):
    clock = FakeClock()
    httpserver.expect_ordered_request("/v1/x").respond_with_data("", status=504)
    httpserver.expect_ordered_request("/v1/x").respond_with_json({})
    client = Client(
        httpserver.url_for("/v1"),
        retry_timeouts=True,
        sleep=clock.sleep,
        gate=RateGate(clock=clock.time, sleep=clock.sleep),
    )
    assert client.request("POST", "x", json_body={}).status_code == 200


def test_x_should_retry_true_retries_a_400(httpserver: HTTPServer):
    clock = FakeClock()
    httpserver.expect_ordered_request("/v1/x").respond_with_data(
        "", status=400, headers={"x-should-retry": "true"}
    )
    httpserver.expect_ordered_request("/v1/x").respond_with_json({})
    client = Client(
        httpserver.url_for("/v1"),
        sleep=clock.sleep,
        gate=RateGate(clock=clock.time, sleep=clock.sleep),
    )
    assert client.request("POST", "x", json_body={}).status_code == 200


def test_key_only_sent_to_own_host():
    client = Client("https://api.example.com/v1", "sk-secret")
    assert client.headers_for("https://api.example.com/v1/images") == {
        "Authorization": "Bearer sk-secret"
    }
    assert client.headers_for("https://cdn.example.net/img.png") == {}
    assert client.headers_for("https://api.example.com:8443/v1") == {}


def test_multipart_files_are_rewound_for_a_retry(httpserver: HTTPServer, tmp_path):
    clock = FakeClock()
    bodies: list[bytes] = []

    def handler(request):
        from werkzeug import Response

        bodies.append(request.files["image"].read())
        status = 503 if len(bodies) == 1 else 200
        return Response("{}", status=status, content_type="application/json")

    httpserver.expect_request("/v1/edit").respond_with_handler(handler)
    path = tmp_path / "a.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n-data")
    client = Client(
        httpserver.url_for("/v1"),
        sleep=clock.sleep,
        gate=RateGate(clock=clock.time, sleep=clock.sleep),
    )
    with path.open("rb") as fh:
        client.request("POST", "edit", files={"image": ("a.png", fh, "image/png")})
    assert bodies == [path.read_bytes(), path.read_bytes()]


def test_download_short_read_is_an_error(httpserver: HTTPServer):
    httpserver.expect_request("/img").respond_with_data(b"x" * 10, status=404)
    client = Client(httpserver.url_for("/v1"))
    with pytest.raises(NetworkError, match="404"):
        list(client.download(httpserver.url_for("/img")))


def test_error_message_kept_when_body_was_already_read(httpserver: HTTPServer):
    httpserver.expect_request("/v1/x").respond_with_json(
        {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}, status=401
    )
    client = Client(httpserver.url_for("/v1"))
    with pytest.raises(APIError) as info:
        client.request("GET", "x", stream=False)
    assert info.value.api_message == "Incorrect API key provided"
    assert info.value.code == "invalid_api_key"


def test_a_deadline_ends_with_its_answer_so_a_reused_connection_is_not_shut(
    httpserver: HTTPServer,
):
    from easyimg.api.limits import bounds_of

    httpserver.expect_request("/v1/x").respond_with_json({"ok": True})
    client = Client(httpserver.url_for("/v1"), timeout=30)
    first = client.request("GET", "x")
    deadline = bounds_of(first).deadline
    assert deadline is not None and not deadline.expired
    assert first.json() == {"ok": True}
    first.close()
    # Read to the end, the connection went back to the pool and its deadline with it.
    assert deadline._conn is None and deadline._over
    second = client.request("GET", "x")
    assert bounds_of(second).deadline is not deadline
    assert second.json() == {"ok": True}
    assert len(httpserver.log) == 2


def test_an_api_request_sends_the_same_headers_as_a_session_and_no_cookies(
    httpserver: HTTPServer,
):
    import json

    import requests
    from werkzeug import Response

    httpserver.expect_request("/v1/images/generations").respond_with_response(
        Response('{"data": []}', content_type="application/json", headers={"Set-Cookie": "s=1"})
    )
    client = Client(httpserver.url_for("/v1"), api_key="sk-test-headers", retries=0)
    body = {"model": "gpt-image-2", "prompt": "a cat"}
    for _ in range(2):
        client.request("POST", "images/generations", json_body=body, stream=False).close()
    sent = [req for req, _ in httpserver.log]
    assert len(sent) == 2
    for req in sent:
        assert json.loads(req.get_data()) == body
        headers = {k.lower(): v for k, v in req.headers.items()}
        headers.pop("host")
        assert headers == {
            "user-agent": f"easyimg/{__import__('easyimg').__version__}",
            "accept": "application/json",
            "accept-encoding": requests.utils.default_headers()["Accept-Encoding"],
            "connection": "keep-alive",
            "authorization": "Bearer sk-test-headers",
            "content-type": "application/json",
            "content-length": str(len(req.get_data())),
        }
