"""The command line as a user meets it: help everywhere, words instead of tracebacks, exit codes."""
from __future__ import annotations

import os
import re
import subprocess
import sys


import click
import pytest

from dashboard.cli import main, reach

from conftest import ROOT, sample
from test_store import x_content

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group, prefix=()):
    """(path, command, the group it is in) of every command and subcommand, depth first."""
    for name, sub in group.commands.items():
        yield prefix + (name,), sub, group
        if isinstance(sub, click.Group):
            yield from _commands(sub, prefix + (name,))


def run(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_every_command_has_help_text_and_appears_in_the_readme():
    commands = list(_commands(reach))
    assert len(commands) >= 7
    for path, sub, group in commands:
        helps = {name: c.short_help for name, c in group.commands.items()}
        assert helps.get(path[-1]), f"reach {' '.join(path)} has no help line"
        assert sub.help, f"reach {' '.join(path)} has no description"
        assert f"reach {' '.join(path)}" in README, f"reach {' '.join(path)} is not in README.md"


def _listed(help_text: str, section: str) -> set[str]:
    """The names a --help lists under "Options:" or "Commands:" (its first column)."""
    body = help_text.split(f"\n{section}:\n", 1)[1].split("\n\n", 1)[0]
    names = set()
    for line in body.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            first = re.split(r"\s{2,}", line.strip())[0]
            names |= {word.split()[0] for word in first.split(", ")}
    return names


def test_each_commands_help_is_its_own(capsys):
    """`reach roster` and `reach users` used to print `reach collect`'s help (a late-bound
    lambda): every --help names its own command, and lists exactly its options and subcommands."""
    for path, cmd, _ in _commands(reach):
        assert main([*path, "--help"]) == 0, path
        out = capsys.readouterr().out
        assert out.startswith(f"Usage: reach {' '.join(path)} "), (path, out[:80])
        own = {o for p in cmd.params if isinstance(p, click.Option) for o in p.opts + p.secondary_opts}
        assert _listed(out, "Options") == own | {"-h", "--help"}, path
        if isinstance(cmd, click.Group):
            assert _listed(out, "Commands") == set(cmd.commands), path
            # A group alone is a usage error that shows the group's own help, as argparse's did.
            assert main(list(path)) == 2
            assert capsys.readouterr().out == out, path
    assert {"--db", "--archive", "--config", "--tz", "--jobs"} <= _listed(
        (main(["import", "--help"]), capsys.readouterr().out)[1], "Options")


def test_a_path_that_is_not_there_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "r.db"
    for args, said in ((["import", "nope.csv", "--db", str(db)], "error: no such file or folder: nope.csv"),
                       (["roster", "import", str(tmp_path), "--db", str(db)], f"error: {tmp_path} is a folder, not a file"),
                       (["import", str(tmp_path), "--db", str(db), "--config", "none.toml"],
                        "error: --config none.toml: no such file")):
        assert main(args) == 1, args
        assert capsys.readouterr().err == said + "\n"
    assert list(tmp_path.iterdir()) == []  # no database made for a mistyped name


def test_a_timezone_is_checked_where_it_is_given_and_named_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(tmp_path), "--tz", "Europe"]) == 1  # a folder of zones, not one
    assert capsys.readouterr().err == "error: --tz 'Europe' is not a timezone name like Asia/Shanghai\n"
    monkeypatch.setenv("REACH_TZ", "Mars/Olympus")
    assert main(["watch", str(tmp_path), "--once"]) == 1
    assert capsys.readouterr().err == "error: REACH_TZ 'Mars/Olympus' is not a timezone name like Asia/Shanghai\n"
    assert list(tmp_path.iterdir()) == []


def test_click_refusals_are_one_line_with_exit_2_and_the_help_to_read(capsys):
    for args, said in ((["export", "daily", "--colour"], "No such option '--colour'"),
                       (["users", "add", "bob", "--role", "boss"], "'boss' is not one of 'viewer', 'editor'"),
                       (["import", "--jobs", "0", "."], "--jobs"),
                       (["collect", "--once", "--every", "1h"], "--once and --every")):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("error: ") and said in err and err.count("\n") == 1, (args, err)
    assert main(["import"]) == 2
    assert capsys.readouterr().err == "error: Missing argument 'PATH...'. (see reach import --help)\n"


def test_reach_help_lists_the_commands():
    out = run("--help").stdout
    for name in ("import", "rebuild", "roster", "export", "demo", "serve", "status"):
        assert re.search(rf"^\s+{name}\s", out, re.M), name


