"""`reach doctor`: the database against the archive, the rollups against the engine.

What a crash, a lost file or an older version of this program can leave behind, and what
`reach doctor --repair` does about it:

- an import whose archived bytes are missing or damaged: `reach rebuild` would lose it. Not
  repairable here (the bytes are gone); the line says which file to keep safe.
- an import the manifest lacks (a kill between the commit and the manifest line, or an older
  version): the line is written back from the database, in commit order.
- manifest lines out of commit order (two processes appending in the other order): put in order,
  since `reach rebuild` replays in manifest order and a later import overwrites an earlier one.
- an archived file in the manifest that the database lacks (a database restored from an older
  backup, a rebuild cut short): imported from the archive with its original options and time.
- post_latest (each post's latest snapshot, schema 9) not a copy of post_snapshots' latest rows,
  or a trigger that keeps it missing (a database edited by hand, restored without its triggers):
  the triggers made again and the table filled anew from post_snapshots.
- PostgreSQL: rows in a DEFAULT partition of post_snapshots or post_days (a month without its
  partition, written by something other than this version's importer), or a partition missing for
  the current month or the ones ahead (`reach doctor --partition-by-month`): the months made and the rows moved into them.
- rollups not current, or stored rows that differ from what the metrics engine computes now:
  recomputed in full.

Each check prints one line: ``ok``, ``problem`` (with what to do) or ``fixed``.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Callable

import sqlalchemy as sa

from collectors.archive import Archive
from collectors.mapping import Mapping
from collectors.model import DEFAULT_TIMEZONE
from collectors.pipeline import Importer, imported_entries, reconcile_manifest
from collectors.store import database, partitions, schema

from .analysis import queries, rollups
from .analysis.config import Campaign


SHOWN = 10  # problem lines of one kind printed in full; the rest are counted


def run(engine: sa.Engine, archive: Archive, campaign: Campaign, *, repair: bool = False,
        partition: bool = False, out: Callable[[str], None] = print) -> int:
    """Check (and with ``repair`` fix) everything above; returns the problems left unfixed.
    ``partition`` first converts PostgreSQL's observation tables to monthly partitions (opt-in:
    schema.partition_by_month says why it is not a migration step)."""
    left = 0
    if partition:
        left += _partition_by_month(engine, out)
    left += _archive_checks(engine, archive, repair, out)
    left += _latest_checks(engine, repair, out)
    left += _partition_checks(engine, repair, out)
    left += _rollup_checks(engine, campaign, repair, out)
    out(("no problems found" if not repair else "nothing left to repair") if not left
        else f"{left} problem{'s' if left != 1 else ''} left" + ("" if repair else "; `reach doctor --repair` fixes what it can"))
    return left


def _say(out, kind: str, text: str) -> None:
    out(f"{kind:<8}{text}")


def _archive_checks(engine, archive: Archive, repair: bool, out) -> int:
    left = 0
    db = imported_entries(engine)
    in_db = {e.sha256 for e in db}
    # 1. every import has its bytes (the manifest is only as good as the bytes it points to)
    lost = []
    for e in db:
        try:
            archive.read(e.sha256)
        except OSError as err:
            lost.append((e, "missing" if isinstance(err, FileNotFoundError) else "damaged"))
    for e, how in lost[:SHOWN]:
        _say(out, "problem", f"{e.name} (sha256 {e.sha256[:12]}): its archived copy is {how} in {archive.root}; "
                             f"`reach rebuild` would lose it: keep the database, or put the original file back at "
                             f"{archive.path(e.sha256)}")
    if len(lost) > SHOWN:
        _say(out, "problem", f"… and {len(lost) - SHOWN} more imports whose archived copy is missing or damaged")
    left += len(lost)
    if not lost:
        _say(out, "ok", f"{len(db)} imports, each with its archived bytes")
    # 2. every import has its manifest line, in commit order
    lines = [e for e in archive.entries() if e.options.get("kind") != "roster"]
    in_manifest = {e.sha256 for e in lines}
    lacking = [e for e in db if e.sha256 not in in_manifest and archive.path(e.sha256).exists()]
    ranks = {e.sha256: i for i, e in enumerate(db)}
    order = [ranks[e.sha256] for e in lines if e.sha256 in ranks]
    disordered = order != sorted(order)
    if lacking or disordered:
        what = []
        if lacking:
            what.append(f"{len(lacking)} import{'s' if len(lacking) != 1 else ''} missing from the manifest "
                        f"({', '.join(e.name for e in lacking[:3])}{'…' if len(lacking) > 3 else ''}): "
                        f"`reach rebuild` would drop them")
        if disordered:
            what.append("manifest lines out of commit order: `reach rebuild` would replay them in another order")
        if repair:
            reconcile_manifest(engine, archive)
            _say(out, "fixed", "; ".join(what) + ": written back from the database")
        else:
            _say(out, "problem", "; ".join(what))
            left += 1
    else:
        _say(out, "ok", f"the manifest lists every import, in commit order ({archive.manifest})")
    # 3. every archived file in the manifest is in the database
    extra = [e for e in lines if e.sha256 not in in_db]
    replayed = left_here = 0
    for e in extra:
        if not archive.path(e.sha256).exists():
            _say(out, "problem", f"{e.name} (sha256 {e.sha256[:12]}) is in the manifest but neither in the database "
                                 f"nor in the archive: its bytes are lost")
            left += 1
            continue
        if not repair:
            if left_here < SHOWN:
                _say(out, "problem", f"{e.name} (sha256 {e.sha256[:12]}) is archived but not in the database")
            left += 1
            left_here += 1
            continue
        r = _replay(engine, archive, e)
        if r.status == "failed":
            _say(out, "problem", f"{e.name} is archived but not in the database, and importing it failed: {r.message}")
            left += 1
        else:
            replayed += 1
            _say(out, "fixed", f"{e.name}: archived but not in the database; imported from the archive")
    if left_here > SHOWN:
        _say(out, "problem", f"… and {left_here - SHOWN} more archived files not in the database")
    if replayed:
        reconcile_manifest(engine, archive)  # its line now goes where the database committed it
    if not extra:
        _say(out, "ok", "every archived file in the manifest is in the database")
    return left


def _replay(engine, archive: Archive, e):
    """As `reach rebuild` imports an entry: its options, its mappings, its original time."""
    opts = e.options
    imp = Importer(engine, None, tz=opts.get("tz", DEFAULT_TIMEZONE),
                   as_of=datetime.fromisoformat(opts["as_of"]) if opts.get("as_of") else None,
                   account=opts.get("account"), source=opts.get("source", "file"), date_order=opts.get("date_order"),
                   replay=[Mapping.from_dict(d, "the mapping archived with the file") for d in opts.get("mappings", [])])
    return imp.import_bytes(e.name, archive.read(e.sha256), imported_at=datetime.fromisoformat(e.imported_at),
                            record=False)


def _latest_checks(engine, repair: bool, out) -> int:
    with engine.connect() as conn:
        differ, missing = queries.latest_store.differing(conn), queries.latest_store.triggers_missing(conn)
    if not differ and not missing:
        _say(out, "ok", "post_latest holds each post's latest snapshot")
        return 0
    problems = []
    if differ:
        problems.append(f"post_latest differs from the latest snapshot of {differ} post{'s' if differ != 1 else ''}")
    if missing:
        problems.append(f"the trigger{'s' if len(missing) != 1 else ''} keeping it missing ({', '.join(missing)})")
    if not repair:
        _say(out, "problem", "; ".join(problems) + " (the posts export and pages read it; --repair makes it anew)")
        return 1
    with database.write_transaction(engine) as conn:
        queries.latest_store.make_anew(conn)
    with engine.connect() as conn:
        differ = queries.latest_store.differing(conn)
    if differ:  # pragma: no cover - the fill is the derivation itself
        _say(out, "problem", "; ".join(problems) + f"; made anew, still {differ} posts differ")
        return 1
    _say(out, "fixed", "; ".join(problems) + ": made anew from post_snapshots")
    return 0


def _partition_by_month(engine, out) -> int:
    if engine.dialect.name != "postgresql":
        _say(out, "problem", "--partition-by-month is for PostgreSQL: SQLite has no partitions (nothing changed)")
        return 1
    with database.write_transaction(engine) as conn:
        already = all(partitions.is_partitioned(conn, t) for t in partitions.PARTITIONED)
        if not already:
            schema.partition_by_month(conn)
    _say(out, "ok" if already else "fixed", "post_snapshots and post_days are partitioned by month"
         + (" already" if already else ": every row moved into its month"))
    return 0


def _partition_checks(engine, repair: bool, out) -> int:
    """PostgreSQL's monthly partitions (`reach doctor --partition-by-month`); no line on SQLite, which has none."""
    if engine.dialect.name != "postgresql":
        return 0
    want = partitions.ahead()
    with engine.connect() as conn:
        stray = {t: partitions.default_rows(conn, t) for t in partitions.PARTITIONED if partitions.is_partitioned(conn, t)}
        lacking = sorted({m for t in stray for m in want - partitions.months(conn, t)})
    problems = []
    for table, per_month in stray.items():
        if per_month:
            n = sum(per_month.values())
            problems.append(f"{n} row{'s' if n != 1 else ''} of {table} in its DEFAULT partition (months "
                            + ", ".join(m.strftime("%Y-%m") for m in sorted(per_month)) + ")")
    if lacking:
        problems.append("no partition yet for " + ", ".join(m.strftime("%Y-%m") for m in lacking))
    if not problems:
        _say(out, "ok", "every month has its partition and the DEFAULT partitions are empty")
        return 0
    if not repair:
        _say(out, "problem", "; ".join(problems) + " (a month cannot be made while DEFAULT holds its rows; "
             "--repair makes the months and moves the rows)")
        return 1
    with database.write_transaction(engine) as conn:
        made = partitions.ensure_months(conn, want)
    _say(out, "fixed", "; ".join(problems) + f": made {', '.join(made) or 'nothing'}, DEFAULT rows moved")
    return 0


