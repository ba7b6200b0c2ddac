"""The import pipeline: files, folders and ZIPs in; one result line per file out.

read -> detect -> parse -> validate -> store, with the file archived and recorded. A file is
imported whole or not at all: all of its tables are written in one transaction, and any read,
detection or structural error leaves the database untouched. Identical bytes are recognised by
their sha256 before anything is parsed, so re-importing changes nothing.
"""
from __future__ import annotations

import dataclasses
import copy
import json
import os
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from . import crash, kinds, registry
from .archive import Archive, Entry, sha256
from .detect import detect as detect_match
from .errors import DetectError, ReachError, RowProblem, StructureError
from .mapping import Mapping, Mappings, describe
from .messages import CATALOG, Message, from_json, to_json
from .model import DEFAULT_TIMEZONE, POST_LIFETIME
from .parse import Context, Parsed, date_range_from_name, parse_table
from .read import read_bytes
from .store import bulk, database, ledger, partitions, schema

IMPORTABLE = (".csv", ".tsv", ".txt", ".xlsx", ".zip", ".xls")


@dataclass
class FileResult:
    name: str
    status: str  # imported | already imported | failed
    reports: list[str] = field(default_factory=list)
    platform: str | None = None
    posts: int = 0
    posts_new: int = 0
    snapshots: int = 0
    post_days: int = 0
    account_days: int = 0
    rows_read: int = 0
    rejected: int = 0
    skipped: Counter = field(default_factory=Counter)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_tables: list[str] = field(default_factory=list)
    captured_at: datetime | None = None
    captured_at_source: str | None = None
    message: str = ""
    import_id: int | None = None
    unknown_account: bool = False
    # Lines printed under the result line: how tables not recognised by their headers were read
    # (the column mapping used), the reader's notes, warnings.
    detection: list[str] = field(default_factory=list)
    # For a file no report recognised: the mapping detection proposes, and the table it is for
    # (the Data page shows it as a form; the CLI prints it).
    proposal: Mapping | None = None
    proposal_table: object | None = None
    # A result a worker sent back (``from_dict``) of a file no report recognised: its table stayed
    # with the worker, and ``Importer.refusal`` reads it again where the form is shown.
    unrecognised: bool = False

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    # What a Celery worker sends back (JSON): the counts, the words as messages (key and parameters,
    # so the page writes them in the reader's language), and the first rejected rows; whether the mapping step applies, but not the table it needs (the
    # web host reads that again from the archived bytes: ``Importer.refusal``).
    PROBLEMS_SENT = 200

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
             if f.name not in ("proposal", "proposal_table", "problems", "skipped", "captured_at")}
        d.update(message=to_json(self.message), detection=[to_json(x) for x in self.detection],
                 skipped=dict(self.skipped), captured_at=self.captured_at.isoformat() if self.captured_at else None,
                 problems=[[p.source, p.line, p.column, p.value, to_json(p.expected)]
                           for p in self.problems[:self.PROBLEMS_SENT]],
                 unrecognised=self.unrecognised or self.proposal_table is not None)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FileResult":
        names = {f.name for f in dataclasses.fields(cls)} - {"proposal", "proposal_table"}
        r = cls(**{k: v for k, v in d.items() if k in names})
        r.skipped = Counter(r.skipped or {})
        r.message = from_json(r.message)
        r.detection = [from_json(x) for x in r.detection or []]
        r.problems = [RowProblem(*p[:4], from_json(p[4])) for p in r.problems or []]
        r.captured_at = datetime.fromisoformat(r.captured_at) if r.captured_at else None
        return r

    def line(self) -> str:
        """The command line's result line: a status column, then ``text()``."""
        status = ("FAILED  " if self.status == "failed" else "same    " if self.status == "already imported"
                  else "ok      ")
        return status + self.text()

    def text(self, tz: ZoneInfo | None = None) -> Message:
        """What happened to the file, after the status column: a ``Message`` (English, as
        ``reach import`` prints it; ``messages.render`` writes it in another language). The
        snapshot time is in UTC, or in ``tz`` with its offset (the Data page gives the campaign's,
        as its import history shows it, so one instant is not read as two)."""
        if self.status == "failed":
            if self.message.startswith(self.name):
                return self.message if isinstance(self.message, Message) else Message.concat(self.message)
            return Message("result.failed", name=self.name, message=self.message)
        if self.reports == ["roster"]:
            return Message("result.roster", name=self.name)
        if self.status == "already imported":
            return Message("result.same", name=self.name, when=self.message)
        stored = []
        if self.snapshots:
            stored.append(Message("result.posts_snapshots", posts=self.posts, snapshots=self.snapshots))
        if self.post_days:
            stored.append(Message("result.post_days", post_days=self.post_days) if self.snapshots
                          else Message("result.post_days_of", post_days=self.post_days, posts=self.posts))
        if self.account_days:
            stored.append(Message("result.account_days", account_days=self.account_days))
        sep = Message("sep.list")
        parts = [Message("result.ok_one" if self.rejected == 1 else "result.ok", name=self.name, platform=self.platform, reports=", ".join(self.reports),
                         stored=Message.concat(*[p for i, x in enumerate(stored) for p in ((sep, x) if i else (x,))])
                         if stored else Message("result.no_rows"), rejected=self.rejected)]
        if self.skipped:
            parts.append(Message("result.left_out", what=Message.join(
                [Message("result.left_out_item", n=n, reason=r) for r, n in self.skipped.items()],
                Message("sep.list"))))
        if self.unknown_account:
            parts.append(Message("result.unknown_account"))
        if self.captured_at_source and self.snapshots:
            src = self.captured_at_source
            at, zone = self.captured_at, "UTC"
            if tz is not None and at.tzinfo is not None:
                at = at.astimezone(tz)
                offset = at.strftime("%z")
                zone = "UTC" if offset == "+0000" else f"UTC{offset[:3]}:{offset[3:]}"
            parts.append(Message("result.snapshot_time", time=f"{at:%Y-%m-%d %H:%M}", zone=zone,
                                 source=Message(f"source.{src}") if f"source.{src}" in CATALOG["en"] else src))
        parts += [p for d in self.detection for p in ("\n        ", d)]
        return Message.concat(*parts)


