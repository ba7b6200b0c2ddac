"""LinkedIn: the Page analytics workbooks (Content and Followers) that a Page admin exports.

The Content workbook has a ``Metrics`` sheet (one row per day for the whole Page, organic and
sponsored counts side by side) and an ``All posts`` sheet (one row per post, totals since
publishing as of the export). The Followers workbook's ``New followers`` sheet is one row per day
of followers gained. Each sheet has a note on row 1 and its header on row 2, which the reader
already takes as a title line; CSV copies of the same tables read the same way. LinkedIn files
name no Page id, so no account is set here: the import assigns one. Headers (and sheet names)
come in the Page admin's UI language; a sheet is recognised by its header row, never by its name.
Column names in every language, with their sources: collectors/catalogs/linkedin.toml.
"""
from __future__ import annotations

import re
from urllib.parse import unquote

from ..messages import Message
from ..model import ACCOUNT_DAY, POST_LIFETIME
from ..registry import Report, register

# LinkedIn writes US-style dates as text; a cell Excel kept as a real date reaches us as ISO.
DATE_FORMATS = ["%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y"]
CREATED_FORMATS = ["%m/%d/%Y", "%Y-%m-%d", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%m/%d/%y"]

# activity, share and ugcPost ids are separate number spaces, so the kind stays in the id.
_URN = re.compile(r"urn:li:(activity|share|ugcPost):(\d+)", re.I)
_URN_KINDS = {"activity": "activity", "share": "share", "ugcpost": "ugcPost"}


def parse_metrics(c):
    c.set("day", c.date("day", DATE_FORMATS))
    # Daily counts can be negative (LinkedIn takes back reactions it later finds invalid): kept.
    c.set_metrics({m: {} for m in ("impressions", "reach", "clicks", "likes", "comments", "shares")})


def _post_ids(c):
    links = c.text("url")
    found = links.map(unquote).str.extract(_URN)
    kinds = found[0].str.lower().map(_URN_KINDS)
    ids = ("urn:li:" + kinds + ":" + found[1]).astype(object)
    missing = ids.isna().to_numpy()
    c.reject(missing, "url", Message("expected.linkedin_url"))
    c.set("post_id", ids.where(~missing, None))


def parse_posts(c):
    links = c.text("url")
    c.skip((links == "").to_numpy() & (c.text("title") == "").to_numpy(), Message("skip.empty_rows"))
    _post_ids(c)
    c.set("url", links)
    c.set("title", c.text("title"))
    c.set("post_type", c.text("post_type").replace("", None))
    c.set("published_at", c.timestamp("published_at", CREATED_FORMATS))
    c.set_metrics({m: {} for m in ("impressions", "video_views", "clicks", "likes", "comments",
                                   "shares", "followers_gained")})


def parse_new_followers(c):
    c.set("day", c.date("day", DATE_FORMATS))
    # Unfollows make a day's net negative; the file states it so and so do we.
    c.set_metrics({"followers_gained": {}})


register(
    Report(
        platform="linkedin",
        name="linkedin.content_metrics",
        title="LinkedIn Page content export, Metrics sheet (per day)",
        grain=ACCOUNT_DAY,
        columns={}, catalog="linkedin:content_metrics",
        required=("day", "impressions", "clicks", "likes"),
        parse=parse_metrics,
        notes="Totals are organic plus sponsored; reach is unique impressions, organic only.",
    ),
    Report(
        platform="linkedin",
        name="linkedin.content_posts",
        title="LinkedIn Page content export, All posts sheet (per post)",
        grain=POST_LIFETIME,
        columns={}, catalog="linkedin:content_posts",
        required=("title", "url", "published_at", "impressions"),
        parse=parse_posts,
        notes="Lifetime totals per post as of the export; post_id is the post's URN.",
    ),
    Report(
        platform="linkedin",
        name="linkedin.new_followers",
        title="LinkedIn Page followers export, New followers sheet (per day)",
        grain=ACCOUNT_DAY,
        columns={}, catalog="linkedin:new_followers",
        required=("day", "_organic_followers", "followers_gained"),
        parse=parse_new_followers,
        notes="Total followers is the number gained that day (sponsored + organic + auto-invited).",
    ),
)
