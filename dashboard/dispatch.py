"""Dispatch: a file for the workers, in a distributed deployment, and its result when they are done.

With ``REACH_REDIS`` set (dashboard/deployment.py) the Data page's uploads and `reach watch`'s
settled files are not imported in the web request or the watch process: their bytes go into the
shared archive (REACH_ARCHIVE, which every host mounts) and a ``reach.ingest(sha256=…)`` task goes
to the workers (dashboard/tasks.py), which import them, refresh the rollups and run the alert rules.
The sender gets the task's id, and later the same ``FileResult`` an import in its own process would
have given (``outcome``, ``wait``), so it shows the same words. One machine never comes here.

Sending is idempotent where it matters: the same bytes sent twice are one archived file, and the
second task finds them in the imports ledger ("already imported").
"""
from __future__ import annotations

from dataclasses import dataclass

from collectors.archive import Archive
from collectors.pipeline import FileResult

from . import ingest


@dataclass
class Sent:
    """A file handed to the workers: its task, and the name it is shown by."""

    task_id: str
    name: str


def send(archive: Archive, name: str, data: bytes, *, display: str | None = None, account: str | None = None,
         date_order: str | None = None, tz: str | None = None, mapping: dict | None = None,
         streaming: bool = False) -> Sent:
    """Archive the bytes (before the task exists: a worker on another host reads them from there),
    then send ``reach.ingest`` for them (with ``mapping``, a ``Mapping.to_dict``: read that way;
    ``streaming``: a file of `reach watch`'s stream, published to the pages at a spaced pace)."""
    from . import tasks

    digest = archive.put(data).name
    kwargs = dict(sha256=digest, name=name, display=display, account=account, date_order=date_order, tz=tz,
                  mapping=mapping, streaming=streaming or None)
    task = tasks.ingest.apply_async(kwargs={k: v for k, v in kwargs.items() if v is not None})
    return Sent(task.id, display or name)


def _result(name: str, async_result) -> tuple[FileResult, ingest.Problem | None]:
    if not async_result.successful():
        # The task raised (a bug, a time limit): words, as an import in the request would give.
        error = async_result.result
        return FileResult(name, "failed", message=f"{name}: the worker could not import the file "
                                                  f"({type(error).__name__}: {error})"), None
    value = async_result.result
    rollups = value.get("rollups", "current")
    problem = None if rollups == "current" else ingest.Problem(rollups, bool(value.get("stale")))
    return FileResult.from_dict(value["result"]), problem


def outcome(sent: Sent) -> tuple[FileResult, ingest.Problem | None] | None:
    """The file's result and the rollups' problem (None when they are current) once a worker has
    finished it; None while it waits or runs."""
    from . import tasks

    r = tasks.app.AsyncResult(sent.task_id)
    return _result(sent.name, r) if r.ready() else None


def taken(sent: Sent) -> bool:
    """Whether a worker has taken the task (started it, or finished): False while it waits in the
    queue, which for long means no worker is running (the result backend records "started")."""
    from . import tasks

    return tasks.app.AsyncResult(sent.task_id).state != "PENDING"


def wait(sent: Sent, timeout: float | None = None) -> tuple[FileResult, ingest.Problem | None]:
    """The file's result, waiting for it (``timeout`` seconds at most: then TimeoutError)."""
    from celery.exceptions import TimeoutError as CeleryTimeout

    from . import tasks

    r = tasks.app.AsyncResult(sent.task_id)
    try:
        r.get(timeout=timeout, propagate=False, interval=0.2)
    except CeleryTimeout:
        raise TimeoutError(f"{sent.name}: no worker finished it within {timeout:g} s") from None
    return _result(sent.name, r)


@dataclass
class Waiting:
    """A sent file as `reach watch` holds it (collectors.watch.Pending): its result on ``wait``."""

    sent: Sent

    def wait(self) -> FileResult:
        return wait(self.sent)[0]
