"""`login` (checked with GET /models), `logout` and `auth status`."""

from __future__ import annotations

import getpass
import re
import tomllib

import pytest
from pytest_httpserver import HTTPServer

KEY = "sk-login-abcdefgh12345678"
OTHER = "sk-other-abcdefgh87654321"


def test_login_checks_the_key_with_get_models_before_storing_it(cli, user_dir, httpserver):
    base = httpserver.url_for("/v1")
    httpserver.expect_oneshot_request(
        "/v1/models", method="GET", headers={"Authorization": f"Bearer {KEY}"}
    ).respond_with_json({"object": "list", "data": [{"id": "gpt-image-2"}]})
    r = cli("login", "--base-url", base, "--profile", "local", stdin=KEY + "\n")
    assert r.code == 0, r.err
    httpserver.check_assertions()
    assert len(httpserver.log) == 1
    data = tomllib.loads((user_dir / "config.toml").read_text())
    host = f"localhost:{httpserver.port}"
    assert data == {"profiles": {"local": {"api_key": KEY, "api_key_host": host, "base_url": base}}}
    assert r.err == (
        f"saved key sk-…5678 for {host} (profile 'local') in {user_dir / 'config.toml'}\n"
    )
    assert KEY not in r.out + r.err


def test_a_refused_key_is_exit_3_and_not_stored(cli, user_dir, httpserver: HTTPServer):
    httpserver.expect_request("/v1/models").respond_with_json(
        {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}, status=401
    )
    path = user_dir / "config.toml"
    path.write_text("# keep me\n")
    r = cli("login", "--base-url", httpserver.url_for("/v1"), stdin=KEY)
    assert r.code == 3
    assert r.err.startswith(
        f"error: localhost:{httpserver.port} refused the key: 401 Unauthorized: Incorrect API"
    )
    assert "nothing was stored" in r.err and KEY not in r.err
    assert path.read_text() == "# keep me\n"


def test_a_check_that_cannot_be_made_points_to_no_verify(cli, user_dir, httpserver):
    httpserver.expect_request("/v1/models").respond_with_data("no such route", status=404)
    r = cli("login", "--base-url", httpserver.url_for("/v1"), stdin=KEY)
    assert r.code == 4
    assert r.err.startswith("error: could not check the key: 404 Not Found")
    assert r.err.rstrip().endswith("nothing was stored; --no-verify stores it without checking")
    assert not (user_dir / "config.toml").exists()
    r = cli("login", "--base-url", httpserver.url_for("/v1"), "--no-verify", stdin=KEY)
    assert r.code == 0 and len(httpserver.log) == 1


def test_login_checks_against_the_stored_base_url_of_the_profile(cli, user_dir, httpserver):
    base = httpserver.url_for("/v1")
    (user_dir / "config.toml").write_text(f'[profiles.w]\nbase_url = "{base}"\n')
    httpserver.expect_request("/v1/models").respond_with_json({"data": []})
    assert cli("login", "--profile", "w", stdin=KEY).code == 0
    assert [req.path for req, _ in httpserver.log] == ["/v1/models"]


def test_login_with_a_bad_stored_base_url_names_the_file_and_line(cli, user_dir):
    path = user_dir / "config.toml"
    path.write_text('model = "x"\nbase_url = "notaurl"\n')
    r = cli("login", stdin=KEY)
    assert r.code == 3
    assert r.err.startswith(f"error: config file {path}:2: base_url must be an http(s) URL")


def test_login_rejects_a_bad_base_url_flag(cli, user_dir):
    r = cli("login", "--base-url", "notaurl", "--no-verify", stdin=KEY)
    assert r.code == 2 and r.err.startswith("error: --base-url must be an http(s) URL")
    assert not (user_dir / "config.toml").exists()


@pytest.mark.parametrize(("raised", "code"), [(KeyboardInterrupt, 130), (EOFError, 2)])
def test_an_interrupted_prompt_ends_its_line(cli, user_dir, monkeypatch, raised, code):
    def fake_getpass(prompt: str, stream) -> str:
        stream.write(prompt)
        raise raised

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    r = cli("login", tty=True)
    assert r.code == code
    first, second = re.sub(r"\x1b\[[0-9;]*m", "", r.err).splitlines()[:2]
    assert first == "API key (input hidden): "
    assert second.startswith("error: ")
    assert not (user_dir / "config.toml").exists()


def test_logout_removes_the_key_and_keeps_the_rest(cli, user_dir):
    path = user_dir / "config.toml"
    path.write_text(
        f'# mine\napi_key = "{KEY}"\nmodel = "x"\n\n[profiles.w]\napi_key = "{OTHER}"\n'
    )
    r = cli("logout", "--profile", "w")
    assert r.code == 0
    assert r.err == f"removed key sk-…4321 for easyrouter.io (profile 'w') from {path}\n"
    assert path.read_text() == f'# mine\napi_key = "{KEY}"\nmodel = "x"\n\n[profiles.w]\n'
    assert cli("logout").code == 0
    assert path.read_text() == '# mine\nmodel = "x"\n\n[profiles.w]\n'
    r = cli("logout")
    assert r.code == 0 and r.err == f"no key stored for the default settings in {path}\n"
    r = cli("logout", "--profile", "nope")
    assert r.code == 3 and r.err.startswith(f"error: no profile 'nope' in {path}")


def test_auth_status_lists_profile_host_and_masked_key(cli, user_dir):
    (user_dir / "config.toml").write_text(
        f'api_key = "{KEY}"\n'
        f'[profiles.openai]\nbase_url = "https://api.openai.com/v1"\napi_key = "{OTHER}"\n'
        '[profiles.nokey]\nmodel = "x"\n'
    )
    r = cli("auth", "status", env={"OPENAI_API_KEY": "sk-env-abcdefghij0000"})
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "profile\thost\tkey\tfrom",
        "(default)\teasyrouter.io\tsk-…5678\tconfig file",
        "openai\tapi.openai.com\tsk-…4321\tconfig file",
        "-\tapi.openai.com\tsk-…0000\tOPENAI_API_KEY",
    ]
    doc = cli("auth", "status", "--json").json
    assert doc["keys"] == [
        {"profile": None, "host": "easyrouter.io", "key": "sk-…5678", "from": "config file"},
        {"profile": "openai", "host": "api.openai.com", "key": "sk-…4321", "from": "config file"},
    ]
    assert KEY not in r.out and OTHER not in r.out


def test_auth_status_without_keys_is_exit_3(cli, user_dir):
    r = cli("auth", "status")
    assert r.code == 3 and r.out == ""
    assert r.err.startswith("error: no API key stored in") and "easyimg login" in r.err
    r = cli("auth", "status", "--json")
    assert r.code == 3 and r.json["error"]["exit_code"] == 3


def test_logout_removes_the_host_recorded_with_the_key(cli, user_dir):
    path = user_dir / "config.toml"
    path.write_text("# mine\n")
    args = ("--no-verify", "--profile", "r", "--base-url", "https://router.example/v1")
    assert cli("login", *args, stdin=KEY).code == 0
    assert 'api_key_host = "router.example"' in path.read_text()
    r = cli("logout", "--profile", "r")
    assert r.code == 0 and "for router.example (profile 'r')" in r.err
    assert path.read_text() == '# mine\n\n[profiles.r]\nbase_url = "https://router.example/v1"\n'
