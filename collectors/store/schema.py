"""The store's tables, and the numbered steps that made each version of them (``MIGRATIONS``).

SQLAlchemy 2 Core, so any SQLAlchemy URL works; SQLite (a file in WAL mode, so a watcher can write
while the dashboard reads) is the default and PostgreSQL is tested for real. All timestamps are
stored in UTC without a zone; days are calendar days as the export states them.

Observations live in three tables because their keys differ: ``post_snapshots`` (lifetime
totals of a post as of ``captured_at``), ``post_days`` (a post's values for one activity day)
and ``account_days`` (an account's values for one day). Missing metrics are NULL, never 0.
A database is brought to ``SCHEMA_VERSION`` by ``database.migrate`` when it is opened.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..model import FLOAT_METRICS, METRICS

SCHEMA_VERSION = 9

metadata = sa.MetaData()


def _metric_columns():
    return [sa.Column(m, sa.Float if m in FLOAT_METRICS else sa.BigInteger, nullable=True) for m in METRICS]


meta_table = sa.Table("reach_meta", metadata, sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text))

imports = sa.Table(
    "imports", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("imported_at", sa.DateTime, nullable=False),
    sa.Column("platform", sa.String(32)),
    sa.Column("reports", sa.Text),  # comma-separated report names (a ZIP can hold several)
    sa.Column("rows_read", sa.Integer, nullable=False, default=0),
    sa.Column("rows_stored", sa.Integer, nullable=False, default=0),
    sa.Column("rows_rejected", sa.Integer, nullable=False, default=0),
    sa.Column("rows_skipped", sa.Integer, nullable=False, default=0),
    sa.Column("captured_at", sa.DateTime),  # the snapshot time given to lifetime rows
    sa.Column("captured_at_source", sa.String(32)),  # file column | file name | import time | --as-of
    sa.Column("options", sa.Text),  # JSON: the options the file was imported with (for rebuild)
    # schema 5: how the rows arrived: "file" (reach import, the Data page, reach watch) or "api"
    # (reach collect); the freshness line shows each platform's sources apart.
    sa.Column("source", sa.String(16), nullable=False, server_default="file"),
)

# Added in schema version 2: the reasons rows were rejected, for the import history.
import_problems = sa.Table(
    "import_problems", metadata,
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("line", sa.Integer),
    sa.Column("column_name", sa.Text),
    sa.Column("value", sa.Text),
    sa.Column("expected", sa.Text),
)

influencers = sa.Table(
    "influencers", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("category", sa.Text),
)

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(32), nullable=False),
    sa.Column("account_key", sa.Text, nullable=False),  # platform id, else lower-case handle, else name
    sa.Column("account_id", sa.Text),
    sa.Column("handle", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("influencer_id", sa.Integer, sa.ForeignKey("influencers.id")),
    sa.Column("followers", sa.BigInteger),  # schema 3: the roster's follower count, if it gives one
    sa.UniqueConstraint("platform", "account_key"),
)

posts = sa.Table(
    "posts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(32), nullable=False),
    sa.Column("post_id", sa.Text, nullable=False),
    sa.Column("account_pk", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("published_at", sa.DateTime),
    sa.Column("url", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("post_type", sa.Text),
    sa.Column("first_import_id", sa.Integer, sa.ForeignKey("imports.id")),
    sa.UniqueConstraint("platform", "post_id"),
)

post_snapshots = sa.Table(
    "post_snapshots", metadata,
    sa.Column("post_pk", sa.Integer, sa.ForeignKey("posts.id"), primary_key=True),
    sa.Column("captured_at", sa.DateTime, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
    *_metric_columns(),
)

post_days = sa.Table(
    "post_days", metadata,
    sa.Column("post_pk", sa.Integer, sa.ForeignKey("posts.id"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
    *_metric_columns(),
)

account_days = sa.Table(
    "account_days", metadata,
    sa.Column("account_pk", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
    *_metric_columns(),
    sa.Column("followers", sa.BigInteger),  # schema 3: followers at the end of the day (a level)
)

import_failures = sa.Table(
    "import_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("failed_at", sa.DateTime, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    # schema 5: so the freshness line can show a platform's last error beside its last success.
    # platform is NULL when the file could not be read or detected.
    sa.Column("platform", sa.String(32)),
    sa.Column("source", sa.String(16), nullable=False, server_default="file"),
)

# Added in schema version 5: what an API collector must remember between runs (a paging cursor of
# an interrupted run, the time a platform's daily quota comes back). Never credentials.
collector_state = sa.Table(
    "collector_state", metadata,
    sa.Column("platform", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# Added in schema version 6: column mappings saved as profiles (collectors/mapping.py), keyed by
# the signature of the header they were made for, so a later file with that header imports
# without asking. The archive keeps the mapping each file was imported with, so a rebuild does
# not depend on this table.
mapping_profiles = sa.Table(
    "mapping_profiles", metadata,
    sa.Column("signature", sa.String(64), primary_key=True),
    sa.Column("report", sa.String(64), nullable=False),
    sa.Column("mapping", sa.Text, nullable=False),  # JSON: Mapping.to_dict()
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("file_name", sa.Text),  # the file it was first made for
)

# Added in schema version 4: daily activity per account, derived from the observations by the
# metrics engine (dashboard/analysis/rollups.py) and kept current after every import, so that a dashboard
# query reads a few thousand rows instead of recomputing millions. Derived data: it can always
# be rebuilt, and it is not exported.
daily_rollup = sa.Table(
    "daily_rollup", metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("account_pk", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True),
    *[sa.Column(m, sa.Float) for m in METRICS if m != "reach"],
    sa.Column("num_er_views", sa.Float),  # engagements of posts that report views
    sa.Column("num_er_impressions", sa.Float),
    sa.Column("num_virality_views", sa.Float),
    sa.Column("emv_basis", sa.Float),  # views, or impressions for posts without views
    sa.Column("posts_active", sa.Integer, nullable=False),
    sa.Column("interpolated", sa.Boolean, nullable=False),
    sa.Column("corrected", sa.Boolean, nullable=False),
    sa.Index("ix_daily_rollup_account_day", "account_pk", "day"),
)

# Added in schema version 8: what people write into the dashboard, not derived from the archive,
# so `reach rebuild` keeps these tables (KEPT_TABLES) while it drops and replays the rest.
# Annotations: events an editor adds on the Live page, drawn on the time charts beside
# campaign.toml's events (dashboard/analysis/annotations.py). The selection is JSON ({"platforms": [...],
# "influencers": [...], "categories": [...]}; empty: every view).
annotations = sa.Table(
    "annotations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),  # UTC
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("label_zh", sa.Text, nullable=False, server_default=""),
    sa.Column("selection", sa.Text, nullable=False, server_default="{}"),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
)

# Alert events: each firing of an [[alerts]] rule (dashboard/alerts.py), once per (rule, key): the
# key names the event (a post, a day, a week, a failure), so an event found again by a later
# evaluation is not stored, nor notified, twice. Kept by a rebuild for the same reason.
alert_events = sa.Table(
    "alert_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("key", sa.String(400), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("fired_at", sa.DateTime, nullable=False),  # UTC
    sa.Column("value", sa.Float),
    sa.Column("threshold", sa.Float),
    sa.Column("params", sa.Text, nullable=False),  # JSON: what the message says (subject, selection, link, ...)
    # pending (to send), sent, failed, cooldown (a notice of this rule went out less than its
    # cooldown ago), muted (the rule is muted), quiet (the rule names no channel)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("deliveries", sa.Text, nullable=False, server_default="[]"),  # JSON: one result per channel
    sa.Column("acknowledged_by", sa.String(200)),
    sa.Column("acknowledged_at", sa.DateTime),
    sa.UniqueConstraint("rule", "key", name="uq_alert_events_rule_key"),
    sa.Index("ix_alert_events_fired", "fired_at"),
)

KEPT_TABLES = ("annotations", "alert_events")

# Added in schema version 9: each post's latest lifetime snapshot (the post_snapshots row with the
# largest captured_at), a copy kept by the database itself (``LATEST_TRIGGERS``), so the posts
# export and the pages join posts to it on the key instead of probing post_snapshots once per post
# (issue 11: 4.2 s of PostgreSQL's CPU for 1 M posts; issue 15: "pages and exports read only
# rollups and the latest-snapshot table"). Derived data, like daily_rollup: `reach doctor`
# compares it with post_snapshots and `--repair` fills it again (``fill_post_latest``).
post_latest = sa.Table(
    "post_latest", metadata,
    sa.Column("post_pk", sa.Integer, sa.ForeignKey("posts.id"), primary_key=True),
    sa.Column("captured_at", sa.DateTime, nullable=False),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
    *_metric_columns(),
)

# --- migrations -------------------------------------------------------------------------------
# Each step takes a connection and brings the schema from version n-1 to n. Step 1 creates the
# version-1 tables from today's definitions, so a later step that adds a column to one of them
# checks for the column first (a new database already has it; an old one gets it).

V1_TABLES = ("reach_meta", "imports", "influencers", "accounts", "posts", "post_snapshots",
             "post_days", "account_days", "import_failures")


def _v1(conn):
    metadata.create_all(conn, tables=[metadata.tables[t] for t in V1_TABLES])


def _v2(conn):
    import_problems.create(conn)


def _v3(conn):
    # Step 1 creates tables from today's definitions, so a new database already has these
    # columns; a database made before schema 3 gets them here.
    for table in ("accounts", "account_days"):
        have = {c["name"] for c in sa.inspect(conn).get_columns(table)}
        if "followers" not in have:
            conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN followers BIGINT"))


def _v4(conn):
    daily_rollup.create(conn)


def _v5(conn):
    for table, columns in (("imports", ("source",)), ("import_failures", ("platform", "source"))):
        have = {c["name"] for c in sa.inspect(conn).get_columns(table)}
        for col in columns:
            if col not in have:
                ddl = "VARCHAR(32)" if col == "platform" else "VARCHAR(16) NOT NULL DEFAULT 'file'"
                conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {col} {ddl}"))
    collector_state.create(conn)


def _v6(conn):
    mapping_profiles.create(conn)


# Added in schema version 7: the posts export and the Posts page read posts in this order; with
# the index SQLite walks it instead of sorting every post in a temporary B-tree, so the export can
# stream its rows (issue 11). The latest snapshot of a post needs no index of its own: the primary
# key (post_pk, captured_at) answers max(captured_at) for one post.
posts_order = sa.Index("ix_posts_platform_published", posts.c.platform, posts.c.published_at, posts.c.post_id)


def _v7(conn):
    # Step 1 builds today's tables with their indexes, so a new database has it already.
    posts_order.create(conn, checkfirst=True)


def _v8(conn):
    # checkfirst: a rebuild drops every other table and migrates from 1 again; these stay.
    for name in KEPT_TABLES:
        metadata.tables[name].create(conn, checkfirst=True)


# Triggers on post_snapshots keep post_latest in the statement that writes a snapshot, whichever
# code writes it (an import, a rebuild's replay, a test's fixture, an older version of this program
# still running as a worker): in the same transaction, so a file imports whole or not at all with
# its latest snapshots. A written row (inserted, or merged by a later import of the same key: NEW
# is what post_snapshots keeps) replaces the post's latest unless that one is newer; an older
# snapshot imported after a newer one changes nothing. Deleting the latest row (or moving it to
# other keys) looks the post's latest up again, one backward step of the primary key.
_LATEST_COLUMNS = ("post_pk", "captured_at", "import_id", *METRICS)


def _latest_upsert(row: str) -> str:
    cols = ", ".join(_LATEST_COLUMNS)
    values = ", ".join(f"{row}.{c}" for c in _LATEST_COLUMNS)
    sets = ", ".join(f"{c} = excluded.{c}" for c in _LATEST_COLUMNS[1:])
    return (f"INSERT INTO post_latest ({cols}) VALUES ({values}) ON CONFLICT (post_pk) DO UPDATE SET {sets} "
            f"WHERE excluded.captured_at >= post_latest.captured_at")


def _latest_lookup(post_pk: str) -> str:
    cols = ", ".join(_LATEST_COLUMNS)
    return (f"DELETE FROM post_latest WHERE post_pk = {post_pk}; "
            f"INSERT INTO post_latest ({cols}) SELECT {cols} FROM post_snapshots WHERE post_pk = {post_pk} "
            f"ORDER BY captured_at DESC LIMIT 1")


LATEST_TRIGGER_NAMES = {"sqlite": ("post_latest_insert", "post_latest_delete", "post_latest_moved", "post_latest_update"),
                        "postgresql": ("post_latest_keep",)}


def latest_triggers(dialect: str) -> list[str]:
    """The DDL of the triggers that keep post_latest (SQLite or PostgreSQL)."""
    if dialect == "sqlite":
        was_latest = "OLD.captured_at = (SELECT captured_at FROM post_latest WHERE post_pk = OLD.post_pk)"
        return [
            f"CREATE TRIGGER post_latest_insert AFTER INSERT ON post_snapshots BEGIN {_latest_upsert('NEW')}; END",
            f"CREATE TRIGGER post_latest_delete AFTER DELETE ON post_snapshots WHEN {was_latest} "
            f"BEGIN {_latest_lookup('OLD.post_pk')}; END",
            # SQLite runs both on an update that moves a row; either order ends with the same row.
            f"CREATE TRIGGER post_latest_moved AFTER UPDATE OF post_pk, captured_at ON post_snapshots "
            f"WHEN (OLD.post_pk != NEW.post_pk OR OLD.captured_at != NEW.captured_at) AND {was_latest} "
            f"BEGIN {_latest_lookup('OLD.post_pk')}; END",
            f"CREATE TRIGGER post_latest_update AFTER UPDATE ON post_snapshots BEGIN {_latest_upsert('NEW')}; END",
        ]
    # PostgreSQL: a row trigger. psycopg runs an executemany as one statement per row, so a
    # statement trigger with transition tables would run as often and cost more per call.
    return [
        f"""CREATE OR REPLACE FUNCTION post_latest_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF TG_OP = 'DELETE' OR OLD.post_pk <> NEW.post_pk OR OLD.captured_at <> NEW.captured_at THEN
            IF EXISTS (SELECT 1 FROM post_latest WHERE post_pk = OLD.post_pk AND captured_at = OLD.captured_at) THEN
                {_latest_lookup('OLD.post_pk')};
            END IF;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        {_latest_upsert('NEW')};
    END IF;
    RETURN NULL;
