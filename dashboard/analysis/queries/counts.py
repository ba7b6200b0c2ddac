"""What the store holds, counted: per platform for the Data page's overview and `reach status`."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from collectors.model import PLATFORM_LABELS
from collectors.store import schema


def overview(engine: sa.Engine) -> pd.DataFrame:
    """Per platform: accounts, influencers, posts (platforms with no data are left out)."""
    a, p = schema.accounts, schema.posts
    q = (sa.select(a.c.platform,
                   sa.func.count(sa.distinct(a.c.id)).label("accounts"),
                   sa.func.count(sa.distinct(a.c.influencer_id)).label("influencers"))
         .group_by(a.c.platform))
    qp = sa.select(p.c.platform, sa.func.count().label("posts")).group_by(p.c.platform)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).all(), columns=["platform", "accounts", "influencers"])
        posts = pd.DataFrame(conn.execute(qp).all(), columns=["platform", "posts"])
    df = df.merge(posts, on="platform", how="left").fillna({"posts": 0})
    df["posts"] = df["posts"].astype(int)
    df["label"] = df["platform"].map(PLATFORM_LABELS).fillna(df["platform"])
    return df.sort_values("posts", ascending=False, kind="stable").reset_index(drop=True)


def status(engine: sa.Engine) -> tuple[list, int, object]:
    """What `reach status` prints: per platform the accounts, posts, snapshots, post-days and
    account-days stored; how many files were imported and the last import's time (UTC)."""
    q = sa.text("""
        SELECT a.platform,
               COUNT(DISTINCT a.id) AS accounts,
               (SELECT COUNT(*) FROM posts p WHERE p.platform = a.platform) AS posts,
               (SELECT COUNT(*) FROM post_snapshots s JOIN posts p ON p.id = s.post_pk WHERE p.platform = a.platform) AS snapshots,
               (SELECT COUNT(*) FROM post_days d JOIN posts p ON p.id = d.post_pk WHERE p.platform = a.platform) AS post_days,
               (SELECT COUNT(*) FROM account_days d JOIN accounts b ON b.id = d.account_pk WHERE b.platform = a.platform) AS account_days
        FROM accounts a GROUP BY a.platform ORDER BY a.platform""")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(q)]
        n_imports = conn.execute(sa.select(sa.func.count()).select_from(schema.imports)).scalar()
        last = conn.execute(sa.select(sa.func.max(schema.imports.c.imported_at))).scalar()
    return rows, n_imports, last

