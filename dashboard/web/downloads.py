"""CSV downloads: Flask routes under /download/ that write the exports of dashboard/analysis/exports.py.

Downloads call the services the pages call (dashboard/analysis/leaderboard.py, listing.py,
week_report.py, exports.py), never a page module (an import-linter contract in pyproject.toml).
A download link carries the page's query string, parsed by dashboard/web/filters.py like a page's,
so a file holds what the page shows: without dates that is the campaign window of campaign.toml
(``metrics.in_window``, the rule `reach export` applies too). The bytes are
``exports.to_csv_bytes`` of the same frames `reach export` writes, so a download and an export for
the same filters are the same file. The routes sit behind the login guard of dashboard/web/auth.py
like every other path (``/download`` is among its API prefixes: a stranger gets 401, not a page).

- ``/download/influencers.csv``: the Influencers page's leaderboard (dashboard/analysis/leaderboard.py), its
  columns in grid order
- ``/download/daily.csv?by=influencer,platform``: tidy daily rows (``exports.daily_frame``)
- ``/download/weekly.csv?by=platform``: ISO weeks (``exports.weekly_frame``)
- ``/download/posts.csv``: one row per post published in the period (``exports.posts_export_frame``)
- ``/download/weekly-{kpis,influencers,posts,mix}.csv?week=2025-W01``: the Weekly page's tables,
  from the ``summary.Summary`` the page renders (dashboard/web/week_report.py, ``exports.summary_*_frame``),
  so the file and the report are the same numbers. Its filters are the page's: the URL's own dates,
  without the campaign-window default, and no ``week`` means the page's default week. The week's tidy rows are
  ``/download/daily.csv`` with the week's covered days as ``from``/``to``.
- ``/download/weekly-report.pdf?week=2025-W01``: the Weekly page's report as a PDF
  (``summary.render_pdf``, as `reach summary --pdf` writes it), in the page's language and filters.

``/download/posts.csv`` is streamed (issue 11): a Flask response over ``exports.csv_chunks``, the
rows read in batches through one server-side cursor, so a million posts never sit in memory; the
bytes are still those of ``to_csv_bytes`` on the whole frame. A file of at most ``KEEP_BYTES`` is
kept in the shared cache under the data version (``kept``), so the next request for it sends it
from there.
"""
from __future__ import annotations

from urllib.parse import parse_qs

from . import filters as F

KINDS = ("influencers", "daily", "weekly", "posts")
WEEKLY_KINDS = ("weekly-kpis", "weekly-influencers", "weekly-posts", "weekly-mix")
GROUPINGS = ("influencer", "category", "account", "platform", "post")  # as `reach export --by`
DEFAULT_BY = {"daily": ["platform"], "weekly": []}


def grouping(query_string: str) -> list[str] | None:
    """``by`` from the query string (comma-separated or repeated), in order; None if any is unknown."""
    q = parse_qs(query_string.lstrip("?"))
    by = [b.strip() for v in q.get("by", []) for b in v.split(",") if b.strip()]
    if any(b not in GROUPINGS for b in by):
        return None
    return list(dict.fromkeys(by))


def filename(kind: str, sel, by=()) -> str:
    """campaign-reach-daily-by-influencer-platform_2024-12-16_2025-01-26.csv: ASCII only, so the
    header needs no encoding and every browser keeps the name."""
    span = "_".join(d.isoformat() for d in (sel.start, sel.end) if d)
    name = "campaign-reach-" + kind + ("-by-" + "-".join(by) if by else "")
    return name + (f"_{span}" if span else "") + ".csv"


def frame(kind: str, eng, campaign, f: F.Filters, by=None):
    """The export for ``kind`` and the filters, and the selection it covers."""
    from ..analysis import exports, leaderboard, listing

    sel = F.view_selection(f, campaign)
    if kind == "posts":
        # The Posts page's text search (q=) narrows the download exactly as it narrows the grid.
        return listing.search(exports.posts_export_frame(eng, campaign, sel), f.q), sel
    # Not the whole database (issue 11): the leaderboard from the rollup and narrow SQL, as the
    # page builds it; the tidy rows from the rollup, as `reach export` writes them, so a download
    # and an export of the same selection are the same bytes (the rollup equals the engine to the
    # float rounding of sums taken in another order: tests/test_exports_rollup.py).
    if kind == "influencers":
        return leaderboard.leaderboard_db(eng, campaign, sel), sel
    if kind == "daily":
        return exports.daily_frame_db(eng, campaign, by=by or DEFAULT_BY["daily"], sel=sel), sel
    return exports.weekly_frame_db(eng, campaign, by=by or DEFAULT_BY["weekly"], sel=sel), sel


def primed(chunks):
    """The CSV ``chunks`` (the header, then a chunk per batch) with the first batch already read:
    the query runs (and fails, with a 500) before the response's headers go out, not halfway
    through the file; the rest is read as it is sent."""
    import itertools

    head = [c for c in itertools.islice(chunks, 2)]
    return itertools.chain(head, chunks)


# A download whose bytes are at most this many is kept in the shared cache under the data
# version, like a page's frames (dashboard/analysis/shared.py): the next request for the same file
# and data is sent from there (issue 15's load test: downloads were an eighth of the web's CPU, each
# computed afresh). A bigger file streams each time, so memory stays bounded by a batch.
KEEP_BYTES = 8 << 20


