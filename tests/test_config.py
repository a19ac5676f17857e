"""Config file, profiles, `login` and `config path|show|set|unset`."""

from __future__ import annotations

import json
import re
import stat
import tomllib

import pytest

from easyimg.config import KEYS, mask_key, resolve

KEY = "sk-login-abcdefgh12345678"


def test_login_from_stdin_writes_0600_file_in_0700_dir(cli, user_dir):
    r = cli("login", "--no-verify", stdin=KEY + "\n")
    assert r.code == 0, r.err
    path = user_dir / "config.toml"
    assert tomllib.loads(path.read_text()) == {"api_key": KEY, "api_key_host": "easyrouter.io"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KEY not in r.out + r.err
    assert "saved key sk-…5678 for easyrouter.io" in r.err


def test_login_profile_and_base_url(cli, user_dir):
    assert (
        cli(
            "login",
            "--no-verify",
            "--profile",
            "work",
            "--base-url",
            "https://api.openai.com/v1",
            stdin=KEY,
        ).code
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
    assert data == {"timeout": 30, "history": False, "profiles": {"wide": {"size": "1536x1024"}}}
    show = cli("config", "show", "--profile", "wide", "--json").json
    assert show["settings"]["size"] == "1536x1024" and show["settings"]["timeout"] == 30.0
    assert cli("config", "unset", "timeout").code == 0
    assert "timeout" not in tomllib.loads((user_dir / "config.toml").read_text())


def test_config_show_masks_key(cli, user_dir):
    (user_dir / "config.toml").write_text(f'api_key = "{KEY}"\n')
    r = cli("config", "show")
    assert r.code == 0
    assert KEY not in r.out
    assert re.search(r"^api_key += sk-…5678 +\(file\)$", r.out, re.M)


def test_config_set_rejects_unknown_key_and_bad_value(cli, user_dir):
    r = cli("config", "set", "colour", "red")
    assert r.code == 2 and "unknown config key 'colour'" in r.err
    r = cli("config", "set", "retries", "many")
    assert r.code == 2 and "retries must be a whole number, not 'many'" in r.err
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


# --- values are checked by the rules the flags use -------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("jobs", "0", "jobs must be at least 1, not 0"),
        ("timeout", "-1", "timeout must be more than 0 seconds, not -1"),
        ("timeout", "nan", "timeout must be a number, not 'nan'"),
        ("retries", "-2", "retries must be 0 or more, not -2"),
        ("base_url", "notaurl", "base_url must be an http(s) URL"),
        ("base_url", "http://[::1", "base_url must be an http(s) URL"),
        ("timeout", "inf", "timeout must be a number, not 'inf'"),
        ("size", "12x12", "size '12x12' for gpt-image-2: width and height must both be divisible"),
        ("size", "huge", "size 'huge' is not WxH, auto, square, landscape or portrait"),
        ("quality", "ultra", "quality 'ultra' is not supported by gpt-image-2"),
        ("format", "bmp", "output_format 'bmp' is not supported by gpt-image-2"),
        ("name", "{nope}", "unknown field {nope} in name template '{nope}'"),
        ("history", "maybe", "history must be true or false, not 'maybe'"),
        ("max_image_mb", "0", "max_image_mb must be more than 0, not 0"),
        ("max_retry_wait", "-5", "max_retry_wait must be 0 or more seconds, not -5"),
    ],
)
def test_config_set_refuses_what_the_flag_refuses(cli, user_dir, key, value, message):
    path = user_dir / "config.toml"
    path.write_text("# mine\n")
    r = cli("config", "set", key, value)
    assert r.code == 2, r.err
    assert r.err.startswith("error: ") and message in r.err and r.err.count("\n") == 1
    assert path.read_text() == "# mine\n"


