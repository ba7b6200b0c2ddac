"""Pages read the rollup as it stands while an import waits for its importer's refresh (issue 15):
the web request never runs that refresh, the totals it shows are the last refresh's, the line
under freshness says imports are being counted, and once the refresh lands the same page shows
the new totals (the cache keys results by a version the refresh moves). Two cases still bring the
rollup current from a page: changed settings (stored rows that are wrong are never served) and an
import that nobody refreshed within the grace period (one request does it, the others serve as
it stands). The command line keeps reading it exact."""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from collectors.store import database, ledger, schema
from dashboard.analysis import clock, config, flag_store, metrics, queries, rollups, shared, stamps
from dashboard.text.i18n import fmt_number
from dashboard.web import filters as F
from dashboard.web import freshness
from dashboard.web.app import create_app
from dashboard.web.pages import live

from test_query_plans import CAMPAIGN_TOML, build_campaign

ADDED = 1_000_000  # views each late post gains in the import that waits for its refresh
LATE_ACCOUNT = 1


@pytest.fixture
def campaign(tmp_path):
    (tmp_path / "campaign.toml").write_text(CAMPAIGN_TOML)
    return config.load(str(tmp_path / "campaign.toml"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The campaign, refreshed (its flags, account times and weekly reports stored), built once:
    each test gets a copy."""
    folder = tmp_path_factory.mktemp("as_they_stand")
    (folder / "campaign.toml").write_text(CAMPAIGN_TOML)
    eng = build_campaign(f"sqlite:///{folder / 'reach.db'}", n_posts=150, per_account=30)
    rollups.refresh(eng, config.load(str(folder / "campaign.toml")))
    eng.dispose()
    return folder / "reach.db"


@pytest.fixture
def engine(built, campaign, tmp_path, monkeypatch):
    import sqlite3

    monkeypatch.setenv("REACH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("REACH_CONFIG", str(tmp_path / "campaign.toml"))  # the app's campaign is the test's
    monkeypatch.delenv(rollups.GRACE_ENV, raising=False)
    # SQLite's backup API, not a file copy: the last writes may still be in the WAL file beside it.
    with sqlite3.connect(built) as src, sqlite3.connect(tmp_path / "reach.db") as dst:
        src.backup(dst)
    eng = database.connect(f"sqlite:///{tmp_path / 'reach.db'}")
    yield eng
    eng.dispose()


def _late_import(engine, import_id: int, imported_at: datetime) -> int:
    """An import as bulk.write_parsed leaves it before its importer's refresh: a later snapshot of
    three posts of one account, each ``ADDED`` views above its last, and the pending mark naming
    the account. Returns the views it adds."""
    p, s = schema.posts, schema.post_snapshots
    added = 0
    with database.write_transaction(engine) as c:
        c.execute(schema.imports.insert().values(
            id=import_id, sha256=f"{import_id:064x}", file_name=f"late{import_id}.csv", size_bytes=1,
            imported_at=imported_at.astimezone(timezone.utc).replace(tzinfo=None), platform="x", rows_read=0,
            rows_stored=0, rows_rejected=0, rows_skipped=0, source="file"))
        posts = c.execute(sa.select(p.c.id).where(p.c.account_pk == LATE_ACCOUNT).order_by(p.c.id)).scalars().all()
        for pk in posts:
            last = c.execute(sa.select(s.c.captured_at, s.c.views).where(s.c.post_pk == pk)
                             .order_by(s.c.captured_at.desc()).limit(1)).first()
            if last is None or added == 3 * ADDED:
                continue
            at = pd.Timestamp(last[0]).to_pydatetime() + timedelta(hours=1)
            c.execute(s.insert().values(post_pk=pk, captured_at=at, import_id=import_id, views=last[1] + ADDED))
            added += ADDED
        c.execute(schema.meta_table.insert().values(
            key=f"{ledger.ROLLUP_PENDING}{import_id}",
            value=ledger.pending_value(pd.Timestamp("2025-03-03"), accounts=[LATE_ACCOUNT])))
    assert added == 3 * ADDED
    return added


def _views(engine, campaign) -> float:
    """The campaign window's views in the rollup as it stands (no refresh)."""
    sel = F.view_selection(F.parse(""), campaign)
    return float(rollups.query(engine, campaign, by=[], sel=sel, refresh_if_stale=False)["views"].iloc[0])


def _generation(engine) -> int:
    with engine.connect() as c:
        return rollups.generation(c)


def _find(component, id_):
    if isinstance(component, (list, tuple)):
        return next((f for f in (_find(c, id_) for c in component) if f is not None), None)
    if getattr(component, "id", None) == id_:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            found = _find(child, id_)
            if found is not None:
                return found
    return None


def _live(app, engine, campaign):
    """The Live page's body as a request renders it: the views KPI's text, and the counting line's."""
    with app.server.test_request_context("/"), rollups.as_it_stands(), stamps.one_version():
        body = live.content(engine, campaign, F.parse(""))
    kpis = _find(body, "live-kpis")
    counting = _find(body, "live-counting")
    return kpis.children[0].children[1].children, None if counting is None else counting.children


@pytest.fixture
def refreshes(monkeypatch):
    """The rollup refreshes run from here on."""
    runs = []
    real = rollups.refresh

    def spy(*args, **kwargs):
        runs.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(rollups, "refresh", spy)
    return runs


def test_a_page_serves_the_rollup_as_it_stands_and_shows_the_new_totals_once_the_refresh_lands(engine, campaign,
                                                                                                refreshes):
    app = create_app(engine)
    before = _views(engine, campaign)
    shown, counting = _live(app, engine, campaign)
    assert shown == fmt_number(before, "en") and counting is None
    generation = _generation(engine)

    added = _late_import(engine, 90, datetime.now(timezone.utc))

    def no_scan(*a, **k):
        raise AssertionError("the page computed what the last refresh stored")

    # What the last refresh stored beside the rollup is shown as it stands too: no flag scan of
    # the whole campaign, no per-account times from every observation.
    with pytest.MonkeyPatch.context() as m:
        for module, name in ((flag_store, "live_flags"), (live, "live_flags"), (clock, "_account_times")):
            m.setattr(module, name, no_scan)
        shown, counting = _live(app, engine, campaign)
    # The page ran no refresh, wrote no rollup row, and shows the totals before the import ...
    assert refreshes == [] and _generation(engine) == generation and rollups.pending(engine) == [90]
    assert shown == fmt_number(before, "en") and _views(engine, campaign) == before
    assert counting == "1 new import is being counted; totals update in a moment"

    # ... until the importer's refresh lands: then the new totals, not the result cached before it
    # under the import's data version (the refresh moves the version: stamps.version).
    rollups.refresh(engine, campaign, [])
    shown, counting = _live(app, engine, campaign)
    assert shown == fmt_number(before + added, "en") and counting is None


def test_every_request_of_the_web_app_reads_as_it_stands_and_the_command_line_stays_exact(engine, campaign,
                                                                                          refreshes):
    app = create_app(engine)
    client = app.server.test_client()
    before = _views(engine, campaign)
    added = _late_import(engine, 91, datetime.now(timezone.utc))
    # A download through the app: the rollup as it stands, no refresh.
    daily = client.get("/download/daily.csv")
    assert daily.status_code == 200 and refreshes == [] and rollups.pending(engine) == [91]
    assert rollups.query(engine, campaign, by=[], sel=metrics.Selection(), refresh_if_stale=False)["views"].iloc[0] \
        == pytest.approx(before)
    # The command line (no web request around it): exact, brought current first.
    sel = F.view_selection(F.parse(""), campaign)
    assert rollups.query(engine, campaign, by=[], sel=sel)["views"].iloc[0] == pytest.approx(before + added)
    assert len(refreshes) == 1 and rollups.pending(engine) == []


def test_an_import_nobody_refreshed_within_the_grace_period_is_refreshed_by_one_page(engine, campaign, refreshes):
    before = _views(engine, campaign)
    added = _late_import(engine, 92, datetime.now(timezone.utc) - timedelta(seconds=rollups.GRACE_S + 5))
    # Another request (process, thread) holds the claim: this one serves the rollup as it stands.
    with database.claim(engine, wait=False) as mine:
        assert mine
        with rollups.as_it_stands():
            assert _views_read(engine, campaign) == pytest.approx(before)
        assert refreshes == []
    # Nobody holds it: the page brings the rollup current itself, once.
    with rollups.as_it_stands():
        assert _views_read(engine, campaign) == pytest.approx(before + added)
        assert _views_read(engine, campaign) == pytest.approx(before + added)
    assert len(refreshes) == 1 and rollups.pending(engine) == []


def test_the_grace_period_is_read_from_the_environment(engine, campaign, refreshes, monkeypatch):
    monkeypatch.setenv(rollups.GRACE_ENV, "3600")
    _late_import(engine, 93, datetime.now(timezone.utc) - timedelta(seconds=rollups.GRACE_S + 5))
    with rollups.as_it_stands():
        _views_read(engine, campaign)
    assert refreshes == [] and rollups.pending(engine) == [93]
    monkeypatch.setenv(rollups.GRACE_ENV, "30")
    with rollups.as_it_stands():
        _views_read(engine, campaign)
    assert len(refreshes) == 1 and rollups.pending(engine) == []


def test_rows_of_other_settings_are_never_served_even_while_an_import_waits(engine, campaign, refreshes):
    _late_import(engine, 94, datetime.now(timezone.utc))
    # Another timezone cuts other days: the stored rows are wrong for it, not just behind.
    other = config.from_dict({"campaign": {"name": "Plans", "start": date(2025, 3, 3), "end": date(2025, 3, 23),
                                           "timezone": "America/New_York"}})
    with rollups.as_it_stands():
        got = rollups.query(engine, other, by=["day"], sel=metrics.Selection())
    assert len(refreshes) == 1
    f = queries.frames.load_frames(engine)
    want = metrics.aggregate(metrics.increments(f.snapshots, f.post_days, other), f.posts, other, by=["day"])
    assert list(got["day"]) == list(want["day"])
    assert got["views"].tolist() == pytest.approx(want["views"].tolist())
    # A second page finds them computed (under the claim) and computes nothing.
    with rollups.as_it_stands():
        rollups.query(engine, other, by=["day"], sel=metrics.Selection())
    assert len(refreshes) == 1


def test_the_data_version_moves_when_a_refresh_lands(engine, campaign):
    _late_import(engine, 95, datetime.now(timezone.utc))
    pending = stamps.version(engine)
    rollups.refresh(engine, campaign, [])
    assert stamps.version(engine) != pending
    assert rollups.GENERATION_KEY == "rollup_generation"  # the key stamps._version reads


def _page_versions(engine) -> tuple[str, str]:
    with rollups.as_it_stands():
        return stamps.version(engine), stamps.exact_version(engine)


def test_a_page_keys_by_the_published_generation_until_the_refresh_has_stored_its_first_view(engine, campaign,
                                                                                             monkeypatch):
    # A file moves the data three times: its import commits, its refresh commits the rollup, the
    # refresh's first-view step stores Live's flags, the account times and the Weekly reports. A
    # page keys what it computes by the last *published* generation: one move per file, and in
    # between it serves what the last publication stored instead of scanning the campaign itself.
    from dashboard.analysis import week_store

    before, exact = _page_versions(engine)
    assert before == exact  # nothing on its way: the data now
    today = clock.today(engine, campaign.tz)
    report = week_store.report(engine, campaign, None, today, metrics.Selection())
    sel = F.view_selection(F.parse(""), campaign)
    flags = flag_store.shown(engine, campaign, sel, 8)
    assert report is not None and flags is not None and len(flags)

    _late_import(engine, 97, datetime.now(timezone.utc))
    shown, now = _page_versions(engine)
    assert shown == before and now != exact  # pages: as published; the stamps: the data now
    assert stamps.version(engine) == now  # the command line sees the import at once

    def no_scan(*a, **k):
        raise AssertionError("the page computed what the last publication stored")

    seen = {}
    real = rollups.store_first_view

    def first_view(eng, camp):
        if "version" in seen:  # the test's last refresh
            return real(eng, camp)
        # The refresh committed the new generation; its first view is not stored yet.
        assert rollups.pending(eng) == [] and _generation(eng) > generation
        seen["version"] = _page_versions(eng)
        with pytest.MonkeyPatch.context() as m, rollups.as_it_stands():
            for module, name in ((flag_store, "live_flags"), (live, "live_flags"), (clock, "_account_times")):
                m.setattr(module, name, no_scan)
            seen["flags"] = flag_store.shown(eng, camp, sel, 8)
            seen["report"] = week_store.report(eng, camp, None, today, metrics.Selection())
            seen["times"] = flag_store.account_times(eng)
            seen["shown"] = live.shown_flags(eng, camp, sel)
        real(eng, camp)
        seen["stored"] = _page_versions(eng)  # stored, not yet published
        # ... and the next file's import commits before the publication: the stored first view,
        # newer than the publication, is still served, not computed.
        _late_import(eng, 99, datetime.now(timezone.utc))
        with pytest.MonkeyPatch.context() as m, rollups.as_it_stands():
            for module, name in ((flag_store, "live_flags"), (live, "live_flags"), (clock, "_account_times")):
                m.setattr(module, name, no_scan)
            assert len(live.shown_flags(eng, camp, sel)) and flag_store.account_times(eng) is not None
            assert week_store.report(eng, camp, None, today, metrics.Selection()) is not None

    generation = _generation(engine)
    monkeypatch.setattr(rollups, "store_first_view", first_view)
    rollups.refresh(engine, campaign, [])
    assert seen["version"][0] == before and seen["stored"][0] == before
    pd.testing.assert_frame_equal(seen["flags"], flags)
    assert seen["report"] == report and seen["times"] is not None and len(seen["shown"])
    # Published: one move, to the generation the first view was stored for (import 99 still waits).
    after, exact_after = _page_versions(engine)
    assert after != before and exact_after == stamps.version(engine) != after
    rollups.refresh(engine, campaign, [])
    after, exact_after = _page_versions(engine)
    assert after == exact_after == stamps.version(engine)  # nothing on its way: the data now
    with rollups.as_it_stands():
        assert flag_store.shown(engine, campaign, sel, 8) is not None


def test_a_publication_that_does_not_come_stops_counting_after_the_grace_period(engine, campaign, monkeypatch):
    # The refresher died between the rollup's commit and its publication: pages wait for it
    # REACH_REFRESH_GRACE seconds at most, then key by the data now (and compute what is missing).
    before, _ = _page_versions(engine)
    _late_import(engine, 98, datetime.now(timezone.utc))
    monkeypatch.setattr(rollups, "publish", lambda *a, **k: None)
    rollups.refresh(engine, campaign, [])
    shown, now = _page_versions(engine)
    assert shown == before and now != before
    monkeypatch.setenv(rollups.GRACE_ENV, "0")
    shown, now = _page_versions(engine)
    assert shown == now != before


def test_publications_only_move_forward(engine, campaign):
    # Refreshes in several workers finish in any order: an older generation's late publication
    # does not take the pages back.
    with engine.connect() as c:
        g, published = rollups.generation(c), rollups._published(c)
    assert published is not None and published["generation"] == g
    rollups.publish(engine, g - 1, [0, 0, "None"])
    with engine.connect() as c:
        assert rollups._published(c) == published


def test_an_import_that_adds_an_account_moves_the_pages_version_at_its_publication_not_before(engine, campaign):
    # A new handle's file adds an account row at its import; pages key by the publication, so
    # that row must not move their version (and every panel's scoped one) until it is published.
    # An edit of an account the publication knew moves it at once.
    from dashboard.analysis import leaderboard

    names = queries.names.influencer_names(engine)
    name, other = [n for n in names if LATE_ACCOUNT not in leaderboard.accounts_of(engine, n)][:2]
    scope = leaderboard.accounts_of(engine, name)

    def versions(scope=scope):
        with rollups.as_it_stands(), stamps.one_version():
            return stamps.version(engine), stamps.scoped_version(engine, scope), stamps.exact_version(engine)

    before, scoped, exact = versions()
    _late_import(engine, 96, datetime.now(timezone.utc))  # an import waits for its refresh
    with database.write_transaction(engine) as c:
        c.execute(schema.accounts.insert().values(platform="x", account_key="newcomer", handle="newcomer"))
    shown, scoped_now, exact_now = versions()
    assert (shown, scoped_now) == (before, scoped) and exact_now != exact
    with database.write_transaction(engine) as c:  # a known account renamed: every page, at once
        c.execute(schema.accounts.update().where(schema.accounts.c.id == min(scope)).values(name="Renamed"))
    shown, scoped_now, _ = versions()
    assert shown != before and scoped_now != scoped
    rollups.refresh(engine, campaign, [])  # published: the newcomer is in
    with engine.connect() as c:
        assert rollups._published(c)["accounts"] == queries.versions.last_account(c)
    shown, scoped_after, exact_after = versions()
    assert shown == exact_after != before
    # Nothing of theirs changed in that refresh, and the newcomer is nobody's: their panel is kept.
    assert scoped_after == scoped_now
    # One of their accounts moved to another influencer: both panels are computed again.
    theirs = leaderboard.accounts_of(engine, other)
    other_scoped = versions(theirs)[1]
    with database.write_transaction(engine) as c:
        to = c.execute(sa.select(schema.accounts.c.influencer_id).where(schema.accounts.c.id == theirs[0])).scalar()
        c.execute(schema.accounts.update().where(schema.accounts.c.id == scope[0]).values(influencer_id=to))
    assert versions(scope)[1] != scoped_after
    assert versions(leaderboard.accounts_of(engine, other))[1] != other_scoped


def test_one_influencers_panel_is_kept_across_imports_of_other_accounts(engine, campaign, monkeypatch):
    # A file every few seconds, each of a few accounts, moves the data version each time; one
    # influencer's posts and flags (a scan of their series) depend on their accounts alone, and
    # are computed again only after a refresh that covered one of them.
    from dashboard.analysis import leaderboard
    from dashboard.web.pages import influencers

    names = queries.names.influencer_names(engine)
    late = next(n for n in names if LATE_ACCOUNT in leaderboard.accounts_of(engine, n))
    other = next(n for n in names if LATE_ACCOUNT not in leaderboard.accounts_of(engine, n))
    runs = []
    real = leaderboard.focus_data

    def counted(eng, camp, name):
        runs.append(name)
        return real(eng, camp, name)

    monkeypatch.setattr(leaderboard, "focus_data", counted)
    app = create_app(engine)

    def panel(name):
        with app.server.test_request_context("/"), rollups.as_it_stands(), stamps.one_version():
            return str(influencers.focus_panel(engine, campaign, F.parse(""), name))

    def served_views(name):  # the views of the posts the panel was drawn from (cached or not)
        with app.server.test_request_context("/"), rollups.as_it_stands(), stamps.one_version():
            posts, _ = shared.memo(engine, campaign, "influencers.focus_data", (name,), lambda: real(engine, campaign, name),
                                   scope=leaderboard.accounts_of(engine, name))
        return pd.to_numeric(posts["views"]).sum()

    first = {n: panel(n) for n in (late, other)}
    assert panel(late) == first[late] and sorted(runs) == sorted([late, other])  # the second views: cached
    views = served_views(late)
    version = _page_versions(engine)[0]
    for import_id in (70, 71):
        added = _late_import(engine, import_id, datetime.now(timezone.utc))
        rollups.refresh(engine, campaign, [])
        assert _page_versions(engine)[0] != version
        version = _page_versions(engine)[0]
        assert panel(other) == first[other]  # not recomputed: none of their accounts changed
        panel(late)  # computed anew: their posts gained views
        assert served_views(late) == views + added
        views += added
    assert runs.count(other) == 1 and runs.count(late) == 3
    # A roster change is everybody's: every panel is computed again.
    with database.write_transaction(engine) as c:
        c.execute(schema.influencers.update().where(schema.influencers.c.name == other).values(category="Renamed"))
    panel(other)
    assert runs.count(other) == 2


def test_a_kept_panel_is_of_its_influencer_view_and_language_and_follows_their_accounts(engine, campaign,
                                                                                        monkeypatch):
    from dashboard.analysis import leaderboard
    from dashboard.web.pages import influencers

    names = queries.names.influencer_names(engine)
    late = next(n for n in names if LATE_ACCOUNT in leaderboard.accounts_of(engine, n))
    other = next(n for n in names if LATE_ACCOUNT not in leaderboard.accounts_of(engine, n))
    built = []
    real = influencers.focus_panel
    monkeypatch.setattr(influencers, "focus_panel", lambda e, c, f, n, *a: built.append((n, f.lang)) or real(e, c, f, n, *a))
    app = create_app(engine)

    def panel(name, search=""):
        with app.server.test_request_context("/"), rollups.as_it_stands(), stamps.one_version():
            return str(influencers.kept_panel(engine, campaign, F.parse(search), name))

    first = {n: panel(n) for n in (late, other)}
    assert panel(late) == first[late] and panel(other) == first[other] and len(built) == 2
    zh = panel(other, "?lang=zh")
    assert zh != first[other] and built[-1] == (other, "zh")
    assert panel(other, "?metric=engagements") != first[other] and len(built) == 4
    _late_import(engine, 72, datetime.now(timezone.utc))
    rollups.refresh(engine, campaign, [])
    assert panel(other) == first[other] and len(built) == 4  # none of their accounts changed
    assert panel(late) != first[late] and built[-1] == (late, "en")  # their posts gained views


def test_the_last_change_of_some_accounts_is_read_from_the_kept_generations(engine, campaign):
    with engine.connect() as c:
        g = rollups.generation(c)
    rollups.refresh(engine, campaign, [])  # covers nothing: no import waits
    _late_import(engine, 72, datetime.now(timezone.utc))
    rollups.refresh(engine, campaign, [])
    with engine.connect() as c:
        now = rollups.generation(c)
        assert rollups.last_change(c, [LATE_ACCOUNT], now) == now
        assert rollups.last_change(c, [LATE_ACCOUNT], now - 1) == rollups.last_change(c, [LATE_ACCOUNT + 1], now) <= g
        first = rollups.last_change(c, [LATE_ACCOUNT + 1], now)
        record = queries.meta.value(c, f"{rollups.CHANGED_PREFIX}{first}")
        assert record == "all" or LATE_ACCOUNT + 1 in json.loads(record)["accounts"]
    with database.write_transaction(engine) as c:  # a record forgotten: cannot be said
        queries.meta.remove(c, f"{rollups.CHANGED_PREFIX}{now - 1}")
    with engine.connect() as c:
        assert rollups.last_change(c, [LATE_ACCOUNT + 1], now) is None
        assert rollups.last_change(c, [LATE_ACCOUNT], now) == now


def test_a_download_is_kept_for_its_data_version_and_a_big_one_streams_each_time(engine, campaign, monkeypatch):
    from dashboard.analysis import exports, leaderboard
    from dashboard.web import downloads

    calls = []
    for module, name in ((exports, "csv_export"), (leaderboard, "leaderboard_db")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    client = create_app(engine).server.test_client()
    posts = client.get("/download/posts.csv").data
    board = client.get("/download/influencers.csv").data
    assert client.get("/download/posts.csv").data == posts and client.get("/download/influencers.csv").data == board
    assert sorted(calls) == ["csv_export", "leaderboard_db"]  # each computed once for this data
    assert posts == b"".join(exports.csv_export(engine, "posts", campaign, F.view_selection(F.parse(""), campaign)))
    _late_import(engine, 73, datetime.now(timezone.utc))
    rollups.refresh(engine, campaign, [])
    calls.clear()
    after = client.get("/download/posts.csv").data
    assert after != posts and calls == ["csv_export"]  # new data: read again, with the new views
    assert client.get("/download/posts.csv").data == after and calls == ["csv_export"]
    monkeypatch.setattr(downloads, "KEEP_BYTES", 100)  # bigger than this: streamed, never kept
    _late_import(engine, 74, datetime.now(timezone.utc))
    rollups.refresh(engine, campaign, [])
    calls.clear()
    big = client.get("/download/posts.csv").data
    assert client.get("/download/posts.csv").data == big and calls == ["csv_export", "csv_export"]


def _waiting(engine) -> int:
    with rollups.as_it_stands():
        return rollups.waiting_to_show(engine)


def test_a_stream_publishes_at_most_every_so_often_and_what_waits_once_that_much_time_passed(engine, campaign,
                                                                                             monkeypatch):
    # reach watch's refreshes (streaming) publish to the pages at most every REACH_PUBLISH_EVERY
    # seconds: each publication empties the pages' cache. What is left waits for the next
    # refresh, or for the watcher's look at its inbox once that much time has passed.
    before = _page_versions(engine)[0]
    monkeypatch.setenv(rollups.PUBLISH_ENV, "3600")
    _late_import(engine, 75, datetime.now(timezone.utc))
    rollups.refresh(engine, campaign, [], streaming=True)
    assert rollups.pending(engine) == [] and _page_versions(engine)[0] == before  # counted, not published
    assert _waiting(engine) == 1
    _late_import(engine, 76, datetime.now(timezone.utc))
    assert _waiting(engine) == 2  # one refreshed, one pending
    rollups.refresh(engine, campaign, [], streaming=True)
    assert _page_versions(engine)[0] == before and not rollups.publish_due(engine, campaign)  # not yet
    with rollups.as_it_stands():  # the stored first view of the publication is still what pages read
        assert flag_store.account_times(engine) is not None
    assert rollups.publish_due(engine, campaign, every=0)
    shown, now = _page_versions(engine)
    assert shown == now != before and _waiting(engine) == 0
    assert not rollups.publish_due(engine, campaign, every=0)  # nothing left to publish
    monkeypatch.setenv(rollups.PUBLISH_ENV, "0")  # every refresh publishes
    _late_import(engine, 77, datetime.now(timezone.utc))
    rollups.refresh(engine, campaign, [], streaming=True)
    assert _page_versions(engine)[0] == stamps.version(engine) != shown
    # A one-off import (reach import, an upload) publishes at once whatever the setting.
    monkeypatch.setenv(rollups.PUBLISH_ENV, "3600")
    _late_import(engine, 78, datetime.now(timezone.utc))
    rollups.refresh(engine, campaign, [])
    assert _page_versions(engine)[0] == stamps.version(engine) and _waiting(engine) == 0
    monkeypatch.setenv(rollups.PUBLISH_ENV, "soon")
    assert rollups.publish_every_s() == rollups.PUBLISH_EVERY_S


def test_the_counting_line_says_how_many_imports_wait_in_both_languages():
    assert freshness.counting(0, "en") is None
    assert freshness.counting(1, "en").children == "1 new import is being counted; totals update in a moment"
    assert freshness.counting(2, "en").children == "2 new imports are being counted; totals update in a moment"
    assert freshness.counting(2, "zh").children == "2 个新导入正在计入，总数稍后更新"


def test_one_claim_at_a_time_across_threads_and_connections(db_url):
    engine = database.connect(db_url)
    with database.claim(engine, wait=False) as first:
        assert first
        seen = []
        t = threading.Thread(target=lambda: seen.append(_try_claim(engine)))
        t.start()
        t.join(10)
        assert seen == [False]
    assert _try_claim(engine)
    engine.dispose()


def _try_claim(engine) -> bool:
    with database.claim(engine, wait=False) as got:
        return got


def _views_read(engine, campaign) -> float:
    sel = F.view_selection(F.parse(""), campaign)
    return float(rollups.query(engine, campaign, by=[], sel=sel)["views"].iloc[0])


def test_the_stored_weekly_report_is_shown_as_it_stands_while_an_import_waits(engine, campaign):
    from dashboard.analysis import week_store

    today = clock.today(engine, campaign.tz)
    stored = week_store.report(engine, campaign, None, today, metrics.Selection())
    assert stored is not None
    _late_import(engine, 96, datetime.now(timezone.utc))
    assert week_store.report(engine, campaign, None, today, metrics.Selection()) is None  # exact: not of this data
    with rollups.as_it_stands():
        assert week_store.report(engine, campaign, None, today, metrics.Selection()) == stored
    rollups.refresh(engine, campaign, [])
    assert week_store.report(engine, campaign, None, today, metrics.Selection()) is not None


# --- gunicorn's threads (reach serve --workers N --threads T) ------------------------------------

def _gunicorn_argv(tmp_path, monkeypatch, db: str, **given) -> list[str]:
    import argparse
    import socket

    from dashboard.web import app as web_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    seen = []

    def execve(path, argv, env):
        seen.append(argv)

    monkeypatch.setattr(web_app.os, "execve", execve)
    args = argparse.Namespace(host="127.0.0.1", port=port, db=db, users=str(tmp_path / "users.toml"), archive=None,
                              **given)
    web_app.serve(args)
    return seen[0]


def test_serve_runs_gunicorn_with_threads_one_on_sqlite_unless_told(sqlite_url, tmp_path, monkeypatch):
    pytest.importorskip("gunicorn")
    argv = _gunicorn_argv(tmp_path, monkeypatch, sqlite_url, workers=2, threads=None)
    assert argv[argv.index("--workers") + 1] == "2" and argv[argv.index("--threads") + 1] == "1"
    argv = _gunicorn_argv(tmp_path, monkeypatch, sqlite_url, workers=2, threads=3)
    assert argv[argv.index("--threads") + 1] == "3"
    assert argv[argv.index("--keep-alive") + 1] == "0"  # no reuse race on a connection the server is closing


def test_threads_default_to_four_on_postgresql_and_need_workers(sqlite_url, tmp_path, monkeypatch):
    from collectors.errors import ReachError
    from dashboard.web import app as web_app

    assert web_app.default_threads(sa.create_engine("postgresql+psycopg://reach@127.0.0.1/none")) == 4
    assert web_app.default_threads(sa.create_engine(sqlite_url)) == 1
    for given in (dict(workers=None, threads=2), dict(workers=2, threads=0)):
        with pytest.raises(ReachError, match="--threads"):
            _gunicorn_argv(tmp_path, monkeypatch, sqlite_url, **given)