def capture_time_from_name(name: str, tz: ZoneInfo) -> datetime | None:
    """The end of the date range in an export's file name, as the moment after that day ends.

    ``account_analytics_content_2025-11-02_2025-11-09.csv`` holds totals through 9 Nov, so its
    snapshot is taken as 10 Nov 00:00 in the campaign timezone.
    """
    found = date_range_from_name(name)
    if found is None:
        return None
    end = datetime.combine(found[1], datetime.min.time())
    return (end + timedelta(days=1)).replace(tzinfo=tz).astimezone(timezone.utc)


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders walked (sorted, hidden entries left out)."""
    return walk(paths)[0]


def walk(paths: Iterable[str | Path], quiet: Iterable[Path] = ()) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files to import (as given; folders walked, sorted) and the files of the folders that
    are not, each with its group in ``kinds.of_suffix`` (or "link"), for the list a folder import
    prints at its end. Decided by name: a skipped file is never read.

    Left out without a word: hidden entries (``.DS_Store``, ``.git``, an editor's swap file, the
    watcher's ``.claimed/``: never exports, and listing them would bury the files a user may have
    meant) and the folders in ``quiet`` (the archive: its copies of imported files, named by their
    digest, are found when the data folder itself is imported).
    """
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    quiet = [Path(q).resolve() for q in quiet]
    for p in map(Path, paths):
        if not p.is_dir():
            files.append(p)
            continue
        root = p.resolve()
        hush = [q.relative_to(root).parts for q in quiet if q == root or root in q.parents]
        for f in sorted(p.rglob("*")):
            rel = f.relative_to(p).parts
            if any(part.startswith(".") for part in rel) or any(rel[:len(h)] == h for h in hush):
                continue
            if f.is_symlink():
                skipped.append((f, "link"))  # a link leads out of the folder
            elif not f.is_file():
                continue  # a folder (walked itself), a FIFO or a socket
            elif f.suffix.lower() in IMPORTABLE:
                files.append(f)
            else:
                skipped.append((f, kinds.of_suffix(f.suffix)))
    return files, skipped


