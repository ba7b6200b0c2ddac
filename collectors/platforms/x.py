"""X (Twitter): the legacy analytics.twitter.com exports and the Premium account analytics exports.

Legacy "Tweet activity" files are one row per tweet with lifetime totals at export time, counts
written as floats ("3423.0"), "-" in promoted columns; the "by day" file is one row per account
and day. Premium "Content" exports are one row per post (lifetime), "Overview" one row per day.
Some exports contain junk rows whose permalink ends in /status/undefined: they are skipped.
Column names in every UI language: collectors/catalogs/x.toml. The localized exports whose values
are known (Japanese) keep X's English dates ("Mon, Oct 5, 2026"), so ``X_DATE_FORMATS`` serves them.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pandas._libs import lib

from .. import catalog
from ..messages import Message
from ..model import ACCOUNT_DAY, POST_LIFETIME
from ..registry import Report, register

_HANDLE = re.compile(r"(?:twitter|x)\.com/([A-Za-z0-9_]{1,30})/status/", re.I)
_ID_IN_URL = re.compile(r"/status/(\d+)")

# Every date form seen in X files. The Premium exports write "Sun, Nov 9, 2025", and so do the
# Japanese ones (the only localized files whose values are known); ISO and the legacy
# "2020-03-31 21:50 +0000" are the others.
X_DATE_FORMATS = ["%a, %b %d, %Y", "%Y-%m-%d", "%Y-%m-%d %H:%M %z", "%Y/%m/%d", "%m/%d/%Y", "ISO8601"]


def _url_parts(urls: pd.Series) -> tuple:
    """For each URL: is it a junk row ("/status/undefined"), the id in it (``_ID_IN_URL``) and
    the account handle in it (``_HANDLE``); NaN where the pattern does not match.

    One pass over the URLs instead of two regex passes and a substring test: a URL whose first
    "/status/" is followed by digits to its end (every real permalink) has that tail as its id,
    is no junk row, and has the handle ``_HANDLE`` finds in the part before "/status/", which a
    million-post export repeats once per account, so it is searched once per distinct part.
    Any other URL goes through the regexes themselves."""
    n = len(urls)
    values = urls.to_numpy(dtype=object)
    if not n or not lib.is_string_array(values, skipna=False):
        return (urls.str.contains("/status/undefined", regex=False),
                urls.str.extract(_ID_IN_URL, expand=False), urls.str.extract(_HANDLE, expand=False))
    heads, tails = [], []
    add_head, add_tail = heads.append, tails.append
    for u in values.tolist():
        head, _, tail = u.partition("/status/")
        add_head(head)
        add_tail(tail)
    if min(map(len, tails)) > 0 and "".join(tails).isdecimal():
        other = np.zeros(n, dtype=bool)  # every tail is digits (\d: any Unicode decimal digit)
    else:
        other = np.fromiter((not t.isdecimal() for t in tails), dtype=bool, count=n)
    ids = np.array(tails, dtype=object)
    del tails
    codes, distinct = pd.factorize(np.array(heads, dtype=object), use_na_sentinel=False)
    del heads
    found = [_HANDLE.search(h + "/status/") for h in distinct.tolist()]
    handles = np.array([m.group(1) if m else np.nan for m in found], dtype=object)[codes]
    junk = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(other).tolist():
        u = values[i]
        junk[i] = "/status/undefined" in u
        m = _ID_IN_URL.search(u)
        ids[i] = m.group(1) if m else np.nan
        m = _HANDLE.search(u)
        handles[i] = m.group(1) if m else np.nan
    return (junk, pd.Series(ids, index=urls.index, name=urls.name, dtype=object),
            pd.Series(handles, index=urls.index, name=urls.name, dtype=object))


def _posts(c):
    """Junk rows left out; post ids and account handles, from the ids and the permalinks."""
    junk, from_url, handles = _url_parts(c.text("url"))
    c.skip(junk, Message("skip.x_junk"))
    _post_ids(c, from_url)
    c.set("account_handle", handles.where(handles.notna(), None))


def _post_ids(c, from_url: pd.Series):
    ids = c.text("post_id")
    # Excel turns 19-digit ids into 1.23457E+18, or into 1245106294198900000 when the column is
    # formatted as a number (15 significant digits): the permalink keeps the real id, so it wins.
    broken = from_url.notna() & (ids != from_url)
    ids = ids.where(~broken, from_url)
    c.reject(~_numeric_ids(ids), "post_id", Message("expected.numeric_post_id"), ids)
    c.set("post_id", ids)


def _numeric_ids(ids: pd.Series):
    r"""``ids.str.fullmatch(r"\d{1,20}")``. \d is any Unicode decimal digit, which is what
    ``str.isdecimal`` tests: when every id is a str of 1 to 20 characters and their
    concatenation is decimal, every one matches, found in one pass instead of a million regex
    calls; otherwise the regex itself decides."""
    values = ids.to_numpy(dtype=object)
    if len(values) and lib.is_string_array(values, skipna=False):
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        if lengths.min() >= 1 and lengths.max() <= 20 and "".join(values.tolist()).isdecimal():
            return np.ones(len(values), dtype=bool)
    return ids.str.fullmatch(r"\d{1,20}")


def parse_legacy_posts(c):
    _posts(c)
    c.set("url", c.text("url"))
    c.set("title", c.text("title"))
    c.set("published_at", c.timestamp("published_at", ["%Y-%m-%d %H:%M %z", "ISO8601"]))
    c.set_metrics({m: {} for m in ("impressions", "likes", "comments", "shares", "clicks",
                                   "followers_gained")})


def parse_content(c):
    _posts(c)
    c.set("url", c.text("url"))
    c.set("title", c.text("title"))
    c.set("published_at", c.timestamp("published_at", X_DATE_FORMATS))
    c.set_metrics({m: {} for m in ("impressions", "likes", "saves", "followers_gained",
                                   "comments", "shares", "clicks")})


def _post_headers() -> tuple[str, ...]:
    """The post id, text and link headers of the content and legacy exports, in every catalog
    language: a per-post table carries them and a per-day one never does."""
    out = ["Tweets published"]
    for key in ("x:content", "x:tweet_activity"):
        cols = catalog.entry(key).columns()
        for f in ("post_id", "title", "url"):
            out += [n for n in cols.get(f, []) if n not in out]
    return tuple(out)


def parse_daily(c):
    c.set("day", c.date("day", X_DATE_FORMATS))
    c.set_metrics({m: {} for m in ("impressions", "likes", "comments", "shares", "clicks", "saves",
                                   "video_views", "followers_gained")})


register(
    Report(
        platform="x",
        name="x.tweet_activity",
        title="X legacy analytics, Tweet activity by tweet",
        grain=POST_LIFETIME,
        columns={}, catalog="x:tweet_activity",
        required=("post_id", "url", "published_at", "impressions"),
        parse=parse_legacy_posts,
    ),
    Report(
        platform="x",
        name="x.tweet_activity_daily",
        title="X legacy analytics, Tweet activity by day",
        grain=ACCOUNT_DAY,
        columns={}, catalog="x:tweet_activity_daily",
        required=("day", "_tweets_published", "impressions"),
        parse=parse_daily,
    ),
    Report(
        platform="x",
        name="x.content",
        title="X account analytics, Content export",
        grain=POST_LIFETIME,
        columns={}, catalog="x:content",
        required=("post_id", "published_at", "impressions", "url"),
        parse=parse_content,
    ),
    Report(
        platform="x",
        name="x.overview",
        title="X account analytics, Overview export",
        grain=ACCOUNT_DAY,
        columns={}, catalog="x:overview",
        required=("day", "impressions", "_profile_visits", "followers_gained"),
        # A content export whose "Post id" header got damaged still has its text and link
        # columns: it must not pass for an overview file.
        excludes=_post_headers(),
        parse=parse_daily,
    ),
)
