"""Every SQL statement the exports, the pages and the weekly summary run has a linear plan.

A campaign of 20,000 posts is written straight into the tables (SQL, not imports: seconds, not
minutes), every statement that `reach export` (each kind), the pages' layouts and callbacks and
`reach summary` send is captured with SQLAlchemy's ``before_cursor_execute`` event, and each
SELECT is explained:

* SQLite (``EXPLAIN QUERY PLAN``): inside one join loop only the first (driving) table or
  subquery may be scanned; every later one must be searched through an index. A scan inside a
  correlated subquery runs once per outer row and fails too. This is the shape of the quadratic
  posts export of issue 11 (``SCAN anon_1 LEFT-JOIN``: the latest snapshots scanned per post).
* PostgreSQL (``EXPLAIN (FORMAT JSON)``, after ANALYZE): no nested loop whose inner side is a
  sequential scan of a table, and no per-row subplan that scans one.

The same 20,000 posts are large enough that the planners' choices are the ones of a real
campaign: on a few dozen rows both would happily scan everything.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event

from collectors.model import METRICS
from collectors.store import database, schema

N_POSTS = 20_000
PER_ACCOUNT = 50  # posts per account: 400 accounts, 3 platforms
SNAPSHOTS = 3  # lifetime snapshots per post (4 posts in 5); the 5th has daily rows instead
PLATFORMS = ("x", "tiktok", "youtube")
START = datetime(2025, 3, 3)  # a Monday: whole ISO weeks for the summary
# Each metric as a multiple of a post's random size: views above the engagements they bound.
SCALE = dict(views=40, impressions=60, reach=30, likes=3, comments=1, shares=1, saves=1, clicks=2, video_views=35,
             watch_time_s=90, followers_gained=1)
IMPOSSIBLE_EVERY = 97  # this post in so many has more likes than views: flagged as impossible
OLD_SCALE = {m: i + 1 for i, m in enumerate(METRICS)}


def build_campaign(url: str, n_posts: int = N_POSTS, per_account: int = PER_ACCOUNT, snapshots: int = SNAPSHOTS,
                   plausible: bool = False):
    """A synthetic campaign in the store's tables: posts over three weeks, rising lifetime
    snapshots, daily rows for every fifth post, account days, a roster with some unassigned
    accounts. Also used by the measurement in the report of issue 11 (100,000 posts)."""
    eng = database.connect(url)
    database.migrate(eng)
    rnd = random.Random(11)
    n_acc = max(1, n_posts // per_account)
    n_inf = max(1, n_acc // 2)
    with database.write_transaction(eng) as c:
        c.execute(schema.imports.insert(), [dict(
            id=k + 1, sha256=f"{k:064x}", file_name=f"file{k}.csv", size_bytes=1, imported_at=START + timedelta(days=7 * k),
            platform="x", rows_read=0, rows_stored=0, rows_rejected=0, rows_skipped=0, source="file") for k in range(snapshots + 1)])
        c.execute(schema.influencers.insert(), [dict(id=k + 1, name=f"Influencer {k}", category=("beauty", "tech")[k % 2])
                                               for k in range(n_inf)])
        c.execute(schema.accounts.insert(), [dict(
            id=k + 1, platform=PLATFORMS[k % 3], account_key=f"acct{k}", handle=f"@acct{k}",
            influencer_id=(k % n_inf) + 1 if k % 7 else None) for k in range(n_acc)])
        posts, snaps, days = [], [], []
        for k in range(n_posts):
            pk, acct = k + 1, k // per_account
            pub = START + timedelta(minutes=rnd.randrange(0, 60 * 24 * 14))
            posts.append(dict(id=pk, platform=PLATFORMS[acct % 3], post_id=f"{1870000000000000000 + k}", account_pk=acct + 1,
                              published_at=pub, url=f"https://example.com/p/{k}", title=f"post {k} #tag{k % 97}"))
            # Each metric a multiple of the post's size: by default i + 1 for the i-th metric, so
            # every post has more likes than views and is flagged as impossible (the flag tests
            # want many flags); ``plausible``: fewer engagements than views, except one post in
            # IMPOSSIBLE_EVERY (at 20,000 posts the default's 72,000 flag rows took seconds to
            # store and measured nothing about plans).
            if not plausible:
                scale = OLD_SCALE
            else:
                scale = dict(SCALE, likes=SCALE["views"] * 2) if k % IMPOSSIBLE_EVERY == 0 else SCALE
            if k % 5:
                v = 0
                for j in range(snapshots):
                    v += rnd.randrange(1, 1000)
                    snaps.append(dict(post_pk=pk, captured_at=pub + timedelta(days=j + 1), import_id=j + 1,
                                      **{m: v * scale[m] for m in METRICS}))
            else:
                for j in range(snapshots):
                    days.append(dict(post_pk=pk, day=(pub + timedelta(days=j)).date(), import_id=snapshots + 1,
                                     **{m: rnd.randrange(1, 100) * (scale[m] if plausible else 1) for m in METRICS}))
        c.execute(schema.posts.insert(), posts)
        c.execute(schema.post_snapshots.insert(), snaps)
        c.execute(schema.post_days.insert(), days)
        c.execute(schema.account_days.insert(), [dict(
            account_pk=a + 1, day=START.date() + timedelta(days=d), import_id=1, followers=1000 + d,
            **{m: d + 1 for m in METRICS}) for a in range(n_acc) for d in range(21)])
    if eng.dialect.name == "postgresql":
        # Autovacuum analyses a real database after a big import; here it would come too late.
        # SQLite gets no ANALYZE: the program never runs one, so its plans are the ones without
        # statistics.
        with eng.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return eng


CAMPAIGN_TOML = """\
[campaign]
name = "Plans"
start = 2025-03-03
end = 2025-03-23
timezone = "Asia/Shanghai"
"""


def _statements(url: str, tmp_path, monkeypatch) -> list[tuple[str, object, str]]:
    """(statement, parameters, which user path ran it) for every SELECT of the user paths. The
    listener is on the Engine class, since the command line makes engines of its own."""
    from dashboard.analysis import anomalies, config, rollups, week_store
    from dashboard.cli import main
    from dashboard.web import cache
    from dashboard.web import filters as F
    from dashboard.web.app import create_app
    from dashboard.web.pages import data as data_page
    from dashboard.web.pages import influencers, live, platforms, posts, weekly

    cfg = tmp_path / "campaign.toml"
    cfg.write_text(CAMPAIGN_TOML)
    monkeypatch.setenv("REACH_CONFIG", str(cfg))
    monkeypatch.setenv(cache.ENV, "off")  # every page computes: a cache hit would hide its SQL
    # The anomaly scan is pandas on frames already read (it sends no SQL) and takes minutes at this
    # size: bench/ measures it; here it finds nothing, so the pages run only their reads.
    monkeypatch.setattr(anomalies, "anomalies", lambda *a, **k: pd.DataFrame(columns=anomalies.COLUMNS))
    eng = database.connect(url)
    rollups.refresh(eng, config.load(str(cfg)))  # as after an import: the pages read current rollups

    seen: list[tuple[str, object, str]] = []
    where = ["setup"]

    def capture(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if head in ("SELECT", "WITH") and not executemany:
            seen.append((statement, parameters, where[0]))

    event.listen(sa.engine.Engine, "before_cursor_execute", capture)
    try:
        for kind, extra in (("posts", []), ("account-days", []), ("daily", ["--by", "influencer,platform"]),
                            ("weekly", []), ("influencers", []), ("posts", ["--platform", "x", "--influencer", "Influencer 3"])):
            where[0] = f"reach export {kind} {' '.join(extra)}".strip()
            assert main(["export", kind, *extra, "--db", url, "--config", str(cfg), "-o", str(tmp_path / f"{kind}.csv")]) == 0
        where[0] = "reach summary"
        assert main(["summary", "--db", url, "--config", str(cfg), "--week", "2025-W11",
                     "--html", str(tmp_path / "summary.html")]) == 0
        app = create_app(eng)
        with app.server.test_request_context("/"):
            app.server.config["REACH_CONFIG"] = str(cfg)
            for name, call in (
                ("Live layout", lambda: live.layout()),
                ("Live refresh", lambda: live.refresh(1, "?metric=views", None)),
                ("Influencers layout", lambda: influencers.layout()),
                ("Influencers row click", lambda: influencers.focus_panel(eng, _campaign(), F.parse(""), "Influencer 3")),
                ("Platforms layout", lambda: platforms.layout()),
                ("Platforms layout, one influencer", lambda: platforms.layout(influencer="Influencer 3")),
                ("Posts layout with a search", lambda: posts.layout(q="tag5")),
                ("Posts rows", lambda: posts.rows({"startRow": 0, "endRow": 100}, "?q=tag5")),
                ("Posts rows, no search", lambda: posts.rows({"startRow": 0, "endRow": 100}, "")),
                ("Posts rows, by engagements", lambda: posts.rows(
                    {"startRow": 100, "endRow": 200, "sortModel": [{"colId": "engagements", "sort": "desc"}]}, "")),
                ("Posts rows, searched, by title", lambda: posts.rows(
                    {"startRow": 0, "endRow": 100, "sortModel": [{"colId": "title", "sort": "asc"}]}, "?q=tag5")),
                ("Weekly layout", lambda: weekly.layout()),
                ("Weekly pick", lambda: weekly.pick_week("2025-W11", "")),
                # The refresh's last step stores the default reports (dashboard/analysis/week_store.py); the
                # page then reads them.
                ("Weekly reports stored", lambda: week_store.save(eng, _campaign())),
                ("Weekly layout, stored", lambda: weekly.layout()),
                # The refresh's last step stores the Live flags: all of them, then (after a change
                # to one account) that account's series and posts only.
                ("Live flags stored, all", lambda: _forget_and_store_flags(eng)),
                ("Live flags stored, one account", lambda: _rename_and_store_flags(eng, 3)),
                # `reach doctor`'s comparison of post_latest (schema 9) with the snapshots it copies.
                ("reach doctor: post_latest", lambda: _check_latest(eng)),
                ("Data layout", lambda: data_page.layout()),
                ("Data rejected rows", lambda: data_page.problems(eng, 1)),
            ):
                where[0] = name
                call()
    finally:
        event.remove(sa.engine.Engine, "before_cursor_execute", capture)
    eng.dispose()
    return [s for s in seen if s[2] != "setup"]


def _campaign():
    from dashboard.web import data

    return data.campaign()


def _check_latest(eng):
    from dashboard.analysis import queries

    with eng.connect() as c:
        assert queries.latest_store.differing(c) == 0
        assert queries.latest_store.triggers_missing(c) == []


def _forget_and_store_flags(eng):
    from dashboard.analysis import flag_store, queries

    with database.write_transaction(eng) as c:
        c.execute(queries.flag_tables.state_table.delete())
    assert flag_store.save(eng, _campaign()) > 0


def _rename_and_store_flags(eng, account_pk: int):
    from dashboard.analysis import flag_store

    with database.write_transaction(eng) as c:
        c.execute(schema.accounts.update().where(schema.accounts.c.id == account_pk).values(handle="@renamed"))
    assert flag_store.save(eng, _campaign()) is not None


# --- reading plans ----------------------------------------------------------------------------

def sqlite_loop_scans(rows) -> list[str]:
    """The steps of an EXPLAIN QUERY PLAN that scan a table or subquery once per row of an outer
    loop: any SCAN after the first loop of its level, and any SCAN under a correlated subquery
    (which runs once per row of the query around it)."""
    children: dict[int, list[tuple[int, str]]] = {}
    for node, parent, _, detail in rows:
        children.setdefault(parent, []).append((node, detail))
    bad = []

    def walk(parent: int, per_row: bool):
        loops = 0
        for node, detail in children.get(parent, []):
            is_loop = detail.startswith(("SCAN ", "SEARCH "))
            scan = detail.startswith("SCAN ") and not detail.startswith("SCAN CONSTANT ROW")
            if is_loop:
                if scan and (loops > 0 or per_row):
                    bad.append(detail)
                loops += 1
            # A correlated subquery runs once per row of its level; a materialised subquery or a
            # co-routine runs once.
            walk(node, per_row or detail.startswith("CORRELATED"))

    walk(0, False)
    return bad


def pg_loop_scans(plan: dict, small: set[str]) -> list[str]:
    """Nested loops whose inner side (or a per-row subplan) reads a whole table sequentially."""
    bad = []

    def seq_scans(node) -> list[str]:
        found = [node["Relation Name"]] if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") not in small else []
        for ch in node.get("Plans", []):
            if ch.get("Parent Relationship") not in ("InitPlan",):
                found += seq_scans(ch)
        return found

    def walk(node):
        kids = node.get("Plans", [])
        outer = [ch for ch in kids if ch.get("Parent Relationship") == "Outer"]
        # An outer side of one row (a lookup by primary key) runs the inner side once: a planner
        # may rightly scan a few hundred accounts then rather than probe an index.
        if node.get("Node Type") == "Nested Loop" and outer and outer[0].get("Plan Rows", 2) > 1:
            for ch in kids:
                if ch.get("Parent Relationship") == "Inner":
                    bad.extend(f"nested loop over Seq Scan on {t}" for t in seq_scans(ch))
        for ch in kids:
            if ch.get("Parent Relationship") == "SubPlan":
                bad.extend(f"per-row subplan Seq Scan on {t}" for t in seq_scans(ch))
            walk(ch)

    walk(plan)
    return bad


def test_the_plan_reader_catches_a_scan_inside_a_join_loop():
    # The plan of the old posts export (issue 11): the latest snapshots, materialised, scanned
    # once per post.
    old = [(3, 0, 0, "MATERIALIZE anon_1"), (13, 3, 0, "SCAN post_snapshots USING COVERING INDEX pk"),
           (167, 0, 0, "SCAN posts USING INDEX sqlite_autoindex_posts_1"),
           (170, 0, 0, "SEARCH accounts USING INTEGER PRIMARY KEY (rowid=?)"), (180, 0, 0, "SCAN anon_1 LEFT-JOIN")]
    assert sqlite_loop_scans(old) == ["SCAN anon_1 LEFT-JOIN"]
    correlated = [(2, 0, 0, "SCAN posts"), (5, 0, 0, "CORRELATED SCALAR SUBQUERY 1"), (8, 5, 0, "SCAN post_snapshots")]
    assert sqlite_loop_scans(correlated) == ["SCAN post_snapshots"]
    fine = [(3, 0, 0, "MATERIALIZE anon_1"), (11, 3, 0, "SCAN post_days USING INDEX pk"), (88, 0, 0, "SCAN posts"),
            (99, 0, 0, "SEARCH post_snapshots USING INDEX pk (post_pk=? AND captured_at=?) LEFT-JOIN"),
            (103, 0, 0, "CORRELATED SCALAR SUBQUERY 1"), (108, 103, 0, "SEARCH s USING COVERING INDEX pk (post_pk=?)"),
            (150, 0, 0, "SEARCH anon_1 USING AUTOMATIC COVERING INDEX (post_pk=?) LEFT-JOIN")]
    assert sqlite_loop_scans(fine) == []
    pg = {"Node Type": "Nested Loop", "Plans": [
        {"Node Type": "Seq Scan", "Relation Name": "posts", "Parent Relationship": "Outer", "Plan Rows": 20000},
        {"Node Type": "Materialize", "Parent Relationship": "Inner",
         "Plans": [{"Node Type": "Seq Scan", "Relation Name": "post_snapshots", "Parent Relationship": "Outer"}]}]}
    assert pg_loop_scans(pg, set()) == ["nested loop over Seq Scan on post_snapshots"]
    pg["Plans"][0]["Plan Rows"] = 1
    assert pg_loop_scans(pg, set()) == []
    subplan = {"Node Type": "Seq Scan", "Relation Name": "posts", "Plans": [
        {"Node Type": "Aggregate", "Parent Relationship": "SubPlan",
         "Plans": [{"Node Type": "Seq Scan", "Relation Name": "post_snapshots", "Parent Relationship": "Outer"}]}]}
    assert pg_loop_scans(subplan, set()) == ["per-row subplan Seq Scan on post_snapshots"]


# Tables that stay small however big the campaign (a handful of rows per import or platform):
# a PostgreSQL planner may loop over them.
SMALL_TABLES = {"reach_meta", "imports", "import_failures", "influencers", "mapping_profiles", "collector_state"}


def test_every_statement_of_the_exports_pages_and_summary_has_a_linear_plan(db_url, tmp_path, monkeypatch):
    eng = build_campaign(db_url, plausible=True)
    stmts = _statements(db_url, tmp_path, monkeypatch)
    paths = {w for _, _, w in stmts}
    # Every user path ran SQL; none was skipped by an error or a cache.
    assert {"reach export posts", "reach summary", "Posts layout with a search", "Influencers row click",
            "Posts rows, no search", "Weekly layout, stored", "reach doctor: post_latest"} <= paths
    # The posts export and the Posts page read each post's latest snapshot from post_latest.
    for path in ("reach export posts", "Posts rows, by engagements", "reach doctor: post_latest"):
        assert any("post_latest" in st for st, _, w in stmts if w == path), path
    problems = []
    unique = {}
    for statement, params, path in stmts:
        unique.setdefault((statement, repr(params)), (statement, params, path))
    with eng.connect() as c:
        small = set(SMALL_TABLES)
        if eng.dialect.name == "postgresql":
            # The months made ahead (`reach doctor --partition-by-month`) are empty partitions, analyzed as empty: the planner
            # may scan them, reading nothing. Once one fills, it plans from the partition's size on
            # disk at planning time (statistics of an empty table do not pin it at 0 rows), so a
            # scan of a filled month here would fail this test as any other.
            small |= set(c.exec_driver_sql(
                "SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r' "
                "AND pg_relation_size(oid) = 0").scalars())
        for statement, params, path in unique.values():
            if "pg_catalog." in statement:
                continue  # SQLAlchemy asking PostgreSQL's catalog whether a table exists, not data
            if eng.dialect.name == "sqlite":
                rows = c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                bad = sqlite_loop_scans([tuple(r) for r in rows])
            else:
                plan = c.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar()
                bad = pg_loop_scans(plan[0]["Plan"], small)
            if bad:
                problems.append(f"{path}: {bad} in\n    {' '.join(statement.split())[:400]}")
    eng.dispose()
    assert not problems, "\n".join(problems)


def test_a_schema_6_database_gets_the_posts_order_index(db_url):
    eng = database.connect(db_url)
    with eng.begin() as c:
        c.execute(sa.text("DROP INDEX ix_posts_platform_published"))  # as schema 6 made it
        c.execute(schema.meta_table.update().values(value="6"))
    assert database.migrate(eng) == 6
    with eng.connect() as c:
        assert "ix_posts_platform_published" in {ix["name"] for ix in sa.inspect(c).get_indexes("posts")}
        assert schema.schema_version(c) == schema.SCHEMA_VERSION
    eng.dispose()
