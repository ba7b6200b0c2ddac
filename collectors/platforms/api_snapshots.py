"""Reach's own snapshot files: what ``reach collect`` fetched from a platform's API, as a small CSV.

Each page of an API answer becomes one of these files and is imported like an export: archived,
recorded in the import history, replayed by ``reach rebuild``, and refused as "already imported"
when the same bytes come again. The format is Reach's, not a platform's (docs/collectors.md):

    reach_api_snapshot,youtube_video_id,account_id,account_handle,account_name,published_at,url,
    title,post_type,captured_at,views,impressions,reach,likes,comments,shares,saves,clicks,
    video_views,watch_time_s

The first column holds the format version (1) on every row; the second names the platform by its
id column (``youtube_video_id``, ``instagram_media_id``, ``facebook_post_id``, ``x_post_id``,
``tiktok_video_id``, ``bilibili_bvid``), which no platform export has, so detection never confuses
the two. Times are ISO 8601 UTC with a ``Z``; ``captured_at`` is the API's answer time; a metric
the API did not give is an empty cell (NULL), never 0. One row per post: lifetime totals.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

from ..messages import Message
from ..model import POST_LIFETIME
from ..registry import Report, register

FORMAT_VERSION = "1"
MARKER = "reach_api_snapshot"
ID_COLUMNS = {
    "youtube": "youtube_video_id",
    "instagram": "instagram_media_id",
    "facebook": "facebook_post_id",
    "x": "x_post_id",
    "tiktok": "tiktok_video_id",
    "bilibili": "bilibili_bvid",
}
FIELDS = ("account_id", "account_handle", "account_name", "published_at", "url", "title", "post_type",
          "captured_at")
METRIC_COLUMNS = ("views", "impressions", "reach", "likes", "comments", "shares", "saves", "clicks",
                  "video_views", "watch_time_s")


def header(platform: str) -> list[str]:
    return [MARKER, ID_COLUMNS[platform], *FIELDS, *METRIC_COLUMNS]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("snapshot times must carry a zone")
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    # A blank line inside a quoted cell would still end a table for a reader that splits
    # sections on blank lines; captions keep their line breaks, not their empty lines.
    return re.sub(r"\r\n?", "\n", re.sub(r"\n[ \t]*(?:\r?\n[ \t]*)+", "\n", text))


def write(platform: str, rows: list[dict]) -> bytes:
    """The snapshot file for ``rows`` (dicts keyed by ``post_id`` and the columns above)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header(platform))
    for r in rows:
        w.writerow([FORMAT_VERSION, _cell(r["post_id"]), *(_cell(r.get(f)) for f in FIELDS),
                    *(_cell(r.get(m)) for m in METRIC_COLUMNS)])
    return out.getvalue().encode("utf-8")


# --- reading ------------------------------------------------------------------------------------

def _parse(c) -> None:
    # Only the marker, id and capture-time columns are aliases of the report (what detection
    # compares); the rest are found by name here, so that the common words "views", "likes" or
    # "title" never make these reports the "closest known report" of some unknown export.
    keys = c.table.keys
    for f in (*FIELDS, *METRIC_COLUMNS):
        if f in keys and not c.has(f):
            c.bind(f, keys.index(f))
    marker = c.text("_marker")
    c.reject(marker != FORMAT_VERSION, "_marker", Message("expected.snapshot_format", version=FORMAT_VERSION))
    ids = c.text("post_id")
    c.reject(ids == "", "post_id", Message("expected.post_id"))
    c.set("post_id", ids)
    for f in ("account_id", "account_handle", "account_name", "url", "title", "post_type"):
        t = c.text(f)
        c.set(f, t.where(t != "", None))
    c.set("published_at", c.timestamp("published_at", ["ISO8601"]))
    c.set("captured_at", c.timestamp("captured_at", ["ISO8601"], required=True))
    c.set_metrics({m: ({"integer": False, "minimum": 0} if m == "watch_time_s" else {"minimum": 0})
                   for m in METRIC_COLUMNS})


def _report(platform: str, label: str) -> Report:
    columns = {"_marker": [MARKER], "post_id": [ID_COLUMNS[platform]], "captured_at": ["captured_at"]}
    return Report(
        platform=platform,
        name=f"{platform}.api_snapshot",
        title=f"{label} snapshot (reach collect)",
        grain=POST_LIFETIME,
        columns=columns,
        required=("_marker", "post_id", "captured_at"),
        parse=_parse,
        notes="Written by `reach collect` from the platform's API: lifetime totals per post at the answer "
              "time (docs/collectors.md).",
    )


register(
    _report("youtube", "YouTube Data API"),
    _report("instagram", "Instagram Graph API"),
    _report("facebook", "Facebook Graph API"),
    _report("x", "X API v2"),
    _report("tiktok", "TikTok Display API"),
    _report("bilibili", "Bilibili public view API"),
)