class Importer:
    """Imports files into one store. Holds no state between files but its settings."""

    def __init__(self, engine: sa.Engine, archive: Archive | None, *, tz: str = DEFAULT_TIMEZONE,
                 as_of: datetime | None = None, account: str | None = None, strict: bool = False,
                 source: str = "file", mapping: Mapping | None = None, date_order: str | None = None,
                 replay: list[Mapping] | None = None, demo: bool = False):
        self.engine, self.archive = engine, archive
        # The demo's own files (`reach demo`, the live demo's drops) keep the demo's clock; any
        # other import clears it, so real data is measured against real time (ledger.demo_clock).
        self.demo = demo
        self.tz = ZoneInfo(tz)
        self.as_of, self.account, self.strict = as_of, account, strict
        self.source = source  # "file", or "api" for the canonical snapshots of reach collect
        # --mapping: read a table with this header this way, and save it as a profile once a
        # file imports with it. ``replay``: the mappings an archived file was imported with
        # (reach rebuild), used instead of today's profiles.
        self.mapping, self.date_order, self.replay = mapping, date_order, replay
        self._used: list[Mapping] = []
        self._reconciled = False
        self._preset: Mappings | None = None  # the mappings a file was handed out with (_Job)
        self.parsed_elsewhere = 0  # files a worker process parsed (import_paths with jobs > 1)

    def but(self, **settings) -> "Importer":
        """This importer with other settings (``as_of``, ``account``) for the next file. The
        manifest stays reconciled: a loop that needs other settings per file (the demo's files)
        would otherwise read the whole manifest and the imports table once per file, which is
        quadratic in the number of files."""
        self._reconcile_once()
        other = copy.copy(self)
        for k, v in settings.items():
            if k not in ("as_of", "account"):
                raise TypeError(f"Importer.but: {k} is not a per-file setting")
            setattr(other, k, v)
        return other

    def _reconcile_once(self) -> None:
        if self.archive is not None and not self._reconciled:
            # Once per importer (the Data page makes one per upload, a watcher one for its run):
            # the manifest lines an earlier process was killed before writing, ahead of this one's.
            self._reconciled = True
            try:
                reconcile_manifest(self.engine, self.archive)
            except OSError:
                pass  # an archive that cannot be written: the import below says so

    def import_paths(self, paths, progress: Callable[[int, int, FileResult], None] | None = None,
                     jobs: int | None = 1, skipped: list | None = None) -> list[FileResult]:
        """Import files and folders in order. ``jobs`` > 1 parses up to that many files ahead in
        worker processes while this one writes (see ``_Ahead``): the results, their order and
        what is stored are the same as with ``jobs=1``. None: ``default_jobs``. The files of the
        folders that are not imported are appended to ``skipped`` as (path, group) (``walk``)."""
        # The archive, and the Data page's files waiting for a mapping beside it (<archive>-pending).
        a = self.archive
        quiet = [a.root, a.root.with_name(a.root.name + "-pending")] if a is not None else []
        files, left_out = walk(paths, quiet)
        if skipped is not None:
            skipped.extend(left_out)
        jobs = default_jobs(len(files)) if jobs is None else jobs

        def begin(f: Path):
            try:
                data = f.read_bytes()
            except OSError as e:
                return FileResult(str(f), "failed", message=Message("result.cannot_read", detail=str(e.strerror or e)))
            job = self._begin(f.name, data, display=str(f))
            if isinstance(job, FileResult):
                return job
            job.path = f  # where the bytes can be read again: they are dropped once read (_parsed)
            return self, job

        ahead = _Ahead(jobs) if jobs > 1 and len(files) > 1 else None
        return _in_order(files, begin, ahead, progress)

    def import_bytes(self, name: str, data: bytes, *, display: str | None = None,
                     imported_at: datetime | None = None, record: bool = True) -> FileResult:
        job = self._begin(name, data, display=display, imported_at=imported_at, record=record)
        if isinstance(job, FileResult):
            return job
        return self._finish(job, self._parsed(job))

    def refusal(self, name: str, data: bytes, *, display: str | None = None) -> "FileResult | None":
        """The failed result, with its mapping proposal and table, of a file no report recognises
        (read and detected again, nothing written or recorded); None when it is recognised now.
        For the Data page of a web host whose upload a worker found unrecognised: the form needs
        the table, which does not travel back from the worker."""
        job = _Job(name, display or name, data, sha256(data), datetime.now(timezone.utc), False, self._mappings())
        outcome = self._parsed(job)
        e = outcome[1]
        if outcome[0] != "error" or getattr(e, "table", None) is None:
            return None
        return FileResult(display or name, "failed", message=str(e), proposal=getattr(e, "proposal", None),
                          proposal_table=e.table)

    def _begin(self, name: str, data: bytes, *, display: str | None = None,
               imported_at: datetime | None = None, record: bool = True) -> "_Job | FileResult":
        """The steps before parsing: the file's digest, and whether it was imported already."""
        display = display or name
        crash.point("read")
        if record:
            self._reconcile_once()
        digest = sha256(data)
        imported_at = imported_at or datetime.now(timezone.utc)
        with self.engine.connect() as conn:
            done = ledger.find_import(conn, digest)
        if done is not None:
            return _already(display, done)
        return _Job(name, display, data, digest, imported_at, record, self._mappings())

    def _parsed(self, job: "_Job") -> tuple:
        """Read, detect and parse: ("ok", FileResult, [Parsed], used mappings) or ("error", the
        ReachError, used mappings). Touches no database: it runs in a worker process too."""
        self._preset = job.mappings
        try:
            tables = read_bytes(job.display, job.data)
            if job.path is not None or self.archive is None:
                # Only the archive needs the bytes after this, and it can read the file again
                # (``_bytes``): a 178 MB export is not held while its tables are parsed and written.
                job.data = None
            result, parsed = self._parse(job.name, job.display, tables, job.imported_at)
        except ReachError as e:
            return ("error", e, self._used)
        finally:
            self._preset = None
        return ("ok", result, parsed, self._used)

    def _finish(self, job: "_Job", outcome: tuple) -> FileResult:
        """The steps after parsing: write in one transaction, archive, record."""
        name, display, digest, imported_at, record = (
            job.name, job.display, job.digest, job.imported_at, job.record)
        # A mapping that came back from a worker is a copy: the one given is the one used.
        self._used = [self.mapping if self.mapping is not None and m == self.mapping else m for m in outcome[-1]]
        result = None
        try:
            if outcome[0] == "error":
                raise outcome[1]
            result, parsed = outcome[1], outcome[2]
            if self.strict and result.problems:
                raise StructureError(Message("result.strict", rejected=result.rejected, first=str(result.problems[0])))
            crash.point("parse")
            w = self._write(job, result, parsed)
            if not isinstance(w, bulk.WriteResult):  # the same bytes were imported meanwhile
                return _already(display, w)
        except ReachError as e:
            if record:
                self._record_failure(digest, display, str(e),
                                     result.platform if result is not None else _platform_of(e))
            return FileResult(display, "failed", message=str(e), proposal=getattr(e, "proposal", None),
                              proposal_table=getattr(e, "table", None))
        except sa.exc.DBAPIError as e:
            # Nothing was written (the transaction rolled back); "database is locked" after the
            # wait, a lock timeout or a lost connection are words, not a traceback.
            return FileResult(display, "failed", message=Message("result.db_refused", detail=str(e.orig)))
        crash.point("commit")
        if self.archive is not None and record:
            # After the commit: a crash in between leaves an import the manifest lacks, which
            # reconcile_manifest writes back from the database (the bytes are already archived).
            try:
                self.archive.record(Entry(digest, name, imported_at.isoformat(), self._options()))
            except OSError as e:
                # Imported all the same: the next command that opens the archive writes the line
                # back from the database (reconcile_manifest); say so rather than fail the file.
                result.detection.append(Message("result.manifest_warning", detail=str(e.strerror or e)))
            crash.point("manifest")
        if record and self.mapping is not None and any(m is self.mapping for m in self._used):
            ledger.save_profile(self.engine, self.mapping.to_dict(), name)
        result.import_id = w.import_id
        result.posts, result.posts_new = w.posts_seen, w.posts_new
        result.snapshots, result.post_days, result.account_days = w.snapshots, w.post_days, w.account_days
        result.unknown_account = w.unknown_account
        return result

    def _settings(self) -> dict:
        """What a worker process needs to parse as this importer does (no database, no archive)."""
        return dict(tz=str(self.tz), as_of=self.as_of, account=self.account, strict=self.strict,
                    source=self.source, mapping=self.mapping, date_order=self.date_order, replay=self.replay)

    def _write(self, job: "_Job", result, parsed):
        """The file's one transaction, holding the write lock (database.write_transaction); returns
        the WriteResult, or the existing import row when another process (a watcher, an upload,
        a second `reach import`) imported the same bytes since the check above."""
        name, digest, imported_at = job.name, job.digest, job.imported_at
        # PostgreSQL: the months of the file's rows given partitions first, in a short transaction
        # of their own (collectors/store/partitions.py); nothing when they exist, as they usually do.
        partitions.prepare(self.engine, bulk.months_of(parsed))
        for attempt in (1, 2):
            try:
                with database.write_transaction(self.engine) as conn:
                    done = ledger.find_import(conn, digest)  # now definitive: no other writer runs
                    if done is not None:
                        return done
                    w = bulk.write_parsed(conn, parsed, self._import_row(name, job.size, digest, result, imported_at),
                                           self.account or _account_from_name(name))
                    crash.point("write")
                    if not self.demo:
                        ledger.clear_demo_clock(conn)
                    if self.archive is not None:
                        # Before the commit: a committed import always has its bytes archived.
                        try:
                            self.archive.put(self._bytes(job), digest)
                        except OSError as e:  # a full disk, no permission: the transaction rolls back
                            raise ReachError(f"cannot keep a copy in the archive {self.archive.root} "
                                             f"({e.strerror or e}); nothing was imported") from None
                return w
            except sa.exc.IntegrityError:
                # Only a writer that does not take the write lock (an older version of this
                # program) can get here: it committed the same file, or an account or post this
                # file creates, first. The transaction rolled back whole; a second try sees its rows.
                with self.engine.connect() as conn:
                    done = ledger.find_import(conn, digest)
                if done is not None:
                    return done
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _bytes(job: "_Job") -> bytes:
        """The file's bytes for the archive: held by the job, or read again from its path (they
        were dropped after reading) and checked against the digest the import is recorded under."""
        if job.data is not None:
            return job.data
        try:
            data = job.path.read_bytes()
        except OSError as e:
            raise ReachError(f"cannot read the file again to keep a copy in the archive ({e.strerror or e}); "
                             "nothing was imported") from None
        if sha256(data) != job.digest:
            raise ReachError("the file changed on disk while it was being imported; nothing was imported: "
                             "import it again")
        return data

    def _record_failure(self, digest, display, error, platform) -> None:
        try:
            ledger.record_failure(self.engine, digest, display, error, source=self.source, platform=platform)
        except sa.exc.DBAPIError:
            pass  # the failure is still reported to the user; only its history entry is lost

    def _options(self) -> dict:
        return {k: v for k, v in dict(
            as_of=self.as_of.isoformat() if self.as_of else None, account=self.account, tz=str(self.tz),
            source=None if self.source == "file" else self.source, date_order=self.date_order,
            mappings=[m.to_dict() for m in self._used] or None, demo=True if self.demo else None,
        ).items() if v is not None}

    def _mappings(self) -> Mappings:
        if self._preset is not None:
            return Mappings(list(self._preset.explicit), list(self._preset.profiles))
        if self.replay is not None:
            return Mappings(list(self.replay), [])
        # Read for every file, not once: a watcher runs for days while editors save profiles on
        # the Data page, and the query is one small table.
        try:
            profiles = [Mapping.from_dict(d, Message("mapping.name.profile", signature=d["signature"]))
                        for d in ledger.load_profiles(self.engine)]
        except sa.exc.DBAPIError:
            profiles = []
        return Mappings([self.mapping] if self.mapping is not None else [], profiles)

    def _parse(self, name: str, display: str, tables: list, imported_at: datetime) -> tuple[FileResult, list[Parsed]]:
        ctx = Context(file_name=name, tz=self.tz, imported_at=imported_at)
        ctx.date_order = self.date_order
        parsed: list[Parsed] = []
        unknown: list[tuple[DetectError, object]] = []
        result = FileResult(display, "imported")
        mappings = self._mappings()
        self._used = mappings.used
        for k, t in enumerate(tables):
            tables[k] = None  # a parsed table's cells die with ``t`` (below), not with the list
            try:
                match = detect_match(t, mappings)
                p = parse_table(t, ctx, match=match)
                if match.method != "header" or match.by_position:
                    result.detection.append(Message("detect.read", source=t.source, how=match.describe(t),
                                                    columns=describe(match.pairs(t))))
                # What the reader noticed (formula cells without a saved value, rows longer than
                # the header): said under the result line, not lost.
                result.detection += [Message("detect.note", source=t.source, note=n) for n in t.notes]
                # The rows are parsed: the table's cells (a million rows of strings) are not needed
                # any more; messages need only its name, header and line numbers. A fresh empty
                # frame, not ``iloc[:0]``: that is a view whose base is the whole block of cells,
                # which would keep every string alive until the write ends.
                p.table = dataclasses.replace(t, cells=t.cells.iloc[:0].copy(deep=True))
                t = match = None  # let the cells go (not ``del``: the except below reads ``t``)
                parsed.append(p)
            except DetectError as e:  # raised by detection, while ``t`` is still the table
                unknown.append((e, t))
                result.ignored_tables.append(t.source)
        if not parsed:
            raise self._refusal(display, *unknown[0])
        platforms = sorted({p.report.platform for p in parsed})
        result.platform = "+".join(platforms)
        result.reports = sorted({p.report.name for p in parsed})
        for p in parsed:
            result.rows_read += p.rows_read
            result.problems += p.problems
            result.skipped.update(p.skipped)
            if p.report.grain == POST_LIFETIME:
                self._set_capture_time(p, name, imported_at, result)
        result.rejected = len(result.problems)
        return result, parsed

    def _refusal(self, display: str, error: DetectError, table) -> DetectError:
        """The detection error of a file nothing recognised, with the mapping step spelled out."""
        proposal = getattr(error, "proposal", None)
        parts = [str(error)]  # a Message: parts keep its key, so the page says it in the reader's language
        if self.mapping is not None and not self.mapping.applies_to(table):
            parts += [" ", Message("detect.other_mapping", name=self.mapping.name,
                                   header=", ".join(h for h, _ in self.mapping.columns[:6]))]
        if proposal is not None and proposal.report:
            parts += ["\n        ", Message("detect.proposal", report=proposal.report,
                                             columns=describe(proposal.columns, 12)),
                      "\n        ", Message("detect.to_import", file=display)]
        err = DetectError(Message.concat(*parts))
        err.proposal, err.table = proposal, table
        return err

    def _set_capture_time(self, p: Parsed, name: str, imported_at: datetime, result: FileResult) -> None:
        rows = p.rows
        if self.as_of is not None:
            when, source = self.as_of, "--as-of"
        elif "captured_at" in rows and rows["captured_at"].notna().all() and len(rows):
            result.captured_at, result.captured_at_source = rows["captured_at"].max().to_pydatetime(), "file column"
            _cap_frozen(p)
            return
        elif (from_name := capture_time_from_name(name, self.tz)) is not None:
            when, source = from_name, "file name"
        else:
            when, source = imported_at, "import time"
        when = pd.Timestamp(when).tz_convert("UTC") if pd.Timestamp(when).tzinfo else pd.Timestamp(when, tz="UTC")
        p.rows = rows.assign(captured_at=pd.Series(when, index=rows.index).astype("datetime64[us, UTC]"))
        result.captured_at, result.captured_at_source = when.to_pydatetime(), source
        _cap_frozen(p)

    def _import_row(self, name, size: int, digest, result: FileResult, imported_at) -> dict:
        return dict(
            sha256=digest, file_name=name, size_bytes=size,
            imported_at=imported_at.astimezone(timezone.utc).replace(tzinfo=None),
            platform=result.platform, reports=",".join(result.reports),
            rows_read=result.rows_read, rows_stored=result.rows_read - result.rejected - sum(result.skipped.values()),
            rows_rejected=result.rejected, rows_skipped=sum(result.skipped.values()),
            captured_at=result.captured_at.astimezone(timezone.utc).replace(tzinfo=None) if result.captured_at else None,
            captured_at_source=result.captured_at_source,
            options=ledger.options_json(**self._options()),
            source=self.source,
        )


