"""Ingest: after files are imported, bring the stored daily rollups up to date, in one place.

An import commits on its own (collectors.pipeline): the rows are safe before the rollups are
touched. Then the rollups of the accounts the import touched are recomputed (dashboard.analysis.rollups).
When that refresh fails, the rollups are marked stale, so the next page view rebuilds them all
and no page shows totals that leave the import out; the import is not undone.

`reach import`, `reach rebuild`, `reach demo`, `reach watch` (and `reach demo --live`, which
watches), `reach collect` and the Data page's uploads and mappings all go through here. The watch
loop and the API runner live in ``collectors``, which never imports ``dashboard``: they take
``refresh`` as the function to call after each batch.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa

from collectors.errors import ReachError
from collectors.pipeline import FileResult

from .analysis import rollups
from .analysis.config import Campaign

log = logging.getLogger(__name__)


class Problem(str):
    """Why the rollups were not refreshed (the error's words, as a ``str``), and whether they could
    be marked stale instead (``marked_stale``: the next page view rebuilds them in full)."""

    marked_stale: bool

    def __new__(cls, text: str, marked_stale: bool):
        self = super().__new__(cls, text)
        self.marked_stale = marked_stale
        return self

    def then(self) -> str:
        """What follows, in words for the command line."""
        return ("they are rebuilt in full on the next page view" if self.marked_stale else
                "pages may miss this import's rows until the next import of these accounts or `reach rebuild`")


def refresh(engine: sa.Engine, campaign: Campaign, results: Iterable[FileResult], *,
            streaming: bool = False) -> Problem | None:
    """Recompute the rollups of the accounts these imports touched; None when they are current.

    With nothing imported, an earlier refresh cut short (a kill after the import's commit) may
    still be pending: it is finished here. A failure is returned, not raised: the imports have
    already succeeded. ``streaming``: the files of `reach watch`, whose publication to the pages
    is spaced (rollups.publish_due)."""
    results = list(results)
    ids = [r.import_id for r in results if r.status == "imported"]
    problem = None
    try:
        if ids or rollups.pending(engine):
            rollups.refresh(engine, campaign, rollups.accounts_of_imports(engine, ids), streaming=streaming)
    except (ReachError, sa.exc.SQLAlchemyError) as e:
        problem = mark_stale(engine, str(e.orig) if isinstance(e, sa.exc.DBAPIError) and e.orig is not None else str(e))
    if ids or any(r.status == "failed" for r in results):
        # Then the alert rules, on the refreshed data (a failure is an event too). They never
        # raise: the imports have succeeded whatever they find (dashboard/alerts.py).
        from . import alerts

        alerts.after_ingest(engine, campaign)
    return problem


def publish_due(engine: sa.Engine, campaign: Campaign, every: float | None = None) -> None:
    """What a streaming importer calls between looks at its inbox: publish to the pages the data
    its spaced refreshes left unpublished (rollups.publish_due). Only time is at stake: a failure
    is logged, and the next refresh or look tries again."""
    try:
        rollups.publish_due(engine, campaign, every)
    except (ReachError, sa.exc.SQLAlchemyError) as e:
        log.warning("the last imports were not published to the pages yet (%s): the next look tries again", e)


def mark_stale(engine: sa.Engine, error: str) -> Problem:
    """The rollups could not be refreshed (``error``): mark them stale, so that the next page view
    rebuilds them in full rather than show totals without the new imports."""
    log.warning("daily rollups not refreshed: %s", error)
    try:
        rollups.invalidate(engine)
        return Problem(error, True)
    except sa.exc.SQLAlchemyError:
        return Problem(error, False)

