"""Every real export in ../shared/samples/real imports through the whole pipeline, and what the
database holds equals what the csv module finds in the raw file (an independent recomputation).

Skipped when ../shared/samples/real is absent.
"""
from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa

from collectors.pipeline import Importer
from collectors.store import database, schema
from conftest import SAMPLES

# file -> (grain, id column or None, {canonical metric: native column or (column, scale)}, row filter)
SPECS = {
    "twitter/ropensci_20200301_20200401.csv": ("post_lifetime", "Tweet id", {
        "impressions": "impressions", "likes": "likes", "comments": "replies", "shares": "retweets",
        "clicks": "url clicks"}, None),
    "twitter/newsnoteworthy_x_content_2025-11-02_2025-11-09.csv": ("post_lifetime", "Post id", {
        "impressions": "Impressions", "likes": "Likes", "saves": "Bookmarks", "comments": "Replies",
        "shares": "Reposts", "clicks": "URL Clicks"}, lambda r: "/status/undefined" not in r["Post Link"]),
    "facebook/oktobuzz_westside_posts_lifetime.csv": ("post_lifetime", "Post ID", {
        "views": "Views", "reach": "Reach", "likes": "Reactions", "comments": "Comments", "shares": "Shares",
        "clicks": "Link clicks"}, None),
    "facebook/oktobuzz_westside_posts_daily.csv": ("post_daily", "Post ID", {
        "likes": "Reactions", "comments": "Comments", "shares": "Shares"}, None),
    "instagram/oktobuzz_posts_reels.csv": ("post_lifetime", "Post ID", {
        "views": "Views", "reach": "Reach", "likes": "Likes", "shares": "Shares", "comments": "Comments",
        "saves": "Saves"}, None),
    "instagram/oktobuzz_stories.csv": ("post_lifetime", "Post ID", {
        "views": "Views", "reach": "Reach", "likes": "Likes", "shares": "Shares", "clicks": "Link clicks"}, None),
    "facebook/nataliaartilha_page_reach_daily_utf16.csv": ("account_day", None, {"reach": "Facebook Page reach"}, None),
    "tiktok/jimrobinsonnews_video_posts.csv": ("post_lifetime", None, {
        "views": "Total views", "likes": "Total likes", "comments": "Total comments",
        "shares": "Total shares\u00a0"}, None),
    "youtube/oisinqueva_table_data.csv": ("post_lifetime", "Content", {
        "views": "Views", "impressions": "Impressions", "watch_time_s": ("Watch time (hours)", 3600),
        "likes": "Likes"}, lambda r: r["Content"] != "Total"),
    "youtube/krishp1010_table_data.csv": ("post_lifetime", "Content", {
        "views": "Views", "impressions": "Impressions", "watch_time_s": ("Watch time (hours)", 3600)},
        lambda r: r["Content"] != "Total" and not r["Content"].startswith("Showing top")),
    "youtube/raphaeloe_de_tabellendaten.csv": ("post_lifetime", "Vi\u00addeo", {
        "views": "Auf\u00adru\u00adfe", "impressions": "Im\u00adpres\u00adsio\u00adnen"},
        lambda r: re.fullmatch(r"[\w-]{11}", r["Vi\u00addeo"].strip()) is not None),
    "youtube/priyankapatel05_chart_data.csv": ("post_daily", "Content", {"views": "Views"}, None),
}


def raw_rows(path):
    """(physical line, row as a dict) for every data row, with the csv module alone."""
    data = path.read_bytes()
    offset = 0
    if data.startswith(b"\xff\xfe"):
        lines = data.decode("utf-16").splitlines()
        text, offset = "\n".join(lines[2:]), 2  # the sep=, line and the title line
    else:
        text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    out, start = [], None
    for row in reader:
        out.append((start + offset if start else 2 + offset, row))
        start = reader.line_num + 1
    if offset:
        # A Meta chart download stacks sections (a blank line, a title, a header): the data rows
        # are the ones whose first cell is a date.
        first = reader.fieldnames[0]
        out = [(line, r) for line, r in out if (r.get(first) or "")[:1].isdigit()]
    return out


def num(v):
    v = v.strip()
    return None if v in ("", "-") else float(v)


def test_every_real_sample_file_is_covered_by_this_test(samples_dir):
    files = {str(p.relative_to(samples_dir)) for p in samples_dir.rglob("*") if p.is_file() and p.name != "SOURCES.tsv"}
    assert files == set(SPECS), "a new real sample needs a line in SPECS"


@pytest.mark.parametrize("rel", sorted(SPECS))
def test_a_real_export_is_stored_with_the_counts_and_sums_of_the_raw_file(rel, samples_dir, sqlite_url):
    grain, id_col, metrics, keep = SPECS[rel]
    path = samples_dir / rel
    numbered = [(line, r) for line, r in raw_rows(path) if keep is None or keep(r)]
    engine = database.connect(sqlite_url)
    r = Importer(engine, None).import_bytes(path.name, path.read_bytes())
    assert r.status == "imported", r.message
    table = {"post_lifetime": schema.post_snapshots, "post_daily": schema.post_days, "account_day": schema.account_days}[grain]
    # rows the importer rejected (documented per platform) are left out of the expectation
    bad_lines = {p.line for p in r.problems}
    rows = [row for line, row in numbered if line not in bad_lines]
    with engine.connect() as c:
        stored = c.execute(sa.select(sa.func.count()).select_from(table)).scalar()
        sums = {m: c.execute(sa.select(sa.func.sum(table.c[m]))).scalar() for m in metrics}
        nulls = {m: c.execute(sa.select(sa.func.count()).select_from(table).where(table.c[m].is_(None))).scalar()
                 for m in metrics}
        posts = c.execute(sa.select(schema.posts.c.post_id)).scalars().all()
    engine.dispose()
    assert stored == len(rows)
    if id_col:
        assert sorted(posts) == sorted({x[id_col].strip() for x in rows})
    for m, col in metrics.items():
        col, scale = col if isinstance(col, tuple) else (col, 1)
        values = [num(x[col]) for x in rows]
        expect = sum(v for v in values if v is not None) * scale
        assert sums[m] == pytest.approx(expect, rel=1e-9, abs=1e-6), (m, sums[m], expect)
        assert nulls[m] == sum(v is None for v in values), f"{m}: empty cells must stay NULL, not 0"