@dataclass
class _Job:
    """A file read and not imported yet: what parsing and writing it need."""
    name: str
    display: str
    data: bytes | None  # None once read, when the archive can read ``path`` again (or needs nothing)
    digest: str
    imported_at: datetime
    record: bool
    mappings: Mappings
    path: Path | None = None  # the file the bytes came from (import_paths), None for bytes given
    size: int = 0

    def __post_init__(self):
        self.size = self.size or len(self.data or b"")


class _Ahead:
    """Parses the next files of a folder in worker processes while the importing process writes.

    A folder of small exports spends about half its time reading and parsing, which needs no
    database, and half writing, which one process must do in order under the write lock; on two
    cores both halves run at once. Each file is still written in its place in the order, the same
    way as without workers: only where its parsing ran changes. At most ``window`` files are in
    flight, so memory stays bounded whatever the folder's size. Anything that goes wrong with a
    worker (it died, a result would not pickle) parses that file here instead."""

    def __init__(self, jobs: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # forkserver: workers start from a clean process with the parsers imported once, not
        # from a fork of this one (its open database connections must not cross a fork).
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["collectors.pipeline"])
        self.window = 2 * jobs
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_follow, initargs=(os.getpid(),))
        self.futures: dict[int, object] = {}
        self.broken = False

    def submit(self, importer: "Importer", job: _Job) -> None:
        if len(job.data) > AHEAD_MAX_BYTES or self.broken:
            return  # a big file parses here: its frames would be pickled across and held twice
        try:
            self.futures[id(job)] = self.pool.submit(_parse_elsewhere, importer._settings(), job)
        except Exception:  # noqa: BLE001 - no worker could start (or the pool broke): parse here
            self.broken = True

    def outcome(self, importer: "Importer", job: _Job) -> tuple:
        fut = self.futures.pop(id(job), None)
        if fut is not None:
            try:
                outcome = fut.result()
            except Exception:  # noqa: BLE001 - a broken worker or pickling: parse here instead
                outcome = None
            if outcome is not None:
                importer.parsed_elsewhere += 1
                if outcome[0] == "ok":
                    for p in outcome[2]:
                        p.report = registry.get(p.report)
                return outcome
        return importer._parsed(job)

    def close(self) -> None:
        for fut in self.futures.values():
            fut.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)


