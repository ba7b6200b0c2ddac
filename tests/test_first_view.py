"""The first view of the Live page after an import: the refresh that follows the import stores the
whole campaign's flags (dashboard/analysis/flag_store.py), and the page reads the few it shows from there,
the same rows with the same reasons as when it computes them, and never rows of other data."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from collectors.store import database, ledger, schema
from dashboard.analysis import config, flag_store, metrics, queries, rollups
from dashboard.web.pages import live

from test_query_plans import CAMPAIGN_TOML, build_campaign


@pytest.fixture
def campaign(tmp_path):
    (tmp_path / "campaign.toml").write_text(CAMPAIGN_TOML)
    return config.load(str(tmp_path / "campaign.toml"))


SELECTIONS = [metrics.Selection(start=date(2025, 3, 3), end=date(2025, 3, 23)), metrics.Selection(platforms=("x",)),
              metrics.Selection(), metrics.Selection(start=date(2025, 3, 10), end=date(2025, 3, 12),
                                                     platforms=("tiktok", "youtube"))]


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert list(got["reason"]) == list(want["reason"]) and list(got["facts"]) == list(want["facts"])
    def plain(df):  # unknown as None whatever the column's dtype (object here, str there)
        df = df.drop(columns=["facts"]).reset_index(drop=True)
        for c in ("influencer", "platform", "account", "post_id", "metric", "detector", "reason"):
            df[c] = [None if v is None or v != v else v for v in df[c].tolist()]
        return df
    pd.testing.assert_frame_equal(plain(got), plain(want), check_dtype=False)


def test_the_refresh_stores_the_flags_and_the_page_shows_the_same_rows_as_computed(db_url, campaign):
    engine = build_campaign(db_url, n_posts=900, per_account=30)
    rollups.refresh(engine, campaign)
    with engine.connect() as c:
        f = queries.flag_tables.flags_table
        stored = c.execute(sa.select(sa.func.count()).where(f.c.detector != "hampel")).scalar()
    assert stored == len(live.live_flags(engine, campaign)) > 100  # impossible values on every post
    for sel in SELECTIONS:
        from_table = flag_store.shown(engine, campaign, sel, 8)
        assert from_table is not None
        got = live.shown_flags(engine, campaign, sel, 8)
        want = live.computed_shown_flags(engine, campaign, sel, 8)
        assert len(want) == len(got)
        _same(got, want)
    assert len(live.shown_flags(engine, campaign, SELECTIONS[0], 8)) == 8
    engine.dispose()


def test_the_page_reads_the_stored_flags_instead_of_scanning_the_campaign(sqlite_url, campaign, monkeypatch):
    engine = build_campaign(sqlite_url, n_posts=600, per_account=30)
    rollups.refresh(engine, campaign)
    want = live.computed_shown_flags(engine, campaign, SELECTIONS[0], 8)

    def no_scan(*a, **k):
        raise AssertionError("the first view scanned the whole campaign")

    monkeypatch.setattr(flag_store, "live_flags", no_scan)
    monkeypatch.setattr(live, "live_flags", no_scan)
    _same(live.shown_flags(engine, campaign, SELECTIONS[0], 8), want)
    engine.dispose()


def test_flags_of_other_data_or_settings_are_never_shown(sqlite_url, campaign):
    engine = build_campaign(sqlite_url, n_posts=600, per_account=30)
    rollups.refresh(engine, campaign)
    assert flag_store.shown(engine, campaign, SELECTIONS[0], 8) is not None
    # Another campaign definition (what counts as an engagement): the stored flags are not its flags.
    other = config.from_dict({"campaign": {"name": "Plans", "start": date(2025, 3, 3), "end": date(2025, 3, 23),
                                           "timezone": "Asia/Shanghai"}, "engagement": {"metrics": ["likes"]}})
    assert flag_store.shown(engine, other, SELECTIONS[0], 8) is None
    # A roster change moves the data version without a refresh: the page computes until the next one.
    with database.write_transaction(engine) as c:
        c.execute(schema.influencers.update().where(schema.influencers.c.id == 1).values(name="Renamed"))
    assert flag_store.shown(engine, campaign, SELECTIONS[0], 8) is None
    shown = live.shown_flags(engine, campaign, metrics.Selection(), 2000)
    assert "Influencer 0" not in set(shown["influencer"]) and "Renamed" in set(shown["influencer"])
    engine.dispose()


def test_a_refresh_stores_its_rows_even_when_the_flags_cannot_be_stored(sqlite_url, campaign, monkeypatch):
    engine = build_campaign(sqlite_url, n_posts=300, per_account=30)

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(flag_store, "batches", broken)
    assert rollups.refresh(engine, campaign) > 0
    assert rollups.is_current(engine, campaign)
    assert flag_store.shown(engine, campaign, SELECTIONS[0], 8) is None  # nothing stored: the page computes
    monkeypatch.undo()
    assert len(live.shown_flags(engine, campaign, SELECTIONS[0], 8)) == 8
    engine.dispose()


def test_a_new_import_replaces_the_stored_flags_at_its_refresh(sqlite_url, campaign):
    engine = build_campaign(sqlite_url, n_posts=600, per_account=30)
    rollups.refresh(engine, campaign)
    before = flag_store.stamp(engine, campaign)
    with database.write_transaction(engine) as c:
        c.execute(schema.imports.insert().values(
            id=99, sha256="f" * 64, file_name="late.csv", size_bytes=1, imported_at=pd.Timestamp("2025-03-30").to_pydatetime(),
            platform="x", rows_read=0, rows_stored=0, rows_rejected=0, rows_skipped=0, source="file"))
        c.execute(schema.meta_table.insert().values(key=f"{ledger.ROLLUP_PENDING}99", value=""))
    assert flag_store.shown(engine, campaign, SELECTIONS[0], 8) is None
    rollups.refresh(engine, campaign, [])
    assert flag_store.stamp(engine, campaign) != before
    assert flag_store.shown(engine, campaign, SELECTIONS[0], 8) is not None
    engine.dispose()


def test_the_account_times_behind_freshness_are_stored_by_the_refresh_and_read_back_alike(db_url, campaign,
                                                                                          monkeypatch):
    from dashboard.analysis import clock

    engine = build_campaign(db_url, n_posts=300, per_account=10)
    with database.write_transaction(engine) as c:  # an account without posts or days: no freshness row
        c.execute(schema.accounts.insert().values(id=999, platform="x", account_key="quiet", handle="@quiet"))
    rollups.refresh(engine, campaign)
    want = clock._account_times(engine)
    assert len(want) == 30 and want["influencer"].isna().any()  # unassigned accounts too
    stored = flag_store.account_times(engine)
    pd.testing.assert_frame_equal(stored, want)

    def no_grouping(*a, **k):
        raise AssertionError("the first view grouped every snapshot again")

    monkeypatch.setattr(clock, "_account_times", no_grouping)
    now = pd.Timestamp("2025-04-30 12:00", tz="UTC").to_pydatetime()  # weeks after the last data
    fresh = clock.account_freshness(engine, now)
    pd.testing.assert_frame_equal(fresh[want.columns.tolist()], want)
    assert fresh["stale"].all()
    # New data: the stored times are of the old data and not used until the next refresh.
    with database.write_transaction(engine) as c:
        c.execute(schema.accounts.update().where(schema.accounts.c.id == 1).values(handle="@renamed"))
    assert flag_store.account_times(engine) is None
    with pytest.raises(AssertionError, match="grouped every snapshot"):
        clock.account_freshness(engine, now)
    engine.dispose()


def test_a_view_reads_the_data_version_once_and_keeps_it_for_the_whole_view(sqlite_url, campaign, monkeypatch,
                                                                            tmp_path):
    # Each cached piece of a view and each stored table's stamp asks for the data version; at
    # 100x the demo each read hashes 8,300 accounts (50 ms). Within one_version it is read once,
    # and the view's pieces all belong to that version even if an import commits meanwhile.
    from dashboard.analysis import stamps
    from dashboard.web import filters as F

    monkeypatch.setenv("REACH_CACHE_DIR", str(tmp_path / "cache"))
    engine = build_campaign(sqlite_url, n_posts=300, per_account=30)
    rollups.refresh(engine, campaign)
    reads = []
    real = stamps._versions
    monkeypatch.setattr(stamps, "_versions", lambda eng: reads.append(1) or real(eng))
    live.content(engine, campaign, F.parse(""))
    unpinned = len(reads)
    assert unpinned >= 2  # the view's pieces each ask (what made it slow)
    reads.clear()
    with stamps.one_version():
        before = stamps.version(engine)
        live.content(engine, campaign, F.parse(""))
        with database.write_transaction(engine) as c:  # a roster change commits meanwhile
            c.execute(schema.influencers.update().where(schema.influencers.c.id == 1).values(name="Renamed"))
        assert stamps.version(engine) == before
    assert len(reads) == 1
    assert stamps.version(engine) != before  # outside the block, the change is seen at once
    engine.dispose()


def test_postgresql_connections_run_without_jit_unless_the_url_says(db_url):
    # The server's JIT compiled the Posts grid's order (index lookups and a sort) for longer than
    # it ran: 48 ms against 6 ms at 2,053 posts, over a second at 8,000 under the load test.
    if not db_url.startswith("postgresql"):
        return
    engine = database.connect(db_url)
    with engine.connect() as c:
        assert c.exec_driver_sql("SHOW jit").scalar() == "off"
        assert c.exec_driver_sql("SHOW search_path").scalar().startswith("reach_test_")  # the URL's own options kept
    engine.dispose()
    sep = "&" if "?" in db_url else "?"
    engine = database.connect(db_url.replace("options=", "options=-cjit%3Don%20") if "options=" in db_url
                              else f"{db_url}{sep}options=-cjit%3Don")
    with engine.connect() as c:
        assert c.exec_driver_sql("SHOW jit").scalar() == "on"  # a DBA's choice stands
    engine.dispose()


def test_a_refresh_leaves_postgresql_fresh_statistics_for_the_first_views(db_url, campaign):
    # Right after an import PostgreSQL's statistics describe the tables before it, and its
    # planner looped a hashed subquery 7,470 times for Live's reach range (7.7 s at 10x the
    # demo; 41 ms once analyzed). The refresh analyzes the tables the import changed.
    engine = build_campaign(db_url, n_posts=600, per_account=30)
    if engine.dialect.name != "postgresql":
        rollups.analyze(engine)  # nothing to do, and nothing fails
        engine.dispose()
        return
    q = ("SELECT relname, last_analyze FROM pg_stat_user_tables WHERE schemaname = current_schema() "
         "AND relname IN ('posts', 'post_snapshots', 'daily_rollup')")
    with engine.connect() as c:
        before = dict(c.exec_driver_sql(q).all())
    rollups.refresh(engine, campaign)
    with engine.connect() as c:
        after = dict(c.exec_driver_sql(q).all())
        estimate = c.exec_driver_sql("SELECT reltuples FROM pg_class WHERE relname = 'posts' "
                                     "AND relnamespace = current_schema()::regnamespace").scalar()
    assert set(after) == {"posts", "post_snapshots", "daily_rollup"}
    assert all(after[t] is not None and after[t] != before.get(t) for t in after)
    assert estimate == 600  # the planner now knows how many posts there are
    engine.dispose()


# --- the refresh recomputes only what its imports changed (issue 11: bounded by the import) --------

def _import(engine, import_id: int, account_pks, spike: int = 50) -> None:
    """An import as the pipeline writes it, straight into the tables: for each account, a later
    snapshot of its first posts far above the rest (likes and shares above views: impossible
    values), and a day of the account with a follower jump and views that no engagement came
    with; marked pending with its accounts, as bulk.write_parsed does."""
    from datetime import datetime

    p, s = schema.posts, schema.post_snapshots
    with database.write_transaction(engine) as c:
        c.execute(schema.imports.insert().values(
            id=import_id, sha256=f"{import_id:064x}", file_name=f"late{import_id}.csv", size_bytes=1,
            imported_at=datetime(2025, 4, 1, 12), platform="x", rows_read=0, rows_stored=0, rows_rejected=0,
            rows_skipped=0, source="file"))
        for a in account_pks:
            posts = c.execute(sa.select(p.c.id).where(p.c.account_pk == a).order_by(p.c.id).limit(3)).scalars().all()
            for pk in posts:
                last = c.execute(sa.select(sa.func.max(s.c.captured_at)).where(s.c.post_pk == pk)).scalar()
                if last is None:
                    continue
                last = pd.Timestamp(last).to_pydatetime()
                c.execute(s.insert().values(post_pk=pk, captured_at=last + pd.Timedelta(hours=12), import_id=import_id,
                                            views=1000 * spike, impressions=2000 * spike, likes=5000 * spike,
                                            comments=10, shares=5000 * spike, saves=1))
            c.execute(schema.account_days.update().where(schema.account_days.c.account_pk == a,
                                                        schema.account_days.c.day == date(2025, 3, 20))
                      .values(followers_gained=90_000, views=18_000 * spike, import_id=import_id))
        c.execute(schema.meta_table.insert().values(
            key=f"{ledger.ROLLUP_PENDING}{import_id}",
            value=ledger.pending_value(pd.Timestamp("2025-03-05"), accounts=list(account_pks))))


def _all_shown(engine, campaign):
    from dashboard.analysis.anomalies import explain

    stored = flag_store.shown(engine, campaign, metrics.Selection(), 10**6)
    return None if stored is None else explain(stored, campaign)


def _all_computed(engine, campaign):
    return live.computed_shown_flags(engine, campaign, metrics.Selection(), 10**6)


def _spy(monkeypatch):
    """The accounts each batch of the flags read: series (whole influencer-platform series),
    followers, and posts checked for impossible values."""
    from dashboard.analysis import queries

    seen = {"series": [], "followed": [], "checked": []}
    real_series, real_checks = queries.anomaly_inputs.series_inputs, queries.anomaly_inputs.impossible_inputs

    def series(engine, campaign, owners, accounts=None, followed=None):
        seen["series"].append(accounts)
        seen["followed"].append(followed)
        return real_series(engine, campaign, owners, accounts, followed)

    def checks(engine, campaign, accounts=None, post_range=None):
        seen["checked"].append(accounts)
        return real_checks(engine, campaign, accounts, post_range)

    monkeypatch.setattr(queries.anomaly_inputs, "series_inputs", series)
    monkeypatch.setattr(queries.anomaly_inputs, "impossible_inputs", checks)
    return seen


def test_an_import_recomputes_only_its_accounts_flags_and_the_table_equals_a_whole_scan(db_url, campaign,
                                                                                         monkeypatch):
    engine = build_campaign(db_url, n_posts=900, per_account=30)  # 30 accounts
    rollups.refresh(engine, campaign)
    full = len(_all_shown(engine, campaign))
    seen = _spy(monkeypatch)
    _import(engine, 101, [4, 5])
    rollups.refresh(engine, campaign, [])
    # Only the series of accounts 4 and 5 were read (each with every account of its series), their
    # followers, and their posts.
    owners = queries_owners(engine)
    mine = {(owners.loc[a, "influencer"], owners.loc[a, "platform"]) for a in (4, 5)}
    series_accounts = set(owners.index[[(i, p) in mine for i, p in zip(owners["influencer"], owners["platform"])]])
    assert [set(x) for x in seen["series"]] == [series_accounts]
    assert [set(x) for x in seen["followed"]] == [{4, 5}]
    assert seen["checked"] and all(set(x) == {4, 5} for x in seen["checked"])
    got, want = _all_shown(engine, campaign), _all_computed(engine, campaign)
    assert got is not None and len(got) == len(want) > full  # the import's spikes and impossible values
    _same(got, want)
    spikes = want[want["detector"] == "robust_z"]
    assert {"Influencer 4", "Influencer 5"} & set(spikes["influencer"])
    assert {"views", "followers_gained"} <= set(spikes["metric"])
    engine.dispose()


def queries_owners(engine):
    from dashboard.analysis import queries

    return queries.anomaly_inputs.flag_owners(engine)


def test_a_roster_change_then_an_import_recomputes_the_series_the_moved_account_left_and_joined(sqlite_url, campaign,
                                                                                             monkeypatch):
    engine = build_campaign(sqlite_url, n_posts=900, per_account=30)
    rollups.refresh(engine, campaign)
    _import(engine, 101, [3])
    # Account 3 (Influencer 3's) moves to Influencer 1; account 8 loses its handle (a new label).
    with database.write_transaction(engine) as c:
        c.execute(schema.accounts.update().where(schema.accounts.c.id == 4).values(influencer_id=2))
        c.execute(schema.accounts.update().where(schema.accounts.c.id == 9).values(handle=None, name="Nine"))
    assert flag_store.shown(engine, campaign, SELECTIONS[0], 8) is None  # other data than the stored flags'
    seen = _spy(monkeypatch)
    rollups.refresh(engine, campaign, [])
    assert len(seen["series"]) == 1 and len(set(seen["series"][0])) < 30  # not the whole campaign
    assert {4, 9} <= set(seen["followed"][0])
    _same(_all_shown(engine, campaign), _all_computed(engine, campaign))
    engine.dispose()


def test_several_imports_between_first_view_steps_and_a_rebuild_are_all_covered(sqlite_url, campaign, monkeypatch):
    engine = build_campaign(sqlite_url, n_posts=600, per_account=30)
    rollups.refresh(engine, campaign)
    # Two refreshes whose first-view step did not run (a process killed after the refresh's commit).
    monkeypatch.setattr(rollups, "store_first_view", lambda *a, **k: None)
    for k, accounts in ((101, [2]), (102, [7, 8])):
        _import(engine, k, accounts, spike=30 + k)
        rollups.refresh(engine, campaign, [])
    monkeypatch.undo()
    seen = _spy(monkeypatch)
    _import(engine, 103, [12])
    rollups.refresh(engine, campaign, [])
    assert set(seen["followed"][0]) == {2, 7, 8, 12}
    _same(_all_shown(engine, campaign), _all_computed(engine, campaign))
    # A rebuild (every account) computes everything.
    seen["followed"].clear()
    rollups.refresh(engine, campaign)
    assert seen["followed"] == [] or all(f is None or len(f) > 4 for f in seen["followed"])
    _same(_all_shown(engine, campaign), _all_computed(engine, campaign))
    engine.dispose()


def test_flags_stored_in_batches_keep_one_scans_order_and_a_taken_claim_stops_a_refresh(sqlite_url, campaign,
                                                                                      monkeypatch):
    engine = build_campaign(sqlite_url, n_posts=900, per_account=30)
    monkeypatch.setattr(flag_store, "BATCH_ACCOUNTS", 4)  # many batches of series
    monkeypatch.setattr(flag_store, "BATCH_POSTS", 97)  # and of posts
    rollups.refresh(engine, campaign)
    got, want = _all_shown(engine, campaign), _all_computed(engine, campaign)
    assert len(got) == len(want) > 100
    _same(got, want)
    # Batches bounded by their posts (a series is never cut: one of more posts is a batch alone).
    sizes = []
    real_inputs = queries.anomaly_inputs.series_inputs

    def counted(engine_, campaign_, owners, batch, followed):
        sizes.append(int(owners.loc[batch, "posts"].sum()))
        return real_inputs(engine_, campaign_, owners, batch, followed)

    monkeypatch.setattr(queries.anomaly_inputs, "series_inputs", counted)
    monkeypatch.setattr(flag_store, "BATCH_ACCOUNTS", 300)
    monkeypatch.setattr(flag_store, "BATCH_SERIES_POSTS", 50)
    # Every flag Live lists, each once (and the Hampel filter's, which only the Influencers panel shows).
    assert sum(int((f["detector"] != "hampel").sum()) for f in flag_store.batches(engine, campaign)) == len(want)
    assert len(sizes) > 5 and max(sizes) <= 60  # 30 posts an account: two accounts at most, unless one series
    monkeypatch.setattr(queries.anomaly_inputs, "series_inputs", real_inputs)
    # A refresh whose claim a later one took stores nothing more and leaves no stamp.
    real = flag_store.batches

    def taken(*a, **k):
        with database.write_transaction(engine) as c:
            flag_store._set(c, owner="someone else")
        yield from real(*a, **k)

    monkeypatch.setattr(flag_store, "batches", taken)
    _import(engine, 101, [1])
    rollups.refresh(engine, campaign, [])
    assert flag_store.shown(engine, campaign, SELECTIONS[0], 8) is None
    monkeypatch.setattr(flag_store, "batches", real)
    assert flag_store.save(engine, campaign) > 100  # no generation stored: everything anew
    _same(_all_shown(engine, campaign), _all_computed(engine, campaign))
    engine.dispose()


def test_the_account_times_of_an_import_and_of_renamed_accounts_are_rewritten_alone(db_url, campaign, monkeypatch):
    from dashboard.analysis import clock

    engine = build_campaign(db_url, n_posts=300, per_account=10)
    rollups.refresh(engine, campaign)
    asked = []
    real = clock._account_times
    monkeypatch.setattr(clock, "_account_times", lambda eng, accounts=None, with_pk=False:
                        asked.append(accounts) or real(eng, accounts, with_pk))
    _import(engine, 101, [6])
    with database.write_transaction(engine) as c:
        c.execute(schema.accounts.update().where(schema.accounts.c.id == 2).values(handle="@renamed"))
    rollups.refresh(engine, campaign, [])
    assert asked == [{6, 2}]
    monkeypatch.undo()
    stored = flag_store.account_times(engine)
    pd.testing.assert_frame_equal(stored, clock._account_times(engine))
    assert "@renamed" in set(stored["account"])
    assert stored.loc[stored["account"] == "@acct5", "last_import"].iloc[0] == pd.Timestamp("2025-04-01 12:00", tz="UTC")
    engine.dispose()


def test_tables_of_an_older_layout_are_made_anew(sqlite_url, campaign):
    engine = build_campaign(sqlite_url, n_posts=300, per_account=30)
    with engine.begin() as c:  # the first layout: rows numbered by their order in one scan
        c.exec_driver_sql("CREATE TABLE live_flags (seq INTEGER PRIMARY KEY, detector TEXT, day DATETIME)")
        c.exec_driver_sql("CREATE TABLE live_flags_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        c.exec_driver_sql("INSERT INTO live_flags_state VALUES ('stamp', 'old')")
    rollups.refresh(engine, campaign)
    assert flag_store.shown(engine, campaign, SELECTIONS[0], 8) is not None
    _same(_all_shown(engine, campaign), _all_computed(engine, campaign))
    engine.dispose()


def test_new_code_computes_the_flags_and_times_anew_and_stores_them(sqlite_url, campaign, monkeypatch):
    from dashboard.analysis import clock, stamps

    engine = build_campaign(sqlite_url, n_posts=600, per_account=30)  # 20 accounts
    rollups.refresh(engine, campaign)
    monkeypatch.setattr(stamps, "code_stamp", lambda: "another version of the program")
    seen = _spy(monkeypatch)
    _import(engine, 101, [2])
    rollups.refresh(engine, campaign, [])
    assert set().union(*[set(x) for x in seen["series"]]) == set(range(1, 21))  # everything, not account 2 alone
    assert flag_store.shown(engine, campaign, SELECTIONS[0], 8) is not None
    _same(_all_shown(engine, campaign), _all_computed(engine, campaign))
    pd.testing.assert_frame_equal(flag_store.account_times(engine), clock._account_times(engine))
    engine.dispose()


def test_the_live_list_follows_the_influencer_and_category_filters_stored_or_computed(db_url, campaign):
    # With an influencer picked, the list named other people (issue 12): every filter of the page
    # applies, whether the flags come from the stored table or are computed.
    engine = build_campaign(db_url, n_posts=600, per_account=30)
    rollups.refresh(engine, campaign)
    a, i = schema.accounts, schema.influencers
    with engine.connect() as c:
        rows = c.execute(sa.select(i.c.name, i.c.category, a.c.platform, a.c.handle)
                         .select_from(a.outerjoin(i, a.c.influencer_id == i.c.id))).all()
    # Names as the pages give them: the roster's, else "<handle> (unassigned)".
    named = [(n or f"{h} (unassigned)", cat or "unassigned", p) for n, cat, p, h in rows]
    tech = {n for n, cat, _ in named if cat == "tech"}
    lone = {n for n, cat, _ in named if cat == "unassigned"}
    x_of_3 = {("Influencer 3", p) for n, _, p in named if n == "Influencer 3" and p == "x"}
    for sel, allowed in ((metrics.Selection(influencers=("Influencer 3",)), {"Influencer 3"}),
                         (metrics.Selection(categories=("tech",)), tech),
                         (metrics.Selection(categories=("unassigned",), start=date(2025, 3, 3)), lone),
                         (metrics.Selection(influencers=("Influencer 3", "Influencer 5"), categories=("tech",)),
                          {"Influencer 3", "Influencer 5"} & tech),
                         (metrics.Selection(influencers=("Nobody",)), set())):
        got = live.shown_flags(engine, campaign, sel, 50)
        want = live.computed_shown_flags(engine, campaign, sel, 50)
        _same(got, want)
        assert set(got["influencer"]) <= allowed, sel
        assert len(got) == 0 if not allowed else len(got) > 0, sel
    both = live.shown_flags(engine, campaign, metrics.Selection(influencers=("Influencer 3",), platforms=("x",)), 50)
    assert {(r.influencer, r.platform) for r in both.itertuples()} <= x_of_3
    engine.dispose()
