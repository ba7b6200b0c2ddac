"""The `reach` command line: import, rebuild, roster, export, demo, serve.

Every subcommand prints what it did in words and exits non-zero when something failed; a user's
mistake (a bad file, a wrong option) is a message, never a traceback. Long work shows progress on
a terminal and plain lines when piped.

Built with click: one group, `reach`, whose commands take the options of dashboard/cli_options.py
(each declared once there) and hand what was given, as ``args``, to the ``cmd_*`` function that
does the work. `main(argv)` runs it and turns every refusal into one line and an exit status.
"""
from __future__ import annotations

import builtins
import os
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import click

from collectors import messages
from collectors.archive import Archive
from collectors.errors import ReachError, UsageError
from collectors.files import printable
from collectors.model import DEFAULT_TIMEZONE
from collectors.names import PLATFORM_ALIASES, closest
from collectors.store import database, ledger

from .cli_options import (Refused, account_option, config_option, date_order_option, db_options, existing, jobs_option,
                          tz_option, users_option)

EPILOG = "The database is data/reach.db unless --db or REACH_DB says otherwise (any SQLAlchemy URL)."


class _Group(click.Group):
    """Commands listed in the order they are declared (import first, as in the README), not
    alphabetically; subgroups are of this class too."""

    group_class = type

    def list_commands(self, ctx):
        return list(self.commands)


def _run(cmd, params: dict) -> int:
    """A command's parameters, as the one ``args`` object its ``cmd_*`` function reads."""
    return cmd(SimpleNamespace(**params)) or 0


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             help="Campaign Reach: import social-media export files and see a campaign's reach.", epilog=EPILOG)
def reach():
    pass


@reach.command("import", short_help="import export files, folders or ZIP files",
               help="Import platform export files (CSV, XLSX, ZIP; folders are walked). "
                    "Prints one line per file; exits 1 if any file failed.")
@click.argument("paths", nargs=-1, required=True, type=existing("path"), metavar="PATH...")
@db_options
@click.option("--as-of", metavar="TIME",
              help="snapshot time of lifetime exports (ISO 8601), overriding the file and its name")
@account_option
@tz_option
@click.option("--strict", is_flag=True, help="refuse a whole file if any row is rejected")
@click.option("--show-rejects", type=int, default=5, metavar="N", help="rejected rows to print per file (default 5)")
@click.option("--mapping", type=existing("file"), metavar="FILE.toml",
              help="read files with this header by this column mapping (write one with `reach mapping suggest`); "
                   "saved as a profile for later files with the same header")
@date_order_option
@config_option  # the campaign whose rollups the import refreshes
@jobs_option
def _import(**params):
    return _run(cmd_import, params)


@reach.group("mapping", short_help="column mappings for files no report recognises",
             help="A mapping says which column of a file holds which field of a report. "
                  "`suggest` writes the one detection proposes; `reach import FILE --mapping M.toml` "
                  "imports with it and saves it as a profile for every later file with the same header.")
def _mapping():
    pass


@_mapping.command("suggest", short_help="write the proposed mapping of a file as editable TOML",
                  help="Print the column mapping detection proposes for FILE, as TOML to edit and "
                       "pass to `reach import FILE --mapping`. Example: reach mapping suggest f.csv > f.toml")
@click.argument("file", type=existing("file"), metavar="FILE")
@click.option("--table", type=int, default=None, metavar="N",
              help="which table of the file (sheet, section, ZIP member), from 1 (default: the first unrecognised)")
def _mapping_suggest(**params):
    return _run(cmd_mapping_suggest, params)


@_mapping.command("list", short_help="list saved mapping profiles", help="List the saved mapping profiles.")
@db_options
def _mapping_list(**params):
    return _run(cmd_mapping_list, params)


@_mapping.command("remove", short_help="remove a saved mapping profile",
                  help="Remove the saved profile whose signature starts with SIGNATURE (from `reach mapping list`).")
@click.argument("signature", metavar="SIGNATURE")
@db_options
def _mapping_remove(**params):
    return _run(cmd_mapping_remove, params)


@reach.command("rebuild", short_help="re-create the database from the archive of imported files",
               help="Drop every table and re-import every archived file in its original order, "
                    "with the options it was first imported with.")
@db_options
@config_option  # the campaign whose rollups the import refreshes
@jobs_option
def _rebuild(**params):
    return _run(cmd_rebuild, params)


@reach.group("roster", short_help="map accounts to influencers",
             help="Manage the roster that maps platform accounts to influencers.")
def _roster():
    pass


@_roster.command("import", short_help="import a roster CSV (name, category, platform, handle, account_id)",
                 help="Import a roster CSV with columns name, category, platform, handle and/or "
                      "account_id. All rows or none.")
@click.argument("file", type=existing("file"), metavar="FILE.csv")
@db_options
def _roster_import(**params):
    return _run(cmd_roster_import, params)


EXPORTS = {
    "daily": "activity per day (and --by groups)",
    "weekly": "per ISO week with week-over-week",
    "posts": "one row per post with its latest values",
    "influencers": "one row per influencer",
    "account-days": "account-level daily rows as the platforms gave them",
    "events": "campaign.toml's events and the annotations editors added, by date",
}


@reach.command("export",
               short_help="write tidy data as CSV or XLSX (daily, weekly, posts, influencers, account-days, events)",
               help="Write tidy data with the columns documented in docs/exports.md: CSV is UTF-8 "
                    "with a BOM (Excel reads Chinese text), dates are ISO, and text cells that a "
                    "spreadsheet would run as a formula are neutralised.\n\nWHAT is "
                    + "; ".join(f"{k}: {v}" for k, v in EXPORTS.items()) + ".")
@click.argument("what", type=click.Choice(list(EXPORTS)), metavar="WHAT")
@click.option("--by", default=None, metavar="COLS",
              help="group daily/weekly rows by any of influencer,category,account,platform,post "
                   "(comma-separated; daily default: platform)")
@click.option("--from", "start", metavar="DATE",
              help="first day (YYYY-MM-DD, campaign timezone); without --from and --to, the campaign "
                   "window of campaign.toml, as on the dashboard (account-days: every day)")