def _in_order(sources, begin, ahead: _Ahead | None, progress) -> list[FileResult]:
    """Import ``sources`` one after another, in their order. ``begin(source)`` does what comes
    before parsing and gives a FileResult (nothing to parse: unreadable, already imported), a
    function to call in the file's turn (a roster), or (importer, _Job). With ``ahead``, the next
    files are read and handed to its workers before this one is written; without, one file at a
    time, as it always was."""
    total = len(sources)
    results: list[FileResult] = []
    begun: deque = deque()  # begun, in order, not yet written
    todo = iter(sources)
    try:
        for i in range(1, total + 1):
            while len(begun) < (ahead.window + 1 if ahead is not None else 1):
                src = next(todo, _END)
                if src is _END:
                    break
                item = begin(src)
                if ahead is not None and isinstance(item, tuple):
                    ahead.submit(*item)
                begun.append(item)
            item = begun.popleft()
            if isinstance(item, tuple):
                imp, job = item
                r = imp._finish(job, ahead.outcome(imp, job) if ahead is not None else imp._parsed(job))
            elif callable(item):
                r = item()
            else:
                r = item
            results.append(r)
            if progress:
                progress(i, total, r)
    finally:
        if ahead is not None:
            ahead.close()
    return results


_END = object()

# Files above this size are parsed by the importing process itself, even in a folder.
AHEAD_MAX_BYTES = 64 * 1024 * 1024


