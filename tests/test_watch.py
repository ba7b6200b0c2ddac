"""`reach watch`: the inbox. Readiness on an injected clock (no sleeping), claims between watchers,
where files end up and what the user is told; then the command itself."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from collectors.pipeline import FileResult, Importer
from collectors.store import database, schema
from collectors.watch import Watcher

from conftest import ctrl_c
from test_store import x_content

X_NAME = "account_analytics_content_2024-12-16_2024-12-22.csv"
T0 = 1_750_000_000.0  # the fake clock's "now" (wall-clock seconds, compared with mtimes)


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


class FakeImport:
    """Records each call; every file is "imported"."""

    def __init__(self):
        self.calls = []

    def __call__(self, name, data, shown):
        self.calls.append((name, data, shown))
        return FileResult(shown, "imported", platform="x", reports=["x.content"], posts=1, snapshots=1)


def put(path, data: bytes, mtime: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def watcher(inbox, imp, clock, **kw):
    lines = []
    w = Watcher(inbox, imp, settle=2.0, poll_every=1.0, clock=clock, sleep=lambda s: None, out=lines.append, **kw)
    return w, lines


def test_a_file_is_imported_once_it_has_stopped_growing_for_the_settle_time(tmp_path):
    clock, imp = Clock(), FakeImport()
    w, lines = watcher(tmp_path, imp, clock)
    f = put(tmp_path / "a.csv", b"Post id,", T0)  # being written right now
    assert w.poll() == [] and imp.calls == []
    clock.now += 1.5
    put(f, b"Post id,Date\n1,2", T0 + 1.5)  # it grew
    clock.now += 1.9  # 3.4 s after it was created: the change is seen now, so the wait starts again
    assert w.poll() == [] and imp.calls == []
    clock.now += 1.9
    assert w.poll() == [] and imp.calls == []
    clock.now += 0.2  # unchanged for the settle time, by the watcher's own clock
    [o] = w.poll()
    assert imp.calls == [("a.csv", b"Post id,Date\n1,2", "a.csv")]
    assert o.moved_to == tmp_path / "processed" / "a.csv" and o.moved_to.read_bytes() == b"Post id,Date\n1,2"
    assert not f.exists() and lines == [o.line] and o.line.endswith("-> processed/a.csv")
    clock.now += 10
    assert w.poll() == [] and len(imp.calls) == 1  # once only


def test_a_running_watcher_calls_its_idle_hook_after_every_look(tmp_path):
    # reach watch publishes what its spaced refreshes left (dashboard/analysis/rollups.py) there.
    looks = []
    w, _ = watcher(tmp_path / "inbox", FakeImport(), lambda: 1000.0, idle=lambda: looks.append(1) or
                   (len(looks) == 3 and w.stop()))
    w.run()
    assert looks == [1, 1, 1]
    w2, _ = watcher(tmp_path / "inbox", FakeImport(), lambda: 1000.0, idle=lambda: pytest.fail("idle in --once"))
    w2.run_once()


def test_a_file_first_seen_long_after_it_was_written_is_ready_at_once_oldest_first(tmp_path):
    clock, imp = Clock(), FakeImport()
    w, _ = watcher(tmp_path, imp, clock)
    put(tmp_path / "new.csv", b"2", T0 - 10)
    put(tmp_path / "sub" / "old.csv", b"1", T0 - 60)  # subfolders are watched too
    put(tmp_path / "fresh.csv", b"3", T0 - 0.5)
    assert [o.rel for o in w.poll()] == ["sub/old.csv", "new.csv"]
    assert (tmp_path / "processed" / "sub" / "old.csv").exists() and (tmp_path / "fresh.csv").exists()


def test_temporary_hidden_lock_and_empty_files_are_left_alone_and_others_fail_with_a_reason(tmp_path):
    clock, imp = Clock(), FakeImport()
    w, lines = watcher(tmp_path, imp, clock)
    alone = ["export.csv.part", "export.csv.crdownload", "report.xlsx.download", "x.tmp", "~$report.xlsx",
             ".hidden.csv", "Thumbs.db", "empty.csv", "firefox.csv", "firefox.csv.part", ".cache/inner.csv"]
    for name in alone:
        put(tmp_path / name, b"" if name == "empty.csv" else b"data", T0 - 60)
    put(tmp_path / "notes.pdf", b"%PDF", T0 - 60)
    put(tmp_path / "processed" / "done.csv", b"old", T0 - 60)  # its own folders are not inboxes
    put(tmp_path / "failed" / "bad.csv", b"old", T0 - 60)
    [o] = w.poll()
    assert imp.calls == []  # nothing was passed to the importer
    assert o.result.status == "failed" and o.moved_to == tmp_path / "failed" / "notes.pdf"
    reason = (tmp_path / "failed" / "notes.pdf.error.txt").read_text(encoding="utf-8")
    assert "not an export file: .pdf is not one of .csv" in reason
    assert lines[0].startswith("FAILED  notes.pdf: ") and "failed/notes.pdf.error.txt" in lines[0]
    for name in alone:
        assert (tmp_path / name).exists(), name
    assert (tmp_path / "processed" / "done.csv").read_bytes() == b"old"
    # --once says what was left and why, without the names it never touches
    w.run_once()
    waiting = [line for line in lines if line.startswith("wait ")]
    assert len(waiting) == 1 and "empty.csv: empty" in waiting[0]


def test_two_watchers_on_one_inbox_import_each_file_once(tmp_path):
    clock, imp = Clock(), FakeImport()
    a, _ = watcher(tmp_path, imp, clock)
    b, _ = watcher(tmp_path, imp, clock)
    for i in range(3):
        put(tmp_path / f"f{i}.csv", b"x%d" % i, T0 - 60)
    seen_by_a = a.ready()  # a has looked and decided; b is faster
    assert seen_by_a == ["f0.csv", "f1.csv", "f2.csv"]
    assert len(b.poll()) == 3
    assert [a.process(rel) for rel in seen_by_a] == [None, None, None]  # the claim (a rename) failed
    assert sorted(c[0] for c in imp.calls) == ["f0.csv", "f1.csv", "f2.csv"]
    assert sorted(os.listdir(tmp_path / "processed")) == ["f0.csv", "f1.csv", "f2.csv"]
    assert os.listdir(tmp_path / ".claimed") == []


def test_a_name_already_in_processed_gets_a_number_and_nothing_is_overwritten(tmp_path):
    clock, imp = Clock(), FakeImport()
    w, lines = watcher(tmp_path, imp, clock)
    put(tmp_path / "processed" / "a.csv", b"first", T0 - 100)
    put(tmp_path / "processed" / "a (1).csv", b"second", T0 - 100)
    put(tmp_path / "a.csv", b"third", T0 - 60)
    [o] = w.poll()
    assert o.moved_to == tmp_path / "processed" / "a (2).csv" and o.moved_to.read_bytes() == b"third"
    assert (tmp_path / "processed" / "a.csv").read_bytes() == b"first"
    assert (tmp_path / "processed" / "a (1).csv").read_bytes() == b"second"
    assert lines[0].endswith("-> processed/a (2).csv")


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_file_left_claimed_by_a_watcher_that_died_is_put_back_and_imported(tmp_path):
    import socket

    clock, imp = Clock(), FakeImport()
    w, lines = watcher(tmp_path, imp, clock)
    host = socket.gethostname()
    dead = put(tmp_path / ".claimed" / f"{host}~{_dead_pid()}~feed~1" / "x" / "dead.csv", b"d", T0 - 60)
    alive = put(tmp_path / ".claimed" / f"{host}~{os.getppid()}~beef~1" / "busy.csv", b"b", T0 - 60)
    os.utime(alive.parent, (T0 - 60, T0 - 60))  # claimed a minute ago by a live process
    outcomes = w.poll()
    assert [o.rel for o in outcomes] == ["x/dead.csv"]  # back in the inbox, then imported
    assert lines[0].startswith("back    x/dead.csv: left claimed by a watcher that stopped")
    assert (tmp_path / "processed" / "x" / "dead.csv").read_bytes() == b"d" and not dead.exists()
    assert alive.exists() and [c[0] for c in imp.calls] == ["dead.csv"]
    # A claim older than the claim timeout is abandoned even if its process seems alive (another host).
    os.utime(alive.parent, (T0 - w.claim_timeout - 1, T0 - w.claim_timeout - 1))
    assert [o.rel for o in w.poll()] == ["busy.csv"]


def test_ctrl_c_between_files_stops_after_the_current_one_and_a_second_puts_it_back(tmp_path):
    clock = Clock()
    calls = []

    def stop_on_first(name, data, shown):
        calls.append(name)
        w.stop()  # Ctrl-C while the first file is importing
        return FileResult(shown, "imported")

    w, lines = watcher(tmp_path, stop_on_first, clock)
    for i in range(3):
        put(tmp_path / f"f{i}.csv", b"%d" % i, T0 - 60 + i)
    assert len(w.poll()) == 1 and calls == ["f0.csv"]
    assert (tmp_path / "processed" / "f0.csv").exists() and (tmp_path / "f1.csv").exists()

    def interrupted(name, data, shown):
        raise KeyboardInterrupt

    w2, _ = watcher(tmp_path, interrupted, clock)
    with pytest.raises(KeyboardInterrupt):
        w2.poll()
    assert (tmp_path / "f1.csv").read_bytes() == b"1"  # back where it was, for the next run
    assert os.listdir(tmp_path / ".claimed") == []


def test_an_unexpected_error_on_one_file_fails_that_file_and_the_watcher_goes_on(tmp_path):
    clock = Clock()

    def buggy(name, data, shown):
        if name == "bad.csv":
            raise ValueError("a bug")
        return FileResult(shown, "imported")

    w, lines = watcher(tmp_path, buggy, clock)
    put(tmp_path / "bad.csv", b"1", T0 - 60)
    put(tmp_path / "good.csv", b"2", T0 - 50)
    assert [o.result.status for o in w.poll()] == ["failed", "imported"]
    assert "ValueError: a bug" in (tmp_path / "failed" / "bad.csv.error.txt").read_text(encoding="utf-8")


# --- with the real pipeline ------------------------------------------------------------------

def _real(tmp_path, clock):
    engine = database.connect(f"sqlite:///{tmp_path / 'reach.db'}")
    imp = Importer(engine, None)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    w, lines = watcher(inbox, lambda n, d, s: imp.import_bytes(n, d, display=s), clock)
    return engine, inbox, w, lines


def test_failed_rejected_and_already_imported_files_land_where_the_user_looks(tmp_path):
    clock = Clock()
    engine, inbox, w, lines = _real(tmp_path, clock)
    good = x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", 800, 10)])
    put(inbox / X_NAME, good, T0 - 60)
    put(inbox / "copy of the same.csv", good, T0 - 50)
    partly = good.replace(b",800,", b",lots,")  # line 3: Impressions "lots"
    put(inbox / "account_analytics_content_2024-12-16_2024-12-23.csv", partly, T0 - 40)
    put(inbox / "mystery.csv", b"Post id,Date,Post text,Impresions,Likes\n1,\"Sun, Dec 22, 2024\",hi,5,1\n", T0 - 30)
    outcomes = w.poll()
    assert [o.result.status for o in outcomes] == ["imported", "already imported", "imported", "failed"]
    processed, failed = inbox / "processed", inbox / "failed"
    assert sorted(os.listdir(processed)) == sorted([
        X_NAME, "copy of the same.csv", "account_analytics_content_2024-12-16_2024-12-23.csv",
        "account_analytics_content_2024-12-16_2024-12-23.csv.rejected.txt"])
    rejected = (processed / "account_analytics_content_2024-12-16_2024-12-23.csv.rejected.txt").read_text("utf-8")
    assert "line 3" in rejected and "Impressions" in rejected and "lots" in rejected
    assert sorted(os.listdir(failed)) == ["mystery.csv", "mystery.csv.error.txt"]
    error = (failed / "mystery.csv.error.txt").read_text("utf-8")
    assert "mystery.csv" in error and "Impresions" in error and "Nothing from this file is in the database" in error
    assert len(lines) == 4 and all("\n" not in line for line in lines)
    assert lines[1].startswith("same    copy of the same.csv: already imported")
    assert "; 1 row rejected (listed in processed/account_analytics_content_2024-12-16_2024-12-23.csv.rejected.txt);" \
        in lines[2]
    with engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(schema.imports)).scalar() == 2
    engine.dispose()


# --- links, pipes and swapped names: nothing outside the inbox is read -----------------------

SECRET = b"root:x:0:0:secret-line-7f3a:/root:/bin/bash\n"


def _rows(engine, table) -> str:
    with engine.connect() as c:
        return repr(c.execute(sa.select(table)).fetchall())


def test_a_link_in_the_inbox_is_moved_to_failed_itself_and_its_target_is_never_read(tmp_path):
    clock = Clock()
    engine, inbox, w, lines = _real(tmp_path, clock)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_bytes(SECRET)
    export = outside / X_NAME
    export.write_bytes(x_content([("1870000000000000001", 1200, 30)]))
    (outside / "folder").mkdir()
    (outside / "folder" / X_NAME).write_bytes(x_content([("1870000000000000009", 5, 1)]))
    os.symlink(outside / "passwd", inbox / "passwd.csv")  # the attack
    os.symlink(export, inbox / "export.csv")  # a real export, kept elsewhere
    os.symlink(outside / "folder", inbox / "linked")  # a linked folder: its files are not the inbox's
    os.mkfifo(inbox / "pipe.csv")  # a reader would wait forever
    outcomes = w.poll()
    assert sorted(o.rel for o in outcomes) == ["export.csv", "linked", "passwd.csv", "pipe.csv"]
    assert all(o.result.status == "failed" and "refused without reading it" in o.result.message for o in outcomes)
    failed = inbox / "failed"
    for name in ("passwd.csv", "export.csv", "linked"):
        assert os.path.islink(failed / name)  # the link itself, not a copy or a hard link of its target
    assert (failed / "pipe.csv").is_fifo()
    said = "".join(lines) + "".join(p.read_text("utf-8") for p in failed.glob("*.error.txt"))
    assert "secret-line" not in said and "root:x" not in said
    assert "a symbolic link" in (failed / "passwd.csv.error.txt").read_text("utf-8")
    assert "named pipe" in (failed / "pipe.csv.error.txt").read_text("utf-8")
    # Nothing reached the database: no import, no failure quoting the target, no post.
    for table in (schema.imports, schema.import_failures, schema.posts):
        assert "secret-line" not in _rows(engine, table)
    with engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(schema.posts)).scalar() == 0
    assert (outside / "passwd").read_bytes() == SECRET and export.exists()  # targets untouched
    assert (outside / "folder" / X_NAME).exists()
    engine.dispose()


def test_a_name_swapped_for_a_link_between_the_look_and_the_claim_is_put_back_unread(tmp_path):
    clock, imp = Clock(), FakeImport()
    w, lines = watcher(tmp_path / "inbox", imp, clock)
    (tmp_path / "inbox").mkdir()
    (tmp_path / "secret").write_bytes(SECRET)
    put(tmp_path / "inbox" / "a.csv", b"Post id\n1", T0 - 60)
    assert w.ready() == ["a.csv"]
    os.unlink(tmp_path / "inbox" / "a.csv")
    os.symlink(tmp_path / "secret", tmp_path / "inbox" / "a.csv")  # swapped after the look
    assert w.process("a.csv") is None and imp.calls == []
    assert lines[-1].startswith("skip    a.csv: it changed while it was being claimed")
    assert os.path.islink(tmp_path / "inbox" / "a.csv")  # back where it was
    [o] = w.poll()  # the next look sees a link: refused
    assert o.result.status == "failed" and imp.calls == [] and os.path.islink(tmp_path / "inbox" / "failed" / "a.csv")


def test_a_claimed_name_turned_into_a_link_or_a_fifo_is_refused_when_read(tmp_path):
    from collectors.watch import Watcher

    (tmp_path / "secret").write_bytes(SECRET)
    w = Watcher(tmp_path / "inbox", FakeImport())
    (tmp_path / "inbox").mkdir()
    claimed = tmp_path / "inbox" / "c.csv"
    os.symlink(tmp_path / "secret", claimed)
    r = w._import("c.csv", claimed)
    assert r.status == "failed" and "symbolic link" in r.message and "secret" not in r.message.replace(
        "c.csv", "")
    os.unlink(claimed)
    os.mkfifo(claimed)
    r = w._import("c.csv", claimed)  # returns at once: a FIFO is never opened
    assert r.status == "failed" and "named pipe" in r.message


def test_a_hard_link_to_a_private_file_is_refused_unread_and_a_shared_export_s_is_imported(tmp_path):
    clock, imp = Clock(), FakeImport()
    w, _ = watcher(tmp_path / "inbox", imp, clock)
    (tmp_path / "inbox").mkdir()
    private, shared = tmp_path / "netrc", tmp_path / "export.csv"
    private.write_bytes(SECRET)
    shared.write_bytes(b"Post id\n1")
    os.chmod(private, 0o600)
    os.chmod(shared, 0o644)
    os.link(private, tmp_path / "inbox" / "private.csv")
    os.link(shared, tmp_path / "inbox" / "shared.csv")
    for p in (tmp_path / "inbox" / "private.csv", tmp_path / "inbox" / "shared.csv"):
        os.utime(p, (T0 - 60, T0 - 60))
    outcomes = {o.rel: o for o in w.poll()}
    assert outcomes["private.csv"].result.status == "failed" and "hard link" in outcomes["private.csv"].result.message
    assert [c[1] for c in imp.calls] == [b"Post id\n1"]  # the private file's bytes were never read
    assert private.read_bytes() == SECRET


def test_processed_failed_or_claimed_as_a_link_stops_the_watcher_and_moves_nothing_through_it(tmp_path):
    from collectors.errors import ReachError

    clock, imp = Clock(), FakeImport()
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    elsewhere.mkdir()
    put(inbox / "a.csv", b"1", T0 - 60)
    for name in ("processed", "failed"):
        os.symlink(elsewhere, inbox / name)
        w, _ = watcher(inbox, imp, clock)
        with pytest.raises(ReachError, match=f"{name} is a symbolic link, not a folder"):
            w.poll()
        os.unlink(inbox / name)
    assert os.listdir(elsewhere) == [] and imp.calls == []
    # A linked .claimed/ would bring a foreign folder's files in as claims abandoned by a dead watcher.
    foreign = put(elsewhere / "host~1~dead~1" / "private.csv", SECRET, T0 - 7200)
    os.utime(foreign.parent, (T0 - 7200, T0 - 7200))
    os.symlink(elsewhere, inbox / ".claimed")
    w, _ = watcher(inbox, imp, clock)
    with pytest.raises(ReachError, match=".claimed is a symbolic link"):
        w.poll()
    assert foreign.read_bytes() == SECRET and not (inbox / "private.csv").exists() and imp.calls == []


def test_a_sidecar_is_never_written_through_a_link_planted_at_its_name(tmp_path):
    clock = Clock()

    def fails(name, data, shown):
        return FileResult(shown, "failed", message=f"{shown}: no")

    w, _ = watcher(tmp_path / "inbox", fails, clock)
    (tmp_path / "inbox" / "failed").mkdir(parents=True)
    target = tmp_path / "bashrc"
    os.symlink(target, tmp_path / "inbox" / "failed" / "a.csv.error.txt")  # dangling: open() would create it
    os.symlink(tmp_path / "elsewhere", tmp_path / "inbox" / "failed" / "sub")  # a linked folder on the way
    put(tmp_path / "inbox" / "a.csv", b"1", T0 - 60)
    [o] = w.poll()
    assert not target.exists() and o.moved_to == tmp_path / "inbox" / "failed" / "a (1).csv"
    assert (tmp_path / "inbox" / "failed" / "a (1).csv.error.txt").read_text("utf-8").count("no") >= 1
    put(tmp_path / "inbox" / "sub" / "b.csv", b"2", T0 - 60)
    [o] = w.poll()
    assert not (tmp_path / "elsewhere").exists() and "cannot move it" in o.line


def test_the_watcher_says_file_names_and_messages_without_terminal_escapes(tmp_path, capsys):
    inbox = tmp_path / "inbox"
    evil = "a\x1b]0;pwned\x07\x1b[2J\x9b31m.csv"
    put(inbox / evil, b"Post id,Impresions\n1,\x1b[31mred\n", time.time() - 60)
    code, out, err = reach(capsys, "watch", str(inbox), "--once", "--settle", "0", "--db", str(tmp_path / "r.db"))
    assert code == 1 and out.startswith("FAILED  a.csv: ")
    assert not any(c in out + err for c in "\x1b\x07\x9b")
    error = next((inbox / "failed").glob("*.error.txt")).read_text("utf-8")
    assert "\x1b" not in error


# --- the command ------------------------------------------------------------------------------

def reach(capsys, *args) -> tuple[int, str, str]:
    from dashboard.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_reach_watch_once_imports_what_is_ready_refreshes_rollups_and_exits(tmp_path, capsys):
    inbox, db = tmp_path / "inbox", str(tmp_path / "reach.db")
    put(inbox / X_NAME, x_content([("1870000000000000001", 1200, 30)]), time.time() - 60)
    put(inbox / "still-writing.csv", b"Post id", time.time() + 30)  # changed "now" for the next 30 s
    code, out, err = reach(capsys, "watch", str(inbox), "--once", "--db", db, "--archive", str(tmp_path / "a"))
    assert code == 0, err
    out = out.splitlines()
    assert out[0].startswith(f"ok      {X_NAME}: x x.content: 1 posts, 1 snapshots") and out[0].endswith(
        f"-> processed/{X_NAME}")
    assert out[1].startswith("wait    still-writing.csv: ") and len(out) == 2
    engine = database.connect(db)
    with engine.connect() as c:  # the Live page reads the rollups: they were refreshed
        assert c.execute(sa.select(sa.func.sum(schema.daily_rollup.c.impressions))).scalar() == 1200
    engine.dispose()
    assert len(list((tmp_path / "a").glob("*/*"))) == 1  # archived like `reach import`, for rebuild
    put(inbox / "mystery.csv", b"Post id,Impresions\n1,5\n", time.time() - 60)
    code, out, err = reach(capsys, "watch", str(inbox), "--once", "--settle", "0", "--db", db)
    assert code == 1 and out.startswith("FAILED  mystery.csv")


def test_reach_watch_mistakes_are_one_line_errors(tmp_path, capsys):
    for args in (["watch", str(tmp_path / "nope")], ["watch", str(tmp_path), "--settle", "soon"],
                 ["watch", str(tmp_path), "--poll", "0"], ["watch", str(tmp_path), "--tz", "Mars/Olympus"]):
        code, out, err = reach(capsys, *args, "--db", str(tmp_path / "reach.db"))
        assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, (args, err)


def test_reach_watch_runs_until_ctrl_c_and_stops_cleanly(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    p = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "watch", str(inbox), "--settle", "0.2", "--poll",
                          "0.2", "--db", str(tmp_path / "reach.db")], cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        (inbox / X_NAME).write_bytes(x_content([("1870000000000000001", 1200, 30)]))
        deadline = time.time() + 60
        while not (inbox / "processed" / X_NAME).exists() and time.time() < deadline:
            time.sleep(0.2)
        assert (inbox / "processed" / X_NAME).exists()
        out, err = ctrl_c(p)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert out.startswith(f"ok      {X_NAME}") and "Traceback" not in err and "stopped" in err


def test_a_file_that_took_two_watchers_down_goes_to_failed_instead_of_round_again(tmp_path):
    # A poison file (say, one that runs the process out of memory) kills the watcher importing it;
    # a restarted watcher puts it back, claims it and dies again. The second death ends the loop.
    import socket

    clock, imp = Clock(), FakeImport()
    w, lines = watcher(tmp_path, imp, clock)
    host = socket.gethostname()
    first = put(tmp_path / ".claimed" / f"{host}~{_dead_pid()}~dead1~1" / "poison.csv", b"boom", T0 - 60)
    assert w.recover_claims() == ["poison.csv"]  # the first death: back in the inbox
    # The next watcher claims it (rename keeps size and time) and dies on it too.
    second = tmp_path / ".claimed" / f"{host}~{_dead_pid()}~dead2~1" / "poison.csv"
    second.parent.mkdir(parents=True)
    os.rename(tmp_path / "poison.csv", second)
    assert not first.exists()
    w.poll()
    assert imp.calls == []  # not imported a third time
    assert (tmp_path / "failed" / "poison.csv").read_bytes() == b"boom"
    reason = (tmp_path / "failed" / "poison.csv.error.txt").read_text(encoding="utf-8")
    assert "a watcher stopped while importing this file 2 times" in reason
    assert any("poison.csv" in line and "failed/poison.csv" in line for line in lines)
    assert not (tmp_path / ".claimed" / "deaths.json").exists()  # filed away: forgotten


def test_a_file_put_back_once_and_then_imported_is_forgotten(tmp_path):
    import socket

    clock, imp = Clock(), FakeImport()
    w, lines = watcher(tmp_path, imp, clock)
    put(tmp_path / ".claimed" / f"{socket.gethostname()}~{_dead_pid()}~dead~1" / "a.csv", b"a", T0 - 60)
    assert [o.rel for o in w.poll()] == ["a.csv"]
    assert (tmp_path / "processed" / "a.csv").exists() and not (tmp_path / ".claimed" / "deaths.json").exists()


class Handed:
    """An import handed elsewhere (the Celery workers with REACH_REDIS): returns a Pending at once,
    and records the order of sends and waits."""

    def __init__(self, fail_on_wait=None):
        self.events, self.fail_on_wait = [], fail_on_wait

    def __call__(self, name, data, shown):
        self.events.append(("send", shown))
        handed = self

        class Pending:
            def wait(self):
                handed.events.append(("wait", shown))
                if shown == handed.fail_on_wait:
                    raise handed.error
                return FileResult(shown, "failed" if data == b"bad" else "imported", platform="x",
                                  reports=["x.content"], posts=1, snapshots=1, message=f"{shown}: bad")
        return Pending()


def test_a_look_sends_every_ready_file_before_it_waits_for_the_first_result(tmp_path):
    clock, imp = Clock(), Handed()
    w, lines = watcher(tmp_path, imp, clock)
    for n, data in ((1, b"Post id,Date\n1,2"), (2, b"bad"), (3, b"Post id,Date\n3,4")):
        put(tmp_path / f"{n}.csv", data, T0 - 60 + n)
    outcomes = w.poll()
    # All three sent, then waited for in turn: several workers import them side by side.
    assert imp.events == [("send", "1.csv"), ("send", "2.csv"), ("send", "3.csv"),
                          ("wait", "1.csv"), ("wait", "2.csv"), ("wait", "3.csv")]
    assert [o.moved_to.relative_to(tmp_path).as_posix() for o in outcomes] == [
        "processed/1.csv", "failed/2.csv", "processed/3.csv"]
    assert "2.csv: bad" in (tmp_path / "failed" / "2.csv.error.txt").read_text()
    assert lines == [o.line for o in outcomes]


def test_a_result_that_cannot_be_had_fails_its_file_and_a_ctrl_c_while_waiting_puts_the_rest_back(tmp_path):
    clock = Clock()
    imp = Handed(fail_on_wait="1.csv")
    imp.error = ConnectionError("Redis went away")
    w, _ = watcher(tmp_path, imp, clock)
    put(tmp_path / "1.csv", b"x", T0 - 60)
    [o] = w.poll()
    assert o.result.status == "failed" and "Redis went away" in o.result.message
    assert (tmp_path / "failed" / "1.csv").is_file()

    imp = Handed(fail_on_wait="2.csv")
    imp.error = KeyboardInterrupt()
    w, _ = watcher(tmp_path, imp, clock)
    for n in (2, 3, 4):
        put(tmp_path / f"{n}.csv", b"x", T0 - 60 + n)
    with pytest.raises(KeyboardInterrupt):
        w.poll()
    # The file waited for and the two sent after it are back in the inbox, none left claimed:
    # the next run sends them again, and a worker that imported them meanwhile says "already imported".
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == ["2.csv", "3.csv", "4.csv"]
    assert not [p for p in (tmp_path / ".claimed").rglob("*") if p.is_file()]