@click.option("--to", "end", metavar="DATE", help="last day, inclusive")
@click.option("--platform", multiple=True, metavar="P", help="only this platform (repeatable)")
@click.option("--influencer", multiple=True, metavar="NAME", help="only this influencer (repeatable)")
@click.option("--category", multiple=True, metavar="C",
              help="only influencers of this roster category (repeatable; 'unassigned' for accounts "
                   "not in the roster)")
@click.option("--format", type=click.Choice(["csv", "xlsx"]), default=None,
              help="csv (default) or xlsx; -o FILE.xlsx implies xlsx")
@click.option("-o", "--output", metavar="FILE", help="file to write (default: standard output, CSV only)")
@config_option
@db_options
def _export(**params):
    return _run(cmd_export, params)


@reach.command("summary", short_help="the weekly summary for managers (text, one HTML page or a PDF)",
               help="Print the summary of one ISO week: KPIs with week-over-week change, top "
                    "influencers and posts, platform mix and a short narrative. --html writes the "
                    "same as one self-contained, printable page; --pdf as that page's PDF (A4).")
@click.option("--week", metavar="YYYY-Www", help="ISO week, e.g. 2025-W01 (default: the latest complete week)")
@click.option("--html", metavar="FILE", help="also write the summary as one self-contained HTML file")
@click.option("--pdf", metavar="FILE", help="also write the summary as a PDF: the HTML page on A4 (needs WeasyPrint)")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en",
              help="language of the summary: en (English, the default) or zh (Simplified Chinese)")
@config_option
@db_options
def _summary(**params):
    return _run(cmd_summary, params)


@reach.command("demo", short_help="write the demo campaign's export files and import them",
               help='Write a realistic six-week campaign (modelled on the "Jin" Hub campaign, '
                    "fictional influencers) as native export files of each platform, then import them.")
@click.option("--seed", type=int, default=2024, help="random seed (default 2024); same seed, same files")
@click.option("--folder", metavar="DIR", help="where to write the files (default: data/demo-exports)")
@click.option("--files-only", is_flag=True, help="write the files but do not import them")
@click.option("--live", is_flag=True,
              help="play the campaign's last day as if it were happening now: fresh TikTok exports into "
                   "--inbox every few seconds, imported as `reach watch` would (README: seeing it live)")
@click.option("--inbox", metavar="DIR", help="--live: the inbox folder (default: data/inbox)")
@click.option("--every", type=float, default=5.0, metavar="SECONDS", help="--live: seconds between drops (default 5)")
@click.option("--for", "drops", type=int, metavar="N", help="--live: stop after N drops (default: until Ctrl-C)")
@click.option("--no-watch", is_flag=True,
              help="--live: only drop the files; import them with `reach watch DIR` yourself")
@config_option  # the campaign whose rollups the import refreshes
@db_options
def _demo(**params):
    return _run(cmd_demo, params)


@reach.command("watch", short_help="import export files dropped into an inbox folder, as they arrive",
               help="Watch DIR: each export file is imported once it has stopped growing "
                    "(--settle), then moved to DIR/processed/, or to DIR/failed/ with "
                    "NAME.error.txt saying why; rejected rows are listed in NAME.rejected.txt. "
                    "Safe beside the dashboard, uploads, `reach import` and other watchers. "
                    "Prints one line per file; Ctrl-C stops between files.")
@click.argument("dir", type=existing("folder"), metavar="DIR")
@click.option("--settle", default="2s", metavar="TIME",
              help="how long a file must stay unchanged before it is imported (default 2s)")
@click.option("--poll", default="1s", metavar="TIME", help="how often to look (default 1s)")
@click.option("--once", is_flag=True,
              help="process what is ready now and exit (for cron); exit status 1 if a file failed")
@db_options
@account_option
@tz_option
@date_order_option
@config_option  # the campaign whose rollups the import refreshes
def _watch(**params):
    return _run(cmd_watch, params)


@reach.command("serve", short_help="serve the dashboard",
               help="Serve the dashboard on http://127.0.0.1:8050 (loopback only by default).")
