"""Celery tasks: the background work of a distributed deployment, done by any number of workers.

With ``REACH_REDIS`` set (dashboard/deployment.py), `reach worker` runs a Celery worker of this
app and `reach beat` sends it the schedules; without it, none of this runs and `reach worker` is
the loop it always was. Every task is safe to run twice, because a task may run twice: it is
acknowledged only when it has finished (``task_acks_late``), and a worker killed in the middle
(SIGKILL, a lost machine) leaves it to be delivered again (``task_reject_on_worker_lost``; Redis
redelivers an unacknowledged task after ``visibility_timeout``, RabbitMQ when the worker's
connection drops). What makes a second run harmless is the database, not the queue:

- ``reach.ingest`` (a file by path, or by sha256 from the archive): a file is imported whole or
  not at all, and bytes already imported (their sha256 in the imports ledger) change nothing;
  the rollup refresh after it finishes whatever a killed run left pending.
- ``reach.collect`` (one platform, one batch of accounts): each page is stored, then the cursor
  of the next one; a second run resumes at the saved cursor.
- ``reach.refresh``: the rollups of imports whose refresh was cut short.
- ``reach.alerts``: the rules' events are stored once per rule and key (dashboard/alerts.py).
- ``reach.reports``: a report's slot is claimed once in ``alert_events``; a second worker finds
  it claimed and sends nothing.

Settings an operator may change (the visibility timeout, a key prefix, concurrency) go in a Python
module named by ``REACH_CELERY_CONFIG`` (Celery's own setting names; docs/workers.md).
"""
from __future__ import annotations

import logging
import os
import types
from datetime import datetime, timezone
from pathlib import Path

from celery import Celery
from celery.schedules import schedule

from collectors.archive import Archive
from collectors.errors import ReachError
from collectors.store import database

from . import deployment

log = logging.getLogger(__name__)

# Redis redelivers a task that no worker acknowledged after this long. It must be longer than any
# task runs, or a slow task would run twice at once (harmless here, but wasted): the hard time
# limit below stops a task well before it. Shorter means a killed worker's task waits less.
VISIBILITY_TIMEOUT_S = 3600
SOFT_TIME_LIMIT_S = 45 * 60  # the task is told to stop (SoftTimeLimitExceeded: its transaction rolls back)
TIME_LIMIT_S = 50 * 60  # the pool process is killed
QUEUE = "reach"
ROUND_S = 60.0  # beat: alerts and due reports every minute
REFRESH_S = 300.0  # beat: finish rollup refreshes a killed task left pending

app = Celery("reach", set_as_current=False)


@app.on_configure.connect
def _configure(sender, **_):
    """Broker and results from the environment, when the app is first used (not at import: the
    web layer imports this module to send tasks, and one machine has no broker)."""
    dep = deployment.current()
    transport = {"visibility_timeout": VISIBILITY_TIMEOUT_S}
    settings = dict(
        broker_url=dep.broker, result_backend=dep.redis,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_default_queue=QUEUE, result_expires=24 * 3600, timezone="UTC", enable_utc=True,
        task_soft_time_limit=SOFT_TIME_LIMIT_S, task_time_limit=TIME_LIMIT_S,
        broker_transport_options=transport, result_backend_transport_options=dict(transport),
        broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # "started" in the result backend once a worker takes a task: the Data page tells a file
        # that waits for a worker (none running?) from one being imported (dispatch.taken).
        task_track_started=True,
    )
    module = deployment.celery_config()
    for k, v in (vars(_import(module)).items() if module else ()):
        if k.startswith("_") or not k.islower() or isinstance(v, types.ModuleType):
            continue
        # An operator's transport options add to ours rather than drop the visibility timeout.
        settings[k] = {**settings[k], **v} if isinstance(v, dict) and isinstance(settings.get(k), dict) else v
    prefix = settings.get("reach_key_prefix")
    if prefix:  # several deployments in one Redis: every key of this one starts so
        for option in ("broker_transport_options", "result_backend_transport_options"):
            settings[option] = {**settings[option], "global_keyprefix": prefix}
    sender.conf.update(settings)


