"""The `reach` command line: import, rebuild, roster, export, demo, serve.

Every subcommand prints what it did in words and exits non-zero when something failed; a user's
mistake (a bad file, a wrong option) is a message, never a traceback. Long work shows progress on
a terminal and plain lines when piped.
"""
from __future__ import annotations

import argparse
import builtins
import os
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from collectors import messages
from collectors.archive import Archive
from collectors.errors import ReachError, UsageError
from collectors.files import printable
from collectors.model import DEFAULT_TIMEZONE
from collectors.names import PLATFORM_ALIASES, closest
from collectors.store import database, ledger, schema

DATE_ORDERS = ("dmy", "mdy", "ymd")
EPILOG = "The database is data/reach.db unless --db or REACH_DB says otherwise (any SQLAlchemy URL)."


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return n


def _jobs_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                   help="processes that read and parse the next files while this one writes them, in order "
                        "(default: one per core, up to 4; 1 parses each file in turn)")


def _db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help="database URL or SQLite file path (default: $REACH_DB or data/reach.db)")
    p.add_argument("--archive", metavar="DIR", help="where imported files are kept (default: beside a SQLite database)")


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="campaign config (default: ./campaign.toml or $REACH_CONFIG)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reach",
        description="Campaign Reach: import social-media export files and see a campaign's reach.",
        epilog=EPILOG,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("import", help="import export files, folders or ZIP files",
                       description="Import platform export files (CSV, XLSX, ZIP; folders are walked). "
                                   "Prints one line per file; exits 1 if any file failed.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    _db_args(p)
    p.add_argument("--as-of", metavar="TIME", help="snapshot time of lifetime exports (ISO 8601), overriding the file and its name")
    p.add_argument("--account", metavar="HANDLE", help="account for files whose rows name none (e.g. YouTube Table data)")
    p.add_argument("--tz", default=os.environ.get("REACH_TZ", DEFAULT_TIMEZONE),
                   help=f"timezone of times written without one (default: {DEFAULT_TIMEZONE}, the campaign's)")
    p.add_argument("--strict", action="store_true", help="refuse a whole file if any row is rejected")
    p.add_argument("--show-rejects", type=int, default=5, metavar="N", help="rejected rows to print per file (default 5)")
    p.add_argument("--mapping", metavar="FILE.toml",
                   help="read files with this header by this column mapping (write one with `reach mapping suggest`); "
                        "saved as a profile for later files with the same header")
    p.add_argument("--date-order", choices=DATE_ORDERS,
                   help="how to read numeric dates like 05/06/2024 when no value in the column decides "
                        "(day-month-year, month-day-year, year-month-day)")
    _config_arg(p)  # the campaign whose rollups the import refreshes
    _jobs_arg(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("mapping", help="column mappings for files no report recognises",
                       description="A mapping says which column of a file holds which field of a report. "
                                   "`suggest` writes the one detection proposes; `reach import FILE --mapping M.toml` "
                                   "imports with it and saves it as a profile for every later file with the same header.")
    msub = p.add_subparsers(dest="mapping_command", metavar="ACTION")
    m = msub.add_parser("suggest", help="write the proposed mapping of a file as editable TOML",
                        description="Print the column mapping detection proposes for FILE, as TOML to edit and "
                                    "pass to `reach import FILE --mapping`. Example: reach mapping suggest f.csv > f.toml")
    m.add_argument("file", metavar="FILE")
    m.add_argument("--table", type=int, default=None, metavar="N",
                   help="which table of the file (sheet, section, ZIP member), from 1 (default: the first unrecognised)")
    m.set_defaults(func=cmd_mapping_suggest)
    m = msub.add_parser("list", help="list saved mapping profiles", description="List the saved mapping profiles.")
    _db_args(m)
    m.set_defaults(func=cmd_mapping_list)
    m = msub.add_parser("remove", help="remove a saved mapping profile",
                        description="Remove the saved profile whose signature starts with SIGNATURE (from `reach mapping list`).")
    m.add_argument("signature", metavar="SIGNATURE")
    _db_args(m)
    m.set_defaults(func=cmd_mapping_remove)
    p.set_defaults(func=lambda a, p=p: (p.print_help(), 2)[1])

    p = sub.add_parser("rebuild", help="re-create the database from the archive of imported files",
                       description="Drop every table and re-import every archived file in its original order, "
                                   "with the options it was first imported with.")
    _db_args(p)
    _config_arg(p)  # the campaign whose rollups the import refreshes
    _jobs_arg(p)
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser("roster", help="map accounts to influencers",
                       description="Manage the roster that maps platform accounts to influencers.")
    rsub = p.add_subparsers(dest="roster_command", metavar="ACTION")
    r = rsub.add_parser("import", help="import a roster CSV (name, category, platform, handle, account_id)",
                        description="Import a roster CSV with columns name, category, platform, handle and/or "
                                    "account_id. All rows or none.")
    r.add_argument("file", metavar="FILE.csv")
    _db_args(r)
    r.set_defaults(func=cmd_roster_import)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])

    p = sub.add_parser("export", help="write tidy data as CSV or XLSX (daily, weekly, posts, influencers, account-days)",
                       description="Write tidy data with the columns documented in docs/exports.md: CSV is UTF-8 "
                                   "with a BOM (Excel reads Chinese text), dates are ISO, and text cells that a "
                                   "spreadsheet would run as a formula are neutralised.")
    p.add_argument("what", choices=["daily", "weekly", "posts", "influencers", "account-days"],
                   help="daily: activity per day (and --by groups); weekly: per ISO week with week-over-week; "
                        "posts: one row per post with its latest values; influencers: one row per influencer; "
                        "account-days: account-level daily rows as the platforms gave them")
    p.add_argument("--by", default=None, metavar="COLS",
                   help="group daily/weekly rows by any of influencer,category,account,platform,post "
                        "(comma-separated; daily default: platform)")
    p.add_argument("--from", dest="start", metavar="DATE",
                   help="first day (YYYY-MM-DD, campaign timezone); without --from and --to, the campaign "
                        "window of campaign.toml, as on the dashboard (account-days: every day)")
    p.add_argument("--to", dest="end", metavar="DATE", help="last day, inclusive")
    p.add_argument("--platform", action="append", default=[], metavar="P", help="only this platform (repeatable)")
    p.add_argument("--influencer", action="append", default=[], metavar="NAME", help="only this influencer (repeatable)")
    p.add_argument("--category", action="append", default=[], metavar="C",
                   help="only influencers of this roster category (repeatable; 'unassigned' for accounts "
                        "not in the roster)")
    p.add_argument("--format", choices=["csv", "xlsx"], default=None, help="csv (default) or xlsx; -o FILE.xlsx implies xlsx")
    p.add_argument("-o", "--output", metavar="FILE", help="file to write (default: standard output, CSV only)")
    _config_arg(p)
    _db_args(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("summary", help="the weekly summary for managers (text, one HTML page or a PDF)",
                       description="Print the summary of one ISO week: KPIs with week-over-week change, top "
                                   "influencers and posts, platform mix and a short narrative. --html writes the "
                                   "same as one self-contained, printable page; --pdf as that page's PDF (A4).")
    p.add_argument("--week", metavar="YYYY-Www", help="ISO week, e.g. 2025-W01 (default: the latest complete week)")
    p.add_argument("--html", metavar="FILE", help="also write the summary as one self-contained HTML file")
    p.add_argument("--pdf", metavar="FILE", help="also write the summary as a PDF: the HTML page on A4 (needs WeasyPrint)")
    p.add_argument("--lang", choices=("en", "zh"), default="en",
                   help="language of the summary: en (English, the default) or zh (Simplified Chinese)")
    _config_arg(p)
    _db_args(p)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("demo", help="write the demo campaign's export files and import them",
                       description='Write a realistic six-week campaign (modelled on the "Jin" Hub campaign, '
                                   "fictional influencers) as native export files of each platform, then import them.")
    p.add_argument("--seed", type=int, default=2024, help="random seed (default 2024); same seed, same files")
    p.add_argument("--folder", metavar="DIR", help="where to write the files (default: data/demo-exports)")
    p.add_argument("--files-only", action="store_true", help="write the files but do not import them")
    p.add_argument("--live", action="store_true",
                   help="play the campaign's last day as if it were happening now: fresh TikTok exports into "
                        "--inbox every few seconds, imported as `reach watch` would (README: seeing it live)")
    p.add_argument("--inbox", metavar="DIR", help="--live: the inbox folder (default: data/inbox)")
    p.add_argument("--every", type=float, default=5.0, metavar="SECONDS", help="--live: seconds between drops (default 5)")
    p.add_argument("--for", dest="drops", type=int, metavar="N", help="--live: stop after N drops (default: until Ctrl-C)")
    p.add_argument("--no-watch", action="store_true",
                   help="--live: only drop the files; import them with `reach watch DIR` yourself")
    _config_arg(p)  # the campaign whose rollups the import refreshes
    _db_args(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("watch", help="import export files dropped into an inbox folder, as they arrive",
                       description="Watch DIR: each export file is imported once it has stopped growing "
                                   "(--settle), then moved to DIR/processed/, or to DIR/failed/ with "
                                   "NAME.error.txt saying why; rejected rows are listed in NAME.rejected.txt. "
                                   "Safe beside the dashboard, uploads, `reach import` and other watchers. "
                                   "Prints one line per file; Ctrl-C stops between files.")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--settle", default="2s", metavar="TIME",
                   help="how long a file must stay unchanged before it is imported (default 2s)")
    p.add_argument("--poll", default="1s", metavar="TIME", help="how often to look (default 1s)")
    p.add_argument("--once", action="store_true",
                   help="process what is ready now and exit (for cron); exit status 1 if a file failed")
    _db_args(p)
    p.add_argument("--account", metavar="HANDLE", help="account for files whose rows name none (e.g. YouTube Table data)")
    p.add_argument("--tz", default=os.environ.get("REACH_TZ", DEFAULT_TIMEZONE),
                   help=f"timezone of times written without one (default: {DEFAULT_TIMEZONE}, the campaign's)")
    p.add_argument("--date-order", choices=DATE_ORDERS,
                   help="how to read numeric dates like 05/06/2024 when no value in the column decides")
    _config_arg(p)  # the campaign whose rollups the import refreshes
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("serve", help="serve the dashboard",
                       description="Serve the dashboard on http://127.0.0.1:8050 (loopback only by default).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    p.add_argument("--demo-if-empty", action="store_true", help="build the demo campaign first if the database is empty")
    p.add_argument("--workers", type=int, metavar="N",
                   help="serve with gunicorn and N worker processes (default: Flask's server, for one user)")
    p.add_argument("--users", metavar="FILE", help="users file (default: $REACH_USERS or data/users.toml)")
    _db_args(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("users", help="who may log in to the dashboard",
                       description="Manage dashboard users: viewers read and download, editors also upload "
                                   "and edit the roster. With users configured, the dashboard asks for a login.")
    usub = p.add_subparsers(dest="users_command", metavar="ACTION")
    u = usub.add_parser("add", help="add a user or change their password and role",
                        description="Add a user, or replace an existing one's password and role. The password "
                                    "is asked for twice, or read from REACH_PASSWORD in scripts; only its hash "
                                    "is stored.")
    u.add_argument("name", metavar="NAME")
    u.add_argument("--role", choices=["viewer", "editor"], default="viewer", help="viewer (default) or editor")
    u.add_argument("--users", metavar="FILE", help="users file (default: $REACH_USERS or data/users.toml)")
    u.set_defaults(func=cmd_users_add)
    u = usub.add_parser("remove", help="remove a user", description="Remove a user; their sessions end at once.")
    u.add_argument("name", metavar="NAME")
    u.add_argument("--users", metavar="FILE", help="users file (default: $REACH_USERS or data/users.toml)")
    u.set_defaults(func=cmd_users_remove)
    u = usub.add_parser("list", help="list users and roles", description="List users and their roles.")
    u.add_argument("--users", metavar="FILE", help="users file (default: $REACH_USERS or data/users.toml)")
    u.set_defaults(func=cmd_users_list)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])

    p = sub.add_parser("doctor", help="check the database against the archive, and the rollups against the engine",
                       description="Check that every import has its archived bytes and manifest line, that every "
                                   "archived file in the manifest is in the database, and that the stored daily "
                                   "rollups equal what the metrics engine computes. One line per check; exit "
                                   "status 1 if a problem is left. --repair fixes what it finds: missing manifest "
                                   "lines are written back from the database, archived files the database lacks "
                                   "are imported, stale rollups are recomputed.")
    p.add_argument("--repair", action="store_true", help="fix what is found")
    _config_arg(p)
    _db_args(p)
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("status", help="what the database holds, per platform",
                       description="Counts of accounts, posts, snapshots and days per platform, and recent imports.")
    _db_args(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("collect", help="poll the platforms' APIs and store lifetime snapshots",
                       description="Poll the YouTube, Instagram, Facebook, X, TikTok and Bilibili APIs for the "
                                   "roster's accounts and store each answer page as a snapshot file, like an "
                                   "import. Credentials come from environment variables or a credentials file "
                                   "outside the repository (docs/collectors.md). One line per platform; exit "
                                   "status 1 if any platform failed.")
    p.add_argument("--platform", action="append", default=[], metavar="P",
                   help="only this platform (repeatable): youtube, instagram, facebook, meta, x, tiktok, bilibili")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help="one run, then exit (the default)")
    when.add_argument("--every", metavar="DURATION", help="run again every DURATION (15m, 1h, 90s) until Ctrl-C")
    p.add_argument("--since", metavar="DATE",
                   help="poll posts published from DATE (YYYY-MM-DD, campaign timezone); 'all' for every post "
                        "(default: the campaign's start in campaign.toml)")
    p.add_argument("--credentials", metavar="FILE",
                   help="credentials file (default: $REACH_CREDENTIALS or ~/.config/campaign-reach/credentials.toml)")
    _config_arg(p)
    _db_args(p)
    p.set_defaults(func=cmd_collect)
    return parser


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


def _refresh_rollups(engine, results, args=None) -> None:
    """The rollups after these imports (dashboard.ingest), with a warning when they could not be
    refreshed: the imports themselves have succeeded."""
    from . import ingest
    from .analysis import config

    try:
        campaign = config.load(getattr(args, "config", None))
    except ReachError as e:  # a broken campaign file: the imports stand, the rollups go stale
        _warn_refresh(ingest.mark_stale(engine, str(e)))
        return
    _warn_refresh(ingest.refresh(engine, campaign, results))


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
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReachError(f"--tz {args.tz!r} is not a timezone name like {DEFAULT_TIMEZONE}") from None
    mapping = _load_mapping(args.mapping) if args.mapping else None
    engine = _engine(args)
    imp = Importer(engine, _archive(engine, args), tz=args.tz,
                   as_of=_parse_time(args.as_of) if args.as_of else None,
                   account=args.account, strict=args.strict, mapping=mapping, date_order=args.date_order)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise ReachError("no such file or folder: " + ", ".join(missing))
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
    if not path.exists():
        raise ReachError(f"no such file: {path}")
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

    stored = queries.stored_names(engine)
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
    if args.what == "account-days" and sel != Selection():
        # It writes every account-day as the platforms gave them: a filter it ignored would be a lie.
        raise UsageError("account-days takes no --from/--to/--platform/--influencer/--category: "
                         "it writes every account-day; filter the file instead")
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


def _watcher(args, inbox: Path, engine, *, settle: float, poll: float, account=None, demo: bool = False):
    """A Watcher importing as `reach import` does (the archive, the rollups refreshed after);
    ``demo``: the live demo's, whose imports keep the demo's clock."""
    from collectors.pipeline import Importer
    from collectors.watch import Watcher

    imp = Importer(engine, _archive(engine, args), tz=getattr(args, "tz", DEFAULT_TIMEZONE), account=account,
                   date_order=getattr(args, "date_order", None), demo=demo)

    def say(line):
        print(line, flush=True)

    # A watcher killed after an import's commit put the file back, and finds it imported now:
    # no import of this run refreshes that import's rollups, so finish the pending refresh first.
    _refresh_rollups(engine, [], args)
    return Watcher(inbox, lambda name, data, shown: imp.import_bytes(name, data, display=shown),
                   settle=settle, poll_every=poll, after=lambda results: _refresh_rollups(engine, results, args), out=say)


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
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReachError(f"--tz {args.tz!r} is not a timezone name like {DEFAULT_TIMEZONE}") from None
    settle, poll = _duration(args.settle, "--settle"), _duration(args.poll, "--poll")
    if poll <= 0:
        raise ReachError("--poll must be more than 0")
    inbox = Path(args.dir)
    if not inbox.is_dir():
        raise ReachError(f"no such folder: {inbox}")
    engine = _engine(args)
    watcher = _watcher(args, inbox, engine, settle=settle, poll=poll, account=args.account)
    with _stop_on_signals(watcher):
        if args.once:
            outcomes = watcher.run_once()
            return 1 if any(not o.result.ok for o in outcomes) else 0
        print(f"watching {inbox} (settle {settle:g} s, every {poll:g} s); Ctrl-C stops", file=sys.stderr, flush=True)
        watcher.run()
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

    return serve(args)


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
                    explicit=bool(args.platform))
    return run_loop(runner, names, every, refresh=lambda files: _refresh_rollups(engine, files, args),
                    out=_Shown(sys.stdout), err=_Shown(sys.stderr))


