"""Config file, profiles, `login` and `config path|show|set|unset`."""

from __future__ import annotations

import stat
import tomllib

from easyimg.config import mask_key, resolve

KEY = "sk-login-abcdefgh12345678"


def test_login_from_stdin_writes_0600_file_in_0700_dir(cli, user_dir):
    r = cli("login", stdin=KEY + "\n")
    assert r.code == 0, r.err
    path = user_dir / "config.toml"
    assert tomllib.loads(path.read_text()) == {"api_key": KEY, "api_key_host": "easyrouter.io"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KEY not in r.out + r.err
    assert "saved key sk-…5678 for easyrouter.io" in r.err


def test_login_profile_and_base_url(cli, user_dir):
    assert (
        cli("login", "--profile", "work", "--base-url", "https://api.openai.com/v1", stdin=KEY).code
        == 0
    )
    data = tomllib.loads((user_dir / "config.toml").read_text())
    assert data == {
        "profiles": {
            "work": {
                "api_key": KEY,
                "api_key_host": "api.openai.com",
                "base_url": "https://api.openai.com/v1",
            }
        }
    }
    r = cli("gen", "a cat", "--dry-run", "--profile", "work")
    assert "POST https://api.openai.com/v1/images/generations" in r.out
    assert "Bearer sk-…5678" in r.out


def test_login_rejects_empty_key(cli, user_dir):
    r = cli("login", stdin="\n")
    assert r.code == 2 and r.err.startswith("error: no key given")
    assert not (user_dir / "config.toml").exists()


def test_config_dir_created_0700(cli, tmp_path):
    path = tmp_path / "new" / "dir" / "config.toml"
    r = cli("config", "set", "model", "dall-e-3", env={"EASYIMG_CONFIG": str(path)})
    assert r.code == 0, r.err
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_config_set_unset_show_path(cli, user_dir):
    assert cli("config", "path").out.strip() == str(user_dir / "config.toml")
    assert cli("config", "set", "timeout", "30").code == 0
    assert cli("config", "set", "history", "off").code == 0
    assert cli("config", "set", "size", "1536x1024", "--profile", "wide").code == 0
    data = tomllib.loads((user_dir / "config.toml").read_text())
    assert data == {"timeout": 30.0, "history": False, "profiles": {"wide": {"size": "1536x1024"}}}
    show = cli("config", "show", "--profile", "wide", "--json").json
    assert show["settings"]["size"] == "1536x1024" and show["settings"]["timeout"] == 30.0
    assert cli("config", "unset", "timeout").code == 0
    assert "timeout" not in tomllib.loads((user_dir / "config.toml").read_text())


def test_config_show_masks_key(cli, user_dir):
    (user_dir / "config.toml").write_text(f'api_key = "{KEY}"\n')
    r = cli("config", "show")
    assert r.code == 0
    assert KEY not in r.out
    assert "api_key = sk-…5678" in r.out


def test_config_set_rejects_unknown_key_and_bad_value(cli, user_dir):
    r = cli("config", "set", "colour", "red")
    assert r.code == 2 and "unknown config key 'colour'" in r.err
    r = cli("config", "set", "retries", "many")
    assert r.code == 3 and "retries must be int" in r.err
    assert not (user_dir / "config.toml").exists()


def test_broken_config_file_is_one_error_line(cli, user_dir):
    (user_dir / "config.toml").write_text("model = \n")
    r = cli("gen", "a", "--dry-run")
    assert r.code == 3
    assert r.err.startswith("error: config file") and r.err.count("\n") == 1


def test_env_beats_profile_beats_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('model = "a"\ntimeout = 5\n[profiles.p]\nmodel = "b"\nretries = 1\n')
    env = {"EASYIMG_CONFIG": str(cfg), "EASYIMG_HISTORY": str(tmp_path / "h")}
    assert resolve({}, env).model == "a"
    assert resolve({"profile": "p"}, env).model == "b"
    s = resolve({}, {**env, "EASYIMG_PROFILE": "p", "EASYIMG_MODEL": "c"})
    assert (s.model, s.retries, s.timeout) == ("c", 1, 5.0)
    assert resolve({"model": "d"}, {**env, "EASYIMG_MODEL": "c"}).model == "d"


def test_loopback_needs_no_key(tmp_path):
    env = {"EASYIMG_CONFIG": str(tmp_path / "none.toml")}
    for url in (
        "http://127.0.0.1:9/v1",
        "http://localhost:8000/v1",
        "http://[::1]:8000/v1",
        "http://127.1.2.3/v1",
    ):
        assert not resolve({"base_url": url}, env).needs_key
    assert resolve({"base_url": "https://easyrouter.io/v1"}, env).needs_key


def test_mask_key():
    assert mask_key("sk-abcdefghijklmnop") == "sk-…mnop"
    assert mask_key("short") == "…"
    assert mask_key(None) == "(none)"
