"""Data: where export files and the roster come in, and where one sees what came in and how fresh it is.

Editors drop export files (several at once) on the page; each goes through the same pipeline as
`reach import` (the Importer, with the archive beside the database; the optional Account field is
`--account`, for files whose rows name no account), its result is shown in words
with the first rejected rows, and the daily rollups of the accounts it touched are refreshed so the
Live page picks the new data up at its next refresh. A roster CSV goes through the same function as
`reach roster import`. Everyone can read the import history (with each rejected row's reason),
the failed attempts, and the freshness per platform and per account. The upload handling is a set
of plain functions of bytes and an engine, so it is tested without a browser; the callbacks only
check the role, decode and render.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import re
from datetime import datetime
from urllib.parse import urlencode

import pandas as pd
import sqlalchemy as sa
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate
from werkzeug.exceptions import Forbidden

from collectors import store
from collectors.archive import Archive
from collectors.errors import ReachError
from collectors.pipeline import FileResult, Importer

from .. import auth, data, i18n, layout as L, rollups
from .. import filters as F
from ..i18n import fmt_datetime, fmt_number, freshness as fresh_text, platform_name, t

log = logging.getLogger(__name__)

SLUG, PATH, ORDER = "data", "/data", 60
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

i18n.add_strings({
    "en": {
        "data.upload_title": "Import export files",
        "data.upload_limit": "CSV, TSV, XLSX or ZIP exports, several at once, at most {limit} per file",
        "data.editors_only": "Only editors can import files or change the roster; you can read everything below.",
        "data.status.imported": "Imported",
        "data.status.same": "Already imported",
        "data.status.failed": "Not imported",
        "data.labelled": "{label}: ",
        "data.refused": "You are not allowed to do that: only editors can import files or change the roster.",
        "data.roster_result": "{done}. {detail}.",
        "data.rejected_first": "First rejected rows ({shown} of {total}):",
        "data.rejected_more": "The import history below lists every rejected row.",
        "data.ignored": "Not a metrics report, left out: {table}",
        "data.bad_upload": "{name} arrived damaged in the browser's upload and was not imported",
        "data.rollups_failed": ("The files were imported, but the daily totals were not updated ({detail}): "
                                "charts may leave this data out until the next import."),
        "data.summary": "{files} files: {imported} imported, {same} already imported, {failed} not imported",
        "data.roster_title": "Roster",
        "data.roster_help": ("A CSV with the columns name, platform and handle or account_id (optional: category, "
                             "followers). Imported whole or not at all."),
        "data.roster_drop": "Drop the roster CSV here, or click to choose",
        "data.roster_detail": "{new} new influencers; {created} accounts not seen in any export yet",
        "data.roster_failed": "The roster was not imported: {detail}",
        "data.history_title": "Import history",
        "data.history_none": "No file has been imported yet.",
        "data.problems_title": "Rejected rows of one import",
        "data.problems_pick": "Import",
        "data.pick_label": "#{id} {file}: {n} rejected",
        "data.problems_none": "This import rejected no rows.",
        "data.problems_more": "Showing {shown} of {total} rejected rows.",
        "data.failures_title": "Files that could not be imported",
        "data.freshness_platforms": "Freshness per platform",
        "data.freshness_accounts": "Freshness per account",
        "data.col.via": "Source",
        "data.col.last_error": "Last error",
        "data.stale_rule": "Stale: the latest data is more than {hours} hours old.",
        "data.col.file": "File",
        "data.col.reports": "Reports",
        "data.col.when": "Imported",
        "data.col.rows_read": "Rows read",
        "data.col.rows_stored": "Stored",
        "data.col.rows_rejected": "Rejected",
        "data.col.rows_skipped": "Left out",
        "data.col.snapshot": "Snapshot time",
        "data.col.source": "Where",
        "data.col.line": "Line",
        "data.col.column": "Column",
        "data.col.value": "Value",
        "data.col.expected": "Expected",
        "data.col.error": "Error",
        "data.col.failed_at": "Tried",
        "data.col.latest": "Latest data",
        "data.col.last_import": "Last import",
        "data.snapshot_from": "{time} (from the {source})",
        "data.source.file column": "file's own column",
        "data.source.file name": "file name",
        "data.source.import time": "import time",
        "data.source.--as-of": "time given at import",
        "data.account_label": "Account (optional)",
        "data.account_placeholder": "handle or id, e.g. yiwumarketdaily",
        "data.account_hint": ("Only for files that name no account: X's Overview export "
                              "(account_overview_analytics.csv), LinkedIn workbooks, Meta chart downloads "
                              "(Reach.csv, Follows.csv) and YouTube Studio files outside a Studio ZIP (Table data, "
                              "Chart data, Totals). Type the handle or id of the account they belong to; it applies "
                              "to every file of the next drop, and rows that name their account keep it. Left "
                              "empty, such files are stored under the account 'unknown'."),
        "data.account_used": "Account for files that name none: {account}",
        "data.unknown_account": ("{name} names no account, so its rows were stored under the account 'unknown' "
                                 "({platform}). Dropping the same file again changes nothing: identical files "
                                 "are recognised. To give these rows their influencer, link the {platform} "
                                 "account 'unknown' to them in the roster (a row with that platform and the "
                                 "handle unknown); before dropping the next file like this, type its account "
                                 "in the Account field."),
    },
    "zh": {
        "data.upload_title": "导入导出文件",
        "data.upload_limit": "CSV、TSV、XLSX 或 ZIP 导出文件，可一次上传多个，每个文件不超过 {limit}",
        "data.editors_only": "只有编辑者可以导入文件或修改名单；以下内容均可查看。",
        "data.status.imported": "已导入",
        "data.status.same": "此前已导入",
        "data.status.failed": "未导入",
        "data.labelled": "{label}：",
        "data.refused": "您没有执行此操作的权限：只有编辑者可以导入文件或修改名单。",
        "data.roster_result": "{done}。{detail}。",
        "data.rejected_first": "前几条被拒绝的行（共 {total} 条，显示 {shown} 条）：",
        "data.rejected_more": "下方的导入记录列出全部被拒绝的行。",
        "data.ignored": "不是指标报表，已略过：{table}",
        "data.bad_upload": "{name} 在浏览器上传时损坏，未导入",
        "data.rollups_failed": "文件已导入，但每日汇总未能更新（{detail}）：在下次导入之前，图表可能不包含这些数据。",
        "data.summary": "共 {files} 个文件：{imported} 个已导入，{same} 个此前已导入，{failed} 个未导入",
        "data.roster_title": "达人名单",
        "data.roster_help": "CSV 文件，需包含 name、platform 以及 handle 或 account_id 列（可选：category、followers）。全部导入或全部不导入。",
        "data.roster_drop": "将名单 CSV 拖放到此处，或点击选择文件",
        "data.roster_detail": "新增 {new} 位达人；{created} 个账号尚未出现在任何导出文件中",
        "data.roster_failed": "名单未导入：{detail}",
        "data.history_title": "导入记录",
        "data.history_none": "尚未导入任何文件。",
        "data.problems_title": "某次导入被拒绝的行",
        "data.problems_pick": "导入",
        "data.pick_label": "#{id} {file}：{n} 行被拒绝",
        "data.problems_none": "此次导入没有被拒绝的行。",
        "data.problems_more": "显示 {total} 条被拒绝的行中的 {shown} 条。",
        "data.failures_title": "未能导入的文件",
        "data.freshness_platforms": "各平台数据时效",
        "data.freshness_accounts": "各账号数据时效",
        "data.col.via": "来源",
        "data.col.last_error": "最近错误",
        "data.stale_rule": "已过时：最新数据距今超过 {hours} 小时。",
        "data.col.file": "文件",
        "data.col.reports": "报表",
        "data.col.when": "导入时间",
        "data.col.rows_read": "读取行数",
        "data.col.rows_stored": "已存储",
        "data.col.rows_rejected": "被拒绝",
        "data.col.rows_skipped": "已略过",
        "data.col.snapshot": "快照时间",
        "data.col.source": "位置",
        "data.col.line": "行",
        "data.col.column": "列",
        "data.col.value": "值",
        "data.col.expected": "应为",
        "data.col.error": "错误",
        "data.col.failed_at": "尝试时间",
        "data.col.latest": "最新数据",
        "data.col.last_import": "最近导入",
        "data.snapshot_from": "{time}（取自{source}）",
        "data.source.file column": "文件中的时间列",
        "data.source.file name": "文件名",
        "data.source.import time": "导入时间",
        "data.source.--as-of": "导入时指定的时间",
        "data.account_label": "账号（可选）",
        "data.account_placeholder": "账号名或 ID，例如 yiwumarketdaily",
        "data.account_hint": ("仅用于未注明账号的文件：X 的概览导出（account_overview_analytics.csv）、LinkedIn 工作簿、"
                              "Meta 图表下载（Reach.csv、Follows.csv）以及不在 Studio ZIP 中的 YouTube 工作室文件"
                              "（表格数据、图表数据、总计）。请填写这些文件所属账号的账号名或 ID；它适用于下一次拖放的所有文件，"
                              "已注明账号的行保留其账号。留空时，这类文件的数据存入账号“unknown”。"),
        "data.account_used": "未注明账号的文件使用的账号：{account}",
        "data.unknown_account": ("{name} 未注明账号，其数据已存入账号“unknown”（{platform}）。再次上传同一文件不会有任何变化："
                                 "相同的文件会被识别。如需将这些数据归属到达人，请在达人名单中将 {platform} 的账号“unknown”"
                                 "关联到该达人（平台为该平台、账号名为 unknown 的一行）；下次拖放此类文件之前，请先在“账号”栏填写其账号。"),
    },
})


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


def import_uploads(engine: sa.Engine, archive: Archive | None, names, contents, *, tz: str = "Asia/Shanghai",
                   limit: int = MAX_UPLOAD_BYTES, lang: str = "en", account: str | None = None) -> list[FileResult]:
    """Each uploaded file through the import pipeline, one FileResult per file, in upload order;
    ``account`` (the Account field, through ``clean_account``) names the account of rows that
    name none, as `reach import --account` does.

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
        except Exception as e:  # noqa: BLE001 - a bug on one file must not lose the other files' results
            log.exception("importing the upload %s failed", name)
            detail = f"{type(e).__name__}: {e}"
            results.append(FileResult(name, "failed", message=t("error.generic", lang, detail=detail)))
    return results