def test_config_set_checks_a_size_against_the_tables_model(cli, user_dir):
    assert cli("config", "set", "model", "dall-e-3", "--profile", "old").code == 0
    assert cli("config", "set", "size", "1792x1024", "--profile", "old").code == 0
    r = cli("config", "set", "size", "1536x1024", "--profile", "old")
    assert r.code == 2 and "size '1536x1024' is not supported by dall-e-3" in r.err
    # An id the rule table does not know (a router's) gets the generic checks only.
    assert cli("config", "set", "model", "flux-pro", "--profile", "router").code == 0
    assert cli("config", "set", "size", "1000x700", "--profile", "router").code == 0
    data = tomllib.loads((user_dir / "config.toml").read_text())
    assert data["profiles"] == {
        "old": {"model": "dall-e-3", "size": "1792x1024"},
        "router": {"model": "flux-pro", "size": "1000x700"},
    }


def test_config_set_model_warns_about_a_size_it_cannot_make(cli, user_dir):
    assert cli("config", "set", "size", "1536x1024").code == 0
    r = cli("config", "set", "model", "dall-e-3")
    assert r.code == 0
    assert "warning: the size already set does not suit it: size '1536x1024'" in r.err
    assert tomllib.loads((user_dir / "config.toml").read_text())["model"] == "dall-e-3"


def test_a_bad_value_in_the_file_stops_only_commands_that_read_it(cli, user_dir, tmp_path):
    path = user_dir / "config.toml"
    path.write_text('# work\nmodel = "gpt-image-2"\nbase_url = "notaurl"\ntimeout = 30\n')
    r = cli("gen", "a cat", "--dry-run")
    assert r.code == 3 and r.out == ""
    assert r.err == (
        f"error: config file {path}:3: base_url must be an http(s) URL such as "
        "https://easyrouter.io/v1, not 'notaurl'; change it with `easyimg config set base_url "
        "VALUE` or remove it with `easyimg config unset base_url`\n"
    )
    # --offline never reads the base URL; a flag or variable replaces the bad value.
    r = cli("gen", "a cat", "--offline", "-o", str(tmp_path))
    assert r.code == 0, r.err
    assert len(list(tmp_path.glob("*.png"))) == 1
    r = cli("gen", "a cat", "--dry-run", "--base-url", "http://127.0.0.1:9/v1")
    assert r.code == 0 and "POST http://127.0.0.1:9/v1/images/generations" in r.out
    assert cli("config", "get", "timeout").out == "30\n"
    # ...and `config unset` repairs the file without tripping over it.
    assert cli("config", "unset", "base_url").code == 0
    assert path.read_text() == '# work\nmodel = "gpt-image-2"\ntimeout = 30\n'
    assert cli("gen", "a cat", "--dry-run", "--api-key", "sk-x").code == 0


def test_a_bad_value_in_a_profile_names_its_table_and_line(cli, user_dir):
    path = user_dir / "config.toml"
    path.write_text('[profiles.work]\nmodel = "gpt-image-2"\njobs = 0\n')
    r = cli("config", "get", "jobs", "--profile", "work")
    assert r.code == 3
    assert r.err.startswith(
        f"error: config file {path}:3: [profiles.work] jobs must be at least 1, not 0; "
        "change it with `easyimg config set jobs VALUE --profile work`"
    )
    assert cli("config", "get", "model", "--profile", "work").out == "gpt-image-2\n"
    assert cli("config", "get", "jobs").out == "4\n"


def test_a_bad_environment_value_names_the_variable(cli):
    r = cli("config", "get", "jobs", env={"EASYIMG_JOBS": "0"})
    assert r.code == 3
    assert r.err == "error: EASYIMG_JOBS='0': jobs must be at least 1, not 0\n"