def kept(eng, campaign, name: str, args: tuple, make_chunks, limit: int | None = None):
    """The CSV chunks ``make_chunks()`` gives, primed (``primed``): from the shared cache when this
    file was sent for this data version before, else read, sent as read, and kept once complete
    if at most ``limit`` bytes and the version did not move meanwhile."""
    from ..analysis import rollups, shared, stamps

    limit = KEEP_BYTES if limit is None else limit
    cache = shared.cache()
    if cache is None:
        return primed(make_chunks())
    seen = stamps.version(eng)  # in the request: the version pages key by
    key = shared.key(eng, campaign, seen, "download." + name, args)
    hit, found = shared.find(cache, key, "download." + name)
    if hit and isinstance(found, bytes):
        return iter([found])
    chunks = primed(make_chunks())

    def sent():
        parts, size = [], 0
        for chunk in chunks:
            yield chunk
            if parts is not None:
                parts.append(chunk)
                size += len(chunk)
                if size > limit:
                    parts = None  # too big to keep: streamed, as always
        if parts is None:
            return
        # The body is sent after the request's block has ended: read the version as the request did.
        with rollups.as_it_stands(), stamps.one_version():
            if stamps.version(eng) != seen:
                return  # an import landed meanwhile: the file may or may not hold it
        shared.keep(cache, key, b"".join(parts), "download." + name)

    return sent()


def summary_table(kind: str, s):
    """The frame of one table of the weekly summary ``s`` (a ``summary.Summary``)."""
    from ..analysis import exports

    build = {"weekly-kpis": exports.summary_kpis_frame, "weekly-influencers": exports.summary_influencers_frame,
             "weekly-posts": exports.summary_posts_frame, "weekly-mix": exports.summary_mix_frame}[kind]
    return build(s)


def install(server) -> None:
    """Register the download routes on ``server`` (the Flask app under Dash); once per app."""
    from flask import Response, abort, request

    if "reach_download" in server.view_functions:
        return

    from ..analysis import exports
    from . import data

    def text(message: str, status: int):
        return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

    def csv(df, name: str):
        return Response(exports.to_csv_bytes(df), content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            # The numbers change with every import: a cached file would be an old one.
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        })

    def streamed(chunks, name: str):
        return Response(chunks, content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        })

    def download(kind: str):
        if kind not in KINDS + WEEKLY_KINDS:
            abort(404)
        query = request.query_string.decode("utf-8", "replace")
        if kind in WEEKLY_KINDS:
            from . import week_report

            week = (parse_qs(query).get("week") or [None])[0]
            s, why = week_report.week_summary(week, "?" + query)
            if s is None:  # no data yet, or a week without any: the reason, in words
                return text(why, 404)
            # The week label is validated by summary.build_summary: ASCII like 2025-W01.
            return csv(summary_table(kind, s), f"campaign-reach-{kind}_{s.week}.csv")
        by = grouping(query) if kind in ("daily", "weekly") else []
        if by is None:
            return text(f"by: choose from {', '.join(GROUPINGS)}", 400)
        if kind == "posts":
            f, campaign = F.parse(query), data.campaign()
            sel = F.view_selection(f, campaign)
            eng = data.engine()
            # The Posts page's text search (q=) narrows the download exactly as it narrows the grid.
            chunks = kept(eng, campaign, kind, (sel, f.q), lambda: exports.csv_export(eng, "posts", campaign, sel, f.q))
            return streamed(chunks, filename(kind, sel))
        if "post" in (by or []):
            # Grouped by post: the engine's rows a run of posts at a time, sent as they come.
            f, campaign = F.parse(query), data.campaign()
            sel = F.view_selection(f, campaign)
            chunks = primed(exports.by_post_csv(data.engine(), campaign, kind, by, sel))
            return streamed(chunks, filename(kind, sel, by))
        f, eng, campaign = F.parse(query), data.engine(), data.campaign()
        sel = F.view_selection(f, campaign)

        def whole():
            yield exports.to_csv_bytes(frame(kind, eng, campaign, f, by)[0])

        chunks = kept(eng, campaign, kind, (sel, tuple(by or ())), whole)
        return streamed(chunks, filename(kind, sel, by or DEFAULT_BY.get(kind, ())))

    def prepared_file(token: str, name: str):
        """A whole-campaign export a background job prepared (dashboard/web/jobs.py)."""
        from flask import send_file

        from . import jobs

        path = jobs.prepared(data.engine(), token, name)
        if path is None:
            return text("This prepared file is not here: files are kept for a day; prepare it again on the Data page.",
                        404)
        resp = send_file(path, mimetype="text/csv", as_attachment=True, download_name=name, max_age=0)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def report_pdf():
        from collectors.errors import ReachError

        from . import week_report

        query = request.query_string.decode("utf-8", "replace")
        week = (parse_qs(query).get("week") or [None])[0]
        try:
            pdf, s = week_report.report_pdf(week, "?" + query)
        except ReachError as e:  # WeasyPrint missing on the server: say so, in one line
            return text(str(e), 503)
        if pdf is None:  # no data yet, or a week without any: the reason, in words
            return text(s, 404)
        return Response(pdf, content_type="application/pdf", headers={
            # The week label is validated by summary.build_summary: ASCII like 2025-W01.
            "Content-Disposition": f'attachment; filename="campaign-reach-{s.week}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        })

    server.add_url_rule("/download/<kind>.csv", "reach_download", download, methods=["GET"])
    server.add_url_rule("/download/weekly-report.pdf", "reach_download_pdf", report_pdf, methods=["GET"])
    server.add_url_rule("/download/prepared/<token>/<name>", "reach_download_prepared", prepared_file, methods=["GET"])
