"""The mapping step: a file nothing recognises gets a proposed mapping, in the CLI as editable TOML;
imported with it, the mapping is saved as a profile for that header, replayed by `reach rebuild`."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa

from collectors.archive import Archive
from collectors.mapping import Mapping, MappingError, signature
from collectors.pipeline import Importer, rebuild
from collectors.read import read_bytes
from collectors.store import database, ledger, schema

from localize import english

ROOT = Path(__file__).resolve().parents[1]


def _x_content_rows() -> list[list[str]]:
    _, data = english()["x.content"]
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def _ambiguous_x(drop: int = 6, extra_rows: int = 0, word: str = "Kolom") -> bytes:
    """An X content export in a made-up language with one count column missing: structure alone
    cannot say which one, so detection refuses it."""
    rows = _x_content_rows()
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([f"{word} {i} zq" for i in range(len(rows[0]) - 1)])
    body = rows[1:] + rows[1:1 + extra_rows]
    for k, r in enumerate(body):
        r = r[:drop] + r[drop + 1:]
        if k >= len(rows) - 1:  # extra rows: new posts, so the second file differs
            r = [str(int(r[0]) + 7)] + r[1:3] + [r[3].rsplit("/", 1)[0] + "/" + str(int(r[0]) + 7)] + r[4:]
        w.writerow(r)
    return out.getvalue().encode("utf-8")


def _fixed_mapping(data: bytes, name: str = "m.toml") -> Mapping:
    """The proposal, corrected as a user would: Likes (the dropped column) is absent, so the
    counts after Impressions are Engagements, Bookmarks, ..."""
    t = read_bytes("a.csv", data)[0]
    fields = ["post_id", "published_at", "title", "url", "impressions", "likes", "saves", "_shares_external",
              "followers_gained", "comments", "shares", "_profile_visits", "_detail_expands", "clicks",
              "_hashtag_clicks", "_permalink_clicks"]  # column 6 (Engagements) was dropped
    return Mapping("x.content", list(zip(t.header, fields)), signature(t), None, name).validate()


def test_a_refused_file_proposes_a_mapping_that_round_trips_through_toml():
    data = _ambiguous_x()
    imp_err = None
    t = read_bytes("a.csv", data)[0]
    from collectors.detect import DetectError, detect

    with pytest.raises(DetectError) as e:
        detect(t)
    imp_err = e.value
    p = imp_err.proposal
    assert p.report == "x.content" and p.signature == signature(t)
    assert [h for h, _ in p.columns] == t.header
    text = p.to_toml(t)
    doc = tomllib.loads(text)
    assert doc["report"] == "x.content" and len(doc["columns"]) == len(t.header)
    assert [(c["header"], c["field"]) for c in doc["columns"]] == p.columns
    # Sample values are shown next to each field, as comments.
    assert "# e.g. " in text
    fixed = _fixed_mapping(data)
    back = Mapping.from_toml(fixed.to_toml(t), "m.toml")
    assert back.columns == fixed.columns and back.signature == fixed.signature


@pytest.mark.parametrize("edit,message", [
    (lambda s: s.replace('report = "x.content"', 'report = "x.nothing"'), 'report = "x.nothing" is not a known report'),
    (lambda s: s.replace('field = "post_id"', 'field = "postid"'), 'field = "postid" is not a field of x.content'),
    (lambda s: s.replace('field = "title"', 'field = "post_id"'), "more than one column has field = 'post_id'"),
    (lambda s: s.replace('field = "url"', 'field = ""'), "x.content needs a column for each of: url"),
    (lambda s: s.replace('signature =', 'date_order = "dym"\nsignature ='), 'date_order = "dym" is not one of'),
    (lambda s: s.replace("[[columns]]", "[columns]", 1), "not a mapping file"),
])
def test_a_broken_mapping_file_says_what_is_wrong(edit, message):
    data = _ambiguous_x()
    t = read_bytes("a.csv", data)[0]
    text = _fixed_mapping(data).to_toml(t)
    with pytest.raises(MappingError) as e:
        Mapping.from_toml(edit(text), "m.toml")
    assert message in str(e.value) and "m.toml" in str(e.value)


def test_import_with_a_mapping_saves_a_profile_that_later_files_and_rebuild_use(db_url, tmp_path):
    engine = database.connect(db_url)
    archive = Archive(tmp_path / "archive")
    first, second = _ambiguous_x(), _ambiguous_x(extra_rows=2)
    # Without a mapping: refused, with a proposal.
    r = Importer(engine, archive).import_bytes("a.csv", first)
    assert r.status == "failed" and r.proposal is not None and "reach mapping suggest" in r.message
    mapping = _fixed_mapping(first)
    r = Importer(engine, archive, mapping=mapping).import_bytes("a.csv", first)
    assert r.status == "imported", r.message
    assert r.detection and "m.toml" in r.detection[0] and '"Kolom 4 zq" → impressions' in r.detection[0]
    assert [p["signature"] for p in ledger.load_profiles(engine)] == [mapping.signature]
    # A later file with the same header imports without being asked.
    r2 = Importer(engine, archive).import_bytes("b.csv", second)
    assert r2.status == "imported" and "profile" in r2.detection[0]
    with engine.connect() as c:
        n_posts = c.execute(sa.select(sa.func.count()).select_from(schema.posts)).scalar()
        imps = c.execute(sa.select(sa.func.sum(schema.post_snapshots.c.impressions))).scalar()
        likes = c.execute(sa.select(sa.func.sum(schema.post_snapshots.c.likes))).scalar()
    rows = _x_content_rows()
    assert n_posts == len(rows) - 1 + 2
    # Likes came from the column the user said, not from Engagements or whatever sat there.
    expect_likes = sum(int(r[5]) for r in rows[1:]) * 2 + sum(int(r[5]) for r in rows[1:3])
    assert likes == expect_likes and imps > 0
    # The archive keeps the mapping: a rebuild with no profiles replays it.
    ledger.remove_profile(engine, mapping.signature)
    results = rebuild(engine, archive)
    assert [x.status for x in results] == ["imported", "imported"], [x.message for x in results]
    with engine.connect() as c:
        assert c.execute(sa.select(sa.func.sum(schema.post_snapshots.c.likes))).scalar() == expect_likes
    engine.dispose()


def test_rebuild_keeps_the_saved_profiles(sqlite_url, tmp_path):
    engine = database.connect(sqlite_url)
    archive = Archive(tmp_path / "archive")
    first = _ambiguous_x()
    assert Importer(engine, archive, mapping=_fixed_mapping(first)).import_bytes("a.csv", first).ok
    rebuild(engine, archive)
    assert len(ledger.load_profiles(engine)) == 1
    # And the next file with that header still imports without a mapping.
    assert Importer(engine, archive).import_bytes("b.csv", _ambiguous_x(extra_rows=1)).status == "imported"


def _reach(*args, cwd):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=120)


def test_the_cli_mapping_step_from_refusal_to_profile(tmp_path):
    f = tmp_path / "Báo cáo bài viết.csv"
    f.write_bytes(_ambiguous_x())
    r = _reach("import", str(f), cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert "Proposed mapping as x.content" in r.stdout and "reach mapping suggest" in r.stdout
    s = _reach("mapping", "suggest", str(f), cwd=tmp_path)
    assert s.returncode == 0 and tomllib.loads(s.stdout)["report"] == "x.content"
    m = tmp_path / "m.toml"
    m.write_text(_fixed_mapping(f.read_bytes()).to_toml(read_bytes(f.name, f.read_bytes())[0]), encoding="utf-8")
    r = _reach("import", str(f), "--mapping", str(m), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "read with the mapping from" in r.stdout
    listed = _reach("mapping", "list", cwd=tmp_path)
    assert "x.content" in listed.stdout and signature(read_bytes("a", f.read_bytes())[0]) in listed.stdout
    g = tmp_path / "next week.csv"
    g.write_bytes(_ambiguous_x(extra_rows=1))
    r = _reach("import", str(g), cwd=tmp_path)
    assert r.returncode == 0 and "saved mapping profile" in r.stdout
    sig = signature(read_bytes("a", g.read_bytes())[0])
    assert _reach("mapping", "remove", sig[:6], cwd=tmp_path).returncode == 0
    h = tmp_path / "week after.csv"
    h.write_bytes(_ambiguous_x(extra_rows=3))
    assert _reach("import", str(h), cwd=tmp_path).returncode == 1
    bad = _reach("import", str(h), "--mapping", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert bad.returncode != 0 and "nope.toml" in bad.stderr + bad.stdout and "Traceback" not in bad.stderr
    assert _reach("mapping", "remove", "ffff", cwd=tmp_path).returncode != 0


def test_a_mapping_for_another_header_says_so(tmp_path):
    f = tmp_path / "a.csv"
    f.write_bytes(_ambiguous_x())
    other = _ambiguous_x(drop=7, word="Spalte")
    m = _fixed_mapping(f.read_bytes())
    engine = database.connect(f"sqlite:///{tmp_path / 'r.db'}")
    r = Importer(engine, None, mapping=m).import_bytes("b.csv", other)
    assert r.status == "failed" and "This header is not the one m.toml was made for (Kolom 0 zq, " in r.message


def test_a_long_running_importer_sees_a_profile_saved_after_it_started(sqlite_url):
    # A watcher holds one Importer for days; an editor saves a mapping on the Data page meanwhile.
    engine = database.connect(sqlite_url)
    watcher = Importer(engine, None)
    first = _ambiguous_x()
    assert watcher.import_bytes("a.csv", first).status == "failed"
    assert Importer(engine, None, mapping=_fixed_mapping(first)).import_bytes("a.csv", first).ok
    r = watcher.import_bytes("b.csv", _ambiguous_x(extra_rows=1))
    assert r.status == "imported" and "saved mapping profile" in r.detection[0]