def refresh_rollups(engine: sa.Engine, campaign, results: list[FileResult]) -> str | None:
    """As `reach import` does: the touched accounts' daily rollups recomputed. The import itself
    has already succeeded, so a failure here is returned as words, not raised."""
    ids = [r.import_id for r in results if r.status == "imported"]
    if not ids:
        return None
    try:
        rollups.refresh(engine, campaign, rollups.accounts_of_imports(engine, ids))
    except (ReachError, sa.exc.SQLAlchemyError) as e:
        log.warning("rollups not refreshed after an upload: %s", e)
        return str(e)
    return None


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
        return False, t("data.roster_failed", lang, detail=str(e))
    return True, t("data.roster_result", lang,
                   done=t("upload.roster_done", lang, influencers=people, accounts=counts["accounts_linked"]),
                   detail=t("data.roster_detail", lang, new=counts["influencers"], created=counts["accounts_created"]))


# --- what is stored (pure queries) --------------------------------------------------------------

def history(engine: sa.Engine, limit: int = HISTORY_LIMIT) -> pd.DataFrame:
    i = store.imports
    cols = [i.c.id, i.c.file_name, i.c.platform, i.c.reports, i.c.imported_at, i.c.rows_read, i.c.rows_stored,
            i.c.rows_rejected, i.c.rows_skipped, i.c.captured_at, i.c.captured_at_source]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*cols).order_by(i.c.id.desc()).limit(limit)).all()
    return pd.DataFrame(rows, columns=[c.name for c in cols])