END $$""",
        "CREATE TRIGGER post_latest_keep AFTER INSERT OR UPDATE OR DELETE ON post_snapshots "
        "FOR EACH ROW EXECUTE FUNCTION post_latest_keep()",
    ]


def fill_post_latest(conn) -> None:
    """post_latest made again from post_snapshots in one statement the database streams (the
    schema 9 step, `reach doctor --repair`): no row passes through Python."""
    cols = ", ".join(_LATEST_COLUMNS)
    conn.execute(post_latest.delete())
    if conn.dialect.name == "sqlite":
        # SQLite gives the bare columns of a max() query the values of the row holding the max:
        # one walk of the primary key (post_pk, captured_at), a group per post.
        pick = f"SELECT {cols.replace('captured_at', 'max(captured_at)')} FROM post_snapshots GROUP BY post_pk"
    else:
        pick = f"SELECT DISTINCT ON (post_pk) {cols} FROM post_snapshots ORDER BY post_pk, captured_at DESC"
    conn.exec_driver_sql(f"INSERT INTO post_latest ({cols}) {pick}")


def make_latest_triggers(conn) -> None:
    """The triggers that keep post_latest made (again) on post_snapshots."""
    for name in LATEST_TRIGGER_NAMES[conn.dialect.name]:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}" + (" ON post_snapshots" if conn.dialect.name == "postgresql" else ""))
    for ddl in latest_triggers(conn.dialect.name):
        conn.exec_driver_sql(ddl)


def make_post_latest(conn) -> None:
    """post_latest and its triggers made (again), its rows filled from post_snapshots: schema 9's
    step, and `reach doctor --repair` when they differ or a trigger is missing."""
    # checkfirst, and the triggers dropped first: a database whose recorded version was set back
    # (a restored reach_meta, a test of an older step) may have them; the fill makes the rows anew.
    post_latest.create(conn, checkfirst=True)
    make_latest_triggers(conn)
    fill_post_latest(conn)
    if conn.dialect.name == "postgresql":
        # Statistics now, not when autovacuum comes by: without them the first exports after an
        # upgrade would be planned for an empty table.
        conn.exec_driver_sql("ANALYZE post_latest")


def _v9(conn):
    make_post_latest(conn)


# PostgreSQL only, and not (yet) a numbered step: post_snapshots and post_days partitioned by month
# (collectors/store/partitions.py says why and how months are made), when an operator asks for it
# with `reach doctor --partition-by-month`. Measured at 10 M and 30 M snapshot rows (docs/scaling.md),
# partitions cost the readers that look a post up by its key (the refresh 2.6x, the Live page's reach
# reads 2x, the whole export 1.35x of the server's CPU): every month is searched. Until those reads
# are bounded by time, a store is better unpartitioned, so no database is converted unasked.
# The tables' definitions above stay plain; post_latest needs nothing: its rows do not change, only
# its triggers, which go with the old table and are made on the new one (a PostgreSQL row trigger on
# a partitioned table is cloned onto every partition, present and future).
def partition_by_month(conn) -> bool:
    """Convert post_snapshots and post_days to monthly partitions in the caller's transaction;
    False on SQLite, which has none (one file: its B-trees do not slow with the months)."""
    if conn.dialect.name != "postgresql":
        return False
    from . import partitions

    partitions.convert(conn)
    make_latest_triggers(conn)
    return True


MIGRATIONS = {1: _v1, 2: _v2, 3: _v3, 4: _v4, 5: _v5, 6: _v6, 7: _v7, 8: _v8, 9: _v9}


def schema_version(conn) -> int:
    if not sa.inspect(conn).has_table("reach_meta"):
        return 0
    v = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar()
    return int(v or 0)