def test_importing_a_file_prints_one_line_and_a_second_time_says_already_imported(tmp_path):
    f = tmp_path / "account_analytics_content_2024-12-16_2024-12-22.csv"
    f.write_bytes(x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", 800, 10)]))
    first = run("import", str(f), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("\n") == 1
    assert "x.content" in first.stdout and "2 posts, 2 snapshots" in first.stdout and "0 rows rejected" in first.stdout
    assert "\r" not in first.stdout + first.stderr  # piped output is plain lines
    again = run("import", str(f), cwd=tmp_path)
    assert again.returncode == 0 and "already imported" in again.stdout
    assert (tmp_path / "data" / "reach.db").exists()


def test_import_refreshes_the_rollups_with_the_campaign_of_config(tmp_path, monkeypatch):
    """--config names the campaign whose rollups the import refreshes (its timezone decides the
    days); the CLI used to read ./campaign.toml or $REACH_CONFIG whatever --config said."""
    from collectors.store import database
    from dashboard.analysis import config, rollups
    from dashboard.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REACH_CONFIG", str(ROOT / "campaign.toml"))  # Asia/Shanghai: not the one to use
    cfg = tmp_path / "la.toml"
    cfg.write_text('[campaign]\nname = "LA"\ntimezone = "America/Los_Angeles"\n')
    f = tmp_path / "account_analytics_content_2024-12-16_2024-12-22.csv"
    f.write_bytes(x_content([("1870000000000000001", 1200, 30)]))
    assert main(["import", str(f), "--db", str(tmp_path / "r.db"), "--config", str(cfg)]) == 0
    engine = database.connect(f"sqlite:///{tmp_path / 'r.db'}")
    assert rollups.is_current(engine, config.load(str(cfg)))
    assert not rollups.is_current(engine, config.load(str(ROOT / "campaign.toml")))
    engine.dispose()


def test_an_unknown_file_fails_with_exit_1_naming_the_closest_report_and_no_traceback(tmp_path):
    f = tmp_path / "mystery.csv"
    f.write_text("Post id,Date,Post text,Impresions,Likes\n1,\"Sun, Dec 22, 2024\",hi,5,1\n", encoding="utf-8")
    r = run("import", str(f), cwd=tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    assert "X account analytics, Content export" in r.stdout
    assert "Impresions" in r.stdout  # the column that did not match


def test_user_mistakes_are_one_line_errors_not_tracebacks(tmp_path):
    for args in (["import", "nope.csv"], ["import", "--as-of", "yesterday-ish", str(tmp_path)],
                 ["import", "--db", "notadb://x", str(tmp_path)], ["roster", "import", "missing.csv"],
                 ["export", "posts", "--db", str(tmp_path / "none.db")], ["serve", "--host", "0.0.0.0"]):
        r = run(*args, cwd=tmp_path)
        assert r.returncode != 0, args
        assert "Traceback" not in r.stderr, (args, r.stderr)
        assert r.stderr.startswith("error: "), (args, r.stderr)


def test_reach_db_environment_variable_chooses_the_database(tmp_path):
    f = tmp_path / "account_analytics_content_2024-12-16_2024-12-22.csv"
    f.write_bytes(x_content([("1870000000000000001", 1200, 30)]))
    db = tmp_path / "elsewhere" / "campaign.db"
    r = run("import", str(f), cwd=tmp_path, env={"REACH_DB": str(db)})
    assert r.returncode == 0, r.stderr
    assert db.exists() and not (tmp_path / "data" / "reach.db").exists()
    assert (db.parent / "archive" / "manifest.jsonl").exists()


def test_a_folder_with_real_exports_imports_each_file_with_its_own_line(tmp_path):
    folder = sample("twitter").parent
    r = run("import", str(folder / "twitter"), cwd=tmp_path)
    assert r.returncode == 0, r.stdout
    lines = [l for l in r.stdout.splitlines() if l.startswith(("ok", "FAILED", "same"))]
    assert len(lines) == 2 and all(l.startswith("ok") for l in lines)


def _two_snapshots(tmp_path):
    for end, imp in (("2024-12-22", 1200), ("2024-12-23", 1500)):
        f = tmp_path / f"account_analytics_content_2024-12-16_{end}.csv"
        f.write_bytes(x_content([("1870000000000000001", imp, 30)]))
        assert run("import", str(f), cwd=tmp_path).returncode == 0


def test_export_daily_turns_two_lifetime_snapshots_into_daily_increments(tmp_path):
    import csv
    import io

    _two_snapshots(tmp_path)
    r = subprocess.run([sys.executable, "-m", "dashboard.cli", "export", "daily", "--by", "platform"],
                       cwd=tmp_path, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout.decode("utf-8-sig"))))
    # published 22 Dec (midnight, campaign timezone): the first 1,200 belong to the 22nd, +300 to the 23rd
    assert [(x["date"], float(x["impressions"])) for x in rows] == [("2024-12-22", 1200.0), ("2024-12-23", 300.0)]
    assert rows[0]["views"] == ""  # X reports no views: unknown, not 0


def test_export_weekly_xlsx_with_filters_and_bad_filters_are_one_line_errors(tmp_path):
    import openpyxl

    _two_snapshots(tmp_path)
    out = tmp_path / "weekly.xlsx"
    r = run("export", "weekly", "--platform", "x", "--from", "2024-12-16", "--to", "2024-12-29", "-o", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    ws = openpyxl.load_workbook(out).active
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value for c in row])) for row in ws.iter_rows(min_row=2)]
    assert [(x["week"], x["impressions"]) for x in rows] == [("2024-W51", 1200), ("2024-W52", 300)]
    # W51 has data on its Sunday only, W52 up to its Monday: both partial, and W52's Monday is
    # compared with W51's Monday, which is before the data: no comparison rather than a made-up one.
    assert [(x["days_covered"], x["partial"]) for x in rows] == [(1, True), (1, True)]
    assert rows[1]["wow_impressions"] is None
    for args in (["export", "daily", "--from", "22/12/2024"], ["export", "daily", "--by", "colour"],
                 ["export", "weekly", "--format", "xlsx"], ["export", "daily", "--from", "2025-01-02", "--to", "2025-01-01"]):
        r = run(*args, cwd=tmp_path)
        # A wrong option is a usage error: exit 2, as click's own (1 means the work failed).
        assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr, (args, r.stderr)