def problems(engine: sa.Engine, import_id: int, limit: int = PROBLEMS_LIMIT) -> tuple[pd.DataFrame, int]:
    """The first ``limit`` rejected rows of one import, in file order, and how many there are."""
    p = store.import_problems
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).where(p.c.import_id == import_id)).scalar()
        rows = conn.execute(sa.select(p.c.source, p.c.line, p.c.column_name, p.c.value, p.c.expected)
                            .where(p.c.import_id == import_id).order_by(p.c.source, p.c.line).limit(limit)).all()
    return pd.DataFrame(rows, columns=["source", "line", "column", "value", "expected"]), int(total or 0)


def failures(engine: sa.Engine, limit: int = FAILURES_LIMIT) -> pd.DataFrame:
    f = store.import_failures
    with engine.connect() as conn:
        rows = conn.execute(sa.select(f.c.file_name, f.c.failed_at, f.c.error)
                            .order_by(f.c.id.desc()).limit(limit)).all()
    return pd.DataFrame(rows, columns=["file_name", "failed_at", "error"])


# --- rendering --------------------------------------------------------------------------------

STATUS_KEYS = {"imported": "data.status.imported", "already imported": "data.status.same",
               "failed": "data.status.failed"}


def _table(headers, rows, id=None, className="table"):
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in headers])),
                       html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])],
                      className=className, **({"id": id} if id else {}))


