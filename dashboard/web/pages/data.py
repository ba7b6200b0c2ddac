"""Data: where export files and the roster come in, and where one sees what came in and how fresh it is.

Editors drop export files (several at once) on the page; each goes through the same pipeline as
`reach import` (the Importer, with the archive beside the database; the optional Account field is
`--account`, for files whose rows name no account), its result is shown in words
with the first rejected rows, and the daily rollups of the accounts it touched are refreshed
(dashboard.ingest, as after `reach import`) so the Live page picks the new data up at its next
refresh. In a distributed deployment (REACH_REDIS) the workers import the dropped files instead:
the page archives them, sends them (dashboard/dispatch.py), shows them as queued and polls for
their results, which read as they would here. A roster CSV goes through the same function as
`reach roster import`. Everyone can read the import history (with each rejected row's reason),
the failed attempts, and the freshness per platform and per account. The upload handling is a set
of plain functions of bytes and an engine, so it is tested without a browser; the callbacks only
check the role, decode and render.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import os
import re
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from werkzeug.exceptions import Forbidden

from collectors import messages
from collectors.archive import Archive, sha256
from collectors.detect import align, header_positions, profiles
from collectors.errors import ReachError
from collectors.mapping import DATE_ORDERS, Mapping, MappingError, signature as mapping_signature
from collectors.model import DEFAULT_TIMEZONE
from collectors.pipeline import FileResult, Importer
from collectors.read import read_bytes
from collectors.registry import Report, get as get_report, reports as all_reports
from collectors.store import database

from ... import deployment, ingest
from ...analysis import clock, queries
from ...text import i18n
from ...text.i18n import fmt_datetime, fmt_number, freshness as fresh_text, platform_name, t
from .. import auth, data, layout as L
from .. import filters as F
from . import Callbacks

log = logging.getLogger(__name__)

SLUG, PATH, ORDER = "data", "/data", 60
# Registered on each app the factory builds (dashboard/web/pages/__init__.py says why not dash.callback).
callbacks = Callbacks()
register = callbacks.register
# Per file, checked in the browser (dcc.Upload) and again on the decoded bytes, since a request
# can come from anything. The whole file travels base64-encoded in one callback request, so the
# limit also bounds what one request makes the server hold in memory.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ROSTER_MAX_BYTES = 5 * 1024 * 1024
PROBLEMS_SHOWN = 5  # as many rejected rows per file as `reach import` prints by default
ACCOUNT_MAX_CHARS = 100  # a handle, a channel id or a page name; anything longer is a paste gone wrong
HISTORY_LIMIT = 50
FAILURES_LIMIT = 20
PROBLEMS_LIMIT = 200
# Accounts per page of the freshness table: a big campaign has thousands, and a table row per
# account made the page slow to build and to draw (issue 11: 10x the demo, 830 accounts, p95 691 ms).
ACCOUNTS_PAGE = 100



# --- upload handling (pure: bytes and an engine in, results out) -------------------------------

def fmt_size(n: int) -> str:
    """50 MB, 1.5 MB, 900 KB: binary units, as file managers show sizes."""
    for size, unit in ((1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")):
        if n >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{n} B"


def safe_name(name) -> str:
    """The name to record and show for an uploaded file: its last path part, printable, bounded.

    It is never a path on this machine (the archive stores by hash); it is cut to its last part
    because the pipeline reads dates and handles from the name, and a browser sends folder paths
    when a folder is dropped."""
    base = re.split(r"[/\\]", str(name or ""))[-1]
    base = "".join(c for c in base if c.isprintable()).strip()[:200]
    return base if base not in ("", ".", "..") else "upload"


def clean_account(value) -> str | None:
    """The Account field as the Importer's ``account`` (``reach import --account``): printable,
    trimmed, at most ACCOUNT_MAX_CHARS; None when empty, so files that name no account are treated
    as on the command line without the option."""
    if not isinstance(value, str):
        return None
    text = "".join(c for c in value if c.isprintable()).strip()[:ACCOUNT_MAX_CHARS].strip()
    return text or None


def decode_upload(contents: str, limit: int) -> bytes:
    """The bytes of a dcc.Upload data URL ("data:<type>;base64,<payload>").

    Raises ValueError when the payload is not base64 and OverflowError when it exceeds ``limit``
    bytes; the size is checked before decoding so that an oversize payload is never decoded."""
    head, sep, payload = (contents or "").partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise ValueError("not a base64 data URL")
    if (len(payload) // 4) * 3 - 2 > limit:
        raise OverflowError
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(str(e)) from None
    if len(raw) > limit:
        raise OverflowError
    return raw


def import_uploads(engine: sa.Engine, archive: Archive | None, names, contents, *, tz: str = DEFAULT_TIMEZONE,
                   limit: int = MAX_UPLOAD_BYTES, lang: str = "en", account: str | None = None,
                   unrecognised: list | None = None) -> list[FileResult]:
    """Each uploaded file through the import pipeline, one FileResult per file, in upload order;
    ``account`` (the Account field, through ``clean_account``) names the account of rows that
    name none, as `reach import --account` does. When ``unrecognised`` is a list, each file that
    no report recognised is appended to it as (result, bytes), for the mapping step.

    A file that is too large or arrives damaged is a failed result like any other, so one bad file
    never hides the results of the others."""
    if isinstance(contents, str):
        contents, names = [contents], [names]
    names = list(names or [None] * len(contents or []))
    imp = Importer(engine, archive, tz=tz, account=clean_account(account))
    results = []
    for name, content in zip(names, contents or []):
        name = safe_name(name)
        try:
            raw = decode_upload(content, limit)
        except OverflowError:
            results.append(FileResult(name, "failed", message=t("error.too_large", lang, name=name,
                                                                 limit=fmt_size(limit))))
            continue
        except ValueError:
            results.append(FileResult(name, "failed", message=t("data.bad_upload", lang, name=name)))
            continue
        try:
            results.append(imp.import_bytes(name, raw))
            if unrecognised is not None and results[-1].proposal_table is not None:
                unrecognised.append((results[-1], raw))
        except Exception as e:  # noqa: BLE001 - a bug on one file must not lose the other files' results
            log.exception("importing the upload %s failed", name)
            detail = f"{type(e).__name__}: {e}"
            results.append(FileResult(name, "failed", message=t("error.generic", lang, detail=detail)))
    return results


# --- uploads in a distributed deployment (REACH_REDIS): the workers import them -----------------
#
# The request only checks and archives each file and sends it to the workers
# (dashboard/dispatch.py); the page shows it as queued, and a dcc.Interval asks the result backend
# for the results until every file has one. What the page keeps between two polls is in a
# dcc.Store in the browser, so any web host can answer the next poll: per file its name, its
# task id and the bytes' sha256 (ids the browser sends back are checked before use), or its
# result once known. The mapping form is built in the request (it needs the file's table, read
# again from the archived bytes: Importer.refusal) and the mapping checked there, so a refusal is
# shown at once with the form kept; "Import with this mapping" then sends the waiting file with
# the mapping to the workers like any upload (``send_mapped``). Its entry names the waiting file
# ("pending") and the mapping tried: the file stops waiting once imported, and a failure brings
# the form back with that mapping chosen and the reason.

POLL_MS = 1500
# A file no worker has taken after this long gets a hint under its "Queued" line: most often no
# `reach worker` runs, and without one the page would wait in silence.
UNTAKEN_S = 30
TASK_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def send_uploads(archive: Archive, names, contents, *, tz: str = DEFAULT_TIMEZONE, limit: int = MAX_UPLOAD_BYTES,
                 lang: str = "en", account: str | None = None) -> list[dict]:
    """Each uploaded file checked as ``import_uploads`` checks it, archived and sent to the workers:
    one entry per file, in upload order, ``{"name", "task", "sha256"}``, or ``{"name", "result"}``
    (a FileResult as a dict) for a file refused here (too large, damaged, not sent)."""
    from ... import dispatch

    if isinstance(contents, str):
        contents, names = [contents], [names]
    names = list(names or [None] * len(contents or []))
    out = []
    for name, content in zip(names, contents or []):
        name = safe_name(name)
        try:
            raw = decode_upload(content, limit)
            sent = dispatch.send(archive, name, raw, account=clean_account(account), tz=tz)
        except OverflowError:
            r = FileResult(name, "failed", message=t("error.too_large", lang, name=name, limit=fmt_size(limit)))
        except ValueError:
            r = FileResult(name, "failed", message=t("data.bad_upload", lang, name=name))
        except Exception as e:  # noqa: BLE001 - an archive or broker that fails: words, and the other files
            log.exception("sending the upload %s to the workers failed", name)
            r = FileResult(name, "failed", message=t("error.generic", lang, detail=f"{type(e).__name__}: {e}"))
        else:
            out.append({"name": name, "task": sent.task_id, "sha256": sha256(raw), "sent": time.time()})
            continue
        out.append({"name": name, "result": r.to_dict()})
    return out


def check_sent(entries, lang: str = "en") -> tuple[list[dict], bool]:
    """The entries with the results of the files the workers have finished since the last look,
    and whether any has; an entry the browser changed into something this page never sent
    becomes a failed result rather than a lookup."""
    from ... import dispatch

    out, changed, now = [], False, time.time()
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict):
            continue
        name = safe_name(e.get("name"))
        if "result" in e:
            try:
                FileResult.from_dict(e["result"])
            except (TypeError, ValueError, AttributeError, KeyError):  # not what this page put there
                e = {"name": name, "result": FileResult(name, "failed", message=t(
                    "error.generic", lang, detail="not a file this page sent")).to_dict()}
            out.append(e)
            continue
        task = e.get("task")
        if not (isinstance(task, str) and TASK_ID.match(task) and isinstance(e.get("sha256"), str)
                and PENDING_ID.match(e["sha256"])):
            r = FileResult(name, "failed", message=t("error.generic", lang, detail="not a file this page sent"))
            out.append({"name": name, "result": r.to_dict()})
            changed = True
            continue
        done = dispatch.outcome(dispatch.Sent(task, name))
        if done is None:
            sent = e.get("sent")
            waited = now - sent if isinstance(sent, (int, float)) and not isinstance(sent, bool) else 0
            # Said once, when the file has waited long enough; the hint goes once a worker takes it.
            untaken = waited > UNTAKEN_S and not dispatch.taken(dispatch.Sent(task, name))
            if untaken != bool(e.get("untaken")):
                e = {**e, "untaken": untaken}
                changed = True
            out.append(e)
            continue
        result, problem = done
        out.append({**e, "result": result.to_dict(), "rollups": [problem, problem.marked_stale] if problem else None})
        changed = True
    return out, changed


def queued_view(name: str, lang: str, untaken: bool = False):
    hint = [html.Div(t("data.untaken", lang, seconds=UNTAKEN_S), className="result-detail untaken",
                     style=WARNING_STYLE)] if untaken else []
    return html.Li([html.Strong(t("data.labelled", lang, label=t("data.status.queued", lang))),
                    html.Span(t("data.queued", lang, name=name), className="result-line"), *hint],
                   className="upload-result queued", style={"margin": "6px 0"})


def sent_view(engine: sa.Engine, archive: Archive, entries: list[dict], lang: str, account: str | None,
              tz: str = DEFAULT_TIMEZONE):
    """What the page shows for files sent to the workers: while any waits, each file's result or
    "queued", and the Store and Interval that poll for the rest; once all are back, exactly what
    an upload imported in the request shows (the mapping form included)."""
    results = [FileResult.from_dict(e["result"]) for e in entries if "result" in e]
    waiting = len(entries) - len(results)
    if waiting:
        items = [result_view(FileResult.from_dict(e["result"]), lang, tz=tz) if "result" in e
                 else queued_view(e["name"], lang, bool(e.get("untaken"))) for e in entries]
        out = [html.Div(t("data.account_used", lang, account=account), className="muted", id="data-account-used")] \
            if account else []
        return out + [html.Div(t("data.queued_summary", lang, waiting=waiting, files=len(entries)),
                               className="upload-summary", id="data-queued"),
                      html.Ul(items, className="upload-results"),
                      dcc.Store(id="data-upload-tasks", data={"entries": entries, "account": account}),
                      dcc.Interval(id="data-upload-poll", interval=POLL_MS)]
    mapped = [e for e in entries if e.get("pending")]
    if mapped:  # "Import with this mapping" (one file): its outcome, as on one machine
        return mapped_outcome(engine, archive, mapped[0], lang, tz)
    problems = [e["rollups"] for e in entries if e.get("rollups")]
    problem = ingest.Problem(*problems[-1]) if problems else None
    unrecognised = []
    for e, r in zip(entries, results):
        if e["result"].get("unrecognised") and e.get("sha256"):
            try:
                raw = archive.read(e["sha256"])
            except OSError:
                continue
            again = Importer(engine, None, tz=tz, account=account).refusal(r.name, raw)
            if again is not None:
                unrecognised.append((again, raw))
    form = offer_mapping(archive, unrecognised, lang, account)
    offered = None
    if form:
        offered = next(r for r in results if r.name == unrecognised[0][0].name)
    return results_view(results, lang, problem, account, offered=offered, tz=tz) + ([form] if form else [])


def import_roster_upload(engine: sa.Engine, archive: Archive | None, name, contents, *,
                         limit: int = ROSTER_MAX_BYTES, lang: str = "en") -> tuple[bool, str]:
    """(ok, what happened in words) for an uploaded roster CSV."""
    from collectors.roster import import_roster, load_roster

    name = safe_name(name)
    try:
        raw = decode_upload(contents, limit)
    except OverflowError:
        return False, t("error.too_large", lang, name=name, limit=fmt_size(limit))
    except ValueError:
        return False, t("data.bad_upload", lang, name=name)
    try:
        # Read once more only to count the people it names: import_roster returns new ones only.
        people = len({r["name"] for r in load_roster(name, raw)})
        _, counts = import_roster(engine, archive, name, raw)
    except ReachError as e:
        return False, t("data.roster_failed", lang, detail=messages.render(str(e), lang))
    return True, t("data.roster_result", lang,
                   done=t("upload.roster_done", lang, influencers=people, accounts=counts["accounts_linked"]),
                   detail=t("data.roster_detail", lang, new=counts["influencers"], created=counts["accounts_created"]))


# --- the mapping step (pure: a file no report recognised, kept server-side until it is mapped) -----
#
# The bytes of a file that failed detection wait in a folder beside the archive, named by their
# sha256, with a small JSON beside them (the file's name, the Account field, the header and the
# proposal). The form in the browser carries only that hex id: the file never travels back through
# the browser, and nothing the browser sends names a path. A waiting file is removed once it is
# imported, and any file left waiting longer than PENDING_MAX_AGE when another one arrives.

PENDING_ID = re.compile(r"^[0-9a-f]{64}$")
PENDING_MAX_AGE = timedelta(days=1)
SAMPLES_SHOWN = 3  # values per column in the form: enough to tell a count from an id or a date
SAMPLE_MAX_CHARS = 60
MAPPING_NAME = messages.Message("mapping.name.page")


def pending_dir(archive: Archive) -> Path:
    """``<archive>-pending``, beside the archive rather than in it: the archive holds the files
    that were imported (what `reach rebuild` replays), and a waiting file is not one of them."""
    return archive.root.with_name(archive.root.name + "-pending")


def keep_pending(archive: Archive, result: FileResult, raw: bytes, account: str | None = None,
                 now: datetime | None = None) -> str:
    """Keep an unrecognised upload for the mapping step; returns its id (the bytes' sha256)."""
    folder = pending_dir(archive)
    folder.mkdir(parents=True, exist_ok=True)
    _prune_pending(folder, now or datetime.now(timezone.utc))
    digest = sha256(raw)
    table, proposal = result.proposal_table, result.proposal
    meta = {"name": result.name, "account": account, "header": list(table.header),
            "signature": proposal.signature if proposal is not None else mapping_signature(table),
            "report": proposal.report if proposal is not None else "",
            "fields": [f for _, f in proposal.columns] if proposal is not None else [""] * len(table.header)}
    for path, body in ((folder / digest, raw),
                       (folder / f"{digest}.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))):
        # Write then rename, as the archive does: a half-written file is never read as waiting.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        os.replace(tmp, path)
    return digest


def _prune_pending(folder: Path, now: datetime) -> None:
    cutoff = (now - PENDING_MAX_AGE).timestamp()
    for p in folder.iterdir():
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass  # removed meanwhile by another worker


def load_pending(archive: Archive, pid) -> tuple[dict, bytes]:
    """The waiting file ``pid`` (its JSON and bytes). Raises ReachError in words when the id is not
    a sha256 in hex (so it can never name another path) or the file no longer waits."""
    if not isinstance(pid, str) or not PENDING_ID.match(pid):
        raise ReachError("not a waiting file's id")
    folder = pending_dir(archive)
    try:
        meta = json.loads((folder / f"{pid}.json").read_text(encoding="utf-8"))
        raw = (folder / pid).read_bytes()
    except (OSError, ValueError):
        raise ReachError("gone") from None
    if sha256(raw) != pid:
        raise ReachError("gone")
    return meta, raw


def drop_pending(archive: Archive, pid: str) -> None:
    if isinstance(pid, str) and PENDING_ID.match(pid):
        for p in (pending_dir(archive) / pid, pending_dir(archive) / f"{pid}.json"):
            p.unlink(missing_ok=True)


def mapping_reports() -> list[Report]:
    """The reports a file can be mapped to, by platform and title. API snapshots are left out:
    they are files `reach collect` writes itself (their ``_marker`` column), never an export."""
    return sorted((r for r in all_reports() if "_marker" not in r.required), key=lambda r: (r.platform, r.title))


def field_label(report: Report, f: str, lang: str, mark_required: bool = True) -> str:
    """How a field is offered in the form: its name in the UI language and its canonical name;
    a private field (checked while reading, not stored) by the report's own column name."""
    if f.startswith("_"):
        label = t("data.map.private", lang, header=(report.columns.get(f) or [f])[0])
    else:
        key = f"data.map.f.{f}"
        name = t(key, lang) if key in i18n.STRINGS["en"] else i18n.column_name(f, lang)
        label = f"{name} ({f})" if name != f else f
    return t("data.map.required", lang, label=label) if mark_required and f in report.required else label


def field_options(report_name: str | None, lang: str) -> list[dict]:
    """"not read", then the report's fields: required ones first, then in the report's order."""
    out = [{"label": t("data.map.not_read", lang), "value": ""}]
    try:
        r = get_report(report_name) if report_name else None
    except KeyError:
        r = None
    if r is None:
        return out
    fields = [f for f in r.required if f in r.columns] + [f for f in r.columns if f not in r.required]
    return out + [{"label": field_label(r, f, lang), "value": f} for f in fields]


def samples(table, i: int, n: int = SAMPLES_SHOWN) -> list[str]:
    """The first ``n`` non-empty values of column ``i``, each cut to SAMPLE_MAX_CHARS."""
    out = []
    for v in table.cells[i].head(200).tolist():
        v = " ".join(str(v).split())
        if v:
            # Cut in the middle: a link's end (the post id) tells more than its middle.
            half = (SAMPLE_MAX_CHARS - 1) // 2
            out.append(v if len(v) <= SAMPLE_MAX_CHARS else v[:half] + "…" + v[-half:])
            if len(out) == n:
                break
    return out


def prefill(archive: Archive, pid: str, report_name: str) -> list[str]:
    """The field of each column when the user picks ``report_name``: the proposal when it is the
    proposed report, else that report's best alignment with the file (by structure, then by
    headers), read again from the waiting bytes."""
    meta, raw = load_pending(archive, pid)
    if report_name == meta["report"]:
        return list(meta["fields"])
    try:
        r = get_report(report_name)
        table = next(tb for tb in read_bytes(meta["name"], raw) if mapping_signature(tb) == meta["signature"])
    except (KeyError, StopIteration, ReachError):
        return [""] * len(meta["header"])
    # The file's headers that are this report's aliases first; then the columns the report's
    # layouts align with, even when far fewer than detection would accept: the user checks them.
    # An aligned column is not offered as a field that is only checked, never stored (X's
    # "Hashtag clicks"): among counts, structure cannot tell which is which, and such a guess
    # would look like a reading; "not read" asks the user instead.
    positions = header_positions(r, table)
    profs = profiles(table)
    aligned = [align(r, layout, table, profs) for layout in r.layouts if layout]
    best = max(aligned, key=lambda c: (c.confidence, c.score), default=None)
    taken = set(positions.values())
    for f, i in (best.positions.items() if best is not None else ()):
        if f not in positions and i not in taken and (not f.startswith("_") or f in r.required):
            positions[f] = i
            taken.add(i)
    by_pos = {i: f for f, i in positions.items()}
    return [by_pos.get(i, "") for i in range(len(meta["header"]))]


def build_mapping(meta: dict, report_name, fields, date_order, lang: str) -> Mapping:
    """The Mapping the form describes, checked; MappingError in the UI language when it cannot
    be used (the collectors' own check runs last, for anything the form cannot say)."""
    header = meta["header"]
    if not isinstance(fields, list) or len(fields) != len(header) \
            or not all(f is None or isinstance(f, str) for f in fields):
        raise MappingError(t("data.map.bad_form", lang))
    if not report_name or not isinstance(report_name, str):
        raise MappingError(t("data.map.no_report", lang))
    try:
        r = get_report(report_name)
    except KeyError:
        raise MappingError(t("data.map.bad_form", lang)) from None
    fields = [f or "" for f in fields]
    used = [f for f in fields if f]
    twice = sorted({f for f in used if used.count(f) > 1})
    if twice:
        raise MappingError(t("data.map.twice", lang, fields=t("data.map.list_sep", lang).join(
            field_label(r, f, lang, False) for f in twice)))
    missing = [f for f in r.required if f not in used]
    if missing:
        raise MappingError(t("data.map.missing", lang, report=r.title, fields=t("data.map.list_sep", lang).join(
            field_label(r, f, lang, False) for f in missing)))
    order = date_order if date_order in DATE_ORDERS else None
    return Mapping(r.name, list(zip(header, fields)), meta["signature"], order, MAPPING_NAME).validate()


def _pending_mapped(archive: Archive, pid, report_name, fields, date_order, lang: str):
    """(meta, bytes, mapping, None) of the waiting file ``pid`` read with the form's mapping, or
    (..., why not in words) when the file is gone or the mapping cannot be used."""
    try:
        meta, raw = load_pending(archive, pid)
    except ReachError:
        return None, None, None, t("data.map.gone", lang)
    try:
        return meta, raw, build_mapping(meta, report_name, fields, date_order, lang), None
    except MappingError as e:
        return meta, raw, None, t("data.map.refused", lang, detail=messages.render(str(e), lang))


def import_with_mapping(engine: sa.Engine, archive: Archive, pid, report_name, fields, date_order, *,
                        tz: str = DEFAULT_TIMEZONE, lang: str = "en") -> tuple[FileResult | None, str | None]:
    """The waiting file imported with the mapping the form describes: (result, None), or
    (None, why not in words) when the file is gone or the mapping cannot be used. A file that
    imports (or was imported meanwhile) stops waiting; one that fails keeps waiting for a fix.
    The Importer saves the mapping as a profile once the file imports with it."""
    meta, raw, mapping, why = _pending_mapped(archive, pid, report_name, fields, date_order, lang)
    if why:
        return None, why
    imp = Importer(engine, archive, tz=tz, account=meta.get("account"), mapping=mapping)
    try:
        result = imp.import_bytes(meta["name"], raw)
    except Exception as e:  # noqa: BLE001 - words, not a traceback, as for an upload
        log.exception("importing %s with a mapping failed", meta["name"])
        return None, t("error.generic", lang, detail=f"{type(e).__name__}: {e}")
    if result.ok:
        drop_pending(archive, pid)
    return result, None


def send_mapped(archive: Archive, pid, report_name, fields, date_order, *, tz: str = DEFAULT_TIMEZONE,
                lang: str = "en") -> tuple[list[dict] | None, str | None]:
    """"Import with this mapping" in a distributed deployment: (the entries ``sent_view`` shows, None),
    or (None, why not in words) when the file is gone, the mapping cannot be used or the workers
    cannot be reached. The mapping is checked here, before anything is sent."""
    from ... import dispatch

    meta, raw, mapping, why = _pending_mapped(archive, pid, report_name, fields, date_order, lang)
    if why:
        return None, why
    try:
        sent = dispatch.send(archive, meta["name"], raw, account=meta.get("account"), tz=tz, mapping=mapping.to_dict())
    except Exception as e:  # noqa: BLE001 - an archive or broker that fails: words, the form kept
        log.exception("sending %s with a mapping to the workers failed", meta["name"])
        return None, t("error.generic", lang, detail=f"{type(e).__name__}: {e}")
    return [{"name": meta["name"], "task": sent.task_id, "sha256": pid, "pending": pid,
             "mapping": mapping.to_dict(), "sent": time.time()}], None


def mapped_outcome(engine: sa.Engine, archive: Archive, entry: dict, lang: str, tz: str = DEFAULT_TIMEZONE):
    """A file the workers imported with the form's mapping, once back: as ``import_mapped`` shows it
    on one machine. Imported: the file stops waiting, its result and "mapping saved". Failed: the
    form again, with the mapping tried chosen in it, and the reason under it."""
    result = FileResult.from_dict(entry["result"])
    problem = ingest.Problem(*entry["rollups"]) if entry.get("rollups") else None
    outcome = mapping_result_view(result, None, lang, problem, tz=tz)
    pid = entry.get("pending")
    if result.ok:
        drop_pending(archive, pid)
        return [outcome]
    try:
        meta, raw = load_pending(archive, pid)
    except ReachError:
        return [outcome]
    again = Importer(engine, None, tz=tz, account=meta.get("account")).refusal(meta["name"], raw)
    if again is None:  # recognised after all (a profile saved meanwhile): the result says enough
        return [outcome]
    try:  # the mapping came back through the browser: used only to prefill, and only if it fits
        tried = Mapping.from_dict(entry.get("mapping") or {}).validate()
    except (KeyError, TypeError, ValueError, ReachError):
        tried = None
    if tried is not None and tried.signature == meta.get("signature"):
        again.proposal = tried
    return [mapping_form(pid, again, lang, message=outcome)]


# --- what is stored (pure queries) --------------------------------------------------------------

def history(engine: sa.Engine, limit: int = HISTORY_LIMIT) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = queries.imports.latest(conn, limit)
    return pd.DataFrame(rows, columns=list(queries.imports.HISTORY_COLUMNS))


def problems(engine: sa.Engine, import_id: int, limit: int = PROBLEMS_LIMIT) -> tuple[pd.DataFrame, int]:
    """The first ``limit`` rejected rows of one import, in file order, and how many there are."""
    with engine.connect() as conn:
        total, rows = queries.imports.problems(conn, import_id, limit)
    return pd.DataFrame(rows, columns=["source", "line", "column", "value", "expected"]), int(total or 0)


def failures(engine: sa.Engine, limit: int = FAILURES_LIMIT) -> pd.DataFrame:
    """Failed attempts, newest first, leaving out files imported since (with a mapping, most
    often): the list is of files that could not be imported, and those could."""
    with engine.connect() as conn:
        rows = queries.imports.failures_not_imported(conn, limit)
    return pd.DataFrame(rows, columns=["file_name", "failed_at", "error"])


# --- rendering --------------------------------------------------------------------------------

STATUS_KEYS = {"imported": "data.status.imported", "already imported": "data.status.same",
               "failed": "data.status.failed"}


def _table(headers, rows, id=None, className="table", kinds=()):
    """A table in a box that scrolls sideways when the table is wider than the page. ``kinds``
    names each column's cells: "date" stays on one line (a date cut or broken over three lines is
    misread), "name" (file names, report names, values from a file) may break anywhere, since a
    long name without spaces would otherwise widen the table past the page."""
    def td(c, kind):
        return html.Td(c, className=kind) if kind else html.Td(c)
    kinds = list(kinds) + [None] * (len(headers) - len(kinds))
    return html.Div(html.Table([html.Thead(html.Tr([html.Th(h) for h in headers])),
                                html.Tbody([html.Tr([td(c, k) for c, k in zip(r, kinds)]) for r in rows])],
                               className=className, **({"id": id} if id else {})), className="table-wrap")


def _problem_rows(items, lang):
    """(source, line, column, value, expected) rows as table cells, what was expected in ``lang``
    (a message, or the English the database stored: collectors/messages.py writes either again)."""
    return [[src, "—" if line is None or line != line else str(int(line)), col, repr(str(value or "")),
             messages.render(expected, lang)] for src, line, col, value, expected in items]


PROBLEM_KINDS = ("name", None, "name", "name", None)


def _problem_headers(lang):
    return [t(f"data.col.{c}", lang) for c in ("source", "line", "column", "value", "expected")]


def result_view(r: FileResult, lang: str, mapping_offered: bool = False, tz: str | None = None):
    """One uploaded file's result: a status word in the UI language and the pipeline's line in the
    UI language (the catalog's words, collectors/messages.py; what is not in it yet, in English as
    `reach import` prints it), then the first rejected rows.

    The line's advice for a file that names no account is about a command-line option; here it is
    replaced by what a web user can do (the Account field, the roster), in the UI language. So is
    the advice to run `reach mapping suggest` when the mapping step is offered on the page."""
    # Without the CLI's status column: it is shown as a word instead.
    # The snapshot time in the campaign's timezone (``tz``), as the import history below shows it.
    text = messages.render(dataclasses.replace(r, unknown_account=False).text(ZoneInfo(tz) if tz else None), lang)
    if mapping_offered:
        text = text.split("\n")[0]  # the proposal and the CLI's commands: the form below says both
    status = "failed" if r.status == "failed" else ("same" if r.status == "already imported" else "ok")
    label = t(STATUS_KEYS.get(r.status, "data.status.failed"), lang)
    # The line's continuation lines (how a table was read: by structure or a mapping, with the
    # columns it used) each on a line of their own, as the CLI prints them.
    first, *more = text.split("\n")
    parts = [html.Div([html.Strong(t("data.labelled", lang, label=label)),
                       html.Span(first, className="result-line")])]
    parts += [html.Div(m.strip(), className="result-detail", style={"fontSize": "13px"}) for m in more if m.strip()]
    if mapping_offered:
        parts.append(html.Div(t("data.map.see_form", lang), className="upload-map-hint"))
    if r.unknown_account and r.status == "imported":
        parts.append(html.Div(t("data.unknown_account", lang, name=r.name, platform=_platforms(r.platform, lang)),
                              className="upload-unknown-account", style=WARNING_STYLE))
    if r.problems:
        shown = r.problems[:PROBLEMS_SHOWN]
        total = max(r.rejected, len(r.problems))  # a worker's result sends the first problems only
        parts.append(html.Div(t("data.rejected_first", lang, shown=len(shown), total=total), className="muted"))
        parts.append(_table(_problem_headers(lang), _problem_rows(
            [(p.source, p.line, p.column, p.value, p.expected) for p in shown], lang), className="table compact",
            kinds=PROBLEM_KINDS))
        if len(r.problems) > len(shown):
            parts.append(html.Div(t("data.rejected_more", lang), className="muted"))
    for table in r.ignored_tables:
        parts.append(html.Div(t("data.ignored", lang, table=table), className="muted"))
    return html.Li(parts, className=f"upload-result {status}",
                   style={"color": "#b00020"} if status == "failed" else {"margin": "6px 0"})


def results_view(results: list[FileResult], lang: str, rollup_error: str | None = None,
                 account: str | None = None, offered: FileResult | None = None, tz: str | None = None):
    items = [result_view(r, lang, r is offered, tz) for r in results]
    out = []
    if account:
        out.append(html.Div(t("data.account_used", lang, account=account), className="muted",
                            id="data-account-used"))
    if len(results) > 1:
        out.append(html.Div(t("data.summary", lang, files=len(results),
                              imported=sum(r.status == "imported" for r in results),
                              same=sum(r.status == "already imported" for r in results),
                              failed=sum(r.status == "failed" for r in results)), className="upload-summary"))
    out.append(html.Ul(items, className="upload-results"))
    if rollup_error:
        out.append(html.Div(t("data.rollups_failed", lang, detail=rollup_error), style=WARNING_STYLE))
    return out


def mapping_form(pid: str, result: FileResult, lang: str, others: int = 0, message=None):
    """The mapping step for one unrecognised upload: the report, the date order, and for each of
    the file's columns its header as the file writes it, a few values, and the field it is read
    as, prefilled with the proposal. Everything the file says is shown as text (Dash escapes it)."""
    table, proposal = result.proposal_table, result.proposal
    report = proposal.report if proposal is not None and proposal.report else None
    fields = [f for _, f in proposal.columns] if proposal is not None else [""] * len(table.header)
    options = field_options(report, lang)
    rows = [html.Tr([html.Td(h or "—", className="map-header"),
                     html.Td(" · ".join(samples(table, i)) or "—", className="map-samples muted"),
                     html.Td(dcc.Dropdown(id={"type": "data-map-field", "col": i}, options=options,
                                          value=fields[i] if i < len(fields) else "", clearable=False,
                                          searchable=True, className="map-field"), style={"width": "360px"})])
            for i, h in enumerate(table.header)]
    report_options = [{"label": r.title, "value": r.name} for r in mapping_reports()]
    date_options = [{"label": t("data.map.date.auto", lang), "value": "auto"}] + \
        [{"label": t(f"data.map.date.{o}", lang), "value": o} for o in DATE_ORDERS]
    form = [
        html.H3(t("data.map.title", lang, name=result.name)),
        html.Div(t("data.map.intro", lang), className="muted", style={"fontSize": "13px"}),
        html.Div([html.Label(t("data.map.report", lang), htmlFor="data-map-report", style={"whiteSpace": "nowrap"}),
                  dcc.Dropdown(id="data-map-report", options=report_options, value=report, clearable=False,
                               placeholder=t("data.map.report_none", lang), className="dd wide"),
                  html.Label(t("data.map.date_order", lang), htmlFor="data-map-date-order",
                             style={"whiteSpace": "nowrap"}),
                  dcc.Dropdown(id="data-map-date-order", options=date_options, clearable=False,
                               # A proposal has none; a mapping tried before (the form back after a
                               # failure) keeps the order it was tried with.
                               value=proposal.date_order if proposal is not None and proposal.date_order in DATE_ORDERS
                               else "auto",
                               searchable=False, className="dd narrow", style={"flex": "0 0 220px"})],
                 className="toolbar"),
        html.Table([html.Thead(html.Tr([html.Th(t(f"data.map.col.{c}", lang), style={"whiteSpace": "nowrap"})
                                        for c in ("header", "samples", "field")])),
                    html.Tbody(rows)], className="table compact", id="data-map-columns"),
        html.Div(html.Button(t("data.map.submit", lang), id="data-map-import", n_clicks=0, className="button",
                             style=BUTTON_STYLE), style={"margin": "10px 0"}),
        dcc.Store(id="data-map-id", data=pid),
    ]
    if others:
        form.append(html.Div(t("data.map.others", lang, n=others), className="muted", id="data-map-others"))
    return html.Div([html.Div(form, id="data-map-form"),
                     html.Div(message, id="data-map-message", className="upload-output")],
                    id="data-map", className="panel", style={"margin": "10px 0", "borderColor": "#f0b35a"})


def mapping_result_view(result: FileResult | None, error: str | None, lang: str, rollup_error: str | None = None,
                        tz: str | None = None):
    """What the mapping step says after "Import with this mapping": why the mapping was not
    used, or the file's result as for any upload (and that the mapping was saved)."""
    if result is None:
        return html.Div(error, style=WARNING_STYLE, id="data-map-error")
    out = results_view([result], lang, rollup_error, tz=tz)
    if result.status == "imported":
        out.append(html.Div(t("data.map.saved", lang), className="muted", id="data-map-saved"))
    elif result.status == "failed":
        out.append(html.Div(t("data.map.retry", lang), style=WARNING_STYLE, id="data-map-retry"))
    return html.Div(out, id="data-map-outcome")


def _snapshot(at, source, lang, tz):
    if at is None or pd.isna(at):
        return "—"
    key = f"data.source.{source}"
    words = t(key, lang) if key in i18n.STRINGS["en"] else str(source or "—")
    # The time stays whole on one line; the words around it wrap.
    before, _, after = t("data.snapshot_from", lang, time="\0", source=words).partition("\0")
    return html.Span([before, html.Span(fmt_datetime(at, lang, tz), className="date"), after])


def _platforms(value, lang):
    return " + ".join(platform_name(p, lang) for p in str(value or "").split("+") if p) or "—"


def problems_view(engine, import_id, lang):
    if import_id is None:
        return html.Div(t("empty.none", lang), className="muted")
    df, total = problems(engine, int(import_id))
    if not total:
        return html.Div(t("data.problems_none", lang), className="muted", id="data-problems-none")
    out = [_table(_problem_headers(lang), _problem_rows(df.itertuples(index=False, name=None), lang),
                  id="data-problems-table", className="table compact", kinds=PROBLEM_KINDS)]
    if total > len(df):
        out.append(html.Div(t("data.problems_more", lang, shown=len(df), total=total), className="muted"))
    return html.Div(out)


def tables(engine, campaign, lang: str, chosen: int | None = None, now: datetime | None = None) -> list:
    """History, rejected rows of one import, failed attempts and freshness, as components."""
    tz = campaign.tz
    hist = history(engine)
    out = [html.H2(t("data.history_title", lang))]
    if hist.empty:
        out.append(html.Div(t("data.history_none", lang), className="empty", id="data-history-empty"))
    else:
        headers = [t("data.col.file", lang), t("col.platform", lang), t("data.col.reports", lang),
                   t("data.col.when", lang), t("data.col.rows_read", lang), t("data.col.rows_stored", lang),
                   t("data.col.rows_rejected", lang), t("data.col.rows_skipped", lang), t("data.col.snapshot", lang)]
        rows = [[r.file_name, _platforms(r.platform, lang), (r.reports or "").replace(",", ", "),
                 fmt_datetime(r.imported_at, lang, tz), fmt_number(r.rows_read, lang), fmt_number(r.rows_stored, lang),
                 fmt_number(r.rows_rejected, lang), fmt_number(r.rows_skipped, lang),
                 _snapshot(r.captured_at, r.captured_at_source, lang, tz)] for r in hist.itertuples()]
        out.append(html.Div(_table(headers, rows, id="data-history",
                                   kinds=("name", None, "name", "date", None, None, None, None, None)),
                            className="scroll"))
        ids = set(hist["id"])
        if chosen not in ids:
            with_rejects = hist[hist["rows_rejected"] > 0]
            chosen = int((with_rejects if len(with_rejects) else hist)["id"].iloc[0])
        options = [{"label": t("data.pick_label", lang, id=r.id, file=r.file_name, n=fmt_number(r.rows_rejected, lang)),
                    "value": int(r.id)}
                   for r in hist.itertuples()]
        out += [html.H3(t("data.problems_title", lang)),
                html.Div([html.Label(t("data.problems_pick", lang), htmlFor="data-import-pick"),
                          dcc.Dropdown(id="data-import-pick", options=options, value=chosen, clearable=False,
                                       className="dd wide")], className="toolbar"),
                html.Div(problems_view(engine, chosen, lang), id="data-problems")]
    fails = failures(engine)
    if len(fails):
        out += [html.H2(t("data.failures_title", lang)),
                _table([t("data.col.file", lang), t("data.col.failed_at", lang), t("data.col.error", lang)],
                       [[r.file_name, fmt_datetime(r.failed_at, lang, tz), messages.render(r.error, lang)]
                        for r in fails.itertuples()],
                       id="data-failures", kinds=("name", "date", "name"))]
    out += freshness_view(engine, campaign, lang, now)
    return out


def freshness_view(engine, campaign, lang, now=None) -> list:
    tz = campaign.tz
    stale = " (" + t("label.stale", lang) + ")"
    now = now or clock.clock(engine)  # the demo's own clock on the demo: one moment for every line
    acc = clock.account_freshness(engine, now)
    plat = clock.freshness(engine, now, acc)  # from the same rows: read once
    out = [html.H2(t("data.freshness_platforms", lang)),
           html.Div(t("data.stale_rule", lang, hours=clock.STALE_HOURS), className="muted")]
    if plat.empty:
        out.append(html.Div(t("freshness.never", lang), className="muted", id="data-freshness-empty"))
        return out
    out.append(_table(
        [t("col.platform", lang), t("data.col.latest", lang), t("data.col.last_import", lang)],
        [[platform_name(r.platform, lang), fresh_text(r.as_of, lang, tz, now=now) + (stale if r.stale else ""),
          fmt_datetime(r.last_import, lang, tz)] for r in plat.itertuples()], id="data-freshness-platforms",
        kinds=(None, None, "date")))
    src = clock.source_freshness(engine)
    if len(src):
        from .. import freshness

        out.append(_table(
            [t("col.platform", lang), t("data.col.via", lang), t("data.col.last_import", lang),
             t("data.col.last_error", lang)],
            [[platform_name(r.platform, lang) if r.platform else t("fresh.unknown_platform", lang),
              t(f"fresh.source.{r.source}", lang), fmt_datetime(r.last_success, lang, tz),
              (fmt_datetime(r.last_error_at, lang, tz) + t("punct.colon", lang) + freshness.short_error(messages.render(r.last_error, lang))
               if isinstance(r.last_error, str) else "—")]
             for r in src.itertuples()], id="data-freshness-sources", kinds=(None, None, "date")))
    out += [html.H2(t("data.freshness_accounts", lang)),
            html.Div(accounts_view(acc, campaign, lang, 0, now), id="data-accounts"),
            dcc.Store(id="data-accounts-page", data=0)]
    return out


def accounts_view(acc: pd.DataFrame, campaign, lang: str, page: int = 0, now=None) -> list:
    """One page of the freshness per account (ACCOUNTS_PAGE rows, in the order of
    ``clock.account_freshness``: platform, then account), with how many there are and how many are
    stale, and buttons for the pages before and after. ``page`` is kept within the pages there are."""
    tz = campaign.tz
    stale = " (" + t("label.stale", lang) + ")"
    pages = max(1, -(-len(acc) // ACCOUNTS_PAGE))
    page = min(max(int(page or 0), 0), pages - 1)
    shown = acc.iloc[page * ACCOUNTS_PAGE:(page + 1) * ACCOUNTS_PAGE]
    table = _table(
        [t("col.platform", lang), t("col.account", lang), t("col.influencer", lang), t("data.col.latest", lang),
         t("data.col.last_import", lang)],
        # No influencer (not in the roster) arrives as None or NaN: "—", never "nan".
        [[platform_name(r.platform, lang), r.account,
          r.influencer if isinstance(r.influencer, str) and r.influencer else "—",
          fresh_text(r.as_of, lang, tz, now=now) + (stale if r.stale else ""), fmt_datetime(r.last_import, lang, tz)]
         for r in shown.itertuples()], id="data-freshness-accounts", kinds=(None, "name", None, None, "date"))
    if pages == 1:
        return [table]
    said = t("data.accounts_shown", lang, first=fmt_number(page * ACCOUNTS_PAGE + 1, lang),
             last=fmt_number(page * ACCOUNTS_PAGE + len(shown), lang), total=fmt_number(len(acc), lang),
             stale=fmt_number(int(acc["stale"].sum()), lang))
    pager = html.Div([
        html.Button(t("data.accounts_prev", lang), id="data-accounts-prev", n_clicks=0, disabled=page == 0),
        html.Span(said, className="muted", id="data-accounts-shown"),
        html.Button(t("data.accounts_next", lang), id="data-accounts-next", n_clicks=0, disabled=page == pages - 1),
    ], className="toolbar")
    return [pager, table]


# Inline, so the page needs nothing from the shared stylesheet (assets/reach.css belongs to the layout).
UPLOAD_STYLE = {"border": "2px dashed #888", "borderRadius": "8px", "padding": "22px", "textAlign": "center",
                "background": "#fff", "cursor": "pointer", "margin": "8px 0"}
BUTTON_STYLE = {"padding": "8px 16px", "fontSize": "14px", "fontWeight": 600, "color": "#fff",
                "background": "#2457a6", "border": "none", "borderRadius": "6px", "cursor": "pointer"}
WARNING_STYLE = {"background": "#fff4e5", "border": "1px solid #f0b35a", "borderRadius": "6px", "padding": "8px 12px",
                 "margin": "8px 0"}


def _upload_box(id, text, disabled, multiple, max_size):
    style = dict(UPLOAD_STYLE, **({"opacity": 0.5, "cursor": "not-allowed"} if disabled else {}))
    return dcc.Upload(id=id, children=html.Div(text), multiple=multiple, max_size=max_size, disabled=disabled,
                      style=style, style_active=dict(style, borderColor="#2457a6", background="#eef3fb"),
                      style_reject=dict(style, borderColor="#b00020", background="#fdecee"))


def layout(**query):
    f = F.parse("?" + urlencode(query, doseq=True))
    lang = f.lang
    eng, campaign = data.engine(), data.campaign()
    editor = auth.is_editor()
    try:
        chosen = int(query.get("import")) if isinstance(query.get("import"), str) else None
    except ValueError:
        chosen = None
    note = [] if editor else [html.Div(t("data.editors_only", lang), style=WARNING_STYLE, id="data-viewer-note")]
    uploads = html.Div([
        html.H2(t("data.upload_title", lang)),
        html.Div(t("data.upload_limit", lang, limit=fmt_size(MAX_UPLOAD_BYTES)), className="muted",
                 id="data-upload-limit"),
        html.Div([html.Label(t("data.account_label", lang), htmlFor="data-account", style={"whiteSpace": "nowrap"}),
                  dcc.Input(id="data-account", type="text", value="", maxLength=ACCOUNT_MAX_CHARS,
                            placeholder=t("data.account_placeholder", lang), disabled=not editor,
                            autoComplete="off", spellCheck=False, style={"width": "320px", "flex": "0 0 auto"})],
                 className="toolbar"),
        html.Div(t("data.account_hint", lang), className="muted", id="data-account-hint"),
        _upload_box("data-upload", t("upload.drop", lang), not editor, True, MAX_UPLOAD_BYTES),
        dcc.Loading(html.Div(id="data-upload-result", className="upload-output"), type="dot"),
        html.H2(t("data.roster_title", lang)),
        html.Div(t("data.roster_help", lang), className="muted"),
        _upload_box("data-roster", t("data.roster_drop", lang), not editor, False, ROSTER_MAX_BYTES),
        dcc.Loading(html.Div(id="data-roster-result", className="upload-output"), type="dot"),
    ], className="panel data-uploads")
    return html.Div([L.header(f, PATH), *note, uploads, prepare_panel(lang),
                     html.Div(tables(eng, campaign, lang, chosen), id="data-tables"),
                     dcc.Store(id="data-stamp", data=0)], className="page data-page")


# --- whole-campaign exports prepared in the background (dashboard/web/jobs.py) ---------------------
#
# The Posts page downloads what is on screen, streamed in the request. A whole campaign's tidy rows
# (a million posts: about 10 s and 100 MB) are prepared by a background job instead: on a worker
# when several hosts serve, with a progress bar here, a Cancel button, and a link once the file
# is written. Any logged-in user may prepare one: it is what the downloads give, for everything.

PREPARED_KINDS = ("posts", "account-days")
HIDDEN, SHOWN = {"display": "none"}, {"display": "flex", "alignItems": "center", "gap": "10px", "margin": "8px 0"}


def prepare_panel(lang: str):
    options = [{"label": t(f"data.prep.kind.{k}", lang), "value": k} for k in PREPARED_KINDS]
    return html.Div([
        html.H2(t("data.prep.title", lang)),
        html.Div(t("data.prep.help", lang), className="muted"),
        html.Div([dcc.Dropdown(id="data-prep-kind", options=options, value="posts", clearable=False, searchable=False,
                               className="dd wide", style={"flex": "0 1 460px"}),
                  html.Button(t("data.prep.go", lang), id="data-prep-go", n_clicks=0, className="button",
                              style=BUTTON_STYLE),
                  html.Button(t("data.prep.cancel", lang), id="data-prep-cancel", n_clicks=0, className="button",
                              style=HIDDEN)], className="toolbar"),
        html.Div([html.Progress(id="data-prep-bar", max=1, style={"width": "360px", "height": "14px"}),
                  # What shows until the job's first word: with workers, it may wait for one.
                  html.Span(t("data.prep.queued" if deployment.current().distributed else "data.prep.starting", lang),
                            id="data-prep-text", className="muted")],
                 id="data-prep-progress", style=HIDDEN),
        html.Div(id="data-prep-result", className="upload-output"),
    ], className="panel data-prepare", id="data-prepare")


def prepared_view(token: str, name: str, rows: int, size: int, lang: str, tz) -> html.Div:
    href = f"/download/prepared/{token}/{name}"
    return html.Div([html.A(t("data.prep.link", lang, name=name, size=fmt_size(size)), href=href, id="data-prep-link",
                            download=name),
                     html.Span(t("data.prep.done", lang, rows=fmt_number(rows, lang),
                                 time=fmt_datetime(datetime.now(timezone.utc), lang, tz)), className="muted")],
                    className="upload-result ok", style={"display": "flex", "gap": "12px", "flexWrap": "wrap"})


def prepare_export(set_progress, kind, lang: str):
    """Write the whole campaign's ``kind`` export into a fresh folder of jobs.exports_dir, saying
    how far it got (``set_progress`` with the bar's value and maximum and the words); the link to
    it once written. A file is written under another name and renamed when whole, so a link never
    points at half a file."""
    from ...analysis import exports

    from .. import jobs

    kind = kind if kind in PREPARED_KINDS else "posts"
    eng, campaign = jobs.engine(), jobs.campaign()
    progress = jobs.Throttle(set_progress)
    progress(0, 1, t("data.prep.counting", lang))
    total = exports.count_rows(eng, kind, campaign)
    token, folder = jobs.new_job_folder(eng)
    name = f"campaign-reach-{kind}.csv"
    counted: list[int] = []
    part = folder / (name + ".part")
    with part.open("wb") as out:
        for chunk in exports.csv_export(eng, kind, campaign, counted=counted):
            out.write(chunk)
            done = sum(counted)
            progress(done, max(total, 1), t("data.prep.progress", lang, done=fmt_number(done, lang),
                                            total=fmt_number(total, lang)))
    part.rename(folder / name)
    done = sum(counted)
    progress(done, max(done, 1), t("data.prep.progress", lang, done=fmt_number(done, lang),
                                   total=fmt_number(done, lang)), last=True)
    return prepared_view(token, name, done, (folder / name).stat().st_size, lang, campaign.tz)


@callbacks(Output("data-prep-result", "children"), Input("data-prep-go", "n_clicks"),
           State("data-prep-kind", "value"), State("url", "search"),
           background=True, prevent_initial_call=True, interval=500,
           progress=[Output("data-prep-bar", "value"), Output("data-prep-bar", "max"),
                     Output("data-prep-text", "children")],
           running=[(Output("data-prep-go", "disabled"), True, False),
                    (Output("data-prep-cancel", "style"), dict(BUTTON_STYLE, background="#8a1c1c"), HIDDEN),
                    (Output("data-prep-progress", "style"), SHOWN, HIDDEN),
                    # The last file's link goes while another is prepared (back if it is cancelled).
                    (Output("data-prep-result", "style"), HIDDEN, {})],
           cancel=[Input("data-prep-cancel", "n_clicks")])
def prepare(set_progress, n_clicks, kind, search):
    """"Prepare": the export written by a background job (a worker, with REACH_REDIS), its
    progress in the bar. Runs outside the request: it reads only the kind and the language."""
    if not n_clicks:
        raise PreventUpdate
    return prepare_export(set_progress, kind, F.parse(search).lang)


# --- callbacks (thin: role check, decode, render) ----------------------------------------------

def _refused(lang):
    return html.Div(t("data.refused", lang), style=WARNING_STYLE, id="data-refused")


def _editor() -> bool:
    try:
        auth.require_editor()
    except Forbidden:
        return False
    return True


@callbacks(Output("data-upload-result", "children"), Output("data-upload", "contents"),
           Output("data-stamp", "data"),
           Input("data-upload", "contents"), State("data-upload", "filename"), State("url", "search"),
           State("data-stamp", "data"), State("data-account", "value"), prevent_initial_call=True)
def upload_files(contents, names, search, stamp, account=None):
    """Import dropped files, with the Account field as ``--account``. The contents are cleared
    afterwards so the same file can be dropped again (and the browser does not keep megabytes of
    base64 in its state)."""
    lang = F.parse(search).lang
    # A viewer's request gets words rather than the 403 the guard gives, which Dash would only
    # show as a failed request in the browser console.
    if not _editor():
        return _refused(lang), None, stamp
    if not contents:
        raise PreventUpdate
    eng, campaign = data.engine(), data.campaign()
    account = clean_account(account)
    archive, unrecognised = Archive(database.archive_dir(eng)), []
    if deployment.current().distributed:
        # The workers import; the page polls for their results (poll_uploads).
        entries = send_uploads(archive, names, contents, tz=campaign.timezone, lang=lang, account=account)
        return sent_view(eng, archive, entries, lang, account, campaign.timezone), None, stamp
    results = import_uploads(eng, archive, names, contents, tz=campaign.timezone, lang=lang, account=account,
                             unrecognised=unrecognised)
    problem = ingest.refresh(eng, campaign, results)
    form = offer_mapping(archive, unrecognised, lang, account)
    out = results_view(results, lang, problem, account, offered=unrecognised[0][0] if form else None,
                       tz=campaign.timezone)
    return out + ([form] if form else []), None, (stamp or 0) + 1


@callbacks(Output("data-upload-result", "children", allow_duplicate=True),
           Output("data-stamp", "data", allow_duplicate=True),
           Input("data-upload-poll", "n_intervals"), State("data-upload-tasks", "data"), State("url", "search"),
           State("data-stamp", "data"), prevent_initial_call=True)
def poll_uploads(_, sent, search, stamp):
    """Files sent to the workers: shown again when one more has its result (the tables redrawn,
    since it may have been imported), left as they are otherwise."""
    if not _editor() or not isinstance(sent, dict):
        raise PreventUpdate
    lang = F.parse(search).lang
    entries, changed = check_sent(sent.get("entries"), lang)
    if not changed:
        raise PreventUpdate
    eng = data.engine()
    view = sent_view(eng, Archive(database.archive_dir(eng)), entries, lang, clean_account(sent.get("account")),
                     data.campaign().timezone)
    return view, (stamp or 0) + 1


def offer_mapping(archive: Archive, unrecognised: list, lang: str, account: str | None):
    """The mapping form for the first file of a drop that no report recognised (its bytes kept
    server-side), or None. One form at a time: once it is imported, the saved mapping reads the
    drop's other files with the same columns at once."""
    if not unrecognised:
        return None
    result, raw = unrecognised[0]
    try:
        pid = keep_pending(archive, result, raw, account)
    except OSError as e:
        log.warning("could not keep %s for the mapping step: %s", result.name, e)
        return None
    return mapping_form(pid, result, lang, others=len(unrecognised) - 1)


@callbacks(Output({"type": "data-map-field", "col": ALL}, "options"),
           Output({"type": "data-map-field", "col": ALL}, "value"),
           Input("data-map-report", "value"), State("data-map-id", "data"),
           State({"type": "data-map-field", "col": ALL}, "id"), State("url", "search"), prevent_initial_call=True)
def choose_report(report, pid, ids, search):
    """Another report chosen: its fields offered, each column prefilled with that report's best fit."""
    if not _editor() or not report:
        raise PreventUpdate
    lang = F.parse(search).lang
    try:
        fields = prefill(Archive(database.archive_dir(data.engine())), pid, report)
    except ReachError:
        raise PreventUpdate from None
    if len(fields) != len(ids):
        raise PreventUpdate
    options = field_options(report, lang)
    return [options] * len(ids), [fields[i["col"]] for i in ids]


@callbacks(Output("data-upload-result", "children", allow_duplicate=True), Output("data-map-message", "children"),
           Output("data-stamp", "data", allow_duplicate=True),
           Input("data-map-import", "n_clicks"), State("data-map-id", "data"), State("data-map-report", "value"),
           State({"type": "data-map-field", "col": ALL}, "value"), State({"type": "data-map-field", "col": ALL}, "id"),
           State("data-map-date-order", "value"), State("url", "search"), State("data-stamp", "data"),
           prevent_initial_call=True)
def import_mapped(n_clicks, pid, report, fields, ids, date_order, search, stamp):
    """"Import with this mapping": the waiting file imported with the form's mapping. On success
    its result replaces the drop's results and the form (the failure above the form is no longer
    true), and the rollups and tables are refreshed; otherwise the form stays, with the reason."""
    lang = F.parse(search).lang
    if not _editor():
        return no_update, _refused(lang), stamp
    if not n_clicks:
        raise PreventUpdate
    # The fields in column order, whatever order the browser lists the dropdowns in.
    by_col = {i.get("col"): f for i, f in zip(ids or [], fields or []) if isinstance(i, dict)}
    ordered = [by_col.get(k) for k in range(len(by_col))] if set(by_col) == set(range(len(by_col))) else None
    eng, campaign = data.engine(), data.campaign()
    archive = Archive(database.archive_dir(eng))
    if deployment.current().distributed:
        # The workers import, as for an upload; the page polls for the result (poll_uploads).
        entries, error = send_mapped(archive, pid, report, ordered, date_order, tz=campaign.timezone, lang=lang)
        if entries is None:
            return no_update, mapping_result_view(None, error, lang), stamp
        return sent_view(eng, archive, entries, lang, None, campaign.timezone), no_update, stamp
    result, error = import_with_mapping(eng, archive, pid, report, ordered, date_order, tz=campaign.timezone,
                                        lang=lang)
    problem = ingest.refresh(eng, campaign, [result]) if result is not None else None
    view = mapping_result_view(result, error, lang, problem, tz=campaign.timezone)
    if result is not None and result.ok:
        return view, no_update, (stamp or 0) + 1
    return no_update, view, stamp


@callbacks(Output("data-roster-result", "children"), Output("data-roster", "contents"),
           Output("data-stamp", "data", allow_duplicate=True),
           Input("data-roster", "contents"), State("data-roster", "filename"), State("url", "search"),
           State("data-stamp", "data"), prevent_initial_call=True)
def upload_roster(contents, name, search, stamp):
    lang = F.parse(search).lang
    if not _editor():
        return _refused(lang), None, stamp
    if not contents:
        raise PreventUpdate
    eng = data.engine()
    ok, text = import_roster_upload(eng, Archive(database.archive_dir(eng)), name, contents, lang=lang)
    return html.Div(text, className="upload-result " + ("ok" if ok else "failed"), id="data-roster-message"), \
        None, (stamp or 0) + 1


@callbacks(Output("data-tables", "children"), Input("data-stamp", "data"), State("url", "search"),
           prevent_initial_call=True)
def redraw_tables(_, search):
    """After an import the history opens on the newest import with rejected rows: most often the
    file just dropped. (The picker may not exist yet, so its value is not read.)"""
    return tables(data.engine(), data.campaign(), F.parse(search).lang)


@callbacks(Output("data-accounts", "children"), Output("data-accounts-page", "data"),
           Input("data-accounts-prev", "n_clicks"), Input("data-accounts-next", "n_clicks"),
           State("data-accounts-page", "data"), State("url", "search"), prevent_initial_call=True)
def page_accounts(prev, next_, page, search):
    """The page of accounts before or after the one shown (the rows come from the shared cache)."""
    step = {"data-accounts-prev": -1, "data-accounts-next": 1}.get(ctx.triggered_id)
    if step is None:
        raise PreventUpdate
    eng = data.engine()
    now = clock.clock(eng)
    acc = clock.account_freshness(eng, now)
    pages = max(1, -(-len(acc) // ACCOUNTS_PAGE))
    page = min(max(int(page or 0) + step, 0), pages - 1)
    return accounts_view(acc, data.campaign(), F.parse(search).lang, page, now), page


@callbacks(Output("data-problems", "children"), Input("data-import-pick", "value"), State("url", "search"),
           prevent_initial_call=True)
def pick_import(import_id, search):
    return problems_view(data.engine(), import_id, F.parse(search).lang)