def _follow(pid: int) -> None:
    """A worker's first step: end when the importing process ``pid`` is gone. A worker holds both
    ends of its task pipe, so it would wait for the next file forever after a kill -9 of the
    importer, and keep the importer's stdout open (a caller reading it to the end would hang)."""
    import threading
    import time

    proc = os.path.exists("/proc/self/stat")

    def alive() -> bool:
        if proc:
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"  # a zombie is dead too
            except OSError:
                return False
        try:  # no /proc: whether the pid exists at all
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True

    def watch() -> None:
        while alive():
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="reach-follow-importer", daemon=True).start()


def _parse_elsewhere(settings: dict, job: _Job) -> tuple:
    """``Importer._parsed`` in a worker process. A report holds functions, so it travels by name."""
    imp = Importer(None, None, **settings)
    outcome = imp._parsed(job)
    if outcome[0] == "ok":
        for p in outcome[2]:
            p.report = p.report.name
    return outcome


def default_jobs(files: int) -> int:
    """Worker processes for a folder: one per core, none for a single file."""
    return max(1, min(os.cpu_count() or 1, 4, files))


def _cap_frozen(p: Parsed) -> None:
    """A report whose totals freeze some time after publishing (``Report.frozen_after``): each
    row's snapshot is as of the freeze when the file was exported later, so exports after the
    freeze give one and the same snapshot and no idle days are spread after it."""
    after, rows = p.report.frozen_after, p.rows
    if after is None or "published_at" not in rows or rows.empty:
        return
    frozen = rows["published_at"] + after
    p.rows = rows.assign(captured_at=rows["captured_at"].where(
        ~(frozen < rows["captured_at"]).fillna(False), frozen).astype("datetime64[us, UTC]"))