def _import(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ReachError(f"{deployment.CELERY_CONFIG_ENV}={module!r} cannot be imported ({e}): name a Python "
                         "module on the path, such as reach_celery for reach_celery.py") from None


def key_prefix() -> str:
    """What this deployment's own Redis keys start with (the rate limits' among them)."""
    return app.conf.get("reach_key_prefix") or ""


# --- what a task opens: one engine per process (a pool process is a fork; an engine is not shared)

_opened: dict = {}


def _engine():
    pid = os.getpid()
    if _opened.get("pid") != pid:
        _opened.clear()
        _opened.update(pid=pid, engine=database.connect(None))  # REACH_DB, as `reach worker` set it
    return _opened["engine"]


def _archive(engine) -> Archive:
    return Archive(database.archive_dir(engine, None))  # REACH_ARCHIVE, or beside a SQLite database


def _campaign():
    from .analysis import config

    return config.load(None)  # REACH_CONFIG, read per task: campaign.toml may change while workers run


# --- the tasks --------------------------------------------------------------------------------

@app.task(name="reach.ingest")
def ingest(path: str | None = None, sha256: str | None = None, name: str | None = None,
           account: str | None = None, date_order: str | None = None, tz: str | None = None,
           display: str | None = None, mapping: dict | None = None, streaming: bool = False) -> dict:
    """Import one file (``path``, readable by the worker; or ``sha256``, its bytes already in the
    archive, as an upload on any web host or `reach watch` put them), then refresh the rollups it
    touched. ``account``, ``date_order`` and ``tz`` are `reach import`'s options of those names
    (the Data page's Account field; `reach watch --account`); ``tz`` defaults to the campaign's.
    ``display`` is the name the result shows (a watched file's path inside the inbox), ``name``
    the file's own (the pipeline reads dates and handles from it). ``mapping`` (``Mapping.to_dict``)
    is the Data page's "Import with this mapping" form: the file read that way, and the mapping saved
    as a profile once it imports, as `reach import --mapping` does. ``streaming``: a file of
    `reach watch`'s stream, whose refresh publishes to the pages at most every REACH_PUBLISH_EVERY
    seconds (the watcher publishes the rest between its looks). The result carries the whole FileResult (``result``), so the sender shows the same words as
    an import in its own process would."""
    from collectors.pipeline import Importer

    from . import ingest as service

    engine = _engine()
    archive = _archive(engine)
    if (path is None) == (sha256 is None):
        raise ReachError("reach.ingest takes a path or an archived sha256, one of them")
    if path is not None:
        data = Path(path).read_bytes()
        name = name or Path(path).name
    else:
        name = name or sha256
        try:
            data = archive.read(sha256)
        except OSError as e:  # words for the sender, not a traceback in the result backend
            from collectors.pipeline import FileResult

            r = FileResult(display or name, "failed", message=f"{display or name}: the worker cannot read the file from the archive "
                                                   f"{archive.root} ({e.strerror or e}): every host must see the same "
                                                   f"archive folder (REACH_ARCHIVE, docs/workers.md)")
            return dict(file=name, status=r.status, import_id=None, snapshots=0, message=r.message,
                        rollups="current", stale=False, result=r.to_dict())
    campaign = _campaign()
    used = None
    if mapping is not None:
        from collectors.mapping import Mapping
        from collectors.messages import Message

        # Checked again here: the task's arguments are JSON any sender could have written.
        used = Mapping.from_dict(mapping, name=Message("mapping.name.page")).validate()
    imp = Importer(engine, archive, tz=tz or campaign.timezone, account=account, date_order=date_order, mapping=used)
    result = imp.import_bytes(name, data, display=display or name)
    problem = service.refresh(engine, campaign, [result], streaming=streaming)
    return dict(file=name, status=result.status, import_id=result.import_id, snapshots=result.snapshots,
                message=str(result.message or ""), rollups=str(problem) if problem else "current",
                stale=bool(problem and problem.marked_stale), result=result.to_dict())


def _runner(engine, archive, campaign):
    """A collector runner as `reach collect` makes one, with the budgets shared through Redis."""
    from collectors.api import credentials as api_credentials
    from collectors.api.limits import KEY_PREFIX, RedisLimiter
    from collectors.api.run import Runner, base_urls_from_env, data_folders

    creds = api_credentials.load(None, forbidden=data_folders(engine, archive))  # REACH_CREDENTIALS
    since = (datetime.combine(campaign.start, datetime.min.time(), campaign.tz).astimezone(timezone.utc)
             if campaign.start else None)
    limiter = RedisLimiter(deployment.current().redis, campaign.collect.rate, prefix=key_prefix() + KEY_PREFIX)
    return Runner(engine, archive, creds, base_urls=base_urls_from_env(), since=since, tz=campaign.timezone,
                  limiter=limiter)


@app.task(name="reach.collect", bind=True)
def collect(self, platform: str, keys: list[str] | None = None) -> dict:
    """One platform's collector run over one batch of its accounts (``keys``, the targets' keys;
    all of them when None), within the platform's budget that every worker shares."""
    from collectors.api import collectors

    from . import ingest as service

    engine = _engine()
    archive = _archive(engine)
    campaign = _campaign()
    known = collectors()
    if platform not in known:
        raise ReachError(f"reach.collect: no collector for {platform!r} ({', '.join(sorted(known))})")
    r = _runner(engine, archive, campaign).run_platform(known[platform], set(keys) if keys is not None else None)
    files = [f for f in r.files if f.status == "imported"]
    problem = service.refresh(engine, campaign, files) if files else None
    return dict(platform=platform, status=r.status, line=str(r.line()), snapshots=r.snapshots,
                worker=self.request.hostname, rollups=str(problem) if problem else "current")


@app.task(name="reach.collect_all")
def collect_all(platforms: list[str] | None = None) -> list[dict]:
    """Cut each platform's accounts into batches of ``[collect] batch`` and send one
    ``reach.collect`` per batch: the workers poll them side by side, within the shared budgets."""
    from collectors.api import collectors
    from collectors.api.run import select

    engine = _engine()
    campaign = _campaign()
    runner = _runner(engine, _archive(engine), campaign)
    known = collectors()
    sent = []
    for p in select(platforms):
        keys = runner.target_keys(known[p])
        n = campaign.collect.batch
        for i in range(0, len(keys), n):
            task = collect.delay(p, keys[i:i + n])
            sent.append(dict(platform=p, accounts=len(keys[i:i + n]), task_id=task.id))
    return sent


@app.task(name="reach.refresh")
def refresh() -> dict:
    """The rollups of imports whose refresh was cut short (a worker killed after the commit), and
    the publication a stream's spaced refreshes left for later (its watcher died meanwhile)."""
    from . import ingest as service

    engine, campaign = _engine(), _campaign()
    problem = service.refresh(engine, campaign, [])
    service.publish_due(engine, campaign)
    return dict(rollups=str(problem) if problem else "current")


@app.task(name="reach.alerts")
def alerts() -> dict | None:
    """campaign.toml's [[alerts]] rules, on the database's clock (dashboard/alerts.py)."""
    from . import alerts as service

    return service.after_ingest(_engine(), _campaign())  # never raises: a failure is returned


@app.task(name="reach.reports")
def reports() -> list[dict]:
    """Each [[reports]] entry whose slot is due and not yet claimed (dashboard/reports.py)."""
    from . import reports as service

    return service.send_due(_engine(), _campaign(), datetime.now(timezone.utc))


def beat_schedule(campaign, every: float = ROUND_S) -> dict:
    """What `reach beat` sends: alerts and due reports every round, pending refreshes every five
    minutes, and a collect round every ``[collect] every`` when campaign.toml sets it."""
    out = {
        "alerts": dict(task="reach.alerts", schedule=schedule(every)),
        "reports": dict(task="reach.reports", schedule=schedule(every)),
        "refresh": dict(task="reach.refresh", schedule=schedule(max(every, REFRESH_S))),
    }
    if campaign.collect.every:
        out["collect"] = dict(task="reach.collect_all", schedule=schedule(campaign.collect.every))
    return out