def test_a_bad_flag_is_a_usage_error_naming_the_flag(cli):
    r = cli("gen", "a cat", "--dry-run", "--timeout", "-1")
    assert r.code == 2
    assert r.err.startswith("error: --timeout must be more than 0 seconds, not -1")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('model = "x"\n[profiles]\nfoo = 1\n', 3),
        ('profiles.foo = "x"\n', 1),
        ('[profiles]\nwork = { model = "x" }\nfoo = [1, 2]\n', 3),
    ],
)
def test_a_malformed_profile_is_exit_3_with_file_and_line(cli, user_dir, text, line):
    path = user_dir / "config.toml"
    path.write_text(text)
    for args in (
        ("gen", "a", "--dry-run", "--profile", "foo"),
        ("config", "set", "model", "y", "--profile", "foo"),
        ("config", "unset", "model", "--profile", "foo"),
        ("logout", "--profile", "foo"),
    ):
        r = cli(*args)
        assert r.code == 3, (args, r.err)
        assert r.err.startswith(f"error: config file {path}:{line}: profile 'foo' must be a table")
        assert "unexpected" not in r.err
    assert path.read_text() == text
    # The commands that do not use the profile still run.
    assert cli("config", "get", "timeout").out == "600\n"


def test_profiles_that_is_not_a_table(cli, user_dir):
    path = user_dir / "config.toml"
    path.write_text('model = "x"\nprofiles = 3\n')
    r = cli("config", "show", "--profile", "a")
    assert r.code == 3
    assert r.err.startswith(f"error: config file {path}:2: profiles must be a table")


def test_unknown_key_in_a_profile_can_be_unset(cli, user_dir):
    path = user_dir / "config.toml"
    path.write_text('[profiles.w]\nmodle = "dall-e-3"\n')
    r = cli("gen", "a", "--dry-run", "--profile", "w")
    assert r.code == 3
    assert f"config file {path}:2: [profiles.w] unknown key 'modle'" in r.err
    assert cli("config", "unset", "modle", "--profile", "w").code == 0
    assert tomllib.loads(path.read_text()) == {"profiles": {"w": {}}}


# --- round trips keep the file as the user wrote it --------------------------------------------

HAND_WRITTEN = """\
# easyimg settings, by hand
model = "gpt-image-2"   # the default, spelled out

# slow proxy at work
timeout = 900

[prices."gpt-image-2"]
output = 30.0

[profiles.work]
# the office router
base_url = "https://router.example/v1"
"""


def test_set_and_unset_keep_comments_blank_lines_and_order(cli, user_dir):
    path = user_dir / "config.toml"
    path.write_text(HAND_WRITTEN)
    assert cli("config", "set", "timeout", "30").code == 0
    assert cli("config", "set", "jobs", "8").code == 0
    assert cli("config", "set", "size", "1024x1024", "--profile", "work").code == 0
    assert cli("config", "set", "jobs", "2", "--profile", "home").code == 0
    assert path.read_text() == (
        HAND_WRITTEN.replace("timeout = 900", "timeout = 30\njobs = 8")
        + 'size = "1024x1024"\n\n[profiles.home]\njobs = 2\n'
    )
    assert cli("config", "unset", "jobs").code == 0
    assert cli("config", "unset", "size", "--profile", "work").code == 0
    assert cli("config", "unset", "jobs", "--profile", "home").code == 0
    assert path.read_text() == (
        HAND_WRITTEN.replace("timeout = 900", "timeout = 30") + "\n[profiles.home]\n"
    )


def test_login_keeps_the_rest_of_the_file(cli, user_dir):
    path = user_dir / "config.toml"
    path.write_text(HAND_WRITTEN)
    assert cli("login", "--no-verify", "--profile", "work", stdin=KEY).code == 0
    # The key is stored with the host it belongs to: that of the profile's base URL.
    assert (
        path.read_text() == HAND_WRITTEN + f'api_key = "{KEY}"\napi_key_host = "router.example"\n'
    )


# --- show, get, unset --------------------------------------------------------------------------


