"""Keys bound to hosts (SPEC §3): which key, if any, each base URL is sent."""

from __future__ import annotations

import tomllib

import pytest
from pytest_httpserver import HTTPServer

from easyimg.config import resolve
from easyimg.keys import key_host

from .conftest import images_answer, make_image

STORED = "sk-stored-abcdefghijklmnop1111"
OTHER = "sk-other-abcdefghijklmnopq2222"
OPENAI = "sk-openai-abcdefghijklmnop3333"
EXPLICIT = "sk-explicit-abcdefghijklmno4444"
GEN = "/v1/images/generations"


@pytest.fixture
def server(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request(GEN, method="POST").respond_with_json(images_answer(make_image()))
    return httpserver


def authorization(httpserver: HTTPServer) -> list[str | None]:
    return [req.headers.get("Authorization") for req, _ in httpserver.log]


def gen(cli, tmp_path, *args: str, env: dict[str, str] | None = None):
    return cli("gen", "a cat", "-o", str(tmp_path), "--no-metadata", *args, env=env)


def test_a_key_stored_for_the_default_host_is_not_sent_to_a_loopback_server(
    cli, server, tmp_path, user_dir
):
    assert cli("login", "--no-verify", stdin=STORED).code == 0
    url = server.url_for("/v1")
    for args, env in (
        (["--base-url", url], None),
        ([], {"EASYIMG_BASE_URL": url}),
    ):
        r = gen(cli, tmp_path, *args, env=env)
        assert r.code == 0, r.err
    (user_dir / "config.toml").write_text(
        f'api_key = "{STORED}"\n[profiles.local]\nbase_url = "{url}"\n'
    )
    assert gen(cli, tmp_path, "--profile", "local").code == 0
    assert authorization(server) == [None, None, None]


def test_login_for_a_loopback_server_sends_the_key_there_only(cli, server, tmp_path, user_dir):
    url = server.url_for("/v1")
    r = cli("login", "--no-verify", "--base-url", url, stdin=STORED)
    assert r.code == 0, r.err
    host = f"localhost:{server.port}"
    assert f"for {host}" in r.err
    data = tomllib.loads((user_dir / "config.toml").read_text())
    assert data == {"api_key": STORED, "api_key_host": host, "base_url": url}
    assert gen(cli, tmp_path).code == 0
    # The same machine on another port is another server: it gets no key.
    other = f"http://localhost:{server.port + 1}/v1"
    assert (
        resolve({"base_url": other}, {"EASYIMG_CONFIG": str(user_dir / "config.toml")}).api_key
        is None
    )
    assert authorization(server) == [f"Bearer {STORED}"]


def test_explicit_keys_go_to_the_base_url_in_effect(cli, server, tmp_path):
    url = server.url_for("/v1")
    assert gen(cli, tmp_path, "--base-url", url, "--api-key", EXPLICIT).code == 0
    env = {"EASYIMG_BASE_URL": url, "EASYIMG_API_KEY": OTHER}
    assert gen(cli, tmp_path, env=env).code == 0
    assert gen(cli, tmp_path, "--api-key", EXPLICIT, env=env).code == 0
    assert authorization(server) == [f"Bearer {EXPLICIT}", f"Bearer {OTHER}", f"Bearer {EXPLICIT}"]


def test_openai_key_never_leaves_openai(cli, server, tmp_path):
    r = gen(cli, tmp_path, "--base-url", server.url_for("/v1"), env={"OPENAI_API_KEY": OPENAI})
    assert r.code == 0, r.err
    assert authorization(server) == [None]


def dry_run(cli, *args: str, env: dict[str, str] | None = None) -> str:
    r = cli("gen", "a cat", "--dry-run", *args, env=env)
    assert r.code == 0, r.err
    auth = [line for line in r.out.splitlines() if line.startswith("Authorization")]
    return auth[0] if auth else ""


def test_openai_key_wins_at_openai_over_a_key_stored_for_another_host(cli, user_dir):
    (user_dir / "config.toml").write_text(f'api_key = "{STORED}"\n')
    openai = ("--base-url", "https://api.openai.com/v1")
    assert dry_run(cli, *openai, env={"OPENAI_API_KEY": OPENAI}) == "Authorization: Bearer sk-…3333"
    # A key stored for OpenAI itself is what the user chose for easyimg: it comes first.
    (user_dir / "config.toml").write_text(
        f'api_key = "{STORED}"\n[profiles.oa]\napi_key = "{OTHER}"\n'
        'base_url = "https://api.openai.com/v1"\n'
    )
    env = {"OPENAI_API_KEY": OPENAI}
    assert dry_run(cli, "--profile", "oa", env=env) == "Authorization: Bearer sk-…2222"
    # The profile's key is for OpenAI; at the default host the top-level key is the one.
    assert dry_run(cli, "--profile", "oa", "--base-url", "https://easyrouter.io/v1") == (
        "Authorization: Bearer sk-…1111"
    )


def test_a_stored_key_goes_only_to_the_host_recorded_with_it(cli, user_dir):
    (user_dir / "config.toml").write_text(
        f'api_key = "{STORED}"\napi_key_host = "router.example"\n'
        'base_url = "https://easyrouter.io/v1"\n'
    )
    assert dry_run(cli, "--base-url", "https://router.example/v1") == (
        "Authorization: Bearer sk-…1111"
    )
    assert dry_run(cli, "--base-url", "https://ROUTER.example:443/v1/") == (
        "Authorization: Bearer sk-…1111"
    )
    assert dry_run(cli) == ""  # easyrouter.io is not the key's host


def test_no_key_for_a_remote_host_names_the_host_and_the_three_ways(cli, user_dir):
    (user_dir / "config.toml").write_text(f'api_key = "{STORED}"\n')
    r = cli("gen", "a cat", "--base-url", "https://api.example.com/v1")
    assert r.code == 3
    assert r.err.count("\n") == 1
    assert r.err.startswith(
        "error: no API key for api.example.com "
        "(the stored key is for easyrouter.io and sent only there); "
    )
    assert "--api-key" in r.err and "EASYIMG_API_KEY" in r.err
    assert "`easyimg login --base-url https://api.example.com/v1`" in r.err
    assert STORED not in r.err
    r = cli("gen", "a cat", "--base-url", "https://api.openai.com/v1")
    assert r.code == 3 and "OPENAI_API_KEY" in r.err


def test_a_remote_host_without_key_sends_nothing(cli, user_dir, server, tmp_path):
    # Sanity check of the default: with no key anywhere, easyrouter.io is refused locally.
    r = cli("gen", "a cat", "-o", str(tmp_path))
    assert r.code == 3
    assert r.err.startswith("error: no API key for easyrouter.io; ")
    assert "`easyimg login`" in r.err
    assert server.log == []


def test_hand_written_profile_key_belongs_to_its_base_url(cli, user_dir):
    (user_dir / "config.toml").write_text(
        f'[profiles.r]\nbase_url = "https://router.example/v1"\napi_key = "{STORED}"\n'
    )
    assert dry_run(cli, "--profile", "r") == "Authorization: Bearer sk-…1111"
    assert dry_run(cli, "--profile", "r", "--base-url", "https://evil.example/v1") == ""
    r = cli("gen", "a cat", "--profile", "r", "--base-url", "https://evil.example/v1")
    assert r.code == 3 and "no API key for evil.example" in r.err


def test_config_show_names_the_host_of_the_key(cli, user_dir):
    assert (
        cli("login", "--no-verify", "--base-url", "https://api.openai.com/v1", stdin=STORED).code
        == 0
    )
    show = cli("config", "show", "--json").json
    assert show["settings"]["api_key"] == "sk-…1111"
    assert show["settings"]["api_key_host"] == "api.openai.com"
    assert show["key_source"].startswith("config file ")


def test_login_records_the_base_url_in_effect(cli, user_dir):
    env = {"EASYIMG_BASE_URL": "https://gateway.example:8443/v1"}
    assert cli("login", "--no-verify", "--profile", "gw", stdin=STORED, env=env).code == 0
    data = tomllib.loads((user_dir / "config.toml").read_text())
    assert data == {"profiles": {"gw": {"api_key": STORED, "api_key_host": "gateway.example:8443"}}}
    r = cli("login", "--no-verify", "--base-url", "https://", stdin=STORED)
    assert r.code == 2 and "no host" in r.err


@pytest.mark.parametrize(
    ("given", "host"),
    [
        ("https://easyrouter.io/v1", "easyrouter.io"),
        ("https://EasyRouter.io:443/v1", "easyrouter.io"),
        ("http://localhost:8000/v1", "localhost:8000"),
        ("http://[::1]:8000/v1", "[::1]:8000"),
        ("http://example.com:80", "example.com"),
        ("https://example.com:80", "example.com:80"),
        ("api.openai.com", "api.openai.com"),
        ("127.0.0.1:9000", "127.0.0.1:9000"),
    ],
)
def test_key_host(given, host):
    assert key_host(given) == host