def _already(display: str, done) -> FileResult:
    return FileResult(display, "already imported", import_id=done["id"],
                      message=Message("result.same_when", file=done["file_name"],
                                      time=f"{done['imported_at']:%Y-%m-%d %H:%M}"))


def _platform_of(error: ReachError) -> str | None:
    """The platform a failed file was detected as, when the error knows it (``StructureError``
    raised while parsing a detected report); None when the file could not be read or detected."""
    return error.platform if isinstance(error, StructureError) else None


_NAME_HANDLES = [
    re.compile(r"^(?:daily_)?tweet_activity_metrics_(?P<h>[A-Za-z0-9_]+?)_\d{8}_\d{8}"),
]


def _account_from_name(name: str) -> str | None:
    """Last resort for files that name no account in their rows: the account in the file name."""
    base = Path(name).name
    for rx in _NAME_HANDLES:
        m = rx.search(base)
        if m:
            return m.group("h")
    return None


def imported_entries(engine: sa.Engine) -> list[Entry]:
    """Every import the database holds, as manifest entries, in commit order (ids are given under
    the write lock, so their order is the order the imports committed)."""
    i = schema.imports
    with engine.connect() as conn:
        rows = conn.execute(sa.select(i.c.sha256, i.c.file_name, i.c.imported_at, i.c.options).order_by(i.c.id)).all()
    return [Entry(r.sha256, r.file_name, r.imported_at.replace(tzinfo=timezone.utc).isoformat(),
                  json.loads(r.options) if r.options else {}) for r in rows]


