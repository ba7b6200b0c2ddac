"""Files the program creates are its owner's only, and what it reads or prints from data cannot
reach outside: private modes (database, WAL and SHM, archive, users file, cache), reads that
never follow a link nor open a FIFO, writes that never go through a link planted at the name,
and terminal output without escape sequences."""
from __future__ import annotations

import os
import stat
import sys
import threading

import pytest
import sqlalchemy as sa

from collectors.files import NotRegularFile, create_new, printable, read_regular
from collectors.store import database, schema

from test_store import x_content

X_NAME = "account_analytics_content_2024-12-16_2024-12-22.csv"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and links")


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def usual_umask():
    """The umask most systems give a user (022): files 0644, folders 0755 unless we say otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def reach(capsys, *args) -> tuple[int, str, str]:
    from dashboard.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- private modes -------------------------------------------------------------------------------

def test_the_database_its_wal_and_shm_and_the_archive_are_created_owner_only(tmp_path, capsys, usual_umask):
    data = tmp_path / "data" / "new"
    src = tmp_path / X_NAME
    src.write_bytes(x_content([("1870000000000000001", 1200, 30)]))
    db = data / "reach.db"
    code, out, err = reach(capsys, "import", str(src), "--db", str(db))
    assert code == 0, err
    engine = database.connect(str(db))
    with engine.connect() as c:  # a reader keeps the WAL and the shared memory open
        c.execute(sa.select(sa.func.count()).select_from(schema.posts)).scalar()
        made = [p for p in (db, data / "reach.db-wal", data / "reach.db-shm") if p.exists()]
        assert len(made) == 3
        for p in made:
            assert mode(p) == 0o600, (p.name, oct(mode(p)))
    engine.dispose()
    assert mode(data) == 0o700 and mode(tmp_path / "data") == 0o700  # folders made for the database
    archive = data / "archive"
    assert mode(archive) == 0o700
    shards = [p for p in archive.iterdir() if p.is_dir()]
    assert shards and all(mode(p) == 0o700 for p in shards)
    assert all(mode(f) == 0o600 for p in shards for f in p.iterdir())
    assert (archive / "manifest.jsonl").exists()  # inside the 0700 folder: unreadable by others


def test_a_database_and_archive_made_world_readable_by_an_older_version_are_tightened(tmp_path, usual_umask):
    db = tmp_path / "reach.db"
    engine = database.connect(str(db))
    engine.dispose()
    os.chmod(db, 0o644)
    archive = tmp_path / "archive"
    (archive / "ab").mkdir(parents=True)
    os.chmod(archive, 0o755)
    engine = database.connect(str(db))
    engine.dispose()
    assert mode(db) == 0o600
    from collectors.archive import Archive

    Archive(archive).put(b"some export bytes")
    assert mode(archive) == 0o700
    # A deliberate group share is the owner's decision: left alone.
    os.chmod(db, 0o640)
    database.connect(str(db)).dispose()
    assert mode(db) == 0o640
    # The folder a database is put in may be the user's home: never changed.
    assert mode(tmp_path) == stat.S_IMODE(os.stat(tmp_path).st_mode)


def test_the_users_file_and_a_folder_made_for_it_are_owner_only(tmp_path, usual_umask):
    from dashboard.web.auth import add_user

    path = tmp_path / "conf" / "campaign-reach" / "users.toml"
    add_user(path, "ana", "editor", "a long enough password 123")
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


def test_the_cache_folder_and_its_files_are_owner_only(tmp_path, usual_umask):
    from flask import Flask

    from dashboard.web import cache

    engine = database.connect(str(tmp_path / "reach.db"))
    server = Flask(__name__)
    folder = cache.install(server, engine)
    assert folder == tmp_path / "cache" and mode(folder) == 0o700
    with server.app_context():
        server.extensions[cache.EXTENSION].set("k", {"a": 1})
    assert [mode(p) for p in folder.iterdir()] and all(mode(p) == 0o600 for p in folder.iterdir())
    engine.dispose()


# --- reads and writes that stay where they are pointed -------------------------------------------

def test_read_regular_refuses_links_fifos_and_folders_without_reading_or_blocking(tmp_path):
    (tmp_path / "secret").write_bytes(b"secret")
    os.symlink(tmp_path / "secret", tmp_path / "link.csv")
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "ok.csv").write_bytes(b"a,b\n")
    assert read_regular(tmp_path / "ok.csv") == b"a,b\n"
    done = []

    def attempt():
        for name, what in (("link.csv", "symbolic link"), ("pipe.csv", "named pipe"), ("folder.csv", "folder")):
            with pytest.raises(NotRegularFile, match=what):
                read_regular(tmp_path / name)
        done.append(True)

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(10)  # opening the FIFO for reading would block until a writer came
    assert done == [True]


def test_create_new_never_writes_through_a_link_nor_over_a_file(tmp_path):
    os.symlink(tmp_path / "elsewhere.txt", tmp_path / "sidecar.txt")  # dangling: open(..., "w") creates it
    with pytest.raises(FileExistsError):
        create_new(tmp_path / "sidecar.txt", "text")
    assert not (tmp_path / "elsewhere.txt").exists()
    create_new(tmp_path / "new.txt", "one")
    with pytest.raises(FileExistsError):
        create_new(tmp_path / "new.txt", "two")
    assert (tmp_path / "new.txt").read_text() == "one"


def test_reach_import_of_a_folder_does_not_follow_a_link_out_of_it(tmp_path):
    from collectors.pipeline import Importer, expand

    folder, outside = tmp_path / "exports", tmp_path / "private"
    folder.mkdir()
    outside.mkdir()
    (outside / "secret.csv").write_bytes(b"Post id,secret-line-7f3a\n1,2\n")
    os.symlink(outside / "secret.csv", folder / "passwd.csv")
    (folder / X_NAME).write_bytes(x_content([("1870000000000000001", 1200, 30)]))
    assert expand([folder]) == [folder / X_NAME]
    engine = database.connect(str(tmp_path / "reach.db"))
    results = Importer(engine, None).import_paths([folder])
    assert [r.status for r in results] == ["imported"]
    assert "secret-line" not in " ".join(r.line() for r in results)
    engine.dispose()


# --- terminal output -----------------------------------------------------------------------------

@pytest.mark.parametrize("evil, shown", [
    ("a\x1b[31mred\x1b[0m", "ared"),  # colours
    ("a\x1b]0;owned\x07b", "ab"),  # the window title
    ("a\x1b]52;c;ZXZpbA==\x1b\\b", "ab"),  # OSC 52: writes the clipboard
    ("a\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\", "alink"),  # a hidden hyperlink
    ("a\x1b[2J\x1b[Hb", "ab"),  # clear the screen, move the cursor
    ("a\x9b31mb\x9d0;t\x9cc", "abc"),  # the 8-bit (C1) forms
    ("ok\rFAKE", "okFAKE"),  # a carriage return overwriting the line
    ("a\x00b\x08c\x7fd", "abcd"),
    ("price \u202e001$", "price 001$"),  # a bidi override reorders what is shown
    ("a\x1b", "a"),  # an escape cut off at the end
    ("tab\tand\nnewline stay; 中文 and é too", "tab\tand\nnewline stay; 中文 and é too"),
])
def test_printable_removes_escape_sequences_and_controls(evil, shown):
    assert printable(evil) == shown


def test_reach_prints_no_escape_sequence_from_a_file_name_a_header_or_a_post_title(tmp_path):
    import subprocess

    from conftest import ROOT

    def run(*args):
        p = subprocess.run([sys.executable, "-m", "dashboard.cli", *args], cwd=ROOT, capture_output=True, timeout=300)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    db = str(tmp_path / "reach.db")
    evil_name = tmp_path / "x\x1b]0;owned\x07\x1b[2J.csv"
    evil_name.write_bytes(b"Post id,Impre\x1b[8msions\n1,5\n")
    title = b"Launch \x1b]52;c;ZXZpbA==\x07in \x1b[31mYiwu"
    good = tmp_path / X_NAME
    good.write_bytes(x_content([("1870000000000000001", 1200, 30)]).replace(b"Launch in Yiwu", title))
    code, out, err = run("import", str(evil_name), str(good), "--db", db)
    assert "FAILED" in out and "x.csv" in out and "Impresions" in out  # named, without the escapes
    code, out2, err2 = run("summary", "--db", db, "--config", str(ROOT / "campaign.toml"), "--week", "2024-W51")
    assert code == 0, err2
    assert "Launch in Yiwu" in out2  # the title is shown, without its escapes
    for text in (out, err, out2, err2):
        assert not any(c in text for c in "\x1b\x07\x9b\x9d"), repr(text)
