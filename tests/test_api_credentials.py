"""Credentials for the API collectors: environment variables, a TOML file outside the repository."""
from __future__ import annotations

import os

import pytest

from collectors.api import credentials
from collectors.api.credentials import CredentialsError, load

from conftest import ROOT

FILE = """
[youtube]
api_key = "AIza-from-file-0000000000"
[meta]
access_token = "EAA-from-file-1111111111"
[x]
bearer_token = "AAAA-from-file-2222222222"
[tiktok.tokens]
yiwu_foodie = "act.from-file-3333333333"
[meta.page_tokens]
"102030405060708" = "EAA-page-from-file-4444444444"
[bilibili]
bvids = ["BV1GJ411x7h7"]
"""


@pytest.fixture(autouse=True)
def no_default_file(tmp_path, monkeypatch):
    # The default file lives in the home folder: point it somewhere empty for every test.
    monkeypatch.setattr(credentials, "DEFAULT_FILE", tmp_path / "home" / "credentials.toml")
    monkeypatch.delenv("REACH_CREDENTIALS", raising=False)


def _write(path, text=FILE, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def test_environment_variables_alone(tmp_path):
    env = {"REACH_YOUTUBE_API_KEY": "AIza-env-key-999", "REACH_X_USER_TOKEN": "user-env-tok-888"}
    c = load(env=env)
    assert c.get("youtube", "api_key") == "AIza-env-key-999" and c.get("x", "user_token") == "user-env-tok-888"
    assert c.get("meta", "access_token") is None
    assert c.where("youtube", "api_key") == "REACH_YOUTUBE_API_KEY"
    # Not set: where it could be set, both ways.
    assert c.where("meta", "access_token").startswith("REACH_META_ACCESS_TOKEN or meta.access_token in ")
    assert c.file is None and c.warnings == []


def test_a_credentials_file_and_the_environment_winning_key_by_key(tmp_path, monkeypatch):
    path = _write(tmp_path / "secrets" / "credentials.toml")
    monkeypatch.setenv("REACH_CREDENTIALS", str(path))
    c = load(env={"REACH_YOUTUBE_API_KEY": "AIza-env-wins-555"})
    assert c.get("youtube", "api_key") == "AIza-env-wins-555"
    assert c.get("meta", "access_token") == "EAA-from-file-1111111111"
    assert c.get("tiktok", "tokens") == {"yiwu_foodie": "act.from-file-3333333333"}
    assert c.get("bilibili", "bvids") == ["BV1GJ411x7h7"]
    assert c.where("meta", "access_token") == f"meta.access_token in {path}"
    assert set(c.secrets()) >= {"AIza-env-wins-555", "EAA-from-file-1111111111", "act.from-file-3333333333",
                                "EAA-page-from-file-4444444444"}
    assert "BV1GJ411x7h7" not in c.secrets()
    shown = repr(c) + str(c)
    assert "from-file" not in shown and "env-wins" not in shown and "meta.access_token" in shown
    assert c.warnings == []


def test_the_default_file_in_the_home_folder_is_read_when_present(tmp_path):
    _write(credentials.DEFAULT_FILE)
    assert load(env={}).get("x", "bearer_token") == "AAAA-from-file-2222222222"


def test_a_file_other_users_can_read_is_used_with_a_warning(tmp_path):
    path = _write(tmp_path / "secrets" / "credentials.toml", mode=0o644)
    c = load(str(path), env={})
    assert c.get("youtube", "api_key") == "AIza-from-file-0000000000"
    assert len(c.warnings) == 1 and "chmod 600" in c.warnings[0] and "mode 0644" in c.warnings[0]


def test_a_file_inside_a_repository_the_project_or_the_data_folder_is_refused(tmp_path):
    repo = tmp_path / "somerepo"
    (repo / ".git").mkdir(parents=True)
    with pytest.raises(CredentialsError, match="inside the git repository"):
        load(str(_write(repo / "config" / "credentials.toml")), env={})
    data = tmp_path / "data"
    with pytest.raises(CredentialsError, match="inside the data folder"):
        load(str(_write(data / "credentials.toml")), env={}, forbidden=(data,))
    inside = ROOT / "tests" / f".credentials-test-{os.getpid()}.toml"
    try:
        with pytest.raises(CredentialsError, match="project folder"):
            load(str(_write(inside)), env={})
    finally:
        inside.unlink(missing_ok=True)


def test_a_missing_or_broken_file_is_a_clear_error_that_quotes_no_secret(tmp_path):
    with pytest.raises(CredentialsError, match="no credentials file at"):
        load(str(tmp_path / "nope.toml"), env={})
    broken = _write(tmp_path / "s" / "c.toml", '[meta]\naccess_token = "EAA-secret-broken\n')
    with pytest.raises(CredentialsError) as e:
        load(str(broken), env={})
    assert "not valid TOML" in str(e.value) and "line 2" in str(e.value) and "EAA-secret-broken" not in str(e.value)


def test_every_value_under_a_secret_s_name_is_given_to_the_redactor_however_deep(tmp_path):
    path = _write(tmp_path / "s" / "c.toml", FILE + """
[bilibili.cookies]
sessdata = "sess-from-file-5555555555"
bili_jct = "jct-from-file-6666666666"
[future]
app_secret = "app-secret-7777777777"
api_keys = ["key-one-8888888888", "key-two-9999999999"]
[future.accounts.main]
password = "password-0000000000"
client_id = "public-client-id"
""")
    c = load(str(path), env={})
    assert set(c.secrets()) >= {"sess-from-file-5555555555", "jct-from-file-6666666666", "app-secret-7777777777",
                                "key-one-8888888888", "key-two-9999999999", "password-0000000000",
                                "EAA-page-from-file-4444444444", "act.from-file-3333333333"}
    assert "public-client-id" not in c.secrets() and "BV1GJ411x7h7" not in c.secrets()