def test_config_show_names_each_values_source(cli, user_dir):
    (user_dir / "config.toml").write_text(
        'timeout = 30\nmodel = "dall-e-3"\n[profiles.w]\nmodel = "gpt-image-1"\n'
    )
    r = cli("config", "show", "--profile", "w", env={"EASYIMG_JOBS": "2"})
    assert r.code == 0, r.err
    lines = {line.split()[0]: " ".join(line.split()[2:]) for line in r.out.splitlines()[1:]}
    assert lines["model"] == "gpt-image-1 (profile w)"
    assert lines["timeout"] == "30 (file)"
    assert lines["jobs"] == "2 (env EASYIMG_JOBS)"
    assert lines["retries"] == "3 (default)"
    assert lines["size"] == "(not sent) (default)"
    assert lines["api_key"] == "(none) (default)"
    r = cli("config", "show")
    assert re.search(r"^model +\= dall-e-3 +\(file\)$", r.out, re.M)
    (user_dir / "config.toml").write_text("")
    r = cli("config", "show")
    assert re.search(r"^model +\= gpt-image-2 +\(default\)$", r.out, re.M)
    show = cli("config", "show", "--json").json
    assert show["settings"]["model"] == "gpt-image-2" and show["sources"]["model"] == "default"


def test_config_show_marks_a_bad_value_and_exits_3(cli, user_dir):
    path = user_dir / "config.toml"
    path.write_text("jobs = 0\n")
    r = cli("config", "show")
    assert r.code == 3
    assert re.search(r"^jobs +\= \(invalid, see below\) +\(file\)$", r.out, re.M)
    assert re.search(r"^timeout +\= 600 +\(default\)$", r.out, re.M)
    assert r.err.startswith(f"error: config file {path}:1: jobs must be at least 1, not 0")


def test_sources_of_flags(tmp_path):
    env = {"EASYIMG_CONFIG": str(tmp_path / "none.toml")}
    s = resolve({"timeout": 5.0}, env)
    assert s.sources["timeout"] == "flag" and s.sources["retries"] == "default"
    assert (
        resolve(
            {}, {**env, "OPENAI_API_KEY": "sk-o", "EASYIMG_BASE_URL": "https://api.openai.com/v1"}
        ).sources["api_key"]
        == "env OPENAI_API_KEY"
    )


def test_config_get_prints_one_value(cli, user_dir):
    (user_dir / "config.toml").write_text(f'api_key = "{KEY}"\nhistory = false\n')
    assert cli("config", "get", "model").out == "gpt-image-2\n"
    assert cli("config", "get", "history").out == "false\n"
    assert cli("config", "get", "api_key").out == "sk-…5678\n"
    assert cli("config", "get", "size").out == "\n"
    assert cli("config", "get", "base_url", env={"EASYIMG_BASE_URL": "http://h/v1/"}).out == (
        "http://h/v1\n"
    )
    r = cli("config", "get", "colour")
    assert r.code == 2 and "unknown config key 'colour'" in r.err


def test_config_unset_in_a_missing_profile_is_an_error(cli, user_dir):
    path = user_dir / "config.toml"
    path.write_text('[profiles.work]\nmodel = "x"\n')
    r = cli("config", "unset", "model", "--profile", "nope")
    assert r.code == 3
    assert r.err.startswith(f"error: no profile 'nope' in {path} (profiles: work)")
    assert path.read_text() == '[profiles.work]\nmodel = "x"\n'


def test_what_the_file_holds_that_nothing_reads_is_a_warning_with_its_line(cli, user_dir):
    path = user_dir / "config.toml"
    text = 'modle = "x"\n[profiles]\nfoo = 1\n[profiles.bar]\nqualty = "high"\n'
    path.write_text(text)
    r = cli("gen", "a cat", "--offline", "-o", str(user_dir / "out"))
    assert r.code == 0, r.err
    warnings = [line for line in r.err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: config file {path}:1: unknown key 'modle' is ignored; known keys: "
        + ", ".join(KEYS),
        f"warning: config file {path}:3: profile 'foo' must be a table ([profiles.foo] with "
        "its keys below it), not 1",
        f"warning: config file {path}:5: unknown key 'qualty' in profile 'bar'",
    ]
    r = cli("config", "show", "--json")
    assert r.code == 0
    assert len(json.loads(r.out)["notes"]) == 3
    # The profile in use is read, so its unknown key is an error, not a note.
    r = cli("gen", "a cat", "--dry-run", "--profile", "bar")
    assert r.code == 3 and "unknown key 'qualty'" in r.err
    assert path.read_text() == text