def _rollup_checks(engine, campaign: Campaign, repair: bool, out) -> int:
    fp = rollups.fingerprint(campaign)
    with engine.connect() as conn:
        state = rollups._state(conn)
        waiting = rollups._pending(conn)
    problems = []
    if state is None:
        problems.append("the daily rollups were never computed, or were marked stale")
    elif state != fp:
        problems.append("the daily rollups were computed with other campaign settings")
    if waiting:
        problems.append(f"{len(waiting)} import{'s' if len(waiting) != 1 else ''} not yet counted in the daily rollups "
                        f"(a refresh was cut short)")
    if not problems:
        diff = compare(engine, campaign)
        if diff:
            problems.append(diff)
    if not problems:
        _say(out, "ok", "the daily rollups equal the metrics engine")
        return 0
    if repair:
        rollups.refresh(engine, campaign, None)
        diff = compare(engine, campaign)
        if diff:
            _say(out, "problem", "; ".join(problems) + f"; after a full refresh still: {diff}")
            return 1
        _say(out, "fixed", "; ".join(problems) + ": recomputed in full")
        return 0
    _say(out, "problem", "; ".join(problems) + " (pages recompute them on the next view; --repair does it now)")
    return 1


def compare(engine: sa.Engine, campaign: Campaign) -> str | None:
    """None when the stored rollup rows equal what the engine computes now; else what differs."""
    want = {(str(r["day"]), r["account_pk"]): r for r in rollups.records(rollups._compute(engine, campaign, None))}
    with engine.connect() as conn:
        rows = queries.rollup_store.stored_rows(conn)
    have = {(str(x["day"]), x["account_pk"]): x for x in rows}
    bad = sorted(k for k in set(want) | set(have)
                 if k not in want or k not in have or not _same(want[k], have[k]))
    if not bad:
        return None
    day, pk = bad[0]
    return (f"the stored daily rollups differ from the metrics engine on {len(bad)} account-day"
            f"{'s' if len(bad) != 1 else ''} (first: account {pk} on {day})")


def _same(a, b) -> bool:
    for c in rollups.SUMMED + ["posts_active"]:
        x, y = a.get(c), b.get(c)
        if x is None or y is None:
            if (x is None) != (y is None):
                return False
            continue
        if not math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-6):
            return False
    return bool(a.get("interpolated")) == bool(b.get("interpolated")) and \
        bool(a.get("corrected")) == bool(b.get("corrected"))
