"""`reach collect` as a user runs it: one line per platform, exit codes, Ctrl-C, secrets kept out of
everything it writes, and snapshots that `reach rebuild` replays."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from collectors.api.run import base_urls_from_env, parse_every, select
from collectors.errors import ReachError, UsageError
from collectors.store import database, schema
from dashboard.cli import main

from api_server import api_server, reply, roster_csv, snapshot_counts  # noqa: F401
from conftest import ROOT, ctrl_c
from test_api_meta import IG_ID, TOKEN as META_TOKEN, ig_media, insights_of, paged
from test_api_tiktok_bilibili import TT_TOKEN, tt_videos, video_list
from test_api_x import BEARER, UID
from test_api_youtube import CHANNEL, KEY, FakeYouTube, videos

SECRETS = (KEY, META_TOKEN, BEARER, TT_TOKEN)


def _env(tmp_path, srv, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACH_")}
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT), REACH_YOUTUBE_API_KEY=KEY,
               REACH_META_ACCESS_TOKEN=META_TOKEN, REACH_X_BEARER_TOKEN=BEARER, REACH_TIKTOK_ACCESS_TOKEN=TT_TOKEN,
               REACH_API_BASE_URLS=json.dumps({"youtube": srv.url("/youtube/v3"), "instagram": srv.url("/v24.0"),
                                               "facebook": srv.url("/v24.0"), "x": srv.url("/2"),
                                               "tiktok": srv.url("/v2"), "bilibili": srv.url("")}))
    env.update(extra)
    return env


def _reach(tmp_path, env, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _serve_everything(srv):
    FakeYouTube(srv, videos(4))
    media = ig_media(3)
    srv.route("GET", f"/v24.0/{IG_ID}/media", paged(media, 2, f"/v24.0/{IG_ID}/media"))
    for m in media:
        srv.route("GET", f"/v24.0/{m['id']}/insights", insights_of(media))
    # X refuses the token, and its error quotes the request URL with a token in it.
    srv.route("GET", f"/2/users/{UID}/tweets", reply(401, {
        "title": "Unauthorized", "type": "about:blank", "status": 401,
        "detail": f"Unauthorized: GET /2/users/{UID}/tweets?access_token={BEARER}"}))
    srv.route("POST", "/v2/video/list/", video_list(tt_videos(3), 20))


def test_reach_collect_end_to_end_with_secrets_kept_out_of_output_database_and_archive(tmp_path, api_server):
    _serve_everything(api_server)
    env = _env(tmp_path, api_server)
    (tmp_path / "roster.csv").write_bytes(roster_csv([
        ("Li Wei", "youtube", "yiwudaily", CHANNEL), ("Chen Jing", "instagram", "jinhub_chen", IG_ID),
        ("Ahmed Musa", "x", "ahmed_yiwu", UID), ("Zhou Min", "tiktok", "jinhub.market", None)]))
    assert main(["roster", "import", str(tmp_path / "roster.csv"), "--db", str(tmp_path / "data" / "reach.db")]) == 0
    r = _reach(tmp_path, env, "collect", "--since", "all")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out  # X failed
    assert "Traceback" not in out
    lines = [ln for ln in r.stdout.splitlines() if not ln.startswith(" ")]
    assert lines == [
        "youtube: 1 channel, 4 videos, 4 snapshots",
        "instagram: 1 account, 3 media, 3 snapshots",
        lines[2],
        lines[3],
        "tiktok: 1 account, 3 videos, 3 snapshots",
        lines[5],
    ]
    assert lines[2].startswith("facebook: skipped: nothing to poll: no Facebook accounts in the roster")
    assert lines[3].startswith("x: failed: X refused the Bearer Token") and "REACH_X_BEARER_TOKEN" in lines[3]
    assert lines[5].startswith("bilibili: skipped: nothing to poll")
    for s in SECRETS:
        assert s not in out, s
    # Nothing written anywhere holds a secret: the database (and its WAL), the archive.
    written = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert any(p.name == "manifest.jsonl" for p in written) and any(p.name.startswith("reach.db") for p in written)
    for p in written:
        data = p.read_bytes()
        for s in SECRETS:
            assert s.encode() not in data, (p, s)
    # The daily rollups were refreshed for the collected accounts, as after `reach import`.
    engine = database.connect(str(tmp_path / "data" / "reach.db"))
    with engine.connect() as conn:
        assert conn.execute(schema.daily_rollup.select()).first() is not None
        fails = conn.execute(schema.import_failures.select()).mappings().all()
    assert [(f["platform"], f["source"]) for f in fails] == [("x", "api")]
    before = {p: snapshot_counts(engine, p) for p in ("youtube", "instagram", "tiktok")}
    assert sum(len(v) for v in before.values()) == 10

    # `reach rebuild` replays the snapshot files: the same observations, still marked as API imports.
    assert main(["rebuild", "--db", str(tmp_path / "data" / "reach.db")]) == 0
    assert {p: snapshot_counts(engine, p) for p in before} == before
    with engine.connect() as conn:
        sources = {r["source"] for r in conn.execute(schema.imports.select()).mappings()}
    assert sources == {"api"}


def test_ctrl_c_during_every_stops_cleanly_without_a_traceback(tmp_path, api_server):
    env = _env(tmp_path, api_server, REACH_YOUTUBE_API_KEY="", REACH_META_ACCESS_TOKEN="",
               REACH_X_BEARER_TOKEN="", REACH_TIKTOK_ACCESS_TOKEN="")
    p = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "collect", "--every", "1h"], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            seen.append(line)
            if line.startswith("next run at") or not line:
                break
        assert seen[-1].startswith("next run at"), seen
        assert seen[0].startswith("youtube: skipped: no credentials")
        out, err = ctrl_c(p)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert "Traceback" not in out + err
    assert "stopped" in out


def test_collect_refuses_bad_options_with_one_line_errors(tmp_path, api_server, monkeypatch, capsys):
    from collectors.api import credentials

    monkeypatch.setattr(credentials, "DEFAULT_FILE", tmp_path / "home" / "credentials.toml")
    for k, v in _env(tmp_path, api_server).items():
        if k.startswith("REACH_"):
            monkeypatch.setenv(k, v)
    db = str(tmp_path / "data" / "reach.db")
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "credentials.toml").write_text('[youtube]\napi_key = "x"\n')
    # A value an option cannot take exits 2 (usage); a credentials file that cannot be used, 1.
    for args, words, code in ((["--every", "soon"], "--every 'soon'", 2),
                              (["--platform", "myspace"], "--platform 'myspace'", 2),
                              (["--since", "yesterday"], "--since 'yesterday'", 2),
                              (["--credentials", str(tmp_path / "nope.toml")], "no credentials file", 1),
                              (["--credentials", str(data / "credentials.toml")], "inside the data folder", 1)):
        capsys.readouterr()
        assert main(["collect", "--db", db, *args]) == code, args
        err = capsys.readouterr().err
        assert err.startswith("error: ") and words in err and err.count("\n") == 1, (args, err)
    monkeypatch.setenv("REACH_API_BASE_URLS", '{"x": "https://api.example.com/2"}')
    assert main(["collect", "--db", db, "--platform", "x"]) == 1
    assert "only be overridden towards this machine" in capsys.readouterr().err


def test_every_accepts_minutes_hours_and_seconds():
    assert parse_every("15m") == 900 and parse_every("1h") == 3600 and parse_every("90s") == 90
    assert parse_every("1h30m") == 5400
    for bad in ("15", "fast", "", "30s"):
        with pytest.raises(ReachError):
            parse_every(bad)


def test_platform_names_and_the_meta_alias():
    assert select(["meta", "x"]) == ["instagram", "facebook", "x"]
    assert select(None) == ["youtube", "instagram", "facebook", "x", "tiktok", "bilibili"]
    # A name no collector has is a usage error (exit 2) that proposes the closest one.
    with pytest.raises(UsageError, match=r"^--platform 'youtub' is not a platform; did you mean 'youtube'\? "
                                         r"\(one of youtube, instagram, facebook, x, tiktok, bilibili, meta\)$"):
        select(["youtub"])
    with pytest.raises(UsageError, match="did you mean 'instagram'"):
        select(["IG"])


def test_base_urls_may_only_point_at_this_machine():
    assert base_urls_from_env({"REACH_API_BASE_URLS": '{"x": "http://127.0.0.1:9/2"}'}) == {"x": "http://127.0.0.1:9/2"}
    assert base_urls_from_env({"REACH_API_BASE_URLS": '{"x": "http://localhost:9/2"}'}) == {"x": "http://localhost:9/2"}
    for url in ("https://api.example.com/2", "http://127.0.0.1.example.com/2", "http://10.0.0.1/2"):
        with pytest.raises(ReachError, match="only be overridden towards this machine"):
            base_urls_from_env({"REACH_API_BASE_URLS": json.dumps({"x": url})})