def reconcile_manifest(engine: sa.Engine, archive: Archive) -> int:
    """Write back the manifest lines of imports a crash left out (see Archive.reconcile); how many."""
    try:
        entries = imported_entries(engine)
    except sa.exc.DBAPIError:
        return 0  # no database to reconcile with (a lost one: `reach rebuild` is how it comes back)
    return archive.reconcile(entries)


def rebuild(engine: sa.Engine, archive: Archive, progress=None, jobs: int | None = 1) -> list[FileResult]:
    """Re-create every table and replay the archive in its original import order."""
    # First the lines a crash left out: the database is about to be dropped, and with it the only
    # record of an import committed just before a kill.
    reconcile_manifest(engine, archive)
    entries = archive.entries()
    try:
        profiles = ledger.load_profiles(engine)  # settings, not data: kept across the rebuild
        clock = ledger.demo_clock(engine)  # a demo stays the demo; a replayed real import clears it
    except sa.exc.DBAPIError:
        profiles, clock = [], None
    database.drop_all(engine)
    database.migrate(engine)
    if clock is not None:
        ledger.set_demo_clock(engine, clock)
    for d in reversed(profiles):
        ledger.save_profile(engine, {k: v for k, v in d.items() if k not in ("file_name", "created_at")}, d.get("file_name"))

    def begin(e: Entry):
        opts = e.options
        if opts.get("kind") == "roster":
            def apply() -> FileResult:  # in its turn: the accounts it links are the ones imported before it
                from .roster import import_roster

                try:
                    import_roster(engine, None, e.name, archive.read(e.sha256), record=False)
                except (ReachError, OSError) as err:
                    return FileResult(e.name, "failed", message=str(err))
                return FileResult(e.name, "imported", reports=["roster"])
            return apply
        imp = Importer(engine, None, tz=opts.get("tz", DEFAULT_TIMEZONE),
                       as_of=datetime.fromisoformat(opts["as_of"]) if opts.get("as_of") else None,
                       account=opts.get("account"), source=opts.get("source", "file"),
                       date_order=opts.get("date_order"), demo=bool(opts.get("demo")),
                       replay=[Mapping.from_dict(d, "the mapping archived with the file") for d in opts.get("mappings", [])])
        try:
            data = archive.read(e.sha256)
        except OSError as err:
            return FileResult(e.name, "failed", message=str(err))
        job = imp._begin(e.name, data, imported_at=datetime.fromisoformat(e.imported_at), record=False)
        return job if isinstance(job, FileResult) else (imp, job)

    jobs = default_jobs(len(entries)) if jobs is None else jobs
    return _in_order(entries, begin, _Ahead(jobs) if jobs > 1 and len(entries) > 1 else None, progress)