def cmd_doctor(args) -> int:
    from . import doctor
    from .analysis import config

    engine = _engine(args, create=False)
    archive = Archive(database.archive_dir(engine, args.archive))  # not _archive: report before repairing
    return 1 if doctor.run(engine, archive, config.load(args.config), repair=args.repair) else 0


def cmd_status(args) -> int:
    import sqlalchemy as sa

    engine = _engine(args, create=False)
    q = sa.text("""
        SELECT a.platform,
               COUNT(DISTINCT a.id) AS accounts,
               (SELECT COUNT(*) FROM posts p WHERE p.platform = a.platform) AS posts,
               (SELECT COUNT(*) FROM post_snapshots s JOIN posts p ON p.id = s.post_pk WHERE p.platform = a.platform) AS snapshots,
               (SELECT COUNT(*) FROM post_days d JOIN posts p ON p.id = d.post_pk WHERE p.platform = a.platform) AS post_days,
               (SELECT COUNT(*) FROM account_days d JOIN accounts b ON b.id = d.account_pk WHERE b.platform = a.platform) AS account_days
        FROM accounts a GROUP BY a.platform ORDER BY a.platform""")
    with engine.connect() as conn:
        rows = conn.execute(q).all()
        n_imports = conn.execute(sa.select(sa.func.count()).select_from(schema.imports)).scalar()
        last = conn.execute(sa.select(sa.func.max(schema.imports.c.imported_at))).scalar()
    print(f"{'platform':<10} {'accounts':>8} {'posts':>7} {'snapshots':>9} {'post-days':>9} {'acct-days':>9}")
    for r in rows:
        print(f"{r[0]:<10} {r[1]:>8} {r[2]:>7} {r[3]:>9} {r[4]:>9} {r[5]:>9}")
    print(f"{n_imports} files imported" + (f", last at {last:%Y-%m-%d %H:%M} UTC" if last else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    from sqlalchemy import exc as sa_exc

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
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