# `reach serve` with the command `reach demo` runs replaced by one that says what it was given and
# stops the process (the real one takes half a minute); a server that started instead is stopped by
# the timeout, and the test fails.
SERVE_WITHOUT_DEMO = """
import sys
from dashboard import cli

def demo(args):
    print("demo", args.db, args.live, args.files_only, args.seed)
    sys.exit(17)

cli.cmd_demo = demo
sys.exit(cli.main(sys.argv[1:]))
"""


def test_serve_demo_if_empty_runs_reach_demo_on_the_same_database_after_the_checks(tmp_path):
    """`reach serve --demo-if-empty` on an empty database runs `reach demo` first (handed to the
    server by the CLI: dashboard/web never imports it), into the database it serves, once the
    login and port checks passed."""
    import socket

    def serve(port):
        return subprocess.run([sys.executable, "-c", SERVE_WITHOUT_DEMO, "serve", "--demo-if-empty", "--db", db,
                               "--port", str(port)], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})

    db = str(tmp_path / "empty.db")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = serve(port)
    assert (r.returncode, r.stdout) == (17, f"demo {db} False False 2024\n"), r.stderr
    # The checks come first: a port that is taken is refused before any demo is built.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = serve(s.getsockname()[1])
    assert r.returncode == 2 and r.stdout == "" and "is taken by another program" in r.stderr


def test_a_database_error_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    import sqlalchemy as sa

    from collectors.store import database
    from dashboard import cli

    def locked(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT INTO collector_state ...", {}, Exception("database is locked"))

    monkeypatch.setattr(database, "connect", locked)
    assert cli.main(["status", "--db", str(tmp_path / "r.db")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "error: the database refused: database is locked"


def test_an_export_without_a_campaign_config_says_it_took_the_defaults(demo_db, tmp_path, monkeypatch, capsys):
    # Issue 12: without campaign.toml every EMV was a silent 0, which reads as a fact.
    from dashboard.cli import main as reach

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REACH_CONFIG", raising=False)
    assert reach(["export", "influencers", "--db", str(demo_db), "-o", str(tmp_path / "i.csv")]) == 0
    err = capsys.readouterr().err
    assert "no campaign.toml" in err and "EMV is 0" in err
    (tmp_path / "campaign.toml").write_text("[campaign]\nname = 'x'\n[cpm]\ntiktok = 5\n")
    assert reach(["export", "influencers", "--db", str(demo_db), "-o", str(tmp_path / "i.csv")]) == 0
    assert "no campaign.toml" not in capsys.readouterr().err