def _problem_rows(items):
    """(source, line, column, value, expected) rows as table cells."""
    return [[src, "—" if line is None or line != line else str(int(line)), col, repr(str(value or "")),
             expected] for src, line, col, value, expected in items]


def _problem_headers(lang):
    return [t(f"data.col.{c}", lang) for c in ("source", "line", "column", "value", "expected")]


def result_view(r: FileResult, lang: str):
    """One uploaded file's result: a status word in the UI language and the pipeline's line (in
    English, as `reach import` prints it), then the first rejected rows.

    The line's advice for a file that names no account is about a command-line option; here it is
    replaced by what a web user can do (the Account field, the roster), in the UI language."""
    line = dataclasses.replace(r, unknown_account=False).line()
    text = line.split(None, 1)[1] if " " in line else line  # the CLI's status column: shown as a word instead
    status = "failed" if r.status == "failed" else ("same" if r.status == "already imported" else "ok")
    label = t(STATUS_KEYS.get(r.status, "data.status.failed"), lang)
    parts = [html.Div([html.Strong(t("data.labelled", lang, label=label)),
                       html.Span(text, className="result-line")])]
    if r.unknown_account and r.status == "imported":
        parts.append(html.Div(t("data.unknown_account", lang, name=r.name, platform=_platforms(r.platform, lang)),
                              className="upload-unknown-account", style=WARNING_STYLE))
    if r.problems:
        shown = r.problems[:PROBLEMS_SHOWN]
        parts.append(html.Div(t("data.rejected_first", lang, shown=len(shown), total=len(r.problems)),
                              className="muted"))
        parts.append(_table(_problem_headers(lang), _problem_rows(
            [(p.source, p.line, p.column, p.value, p.expected) for p in shown]), className="table compact"))
        if len(r.problems) > len(shown):
            parts.append(html.Div(t("data.rejected_more", lang), className="muted"))
    for table in r.ignored_tables:
        parts.append(html.Div(t("data.ignored", lang, table=table), className="muted"))
    return html.Li(parts, className=f"upload-result {status}",
                   style={"color": "#b00020"} if status == "failed" else {"margin": "6px 0"})


def results_view(results: list[FileResult], lang: str, rollup_error: str | None = None,
                 account: str | None = None):
    items = [result_view(r, lang) for r in results]
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


def _snapshot(at, source, lang, tz):
    if at is None or pd.isna(at):
        return "—"
    key = f"data.source.{source}"
    words = t(key, lang) if key in i18n.STRINGS["en"] else str(source or "—")
    return t("data.snapshot_from", lang, time=fmt_datetime(at, lang, tz), source=words)


def _platforms(value, lang):
    return " + ".join(platform_name(p, lang) for p in str(value or "").split("+") if p) or "—"


def problems_view(engine, import_id, lang):
    if import_id is None:
        return html.Div(t("empty.none", lang), className="muted")
    df, total = problems(engine, int(import_id))
    if not total:
        return html.Div(t("data.problems_none", lang), className="muted", id="data-problems-none")
    out = [_table(_problem_headers(lang), _problem_rows(df.itertuples(index=False, name=None)),
                  id="data-problems-table", className="table compact")]
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
        out.append(html.Div(_table(headers, rows, id="data-history"), className="scroll"))
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
                       [[r.file_name, fmt_datetime(r.failed_at, lang, tz), r.error] for r in fails.itertuples()],
                       id="data-failures")]
    out += freshness_view(engine, campaign, lang, now)
    return out