@click.option("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
@click.option("--port", type=int, default=8050, help="port (default 8050)")
@click.option("--demo-if-empty", is_flag=True, help="build the demo campaign first if the database is empty")
@click.option("--workers", type=int, metavar="N",
              help="serve with gunicorn and N worker processes (default: Flask's server, for one user)")
@click.option("--threads", type=int, metavar="T",
              help="with --workers: T threads per worker process (gunicorn's gthread worker; default 4 on "
                   "PostgreSQL, where requests wait on the server, 1 on SQLite)")
@users_option
@config_option
@db_options
def _serve(**params):
    return _run(cmd_serve, params)


@reach.group("users", short_help="who may log in to the dashboard",
             help="Manage dashboard users: viewers read and download, editors also upload "
                  "and edit the roster. With users configured, the dashboard asks for a login.")
def _users():
    pass


@_users.command("add", short_help="add a user or change their password and role",
                help="Add a user, or replace an existing one's password and role. The password "
                     "is asked for twice, or read from REACH_PASSWORD in scripts; only its hash "
                     "is stored.")
@click.argument("name", metavar="NAME")
@click.option("--role", type=click.Choice(["viewer", "editor"]), default="viewer", help="viewer (default) or editor")
@users_option
def _users_add(**params):
    return _run(cmd_users_add, params)


@_users.command("remove", short_help="remove a user", help="Remove a user; their sessions end at once.")
@click.argument("name", metavar="NAME")
@users_option
def _users_remove(**params):
    return _run(cmd_users_remove, params)


@_users.command("list", short_help="list users and roles", help="List users and their roles.")
@users_option
def _users_list(**params):
    return _run(cmd_users_list, params)


@reach.command("doctor", short_help="check the database against the archive, and the rollups against the engine",
               help="Check that every import has its archived bytes and manifest line, that every "
                    "archived file in the manifest is in the database, and that the stored daily "
                    "rollups equal what the metrics engine computes. One line per check; exit "
                    "status 1 if a problem is left. --repair fixes what it finds: missing manifest "
                    "lines are written back from the database, archived files the database lacks "
                    "are imported, stale rollups are recomputed.")
@click.option("--repair", is_flag=True, help="fix what is found")
@click.option("--partition-by-month", "partition", is_flag=True,
              help="PostgreSQL: first convert post_snapshots and post_days to monthly partitions (every row "
                   "moved, in one transaction; docs/scaling.md measures what it costs and gains)")
@config_option
@db_options
def _doctor(**params):
    return _run(cmd_doctor, params)


@reach.command("status", short_help="what the database holds, per platform",
               help="Counts of accounts, posts, snapshots and days per platform, and recent imports.")
@db_options
def _status(**params):
    return _run(cmd_status, params)


@reach.command("collect", short_help="poll the platforms' APIs and store lifetime snapshots",
               help="Poll the YouTube, Instagram, Facebook, X, TikTok and Bilibili APIs for the "
                    "roster's accounts and store each answer page as a snapshot file, like an "
                    "import. Credentials come from environment variables or a credentials file "
                    "outside the repository (docs/collectors.md). One line per platform; exit "
                    "status 1 if any platform failed.")
@click.option("--platform", multiple=True, metavar="P",
              help="only this platform (repeatable): youtube, instagram, facebook, meta, x, tiktok, bilibili")
@click.option("--once", is_flag=True, help="one run, then exit (the default)")
@click.option("--every", metavar="DURATION", help="run again every DURATION (15m, 1h, 90s) until Ctrl-C")
@click.option("--since", metavar="DATE",
              help="poll posts published from DATE (YYYY-MM-DD, campaign timezone); 'all' for every post "
                   "(default: the campaign's start in campaign.toml)")
@click.option("--credentials", metavar="FILE",
              help="credentials file (default: $REACH_CREDENTIALS or ~/.config/campaign-reach/credentials.toml)")
@config_option
@db_options
def _collect(**params):
    if params["once"] and params["every"]:
        raise UsageError("--once and --every exclude each other: one run, or a run every DURATION")
    return _run(cmd_collect, params)


@reach.command("worker", short_help="evaluate the alert rules and send the scheduled reports, every minute",
               help="Run campaign.toml's [[alerts]] rules on a schedule (stale sources, goals behind, and "
                    "anything an import did not trigger) and send each [[reports]] entry when its slot "
                    "comes (the weekly summary, Monday 09:00 campaign time by default). A slot missed "
                    "while no worker ran is sent late, once. One line per event or report sent "
                    "(docs/alerts.md). With REACH_REDIS set, it is a Celery worker instead: it runs the "
                    "tasks that `reach beat` and the web hosts send (imports, collector runs by account "
                    "batch, rollup refreshes, alerts, reports), as many workers on as many hosts as you "
                    "start; --once still runs one round here (docs/workers.md).")
@click.option("--once", is_flag=True, help="one round, then exit")
@click.option("--every", metavar="DURATION",
              help="seconds between rounds (default 60s; 2s, 500ms, 1m); with REACH_REDIS, `reach beat --every`")
@click.option("--concurrency", type=click.IntRange(min=1), metavar="N",
              help="with REACH_REDIS: tasks run at once by this worker (default: one per core)")
@config_option
@db_options
def _worker(**params):
    return _run(cmd_worker, params)


@reach.command("beat", short_help="send the Celery workers their schedules (needs REACH_REDIS)",
               help="With REACH_REDIS set, send the workers (`reach worker`) their schedules: the alert "
                    "rules and the reports due every minute, the refresh of rollups a killed task left "
                    "pending every five minutes, and a collect round every [collect] every of "
                    "campaign.toml, cut into batches of [collect] batch accounts. Run one beat per "
                    "deployment; a second one sends each task twice, which the tasks survive (a report's "
                    "slot is sent once) but wastes work (docs/workers.md).")
@click.option("--every", default="60s", metavar="DURATION",
              help="seconds between rounds of alerts and reports (default 60s; 2s, 500ms, 1m)")
@click.option("--state", metavar="FILE",
              help="where beat keeps when each entry last ran (default ~/.cache/campaign-reach/celerybeat-schedule)")
@config_option
@db_options
def _beat(**params):
    return _run(cmd_beat, params)


# --- helpers ----------------------------------------------------------------------------------

def print(*values, sep: str = " ", end: str = "\n", file=None, flush: bool = False) -> None:  # noqa: A001
    """Every line this command shows passes here. What it shows comes from data (file names, post
    titles, account names, messages quoting a file's header, an API's error text), and a file or
    a post can carry terminal escape sequences: a forged prompt, a rewritten window title, a
    clipboard write (OSC 52). They and all control characters but newline and tab are removed."""
    builtins.print(printable(sep.join(str(v) for v in values)), end=end, file=file, flush=flush)


class _Shown:
    """A text stream that removes terminal controls from what is written to it (for the
    collectors' own printing)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(printable(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


class Progress:
    """A one-line counter on a terminal; nothing extra when the output is a pipe or a file."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr  # the stream of now, not of when this module was imported
        self.tty = self.stream.isatty()

    def __call__(self, i: int, n: int, label: str) -> None:
        if self.tty:
            width = 30
            done = int(width * i / max(n, 1))
            self.stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {i}/{n} {printable(label, keep='')[:40]:<40}")
            self.stream.flush()
            if i == n:
                self.stream.write("\r" + " " * (width + 50) + "\r")

    def clear(self):
        if self.tty:
            self.stream.write("\r" + " " * 80 + "\r")


def _engine(args, create=True):
    return database.connect(args.db, create=create)


def _archive(engine, args) -> Archive:
    from collectors.pipeline import reconcile_manifest

    archive = Archive(database.archive_dir(engine, args.archive))
    # A process killed between an import's commit and its manifest line left the line out: write
    # it back before anything reads or appends to the manifest (collectors/archive.py).
    reconcile_manifest(engine, archive)
    return archive


def _print_results(results, show_rejects: int) -> int:
    failed = 0
    progress_clear = Progress()
    for r in results:
        progress_clear.clear()
        print(r.line())
        for pr in r.problems[:show_rejects]:
            print(f"          rejected: {pr}")
        if len(r.problems) > show_rejects:
            print(f"          ... and {len(r.problems) - show_rejects} more rejected rows")
        for t in r.ignored_tables:
            print(f"          not a metrics report, left out: {t}")
        failed += not r.ok
    return failed


def _refresh_rollups(engine, results, args=None, *, streaming: bool = False) -> None:
    """The rollups after these imports (dashboard.ingest), with a warning when they could not be
    refreshed: the imports themselves have succeeded."""
    from . import ingest
    from .analysis import config

    try:
        campaign = config.load(getattr(args, "config", None))
    except ReachError as e:  # a broken campaign file: the imports stand, the rollups go stale
        _warn_refresh(ingest.mark_stale(engine, str(e)))
        return
    _warn_refresh(ingest.refresh(engine, campaign, results, streaming=streaming))


def _publish_due(engine, args=None, every: float | None = None) -> None:
    """Between a watcher's looks: publish what its spaced refreshes left unpublished (dashboard.ingest);
    ``every=0`` when it stops: whatever waits."""
    from . import ingest
    from .analysis import config

    try:
        campaign = config.load(getattr(args, "config", None))
    except ReachError:
        return  # said by the refresh already
    ingest.publish_due(engine, campaign, every)


def _warn_refresh(problem) -> None:
    if problem is not None:
        print(f"warning: daily rollups not refreshed ({problem}); {problem.then()}", file=sys.stderr)


def _parse_time(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ReachError(f"--as-of {text!r} is not a date and time like 2024-12-22T18:00+08:00") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


# --- commands ---------------------------------------------------------------------------------

def cmd_import(args) -> int:
    from collectors.pipeline import Importer

    mapping = _load_mapping(args.mapping) if args.mapping else None
    engine = _engine(args)
    imp = Importer(engine, _archive(engine, args), tz=args.tz,
                   as_of=_parse_time(args.as_of) if args.as_of else None,
                   account=args.account, strict=args.strict, mapping=mapping, date_order=args.date_order)
    progress = Progress()
    results = []

    def on_file(i, n, r):
        progress.clear()
        _print_results([r], args.show_rejects)
        sys.stdout.flush()
        progress(i, n, Path(r.name).name)
        results.append(r)

    skipped = []
    imp.import_paths(args.paths, progress=on_file, jobs=args.jobs, skipped=skipped)
    progress.clear()
    _refresh_rollups(engine, results, args)
    failed = sum(not r.ok for r in results)
    # Files of the folders that were not imported, and why: a PDF or a note left out silently
    # looks like an export that vanished.
    for line in messages.skipped_lines([(str(f), group) for f, group in skipped]):
        print(line)
    if len(results) > 1 or (results and skipped):
        print(messages.import_summary(len(results), sum(r.status == "imported" for r in results),
                                      sum(r.status == "already imported" for r in results), failed, len(skipped)))
    if not results:
        print(messages.NOTHING_TO_IMPORT)
        return 1
    return 1 if failed else 0


def _load_mapping(path: str):
    from collectors.mapping import Mapping

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as e:
        raise ReachError(f"--mapping {path}: cannot read it: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ReachError(f"--mapping {path}: not a UTF-8 text file") from None
    return Mapping.from_toml(text, path)


def cmd_mapping_suggest(args) -> int:
    from collectors.detect import DetectError, detect
    from collectors.mapping import Mapping, signature
    from collectors.read import read_bytes

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ReachError(f"{path}: cannot read it: {e.strerror or e}") from None
    tables = read_bytes(str(path), data)
    if not tables:
        raise ReachError(f"{path}: no table found in the file")
    if args.table is not None and not 1 <= args.table <= len(tables):
        raise ReachError(f"--table {args.table}: {path} has {len(tables)} table(s)")
    chosen, note = None, ""
    for k, t in enumerate(tables, 1):
        if args.table is not None and k != args.table:
            continue
        try:
            m = detect(t)
        except DetectError as e:
            chosen = (t, e.proposal, _structure(t))
            break
        if chosen is None:
            note = (f"# {t.source} is already recognised {m.describe(t)} as {m.report.name}: this mapping only "
                    f"changes how it is read.\n")
            chosen = (t, Mapping(m.report.name, m.pairs(t), signature(t)), _structure(t))
            if args.table is not None:
                break
    t, proposal, found = chosen
    others = [x.source for x in tables if x is not t]
    if others:
        note += f"# The file has other tables too ({', '.join(others[:5])}): --table N picks one.\n"
    sys.stdout.write(printable(note + proposal.to_toml(t, found, file_hint=f'"{path}"')))
    return 0


def _structure(table):
    from collectors.detect import candidates

    return candidates(table)


def cmd_mapping_list(args) -> int:
    engine = _engine(args)
    profiles = ledger.load_profiles(engine)
    if not profiles:
        print("no saved mapping profiles (reach import FILE --mapping M.toml saves one)")
        return 0
    for d in profiles:
        read = sum(1 for _, f in d["columns"] if f)
        first = ", ".join(h for h, _ in d["columns"][:4])
        print(f"{d['signature']}  {d['report']:<28} {read} of {len(d['columns'])} columns read; "
              f"header {first}…; saved {d['created_at']:%Y-%m-%d %H:%M} UTC from {d.get('file_name') or '?'}")
    return 0


def cmd_mapping_remove(args) -> int:
    engine = _engine(args)
    n = ledger.remove_profile(engine, args.signature)
    if not n:
        raise ReachError(f"no saved mapping profile has a signature starting with {args.signature!r} (see reach mapping list)")
    print(f"removed {n} mapping profile{'s' if n != 1 else ''}")
    return 0


def cmd_rebuild(args) -> int:
    from collectors.pipeline import rebuild

    engine = _engine(args)
    archive = _archive(engine, args)
    if not archive.entries():
        raise ReachError(f"the archive {archive.root} has no files: nothing to rebuild from")
    progress = Progress()

    def on_file(i, n, r):
        progress.clear()
        print(r.line())
        progress(i, n, Path(r.name).name)

    results = rebuild(engine, archive, progress=on_file, jobs=args.jobs)
    _refresh_rollups(engine, results, args)
    failed = sum(not r.ok for r in results)
    print(f"rebuilt from {len(results)} archived files; {failed} failed")
    return 1 if failed else 0


def cmd_roster_import(args) -> int:
    from collectors.roster import import_roster

    path = Path(args.file)
    engine = _engine(args)
    n, c = import_roster(engine, _archive(engine, args), path.name, path.read_bytes())
    print(f"roster {path.name}: {n} rows, {c['influencers']} new influencers, "
          f"{c['accounts_linked']} accounts linked ({c['accounts_created']} not seen in any export yet)")
    return 0


def _selection(args):
    from datetime import date

    from collectors.model import PLATFORMS

    from .analysis.metrics import Selection

    def day(text, flag):
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise UsageError(f"{flag} {text!r} is not a date like 2024-12-22") from None

    for p in args.platform:
        if p not in PLATFORMS:
            raise UsageError(messages.unknown_platform(p, closest(p, PLATFORMS, aliases=PLATFORM_ALIASES), PLATFORMS))
    sel = Selection(start=day(args.start, "--from"), end=day(args.end, "--to"),
                    platforms=tuple(args.platform), influencers=tuple(args.influencer),
                    categories=tuple(args.category))
    if sel.start and sel.end and sel.start > sel.end:
        raise UsageError(f"--from {sel.start} is after --to {sel.end}")
    return sel


def _check_filters(engine, args) -> None:
    """Each --platform and --influencer must name something stored: a name that matches nothing
    would export an empty file that looks like a quiet period. Exact names, as the filter matches;
    the closest stored names are proposed, never substituted."""
    from .analysis import exports, queries

    stored = queries.names.stored_names(engine)
    for p in args.platform:
        if p not in stored["platform"]:
            raise UsageError(messages.platform_not_stored(p, stored["platform"]))
    names = stored["influencer"]
    known = set(names)
    for name in args.influencer:
        if name not in known:
            raise UsageError(messages.unknown_filter("--influencer", name, "influencer", closest(name, names),
                                                     len(names)))
    categories = sorted({*exports.roster_categories(engine).values(), "unassigned"})
    for name in args.category:
        if name not in categories:
            raise UsageError(messages.unknown_filter("--category", name, "category", closest(name, categories),
                                                     len(categories)))


def _say_if_empty(args, rows: int, sel=None) -> None:
    """Filters that match but a period with nothing in it: not a mistake (exit 0), but said, so
    an empty file is not taken for a failed one. ``sel``: the selection exported (without dates,
    the campaign window, which is said)."""
    if rows:
        return
    named = ([f"--platform {p}" for p in args.platform] + [f"--influencer {n!r}" for n in args.influencer]
             + [f"--category {c!r}" for c in args.category])
    period = (f"from {args.start} to {args.end}" if args.start and args.end else f"from {args.start} on" if args.start
              else f"up to {args.end}" if args.end
              else f"in the campaign window, {sel.start} to {sel.end}" if sel is not None and sel.start else "")
    print(messages.empty_selection(args.what, " ".join(named), period), file=sys.stderr)


def _write_chunks(output: str | None, chunks) -> None:
    """Bytes chunks to the file ``output`` (written beside it and renamed when whole) or stdout."""
    from .analysis import exports

    if output:
        with exports.atomic_file(output) as tmp, open(tmp, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        return
    for chunk in chunks:
        sys.stdout.buffer.write(chunk)
    sys.stdout.flush()


def cmd_export(args) -> int:
    from .analysis import config, exports, metrics
    from .analysis.metrics import Selection

    fmt = args.format or ("xlsx" if (args.output or "").lower().endswith(".xlsx") else "csv")
    if fmt == "xlsx" and not args.output:
        raise UsageError("an XLSX export needs -o FILE.xlsx")
    sel = _selection(args)
    if args.what in ("account-days", "events") and sel != Selection():
        # It writes every account-day as the platforms gave them: a filter it ignored would be a lie.
        raise UsageError(f"{args.what} takes no --from/--to/--platform/--influencer/--category: "
                         f"it writes every {'account-day' if args.what == 'account-days' else 'event'}; "
                         "filter the file instead")
    by = [b.strip() for b in args.by.split(",") if b.strip()] if args.by else None
    for b in by or []:
        if b not in ("influencer", "category", "account", "platform", "post"):
            raise UsageError(f"--by {b!r}: choose from influencer, category, account, platform, post")
    engine = _engine(args, create=False)
    _check_filters(engine, args)
    campaign = None
    if args.what != "account-days":
        campaign = config.load(args.config)
        if config.found(args.config) is None:  # said, not silent: EMV 0 looks like a fact
            print(config.DEFAULTED_NOTE, file=sys.stderr)
        # The pages' rule, from the same function: without dates, the campaign window. So the
        # page's download and this export of the same filters are the same rows (issue 12).
        sel = metrics.in_window(sel, campaign)
    if args.what == "events":
        import pandas as pd

        from .analysis import annotations

        df = pd.DataFrame(annotations.export_rows(engine, campaign), columns=annotations.EXPORT_COLUMNS)
        n = len(df)
        data = exports.to_xlsx_bytes(df, "events") if fmt == "xlsx" else exports.to_csv_bytes(df)
        if args.output:
            with exports.atomic_file(args.output) as tmp:
                tmp.write_bytes(data)
            print(f"wrote {n} rows to {args.output}", file=sys.stderr)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        return 0
    if args.what in ("posts", "account-days"):
        # Streamed: one batch of rows in memory at a time, written as it is read (issue 11).
        if fmt == "xlsx":
            # Counted first, so an export too big for Excel is refused before a file exists.
            exports.check_xlsx_rows(exports.count_rows(engine, args.what, campaign, sel))
            batches = exports.export_batches(engine, args.what, campaign, sel)
            with exports.atomic_file(args.output) as tmp:
                n = exports.write_xlsx(tmp, batches, exports.EXPORT_COLUMNS[args.what], args.what)
        else:
            counted = []
            _write_chunks(args.output, exports.csv_export(engine, args.what, campaign, sel, counted=counted))
            n = sum(counted)
    else:
        # From the stored rollup and narrow SQL, not the whole database in pandas (issue 11).
        if args.what == "daily" and fmt == "csv":
            # Streamed too: grouped by influencer or account, the rows are as many as the account-days.
            counted = []
            _write_chunks(args.output, exports.daily_csv(engine, campaign, by=by or ["platform"], sel=sel,
                                                         counted=counted))
            n = sum(counted)
        elif args.what == "weekly" and fmt == "csv" and "post" in (by or []):
            # Grouped by post, from the engine a run of posts at a time, written as it comes.
            counted = []
            _write_chunks(args.output, exports.by_post_csv(engine, campaign, "weekly", by, sel, counted=counted))
            n = sum(counted)
        else:
            if args.what == "daily":
                df = exports.daily_frame_db(engine, campaign, by=by or ["platform"], sel=sel)
            elif args.what == "weekly":
                df = exports.weekly_frame_db(engine, campaign, by=by or [], sel=sel)
            else:
                df = exports.influencers_frame_db(engine, campaign, sel=sel)
            n = len(df)
            if fmt == "xlsx":
                exports.check_xlsx_rows(n)
            data = exports.to_xlsx_bytes(df, args.what) if fmt == "xlsx" else exports.to_csv_bytes(df)
            if args.output:
                with exports.atomic_file(args.output) as tmp:
                    tmp.write_bytes(data)
            else:
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
    if args.output:
        print(f"wrote {n} rows to {args.output}", file=sys.stderr)
    _say_if_empty(args, n, sel)
    return 0


def cmd_summary(args) -> int:
    from .analysis import clock, config, exports, summary, week_store
    from .analysis.metrics import Selection

    campaign = config.load(args.config)
    if config.found(args.config) is None:
        print(config.DEFAULTED_NOTE, file=sys.stderr)
    engine = _engine(args, create=False)
    today = clock.today(engine, campaign.tz)  # the demo's own day on the demo, as on the Weekly page
    week = args.week or None
    # The report the last rollup refresh stored for this data, settings and code (the Weekly page's
    # default week and the one before), as the page reads it; else built from the rollups and
    # narrow SQL, not the whole database (no --week: the latest complete week, found from the
    # same daily rows the summary reads).
    s = week_store.report(engine, campaign, week, today, Selection(), lang=args.lang)
    if s is None:
        s = summary.build_summary_db(engine, campaign, week, today=today, lang=args.lang)
    print(summary.render_text(s))
    if args.html:
        # Written beside the target and renamed, like the exports: a folder that does not exist
        # is a one-line error, and no half-written page is ever left under the name.
        with exports.atomic_file(args.html) as tmp:
            tmp.write_text(summary.render_html(s), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    if args.pdf:
        pdf = summary.render_pdf(s)  # before the file is opened: no library, no file
        with exports.atomic_file(args.pdf) as tmp:
            tmp.write_bytes(pdf)
        print(f"wrote {args.pdf}", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    from zoneinfo import ZoneInfo

    from collectors.pipeline import Importer, capture_time_from_name
    from collectors.roster import import_roster

    from collectors.demo.campaign import write_demo

    if args.live:
        return _demo_live(args)
    folder = Path(args.folder or "data/demo-exports")
    demo = write_demo(folder, seed=args.seed)
    print(f"wrote {len(demo.files)} export files and a roster to {folder}")
    if args.files_only:
        return 0
    engine = _engine(args)
    archive = _archive(engine, args)
    # The demo is "as of" its last export: freshness and "today" are measured against that moment,
    # not the wall clock, so it looks live whenever it is opened (clock.clock). Set before the
    # imports, so the Weekly reports the refresh stores are the ones the page will ask for.
    from collectors.store import ledger

    ledger.set_demo_clock(engine, max(demo.as_of.values()))
    # The roster first, as a campaign team would set it up: it ties handles to platform ids,
    # so files that name an account either way land on the same account.
    _, c = import_roster(engine, archive, demo.roster.name, demo.roster.read_bytes())
    progress = Progress()
    results = []
    importer = Importer(engine, archive, demo=True)
    for i, f in enumerate(demo.files, 1):
        # Like a careful user: the account for files whose rows name none, and the export
        # time for files whose name carries no date range.
        as_of = None if capture_time_from_name(f.name, ZoneInfo(DEFAULT_TIMEZONE)) else demo.as_of.get(f)
        owner = demo.accounts.get(f)
        imp = importer.but(as_of=as_of, account=owner.handle if owner else None)
        r = imp.import_bytes(f.name, f.read_bytes(), display=str(f))
        results.append(r)
        progress.clear()
        if not sys.stdout.isatty() or not r.ok:
            print(r.line())
        progress(i, len(demo.files), f.name)
    progress.clear()
    _refresh_rollups(engine, results, args)
    failed = sum(not r.ok for r in results)
    print(f"demo campaign: {len(results)} files imported ({sum(r.status == 'already imported' for r in results)} "
          f"already there), {failed} failed; roster: {c['influencers']} new influencers, {c['accounts_linked']} accounts")
    return 1 if failed else 0


def _duration(text: str, flag: str) -> float:
    """``2s``, ``500ms``, ``1m`` or plain seconds."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*", text or "")
    if not m:
        raise ReachError(f"{flag} {text!r} is not a duration like 2s, 500ms or 1m")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "min": 60}[m.group(2)]


def _watcher(args, inbox: Path, engine, *, settle: float, poll: float, account=None, demo: bool = False,
             streaming: bool = False):
    """A Watcher importing as `reach import` does (the archive, the rollups refreshed after);
    ``demo``: the live demo's, whose imports keep the demo's clock; ``streaming``: one that runs
    until stopped, whose files are published to the pages at most every REACH_PUBLISH_EVERY
    seconds (dashboard/analysis/rollups.py), the rest after a look at the inbox once that much
    time has passed."""
    idle = (lambda: _publish_due(engine, args)) if streaming else None
    from collectors.pipeline import Importer
    from collectors.watch import Watcher

    imp = Importer(engine, _archive(engine, args), tz=getattr(args, "tz", DEFAULT_TIMEZONE), account=account,
                   date_order=getattr(args, "date_order", None), demo=demo)

    def say(line):
        print(line, flush=True)

    if not demo and _distributed().distributed:
        # Each settled file goes to the workers (dashboard/dispatch.py), which import it and refresh
        # the rollups; the watcher sends a look's files, then waits for their results, so each file
        # is filed away (processed/, failed/ with the reason) exactly as when it imports it itself.
        from . import dispatch

        if not (getattr(args, "archive", None) or os.environ.get("REACH_ARCHIVE")):
            raise ReachError("REACH_REDIS is set, so the workers import what `reach watch` finds: set REACH_ARCHIVE "
                             "(or --archive) to the archive folder every host and worker shares, where the files "
                             "are put for them (docs/workers.md)")
        archive = _archive(engine, args)
        tz, order = getattr(args, "tz", None), getattr(args, "date_order", None)

        def send(name, data, shown):
            sent = dispatch.send(archive, name, data, display=shown, account=account, date_order=order, tz=tz,
                                 streaming=streaming)
            return dispatch.Waiting(sent)

        return Watcher(inbox, send, settle=settle, poll_every=poll, out=say, idle=idle)

    # A watcher killed after an import's commit put the file back, and finds it imported now:
    # no import of this run refreshes that import's rollups, so finish the pending refresh first.
    _refresh_rollups(engine, [], args)
    return Watcher(inbox, lambda name, data, shown: imp.import_bytes(name, data, display=shown),
                   settle=settle, poll_every=poll, out=say, idle=idle,
                   after=lambda results: _refresh_rollups(engine, results, args, streaming=streaming))


@contextmanager
def _stop_on_signals(watcher):
    """The first Ctrl-C (or SIGTERM) stops the watcher between files; a second Ctrl-C at once."""
    import signal
    import threading

    def first(signum, frame):
        if watcher is None or watcher.stopping:
            raise KeyboardInterrupt
        print("stopping after the current file (Ctrl-C again to stop at once)", file=sys.stderr, flush=True)
        watcher.stop()

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    before = {s: signal.signal(s, first) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def cmd_watch(args) -> int:
    settle, poll = _duration(args.settle, "--settle"), _duration(args.poll, "--poll")
    if poll <= 0:
        raise ReachError("--poll must be more than 0")
    inbox = Path(args.dir)
    engine = _engine(args)
    watcher = _watcher(args, inbox, engine, settle=settle, poll=poll, account=args.account, streaming=not args.once)
    with _stop_on_signals(watcher):
        if args.once:
            outcomes = watcher.run_once()
            return 1 if any(not o.result.ok for o in outcomes) else 0
        where = "; imports run in the workers (REACH_REDIS)" if _distributed().distributed else ""
        print(f"watching {inbox} (settle {settle:g} s, every {poll:g} s{where}); Ctrl-C stops", file=sys.stderr,
              flush=True)
        watcher.run()
    _publish_due(engine, args, every=0)  # the stream's last files, on the pages now
    print("stopped", file=sys.stderr)
    return 0


def _demo_live(args) -> int:
    from collectors.demo import live as live_demo

    if args.every < 0:
        raise ReachError("--every must be 0 or more seconds")
    inbox = Path(args.inbox or "data/inbox")
    inbox.mkdir(parents=True, exist_ok=True)
    engine = _engine(args)
    watcher = None
    if not args.no_watch:
        watcher = _watcher(args, inbox, engine, settle=2.0, poll=min(1.0, args.every or 1.0), demo=True)
    with _stop_on_signals(watcher):
        return live_demo.run(engine, _archive(engine, args), inbox, every=args.every, drops=args.drops,
                             seed=args.seed, watcher=watcher)


def cmd_serve(args) -> int:
    from .web.app import serve

    if args.config:
        # Every page reads campaign.toml per request (the Alerts page edits it); the environment
        # carries the choice to gunicorn's workers as well.
        os.environ["REACH_CONFIG"] = str(Path(args.config).resolve())
    # --demo-if-empty: `reach demo` into this database (and this campaign, through REACH_CONFIG),
    # handed to the server, which runs it after its checks; the web layer never imports the CLI.
    demo = (lambda: main(["demo"] + (["--db", args.db] if args.db else []))) if args.demo_if_empty else None
    return serve(args, fill_if_empty=demo)


def _new_password() -> str:
    import getpass

    env = os.environ.get("REACH_PASSWORD")
    if env is not None:
        return env
    if not sys.stdin.isatty():
        raise ReachError("no terminal to ask for the password: set REACH_PASSWORD for scripts")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ReachError("the two passwords differ; nothing changed")
    return first


def cmd_users_add(args) -> int:
    from .web import auth

    path = auth.users_path(args.users)
    new = auth.add_user(path, args.name, args.role, _new_password())
    print(f"{'added' if new else 'updated'} {args.name} ({args.role}) in {path}")
    return 0


def cmd_users_remove(args) -> int:
    from .web import auth

    path = auth.users_path(args.users)
    auth.remove_user(path, args.name)
    print(f"removed {args.name} from {path}")
    return 0


def cmd_users_list(args) -> int:
    from .web import auth

    path = auth.users_path(args.users)
    users = auth.load_users(path)
    source = "REACH_USERS_JSON" if os.environ.get("REACH_USERS_JSON") else str(path)
    if not users:
        print(f"no users in {source}: the dashboard serves 127.0.0.1 only, without a login")
    for u in sorted(users.values(), key=lambda u: u.name):
        print(f"{u.name:<24} {u.role}")
    return 0


def cmd_collect(args) -> int:
    from datetime import date

    from collectors.api import credentials as api_credentials
    from collectors.api.run import Runner, base_urls_from_env, data_folders, parse_every, run_loop, select

    from .analysis import config

    every = parse_every(args.every) if args.every else None
    names = select(args.platform)
    campaign = config.load(args.config)
    day = campaign.start
    if args.since:
        try:
            day = None if args.since.lower() == "all" else date.fromisoformat(args.since)
        except ValueError:
            raise UsageError(f"--since {args.since!r} is not a date like 2024-12-22, or all") from None
    since = datetime.combine(day, datetime.min.time(), campaign.tz).astimezone(timezone.utc) if day else None
    engine = _engine(args)
    archive = _archive(engine, args)
    creds = api_credentials.load(args.credentials, forbidden=data_folders(engine, archive))
    for w in creds.warnings:
        print(f"warning: {w}", file=sys.stderr)
    runner = Runner(engine, archive, creds, base_urls=base_urls_from_env(), since=since, tz=campaign.timezone,
                    explicit=bool(args.platform), limiter=_limiter(campaign))
    return run_loop(runner, names, every, refresh=lambda files: _refresh_rollups(engine, files, args),
                    out=_Shown(sys.stdout), err=_Shown(sys.stderr))


def _limiter(campaign):
    """campaign.toml's [collect.rate] budgets: shared with the Celery workers through Redis when
    REACH_REDIS is set (docs/workers.md), else this process's own."""
    from collectors.api import limits

    redis = _distributed().redis
    if redis is None:
        return limits.LocalLimiter(campaign.collect.rate)
    from . import tasks

    return limits.RedisLimiter(redis, campaign.collect.rate, prefix=tasks.key_prefix() + limits.KEY_PREFIX)


def cmd_doctor(args) -> int:
    from . import doctor
    from .analysis import config

    engine = _engine(args, create=False)
    archive = Archive(database.archive_dir(engine, args.archive))  # not _archive: report before repairing
    return 1 if doctor.run(engine, archive, config.load(args.config), repair=args.repair,
                           partition=args.partition) else 0


def _distributed():
    from . import deployment

    return deployment.current()


def _hand_to_tasks(args) -> None:
    """The options a Celery worker's tasks read from the environment (dashboard/tasks.py): its
    pool processes inherit them."""
    if args.db:
        os.environ["REACH_DB"] = args.db if "://" in args.db else str(Path(args.db).resolve())
    for value, env in ((args.archive, "REACH_ARCHIVE"), (args.config, "REACH_CONFIG")):
        if value:
            os.environ[env] = str(Path(value).resolve())


def cmd_worker(args) -> int:
    if _distributed().distributed and not args.once:
        if args.every:
            raise UsageError("--every sets the rounds of the worker's own loop; with REACH_REDIS the rounds are "
                             "`reach beat --every`'s")
        return _celery_worker(args)
    if args.concurrency:
        raise UsageError("--concurrency is a Celery worker's (REACH_REDIS set); this worker runs one round at a time")
    return _loop_worker(args)


def _celery_worker(args) -> int:
    import socket

    from . import tasks
    from .analysis import config

    config.load(args.config)  # a broken campaign.toml stops here, in words, not in every task
    _engine(args)  # creates or migrates the database once, before the pool processes open it
    _hand_to_tasks(args)
    from .web import app as web_app

    web_app.declare_background_jobs()  # the pages' long work (a whole-campaign export) runs here too
    argv = ["worker", "--loglevel=INFO", "--queues", tasks.app.conf.task_default_queue, "--without-mingle", "--without-gossip",
            "--hostname", f"reach-{os.getpid()}@{socket.gethostname()}"]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    return tasks.app.start(argv) or 0


def cmd_beat(args) -> int:
    from .analysis import config

    if not _distributed().distributed:
        raise UsageError("reach beat sends schedules to Celery workers, which need REACH_REDIS (and PostgreSQL in "
                         "REACH_DB for several hosts): set REACH_REDIS=redis://HOST:6379/0, or run `reach worker`, "
                         "which keeps the schedules in one process (docs/workers.md)")
    from . import tasks

    every = _duration(args.every, "--every")
    if every <= 0:
        raise UsageError(f"--every {args.every!r} is not a duration above zero")
    campaign = config.load(args.config)
    _hand_to_tasks(args)
    state = Path(args.state or Path.home() / ".cache" / "campaign-reach" / "celerybeat-schedule").expanduser()
    state.parent.mkdir(parents=True, exist_ok=True)
    tasks.app.conf.beat_schedule = tasks.beat_schedule(campaign, every)
    return tasks.app.start(["beat", "--loglevel=INFO", "--schedule", str(state)]) or 0


def _loop_worker(args) -> int:
    import signal
    import time

    from . import reports
    from .analysis import config

    every = _duration(args.every or "60s", "--every")
    campaign = config.load(args.config)
    engine = _engine(args)
    if not campaign.alerts and not campaign.reports:
        print("note: campaign.toml has no [[alerts]] and no [[reports]]: nothing to do (docs/alerts.md)",
              file=sys.stderr)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    failed = False
    while True:
        done = reports.tick(engine, campaign)
        fired = done["alerts"] or {}
        if fired.get("stored") or fired.get("new") or fired.get("error"):
            print(f"alerts: {fired.get('stored', 0)} new events, {fired.get('sent', 0)} told, "
                  f"{fired.get('failed', 0)} not delivered"
                  + (f"; not evaluated: {fired['error']}" if fired.get("error") else ""))
        for r in done["reports"]:
            where = ", ".join(f"{d['channel']} {'ok' if d['ok'] else 'FAILED: ' + str(d.get('status', ''))}"
                              for d in r["deliveries"]) or "no channel"
            print(f"report {r['report']} ({r['slot']}): {r['status']}: {where}")
            failed |= r["status"] == "failed"
        failed |= bool(fired.get("failed"))
        if args.once or stop:
            return 1 if failed and args.once else 0
        deadline = time.monotonic() + every
        while time.monotonic() < deadline and not stop:
            time.sleep(min(1.0, every))


def cmd_status(args) -> int:
    from .analysis import queries

    rows, n_imports, last = queries.counts.status(_engine(args, create=False))
    print(f"{'platform':<10} {'accounts':>8} {'posts':>7} {'snapshots':>9} {'post-days':>9} {'acct-days':>9}")
    for r in rows:
        print(f"{r[0]:<10} {r[1]:>8} {r[2]:>7} {r[3]:>9} {r[4]:>9} {r[5]:>9}")
    print(f"{n_imports} files imported" + (f", last at {last:%Y-%m-%d %H:%M} UTC" if last else ""))
    return 0


def _said(e: click.ClickException) -> str:
    """A refusal of the command line in one line; click's own name the help to read."""
    said = " ".join(e.format_message().split())
    if isinstance(e, click.UsageError) and not isinstance(e, Refused) and e.ctx is not None:
        said += f" (see {e.ctx.command_path} --help)"
    return said


def main(argv: list[str] | None = None) -> int:
    """`reach` with these arguments (default: the process's); returns the exit status."""
    from sqlalchemy import exc as sa_exc

    try:
        with reach.make_context("reach", sys.argv[1:] if argv is None else list(argv)) as ctx:
            return reach.invoke(ctx) or 0
    except click.exceptions.NoArgsIsHelpError as e:
        # `reach` or `reach roster` alone: the help of what was typed, and exit 2, as before.
        click.echo(e.ctx.get_help())
        return 2
    except click.exceptions.Exit as e:  # --help
        return e.exit_code
    except click.ClickException as e:  # click's refusals and our types' (cli_options.Refused)
        print(f"error: {_said(e)}", file=sys.stderr)
        return e.exit_code
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ReachError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except sa_exc.DBAPIError as e:
        # The database itself said no (locked past the wait, gone away, full disk): its words in
        # one line, with the URL's password hidden; never a traceback.
        print(f"error: the database refused: {str(e.orig).strip().splitlines()[0] if e.orig else e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
