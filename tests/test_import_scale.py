"""Importing a file costs what the file holds, not what the database holds (issue 11).

Every statement an import sends is explained on a campaign of 20,000 posts (the one of
tests/test_query_plans.py): posts are found through the (platform, post_id) key or the primary
key's range, never by reading a platform's posts or an observation table. Two such reads crept in
once each: SQLite answered ``platform = ? AND post_id IN (...)`` from the covering
(platform, published_at, post_id) index by platform alone, and ``id > ? AND platform = ?`` the
same way; and the rollup refresh found the accounts an import touched by scanning every
observation for its import id. The accounts are now named by the import's pending mark.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy import event

from collectors.pipeline import Importer
from collectors.store import ledger, schema
from dashboard.analysis import rollups

from test_query_plans import SMALL_TABLES, build_campaign
from test_store import x_content

BIG = ("posts", "post_snapshots", "post_days", "account_days", "daily_rollup")
NAME = "account_analytics_content_2025-03-10_2025-03-16.csv"


def _campaign(url: str):
    """build_campaign's tables, with PostgreSQL's id sequences moved past the ids it wrote."""
    eng = build_campaign(url)
    if eng.dialect.name == "postgresql":
        with eng.begin() as c:
            for t in ("imports", "influencers", "accounts", "posts"):
                c.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))")
            c.exec_driver_sql("ANALYZE")
    return eng


def _files(tmp_path):
    """Three X exports: posts the campaign has (build_campaign's first account is on X), shown
    under another handle; new posts of a new account; both."""
    old = [(str(1870000000000000000 + k), 5000 + k, 40) for k in range(0, 30)]
    new = [(str(1880000000000000000 + k), 300 + k, 4) for k in range(0, 25)]
    paths = []
    for i, (rows, handle) in enumerate([(old, "renamed_acct0"), (new, "newcomer"), (old[:5] + new[:5], "newcomer")]):
        p = tmp_path / f"{i}_{NAME}"
        p.write_bytes(x_content(rows, handle=handle))
        paths.append(p)
    return paths


def _bad_plan_sqlite(detail: str) -> bool:
    m = re.match(r"(SCAN|SEARCH) (\w+)(?: AS \w+)?(.*)", detail)
    if not m or m.group(2) not in BIG:
        return False
    if m.group(1) == "SCAN":
        return True
    # A search must narrow by more than the platform: "(platform=?)" alone reads all its posts.
    return bool(re.search(r"\(platform=\?\)$", m.group(3).strip()))


def _pg_bad(plan: dict) -> list[str]:
    out = []

    def walk(node):
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG:
            out.append(f"Seq Scan on {node['Relation Name']}")
        if node.get("Node Type") in ("Index Scan", "Index Only Scan", "Bitmap Index Scan") and \
                node.get("Relation Name", "") in BIG and not node.get("Index Cond"):
            out.append(f"full index scan of {node.get('Relation Name')}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return out


def test_every_statement_of_an_import_reads_by_key(db_url, tmp_path):
    eng = _campaign(db_url)
    files = _files(tmp_path)
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if head in ("SELECT", "WITH", "UPDATE", "DELETE") and not executemany:
            seen.append((statement, parameters))

    event.listen(sa.engine.Engine, "before_cursor_execute", capture)
    try:
        results = Importer(eng, None).import_paths(files)
        accounts = rollups.accounts_of_imports(eng, [r.import_id for r in results])
    finally:
        event.remove(sa.engine.Engine, "before_cursor_execute", capture)
    assert [r.status for r in results] == ["imported"] * 3, [r.line() for r in results]
    assert accounts
    problems, unique = [], {}
    for statement, params in seen:
        unique.setdefault((statement, repr(params)), (statement, params))
    lookups = 0
    with eng.connect() as c:
        for statement, params in unique.values():
            if "pg_catalog." in statement or "sqlite_master" in statement:
                continue
            lookups += "post_id" in statement
            if eng.dialect.name == "sqlite":
                bad = [r[3] for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                       if _bad_plan_sqlite(r[3])]
            else:
                plan = c.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar()
                bad = _pg_bad(plan[0]["Plan"])
            if bad:
                problems.append(f"{bad} in\n    {' '.join(statement.split())[:300]}")
    eng.dispose()
    assert lookups >= 3  # the post lookups were among the statements explained
    assert not problems, "\n".join(problems)
    assert SMALL_TABLES.isdisjoint(BIG)


def test_the_plan_reader_catches_a_platform_wide_search():
    assert _bad_plan_sqlite("SEARCH posts USING COVERING INDEX ix_posts_platform_published (platform=?)")
    assert _bad_plan_sqlite("SCAN post_snapshots")
    assert not _bad_plan_sqlite("SEARCH p USING INDEX sqlite_autoindex_posts_1 (platform=? AND post_id=?)")
    assert not _bad_plan_sqlite("SEARCH posts USING INTEGER PRIMARY KEY (rowid>?)")
    assert not _bad_plan_sqlite("SCAN accounts")  # small: a roster's worth


def test_the_pending_marks_name_the_accounts_the_rows_show(db_url, tmp_path):
    """The accounts a mark names are the ones a scan of the rows finds: an existing post counts
    for the account it is stored under, not the handle a later file shows it with."""
    eng = _campaign(db_url)
    results = Importer(eng, None).import_paths(_files(tmp_path))
    ids = [r.import_id for r in results]
    named = rollups.accounts_of_imports(eng, ids)
    with eng.begin() as c:  # as a version before the accounts were named would have left them
        for k, v in c.execute(sa.select(schema.meta_table.c.key, schema.meta_table.c.value)
                              .where(schema.meta_table.c.key.like(ledger.ROLLUP_PENDING + "%"))).all():
            assert ledger.pending_accounts(v) is not None, v
            c.execute(schema.meta_table.update().where(schema.meta_table.c.key == k)
                      .values(value=v.split(" accounts:")[0]))
    scanned = rollups.accounts_of_imports(eng, ids)
    with eng.connect() as c:
        acct0 = c.execute(sa.select(schema.posts.c.account_pk).where(
            schema.posts.c.post_id == "1870000000000000000")).scalar()
        newcomer = c.execute(sa.select(schema.accounts.c.id).where(schema.accounts.c.handle == "newcomer")).scalar()
    eng.dispose()
    assert named == scanned == sorted({acct0, newcomer})


def test_a_mark_is_read_back_whatever_wrote_it():
    t = ledger.pending_since(ledger.pending_value(__import__("pandas").Timestamp("2025-03-10 16:00"), {3, 1}))
    assert str(t) == "2025-03-10 16:00:00"
    assert ledger.pending_accounts(ledger.pending_value(None, {3, 1})) == [1, 3]
    assert ledger.pending_since(ledger.pending_value(None, {3})) is None
    assert ledger.pending_since(ledger.pending_value(ledger.UNKNOWN, [])) is ledger.UNKNOWN
    assert ledger.pending_accounts(ledger.pending_value(ledger.UNKNOWN, [])) == []
    assert ledger.pending_accounts("after:2025-03-10T16:00:00") is None  # an older version's mark
    assert ledger.pending_accounts("") is None