def freshness_view(engine, campaign, lang, now=None) -> list:
    tz = campaign.tz
    stale = " (" + t("label.stale", lang) + ")"
    plat = data.freshness(engine, now)
    acc = data.account_freshness(engine, now)
    out = [html.H2(t("data.freshness_platforms", lang)),
           html.Div(t("data.stale_rule", lang, hours=data.STALE_HOURS), className="muted")]
    if plat.empty:
        out.append(html.Div(t("freshness.never", lang), className="muted", id="data-freshness-empty"))
        return out
    out.append(_table(
        [t("col.platform", lang), t("data.col.latest", lang), t("data.col.last_import", lang)],
        [[platform_name(r.platform, lang), fresh_text(r.as_of, lang, tz, now=now) + (stale if r.stale else ""),
          fmt_datetime(r.last_import, lang, tz)] for r in plat.itertuples()], id="data-freshness-platforms"))
    src = data.source_freshness(engine)
    if len(src):
        from .. import freshness

        out.append(_table(
            [t("col.platform", lang), t("data.col.via", lang), t("data.col.last_import", lang),
             t("data.col.last_error", lang)],
            [[platform_name(r.platform, lang) if r.platform else t("fresh.unknown_platform", lang),
              t(f"fresh.source.{r.source}", lang), fmt_datetime(r.last_success, lang, tz),
              (fmt_datetime(r.last_error_at, lang, tz) + ": " + freshness.short_error(r.last_error)
               if isinstance(r.last_error, str) else "—")]
             for r in src.itertuples()], id="data-freshness-sources"))
    out += [html.H2(t("data.freshness_accounts", lang)), _table(
        [t("col.platform", lang), t("col.account", lang), t("col.influencer", lang), t("data.col.latest", lang),
         t("data.col.last_import", lang)],
        [[platform_name(r.platform, lang), r.account, r.influencer or "—",
          fresh_text(r.as_of, lang, tz, now=now) + (stale if r.stale else ""), fmt_datetime(r.last_import, lang, tz)]
         for r in acc.itertuples()], id="data-freshness-accounts")]
    return out


# Inline, so the page needs nothing from the shared stylesheet (assets/reach.css belongs to the layout).
UPLOAD_STYLE = {"border": "2px dashed #888", "borderRadius": "8px", "padding": "22px", "textAlign": "center",
                "background": "#fff", "cursor": "pointer", "margin": "8px 0"}
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
    return html.Div([L.header(f, PATH), *note, uploads,
                     html.Div(tables(eng, campaign, lang, chosen), id="data-tables"),
                     dcc.Store(id="data-stamp", data=0)], className="page data-page")


# --- callbacks (thin: role check, decode, render) ----------------------------------------------

def _refused(lang):
    return html.Div(t("data.refused", lang), style=WARNING_STYLE, id="data-refused")


def _editor() -> bool:
    try:
        auth.require_editor()
    except Forbidden:
        return False
    return True


@callback(Output("data-upload-result", "children"), Output("data-upload", "contents"),
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
    results = import_uploads(eng, Archive(store.archive_dir(eng)), names, contents, tz=campaign.timezone,
                             lang=lang, account=account)
    problem = refresh_rollups(eng, campaign, results)
    return results_view(results, lang, problem, account), None, (stamp or 0) + 1


@callback(Output("data-roster-result", "children"), Output("data-roster", "contents"),
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
    ok, text = import_roster_upload(eng, Archive(store.archive_dir(eng)), name, contents, lang=lang)
    return html.Div(text, className="upload-result " + ("ok" if ok else "failed"), id="data-roster-message"), \
        None, (stamp or 0) + 1


@callback(Output("data-tables", "children"), Input("data-stamp", "data"), State("url", "search"),
          prevent_initial_call=True)
def redraw_tables(_, search):
    """After an import the history opens on the newest import with rejected rows: most often the
    file just dropped. (The picker may not exist yet, so its value is not read.)"""
    return tables(data.engine(), data.campaign(), F.parse(search).lang)


@callback(Output("data-problems", "children"), Input("data-import-pick", "value"), State("url", "search"),
          prevent_initial_call=True)
def pick_import(import_id, search):
    return problems_view(data.engine(), import_id, F.parse(search).lang)
