"""The rows an import keeps about itself, and the program's own bookkeeping beside the
observations: the import record and its options, failed attempts, the ``rollup_pending`` marks
the rollup refresh reads, the demo's clock, what an API collector remembers, saved column mappings.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pandas as pd
import sqlalchemy as sa

from .database import write_transaction
from .schema import collector_state, import_failures, imports, mapping_profiles, meta_table


# reach_meta keys "rollup_pending:<import id>": imports whose rows no finished rollup refresh has
# counted yet (written with the import, deleted by the refresh that covers it). The value says
# from when the import may have changed the rollups: "after:<naive UTC ISO time>", "none" (no post
# rows: the rollups, made of posts, did not change), "" (unknown: every day; what versions before
# the incremental refresh wrote).
ROLLUP_PENDING = "rollup_pending:"


def pending_value(since, accounts=None) -> str:
    """The mark's value; with ``accounts``, also the accounts whose observations the import
    wrote (" accounts:3,17"), so the refresh need not look for them in every observation."""
    base = "" if since is UNKNOWN else ("none" if since is None else f"after:{since.isoformat()}")
    return base if accounts is None else f"{base} accounts:{','.join(str(a) for a in sorted(accounts))}"


def pending_since(value: str | None):
    """``pending_value`` read back: a naive UTC Timestamp, None ("none") or UNKNOWN."""
    value = (value or "").split(" accounts:", 1)[0]
    if value.startswith("after:"):
        return pd.Timestamp(value[len("after:"):])
    return None if value == "none" else UNKNOWN


def pending_accounts(value: str | None) -> list[int] | None:
    """The accounts a mark names; None when it names none (written by a version before them)."""
    if not value or " accounts:" not in value:
        return None
    text = value.split(" accounts:", 1)[1]
    return [int(a) for a in text.split(",")] if text else []


# "Since when might this import have changed the rollups": the earliest instant (naive UTC) of any
# increment of the posts it touched, old or new (dashboard/analysis/rollups.py recomputes only the days
# from there). UNKNOWN: a touched post's increments may start anywhere (no publish time stored).
UNKNOWN = "unknown"


def _earlier(a, b):
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    if b is None or (isinstance(b, float) and b != b) or b is pd.NaT:
        return a
    b = pd.Timestamp(b)
    if b.tzinfo is not None:
        b = b.tz_convert("UTC").tz_localize(None)
    return b if a is None or b < a else a


def find_import(conn, sha256: str):
    return conn.execute(sa.select(imports).where(imports.c.sha256 == sha256)).mappings().first()


def record_failure(engine: sa.Engine, sha256: str, file_name: str, error: str, *,
                   platform: str | None = None, source: str = "file") -> None:
    with write_transaction(engine) as conn:
        conn.execute(import_failures.insert().values(
            sha256=sha256, file_name=file_name, failed_at=datetime.now(timezone.utc).replace(tzinfo=None),
            error=error[:4000], platform=platform, source=source,
        ))


DEMO_CLOCK = "demo_clock"  # reach_meta: the demo's own "now" (UTC ISO time); absent for real data


def demo_clock(engine: sa.Engine) -> datetime | None:
    """The instant a demo database is "as of" (its last simulated export), which freshness and
    "today" are measured against instead of the wall clock; None for real data. `reach demo` and
    `reach demo --live` set it; any other import clears it (``clear_demo_clock``)."""
    with engine.connect() as conn:
        value = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == DEMO_CLOCK)).scalar()
    return datetime.fromisoformat(value) if value else None


def set_demo_clock(engine: sa.Engine, when: datetime) -> None:
    """Move the demo's clock to ``when`` (aware), never back: a second `reach demo` or a live drop
    of an earlier simulated moment leaves the later clock."""
    when = when.astimezone(timezone.utc)
    old = demo_clock(engine)
    if old is not None and old >= when:
        return
    with write_transaction(engine) as conn:
        conn.execute(meta_table.delete().where(meta_table.c.key == DEMO_CLOCK))
        conn.execute(meta_table.insert().values(key=DEMO_CLOCK, value=when.isoformat()))


def clear_demo_clock(conn) -> None:
    """Real data keeps real time: an import that is not the demo's ends the demo's clock."""
    conn.execute(meta_table.delete().where(meta_table.c.key == DEMO_CLOCK))


def get_state(engine: sa.Engine, platform: str, key: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(collector_state.c.value).where(
            collector_state.c.platform == platform, collector_state.c.key == key)).scalar()


def set_state(engine: sa.Engine, platform: str, key: str, value: str | None) -> None:
    """Set (or, with None, clear) one remembered value of a collector."""
    with engine.begin() as conn:
        conn.execute(collector_state.delete().where(
            collector_state.c.platform == platform, collector_state.c.key == key))
        if value is not None:
            conn.execute(collector_state.insert().values(
                platform=platform, key=key, value=value, updated_at=datetime.now(timezone.utc).replace(tzinfo=None)))


def options_json(**options) -> str:
    return json.dumps({k: v for k, v in options.items() if v is not None}, sort_keys=True, default=str)


# --- mapping profiles -------------------------------------------------------------------------

def load_profiles(engine: sa.Engine) -> list[dict]:
    """Every saved mapping (Mapping.to_dict() plus its file name and time), newest first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(mapping_profiles).order_by(mapping_profiles.c.created_at.desc())).mappings().all()
    out = []
    for r in rows:
        d = json.loads(r["mapping"])
        d.update(file_name=r["file_name"], created_at=r["created_at"])
        out.append(d)
    return out


def save_profile(engine: sa.Engine, mapping: dict, file_name: str | None = None) -> None:
    """Save (or replace) the profile for the mapping's header signature."""
    with write_transaction(engine) as conn:
        conn.execute(mapping_profiles.delete().where(mapping_profiles.c.signature == mapping["signature"]))
        conn.execute(mapping_profiles.insert().values(
            signature=mapping["signature"], report=mapping["report"], mapping=json.dumps(mapping, ensure_ascii=False),
            created_at=datetime.now(timezone.utc).replace(tzinfo=None), file_name=file_name))


def remove_profile(engine: sa.Engine, signature: str) -> int:
    """Remove the profiles whose signature starts with ``signature``; how many went."""
    with write_transaction(engine) as conn:
        return conn.execute(mapping_profiles.delete().where(
            mapping_profiles.c.signature.like(signature.replace("%", "").replace("_", "") + "%"))).rowcount
